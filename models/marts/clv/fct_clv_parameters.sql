with

parameters as (

    select * from {{ source('clv_model', 'clv_parameters') }}

),

final as (

    select
        cast(model as varchar) as model,  -- noqa: RF04
        cast(parameter as varchar) as parameter,
        cast(value as double) as value,  -- noqa: RF04
        cast(log_likelihood as double) as log_likelihood,
        cast(customers_fitted as integer) as customers_fitted,
        cast(model_fitted_at as timestamp) as model_fitted_at,
        cast(fit_status as varchar) as fit_status,
        cast(fit_note as varchar) as fit_note
    from parameters

)

select * from final
