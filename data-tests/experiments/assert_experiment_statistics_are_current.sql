{{ config(meta={'dagster': {'ref': {'name': 'kpi_experiments'}}}) }}
-- measurement.experiment_statistics (the Python asset) holds one row for every experiment
-- × variation of kpi_experiments (those int_experiment_variations counts), and no other:
-- statistics computed from older counts would be joined to new ones. Returns the rows of
-- either side alone.
with

variations as (

    select * from {{ ref('kpi_experiments') }}

),

statistics as (

    select * from {{ source('experiment_statistics', 'experiment_statistics') }}

)

select
    coalesce(variations.experiment_id, statistics.experiment_id) as experiment_id,
    coalesce(variations.variation_id, statistics.variation_id) as variation_id,
    case
        when statistics.experiment_id is null then 'no statistics for this variation'
        else 'statistics for a variation that is not counted'
    end as problem
from variations
full outer join statistics
    on
        variations.experiment_id = statistics.experiment_id
        and variations.variation_id = statistics.variation_id
where variations.experiment_id is null or statistics.experiment_id is null
