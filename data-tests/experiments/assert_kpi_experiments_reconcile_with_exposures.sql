{{ config(meta={'dagster': {'ref': {'name': 'kpi_experiments'}}}) }}
-- Per experiment, kpi_experiments accounts for every person of fct_experiment_exposures
-- once: the exposed people of its rows plus its multiple exposures; its converted people
-- and revenue are those of the single-variation people; it has exactly one control, and
-- one SRM p-value on every row. Returns the experiments that break it.
with

experiments as (

    select * from {{ ref('kpi_experiments') }}

),

exposures as (

    select * from {{ ref('fct_experiment_exposures') }}

),

read_out as (

    select
        experiment_id,
        sum(exposed_customers) as exposed_customers,
        max(multiple_exposures) as multiple_exposures,
        min(multiple_exposures) as fewest_multiple_exposures,
        sum(converted_customers) as converted_customers,
        sum(revenue) as revenue,
        count(*) filter (where is_control) as controls,
        count(distinct srm_p_value) as srm_p_values
    from experiments
    group by experiment_id

),

people as (

    select
        experiment_id,
        count(*) filter (where not is_multiple_exposure) as exposed_customers,
        count(*) filter (where is_multiple_exposure) as multiple_exposures,
        count(*) filter (where is_converted and not is_multiple_exposure) as converted_customers,
        coalesce(sum(revenue_in_window) filter (where not is_multiple_exposure), 0) as revenue
    from exposures
    group by experiment_id

)

select
    coalesce(read_out.experiment_id, people.experiment_id) as experiment_id,
    read_out.exposed_customers,
    people.exposed_customers as people_exposed,
    read_out.multiple_exposures,
    people.multiple_exposures as people_multiple,
    read_out.controls,
    read_out.srm_p_values
from read_out
full outer join people
    on read_out.experiment_id = people.experiment_id
where
    read_out.experiment_id is null
    or people.experiment_id is null
    or read_out.exposed_customers <> people.exposed_customers
    or read_out.multiple_exposures <> people.multiple_exposures
    or read_out.fewest_multiple_exposures <> people.multiple_exposures
    or read_out.converted_customers <> people.converted_customers
    or read_out.revenue <> people.revenue
    or read_out.controls <> 1
    or read_out.srm_p_values > 1
