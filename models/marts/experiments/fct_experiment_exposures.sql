with

exposures as (

    select * from {{ ref('int_experiment_exposures') }}

),

variations as (

    select * from {{ ref('int_experiment_variations') }}

),

final as (

    select
        cast(exposures.experiment_id as {{ dbt.type_string() }}) as experiment_id,
        cast(variations.experiment_name as {{ dbt.type_string() }}) as experiment_name,
        cast(exposures.customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(exposures.variation_id as {{ dbt.type_string() }}) as variation_id,
        cast(variations.variation_name as {{ dbt.type_string() }}) as variation_name,
        cast(exposures.first_exposed_at as timestamp) as first_exposed_at,
        cast(exposures.is_multiple_exposure as boolean) as is_multiple_exposure,
        cast(exposures.views_count as bigint) as views_count,
        cast(exposures.is_converted as boolean) as is_converted,
        cast(exposures.orders_in_window as integer) as orders_in_window,
        cast(exposures.revenue_in_window as decimal(18, 2)) as revenue_in_window
    from exposures
    inner join variations
        on
            exposures.experiment_id = variations.experiment_id
            and exposures.variation_id = variations.variation_id

)

select * from final
