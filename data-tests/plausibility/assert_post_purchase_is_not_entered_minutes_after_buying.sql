{{ config(severity='warn') }}
-- Plausibility (warns, never blocks): post_purchase is what a buyer does after buying, so
-- it should come days later, not with the order confirmation. Warns when more than half of
-- the buyers who reached post_purchase entered it within 10 minutes of their purchase:
-- a sign that a stage rule lets something done to the person (a transactional mail, a CRM
-- status flip) move them on.
with

journey_stages as (

    select * from {{ ref('fct_journey_stages') }}

),

gaps as (

    select
        post_purchase.customer_id,
        {{ dbt.datediff('purchase.entered_at', 'post_purchase.entered_at', 'second') }}
            as seconds_after_purchase
    from journey_stages as post_purchase
    inner join journey_stages as purchase
        on
            post_purchase.customer_id = purchase.customer_id
            and purchase.stage = 'purchase'
    where post_purchase.stage = 'post_purchase'

),

summary as (

    select
        count(*) as buyers_in_post_purchase,
        count(*) filter (where seconds_after_purchase <= 600) as within_ten_minutes
    from gaps

)

select *
from summary
where within_ten_minutes > 0.5 * buyers_in_post_purchase
