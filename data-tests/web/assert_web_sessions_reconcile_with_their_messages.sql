{{ config(meta={'dagster': {'ref': {'name': 'int_web_events_sessionized'}}}) }}
-- int_sessions has exactly the sessions of int_web_events_sessionized, and each session's
-- device, start, end and counts agree with its messages; every session's messages are
-- numbered 1..n without gaps, and its first message is the earliest one. Returns one row
-- per session in breach.
with

int_web_events_sessionized as (

    select * from {{ ref('int_web_events_sessionized') }}

),

int_sessions as (

    select * from {{ ref('int_sessions') }}

),

messages_by_session as (

    select
        session_id,
        count(distinct device_key) as device_keys,
        min(device_key) as device_key,
        min(event_at) as started_at,
        max(event_at) as ended_at,
        count(*) as events_count,
        count(case when message_type = 'page' then 1 end) as page_views,
        count(distinct session_message_number) as message_numbers,
        min(session_message_number) as first_message_number,
        max(session_message_number) as last_message_number,
        min(case when session_message_number = 1 then event_at end) as first_message_at
    from int_web_events_sessionized
    group by session_id

),

compared as (

    select
        coalesce(int_sessions.session_id, messages_by_session.session_id) as session_id,
        case
            when messages_by_session.session_id is null then 'a session without messages'
            when int_sessions.session_id is null
                then 'messages of a session missing in int_sessions'
            when messages_by_session.device_keys != 1 then 'a session spans several devices'
            when int_sessions.device_key != messages_by_session.device_key
                then 'device_key differs from its messages'
            when int_sessions.started_at != messages_by_session.started_at
                then 'started_at differs from its first message'
            when int_sessions.ended_at != messages_by_session.ended_at
                then 'ended_at differs from its last message'
            when int_sessions.events_count != messages_by_session.events_count
                then 'events_count differs from its messages'
            when int_sessions.page_views != messages_by_session.page_views
                then 'page_views differs from its page messages'
            when
                messages_by_session.first_message_number != 1
                or messages_by_session.last_message_number != messages_by_session.events_count
                or messages_by_session.message_numbers != messages_by_session.events_count
                then 'session_message_number is not 1..n'
            when messages_by_session.first_message_at != messages_by_session.started_at
                then 'the first message is not the earliest'
        end as problem
    from int_sessions
    full outer join messages_by_session
        on int_sessions.session_id = messages_by_session.session_id

),

problems as (

    select
        session_id,
        problem
    from compared
    where problem is not null

)

select * from problems
