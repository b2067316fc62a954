with

touchpoints as (

    select * from {{ ref('int_touchpoints_unioned') }}

),

journey_stages as (

    select * from {{ ref('fct_journey_stages') }}

),

stage_at_touch as (

    select
        touchpoints.touchpoint_id,
        max(journey_stages.stage_order) as stage_order
    from touchpoints
    inner join journey_stages
        on
            touchpoints.customer_id = journey_stages.customer_id
            and touchpoints.occurred_at >= journey_stages.entered_at
    group by touchpoints.touchpoint_id

),

final as (

    select
        touchpoints.touchpoint_id,
        touchpoints.customer_id,
        touchpoints.occurred_at,
        touchpoints.source_system,
        touchpoints.touchpoint_type,
        touchpoints.channel,
        touchpoints.campaign,
        touchpoints.email_campaign_id,
        journey_stages.stage as journey_stage
    from touchpoints
    left join stage_at_touch
        on touchpoints.touchpoint_id = stage_at_touch.touchpoint_id
    left join journey_stages
        on
            touchpoints.customer_id = journey_stages.customer_id
            and stage_at_touch.stage_order = journey_stages.stage_order

)

select * from final
