with

variations as (

    select * from {{ ref('int_experiment_variations') }}

),

statistics as (

    select * from {{ source('experiment_statistics', 'experiment_statistics') }}

),

controls as (

    select
        experiment_id,
        converted_customers / nullif(exposed_customers, 0) as control_conversion_rate
    from variations
    where is_control

),

joined as (

    select
        variations.experiment_id,
        variations.experiment_name,
        variations.variation_id,
        variations.variation_name,
        variations.is_control,
        variations.exposed_customers,
        variations.converted_customers,
        variations.converted_customers / nullif(variations.exposed_customers, 0)
            as conversion_rate,
        variations.revenue,
        variations.revenue / nullif(variations.exposed_customers, 0) as revenue_per_customer,
        controls.control_conversion_rate,
        statistics.conversion_diff_ci_low,
        statistics.conversion_diff_ci_high,
        statistics.conversion_p_value,
        statistics.revenue_p_value,
        statistics.srm_p_value,
        variations.multiple_exposures,
        variations.first_exposure_at,
        variations.last_exposure_at
    from variations
    left join controls
        on variations.experiment_id = controls.experiment_id
    left join statistics
        on
            variations.experiment_id = statistics.experiment_id
            and variations.variation_id = statistics.variation_id

),

final as (

    select
        cast(experiment_id as {{ dbt.type_string() }}) as experiment_id,
        cast(experiment_name as {{ dbt.type_string() }}) as experiment_name,
        cast(variation_id as {{ dbt.type_string() }}) as variation_id,
        cast(variation_name as {{ dbt.type_string() }}) as variation_name,
        cast(is_control as boolean) as is_control,
        cast(exposed_customers as bigint) as exposed_customers,
        cast(converted_customers as bigint) as converted_customers,
        cast(conversion_rate as double) as conversion_rate,
        cast(revenue as decimal(18, 2)) as revenue,
        cast(revenue_per_customer as double) as revenue_per_customer,
        cast(
            case
                when not is_control then conversion_rate / nullif(control_conversion_rate, 0) - 1
            end as double
        ) as conversion_lift,
        cast(conversion_diff_ci_low as double) as conversion_diff_ci_low,
        cast(conversion_diff_ci_high as double) as conversion_diff_ci_high,
        cast(conversion_p_value as double) as conversion_p_value,
        cast(revenue_p_value as double) as revenue_p_value,
        cast(srm_p_value as double) as srm_p_value,
        coalesce(
            not is_control
            and conversion_p_value < {{ var('experiment_significance_level') }}
            and srm_p_value >= {{ var('experiment_srm_threshold') }},
            false
        ) as is_significant,
        cast(multiple_exposures as bigint) as multiple_exposures,
        cast(first_exposure_at as timestamp) as first_exposure_at,
        cast(last_exposure_at as timestamp) as last_exposure_at
    from joined

)

select * from final
