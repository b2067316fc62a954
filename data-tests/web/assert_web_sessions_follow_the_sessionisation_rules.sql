{{ config(meta={'dagster': {'ref': {'name': 'int_web_events_sessionized'}}}) }}
{%- set session_timeout_minutes = var('session_timeout_minutes', 30) -%}
-- A device's sessions do not overlap, and a session that starts less than
-- session_timeout_minutes after the device's previous session ended was split off by a
-- campaign change: its first message carries UTM parameters. (Within a session no two
-- consecutive messages are that far apart: checked on the messages.) Returns one row per
-- session in breach.
with

int_web_events_sessionized as (

    select * from {{ ref('int_web_events_sessionized') }}

),

int_sessions as (

    select * from {{ ref('int_sessions') }}

),

first_messages as (

    select
        session_id,
        coalesce(utm_source, utm_medium, utm_campaign) is not null as has_campaign
    from int_web_events_sessionized
    where session_message_number = 1

),

sessions_in_order as (

    select
        int_sessions.session_id,
        int_sessions.device_key,
        int_sessions.started_at,
        first_messages.has_campaign,
        lag(int_sessions.ended_at) over (
            partition by int_sessions.device_key
            order by int_sessions.started_at, int_sessions.session_id
        ) as previous_ended_at
    from int_sessions
    inner join first_messages
        on int_sessions.session_id = first_messages.session_id

),

session_breaches as (

    select
        session_id,
        case
            when started_at < previous_ended_at
                then 'overlaps the device''s previous session'
            else 'starts within the timeout of the previous session without a campaign'
        end as problem
    from sessions_in_order
    where
        started_at < previous_ended_at
        or (
            started_at
            < {{ dbt.dateadd('minute', session_timeout_minutes, 'previous_ended_at') }}
            and not has_campaign
        )

),

messages_in_order as (

    select
        session_id,
        event_at,
        lag(event_at) over (
            partition by session_id
            order by session_message_number
        ) as previous_event_at
    from int_web_events_sessionized

),

message_breaches as (

    select distinct
        session_id,
        'two consecutive messages of the session are the timeout or more apart' as problem
    from messages_in_order
    where event_at >= {{ dbt.dateadd('minute', session_timeout_minutes, 'previous_event_at') }}

),

problems as (

    select * from session_breaches
    union all
    select * from message_breaches

)

select * from problems
