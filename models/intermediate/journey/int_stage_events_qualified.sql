with

stage_rules as (

    select * from {{ ref('journey_stage_rules') }}

),

touchpoints as (

    select * from {{ ref('int_touchpoints_unioned') }}

),

web_events as (

    select * from {{ ref('int_web_events_sessionized') }}

),

sessions_stitched as (

    select * from {{ ref('int_sessions_stitched') }}

),

sessions as (

    select * from {{ ref('int_sessions') }}

),

web_event_matches as (

    select
        sessions_stitched.customer_id,
        stage_rules.stage,
        stage_rules.stage_order,
        web_events.event_at as qualified_at,
        web_events.session_id as touchpoint_id
    from web_events
    inner join sessions_stitched
        on web_events.session_id = sessions_stitched.session_id
    inner join stage_rules
        on
            stage_rules.rule_type = 'web_event'
            and web_events.event_name = stage_rules.match_value

),

touchpoint_matches as (

    select
        touchpoints.customer_id,
        stage_rules.stage,
        stage_rules.stage_order,
        touchpoints.occurred_at as qualified_at,
        touchpoints.touchpoint_id
    from touchpoints
    inner join stage_rules
        on
            (
                stage_rules.rule_type = 'touchpoint'
                and touchpoints.source_system = stage_rules.source_system
                and touchpoints.touchpoint_type = stage_rules.touchpoint_type
            )
            or (
                stage_rules.rule_type = 'crm_lifecycle'
                and touchpoints.touchpoint_type = 'crm_lifecycle_change'
                and touchpoints.source_record_id = stage_rules.match_value
            )
            or stage_rules.rule_type = 'any_touchpoint'

),

first_purchase as (

    select
        touchpoint_matches.customer_id,
        min(touchpoint_matches.qualified_at) as purchased_at,
        min_by(
            touchpoints.source_record_id,
            {{ sort_key(['touchpoint_matches.qualified_at', 'touchpoint_matches.touchpoint_id']) }}
        ) as first_order_id
    from touchpoint_matches
    inner join touchpoints
        on touchpoint_matches.touchpoint_id = touchpoints.touchpoint_id
    where touchpoint_matches.stage = 'purchase'
    group by touchpoint_matches.customer_id

),

after_purchase_matches as (

    -- post_purchase: something the person does strictly after their first purchase.
    select
        touchpoints.customer_id,
        stage_rules.stage,
        stage_rules.stage_order,
        touchpoints.occurred_at as qualified_at,
        touchpoints.touchpoint_id
    from touchpoints
    inner join first_purchase
        on
            touchpoints.customer_id = first_purchase.customer_id
            and touchpoints.occurred_at > first_purchase.purchased_at
    -- The session in which the first order was placed is the purchase itself, even when the
    -- device's clock, running ahead, puts its start after the order's time.
    left join sessions
        on
            touchpoints.touchpoint_id = sessions.session_id
            and {{ array_has('sessions.order_ids', 'first_purchase.first_order_id') }}
    inner join stage_rules
        on
            stage_rules.rule_type = 'touchpoint_after_purchase'
            and touchpoints.source_system = stage_rules.source_system
            and touchpoints.touchpoint_type = stage_rules.touchpoint_type
            and (
                stage_rules.match_value is null or stage_rules.match_value <> 'marketing'
                or touchpoints.is_marketing_email
            )
    where sessions.session_id is null

),

final as (

    select * from web_event_matches
    union all
    select * from touchpoint_matches
    union all
    select * from after_purchase_matches

)

select * from final
