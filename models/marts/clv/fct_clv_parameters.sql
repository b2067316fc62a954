with

parameters as (

    select * from {{ source('clv_model', 'clv_parameters') }}

),

final as (

    select
        cast(model as {{ dbt.type_string() }}) as model,  -- noqa: RF04
        cast(parameter as {{ dbt.type_string() }}) as parameter,
        cast(value as double) as value,  -- noqa: RF04
        cast(log_likelihood as double) as log_likelihood,
        cast(customers_fitted as integer) as customers_fitted,
        cast(model_fitted_at as timestamp) as model_fitted_at,
        cast(fit_status as {{ dbt.type_string() }}) as fit_status,
        cast(fit_note as {{ dbt.type_string() }}) as fit_note
    from parameters

)

select * from final
