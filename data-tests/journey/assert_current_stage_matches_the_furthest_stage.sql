{{ config(meta={'dagster': {'ref': {'name': 'dim_customers'}}}) }}
-- dim_customers.current_stage, fct_journey_stages and fct_touchpoints.journey_stage tell
-- one story: the current stage is the furthest stage reached, and no touchpoint is in a
-- stage further than it.
with

customers as (

    select * from {{ ref('dim_customers') }}

),

journey_stages as (

    select * from {{ ref('fct_journey_stages') }}

),

touchpoints as (

    select * from {{ ref('fct_touchpoints') }}

),

furthest as (

    select
        customer_id,
        max_by(stage, stage_order) as furthest_stage
    from journey_stages
    group by customer_id

),

stage_mismatches as (

    select
        customers.customer_id,
        customers.current_stage as stage_found,
        furthest.furthest_stage as stage_expected
    from customers
    left join furthest
        on customers.customer_id = furthest.customer_id
    where customers.current_stage is distinct from furthest.furthest_stage

),

touchpoint_mismatches as (

    select
        touchpoints.customer_id,
        touchpoints.journey_stage as stage_found,
        journey_stages.stage as stage_expected
    from touchpoints
    left join journey_stages
        on
            touchpoints.customer_id = journey_stages.customer_id
            and touchpoints.journey_stage = journey_stages.stage
    where
        journey_stages.stage is null
        or journey_stages.entered_at > touchpoints.occurred_at

)

select * from stage_mismatches
union all
select * from touchpoint_mismatches
