with

views as (

    select * from {{ ref('int_experiment_views') }}

),

exposures as (

    select * from {{ ref('int_experiment_exposures') }}

),

-- The name an experiment, and each variation, last showed (names can be edited mid-test).
experiment_names as (

    select
        experiment_id,
        max_by(experiment_name, {{ sort_key(['viewed_at', 'message_id']) }})
        filter (where experiment_name is not null) as experiment_name
    from views
    group by experiment_id

),

-- Every variation shown, also one whose every viewer saw another variation too.
variations as (

    select
        experiment_id,
        variation_id,
        max_by(variation_name, {{ sort_key(['viewed_at', 'message_id']) }})
        filter (where variation_name is not null) as variation_name
    from views
    group by experiment_id, variation_id

),

-- The control: the variation whose id or name is `control` (any case), else the lowest
-- variation_id (numerically when it is a whole number, those first, then as text).
ranked_variations as (

    select
        experiment_id,
        variation_id,
        variation_name,
        row_number() over (
            partition by experiment_id
            order by
                case
                    when lower(variation_id) = 'control' or lower(variation_name) = 'control'
                        then 0
                    else 1
                end,
                {{ dbt.safe_cast('variation_id', dbt.type_bigint()) }} nulls last,
                variation_id
        ) = 1 as is_control
    from variations

),

-- People who saw more than one variation are left out of every figure.
variation_figures as (

    select
        experiment_id,
        variation_id,
        count(*) as exposed_customers,
        count(*) filter (where is_converted) as converted_customers,
        sum(revenue_in_window) as revenue,
        var_samp(cast(revenue_in_window as double)) as revenue_variance,
        min(first_exposed_at) as first_exposure_at,
        max(first_exposed_at) as last_exposure_at
    from exposures
    where not is_multiple_exposure
    group by experiment_id, variation_id

),

experiment_figures as (

    select
        experiment_id,
        count(*) filter (where is_multiple_exposure) as multiple_exposures
    from exposures
    group by experiment_id

),

final as (

    select
        ranked_variations.experiment_id,
        experiment_names.experiment_name,
        ranked_variations.variation_id,
        ranked_variations.variation_name,
        ranked_variations.is_control,
        cast(coalesce(variation_figures.exposed_customers, 0) as bigint) as exposed_customers,
        cast(coalesce(variation_figures.converted_customers, 0) as bigint)
            as converted_customers,
        cast(coalesce(variation_figures.revenue, 0) as decimal(18, 2)) as revenue,
        cast(variation_figures.revenue_variance as double) as revenue_variance,
        cast(experiment_figures.multiple_exposures as bigint) as multiple_exposures,
        variation_figures.first_exposure_at,
        variation_figures.last_exposure_at
    from ranked_variations
    inner join experiment_names
        on ranked_variations.experiment_id = experiment_names.experiment_id
    inner join experiment_figures
        on ranked_variations.experiment_id = experiment_figures.experiment_id
    left join variation_figures
        on
            ranked_variations.experiment_id = variation_figures.experiment_id
            and ranked_variations.variation_id = variation_figures.variation_id

)

select * from final
