with

web_messages as (

    select * from {{ ref('stg_web__events') }}

),

web_events as (

    select * from {{ ref('int_web_events_sessionized') }}

),

sessions_stitched as (

    select * from {{ ref('int_sessions_stitched') }}

),

-- Segment's A/B testing spec: `Experiment Viewed` carries the experiment and the
-- variation in `properties`. The JSON is read here, in one CTE, as staging reads its
-- fields (stg_web__events keeps `properties` whole for such downstream needs).
extracted as (

    select
        message_id,
        {{ trim_to_null(json_text('properties', '$.experiment_id')) }} as experiment_id,
        {{ trim_to_null(json_text('properties', '$.experiment_name')) }} as experiment_name,
        {{ trim_to_null(json_text('properties', '$.variation_id')) }} as variation_id,
        {{ trim_to_null(json_text('properties', '$.variation_name')) }} as variation_name
    from web_messages
    where message_type = 'track' and event_name = 'Experiment Viewed'

),

-- Only human messages that belong to a session (bots are left out), each with the person
-- its session is stitched to. Without an id, the name stands in for it.
final as (

    select
        extracted.message_id,
        sessions_stitched.customer_id,
        web_events.session_id,
        coalesce(extracted.experiment_id, extracted.experiment_name) as experiment_id,
        extracted.experiment_name,
        coalesce(extracted.variation_id, extracted.variation_name) as variation_id,
        extracted.variation_name,
        web_events.event_at as viewed_at
    from extracted
    inner join web_events
        on extracted.message_id = web_events.message_id
    inner join sessions_stitched
        on web_events.session_id = sessions_stitched.session_id
    where
        coalesce(extracted.experiment_id, extracted.experiment_name) is not null
        and coalesce(extracted.variation_id, extracted.variation_name) is not null

)

select * from final
