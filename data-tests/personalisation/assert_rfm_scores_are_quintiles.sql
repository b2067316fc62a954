{{ config(meta={'dagster': {'ref': {'name': 'dim_customers'}}}) }}
-- Each RFM score splits the people with a non-cancelled order into five groups whose
-- sizes differ by at most one (ntile), and a higher score never holds a smaller value
-- (ties broken by customer_id only move people between adjacent scores). Returns the
-- scores that break it.
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

per_score as (

    select
        score_name,
        score,
        count(*) as people,
        min(measure) as lowest,
        max(measure) as highest
    from scored
    group by score_name, score

),

ordered as (

    select
        score_name,
        score,
        people,
        lowest,
        lag(highest) over (partition by score_name order by score) as previous_highest,
        max(people) over (partition by score_name) - min(people) over (partition by score_name)
            as size_spread
    from per_score

)

select *
from ordered
where size_spread > 1 or lowest < previous_highest
