{{ config(meta={'dagster': {'ref': {'name': 'int_web_events_sessionized'}}}) }}
-- Count reconciliation of the web sessionisation: every page and track message of staging
-- is either a bot's (int_web_bot_messages) or in exactly one session
-- (int_web_events_sessionized), never both and never neither, and nothing else (no
-- identify message) is sessionised. Returns one row per message in breach.
with

stg_web__events as (

    select * from {{ ref('stg_web__events') }}

),

int_web_events_sessionized as (

    select * from {{ ref('int_web_events_sessionized') }}

),

int_web_bot_messages as (

    select * from {{ ref('int_web_bot_messages') }}

),

sessionised_counts as (

    select
        message_id,
        count(*) as sessionised_copies,
        -- with one copy, one non-null session id is one session: no distinct count needed
        count(session_id) as copies_in_a_session
    from int_web_events_sessionized
    group by message_id

),

staged_messages as (

    select
        stg_web__events.message_id,
        stg_web__events.message_type,
        int_web_bot_messages.message_id is not null as is_bot,
        coalesce(sessionised_counts.sessionised_copies, 0) as sessionised_copies,
        coalesce(sessionised_counts.copies_in_a_session, 0) as copies_in_a_session
    from stg_web__events
    left join int_web_bot_messages
        on stg_web__events.message_id = int_web_bot_messages.message_id
    left join sessionised_counts
        on stg_web__events.message_id = sessionised_counts.message_id

),

breaches as (

    select
        message_id,
        case
            when message_type = 'identify' then 'an identify message is sessionised'
            when is_bot then 'a bot message is sessionised'
            when sessionised_copies = 0 then 'a human page or track message is in no session'
            else 'a message is in more than one session'
        end as problem
    from staged_messages
    where
        (message_type = 'identify' and sessionised_copies > 0)
        or (is_bot and sessionised_copies > 0)
        or (
            message_type in ('page', 'track')
            and not is_bot
            and (sessionised_copies != 1 or copies_in_a_session != 1)
        )

),

unknown_messages as (

    select
        sessionised_counts.message_id,
        'a sessionised message is not in staging' as problem
    from sessionised_counts
    left join stg_web__events
        on sessionised_counts.message_id = stg_web__events.message_id
    where stg_web__events.message_id is null

),

problems as (

    select * from breaches
    union all
    select * from unknown_messages

)

select * from problems
