{{ config(meta={'dagster': {'ref': {'name': 'dim_customers'}}}) }}
-- Each RFM score is 1 + the fifths of the people scored whose value is strictly smaller
-- (rounded down), counted here per distinct value rather than by rank: equal values share
-- a score, and a score of s or more holds at most (6 - s) fifths of the people. Returns
-- the values scored otherwise and the scores that hold too many people.
with

customers as (

    select * from {{ ref('dim_customers') }}

),

scored as (

    select
        'recency' as score_name,
        rfm_recency_score as score,
        {{ epoch_microseconds('last_order_at') }} as measure
    from customers
    where rfm_recency_score is not null
    union all
    select
        'frequency' as score_name,
        rfm_frequency_score as score,
        orders_count as measure
    from customers
    where rfm_frequency_score is not null
    union all
    select
        'monetary' as score_name,
        rfm_monetary_score as score,
        lifetime_revenue as measure
    from customers
    where rfm_monetary_score is not null

),

per_value as (

    select
        score_name,
        measure,
        count(*) as people,
        min(score) as lowest_score,
        max(score) as highest_score
    from scored
    group by score_name, measure

),

expected as (

    select
        score_name,
        measure,
        lowest_score,
        highest_score,
        coalesce(sum(people) over (
            partition by score_name order by measure
            rows between unbounded preceding and 1 preceding
        ), 0) as people_below,
        sum(people) over (partition by score_name) as people_scored
    from per_value

),

wrong_values as (

    select
        score_name,
        cast(null as {{ dbt.type_int() }}) as score,
        measure,
        lowest_score,
        highest_score,
        cast(null as {{ dbt.type_bigint() }}) as people_at_or_above
    from expected
    where
        lowest_score <> highest_score
        or lowest_score
        <> cast(floor(5.0 * people_below / people_scored) as {{ dbt.type_int() }}) + 1

),

per_score as (

    select
        score_name,
        score,
        count(*) as people
    from scored
    group by score_name, score

),

at_or_above as (

    select
        score_name,
        score,
        sum(people) over (
            partition by score_name order by score desc
            rows between unbounded preceding and current row
        ) as people_at_or_above,
        sum(people) over (partition by score_name) as people_scored
    from per_score

)

select * from wrong_values
union all
select
    score_name,
    score,
    cast(null as {{ dbt.type_float() }}) as measure,
    cast(null as {{ dbt.type_int() }}) as lowest_score,
    cast(null as {{ dbt.type_int() }}) as highest_score,
    people_at_or_above
from at_or_above
where people_at_or_above * 5 > (6 - score) * people_scored
