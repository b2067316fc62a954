{{ config(materialized='view') }}

{#- The table as it stands, read by name rather than ref(): int_web_events_sessionized reads
    this view (its pre-hook), so a ref() back would be a cycle. Before its first build there
    is no table, and every device is new. `execute` is false while dbt parses and SQLFluff
    lints, which need no warehouse. -#}
{%- set sessionized = this.incorporate(path={'identifier': 'int_web_events_sessionized'}) -%}
{%- set sessionized_is_built = execute and adapter.get_relation(
    database=sessionized.database,
    schema=sessionized.schema,
    identifier=sessionized.identifier,
) is not none -%}

with

stg_web__events as (

    select * from {{ ref('stg_web__events') }}

),

int_web_bot_messages as (

    select * from {{ ref('int_web_bot_messages') }}

),

-- The messages sessions are built from (the same rule as int_web_events_sessionized), with
-- what identifies their content: the kept copy and when it was loaded.
session_messages as (

    select
        {{ web_device_key('stg_web__events') }} as device_key,
        stg_web__events.message_id,
        stg_web__events.landing_dt,
        stg_web__events.loaded_at
    from stg_web__events
    left join int_web_bot_messages
        on stg_web__events.message_id = int_web_bot_messages.message_id
    where {{ is_web_session_message('stg_web__events', 'int_web_bot_messages') }}

),

-- The rows int_web_events_sessionized holds (none before its first build).
sessionized_messages as (

    select
        device_key,
        message_id,
        landing_dt,
        loaded_at
    from {{ sessionized if sessionized_is_built else 'session_messages' }}
    where {{ 'true' if sessionized_is_built else 'false' }}

),

-- A device is compared on its number of messages and the sum of a hash of each (message id,
-- landing day, loaded_at: the loader and the erasure step give every row they write a new,
-- later loaded_at). A device that gains, loses or changes a message, or whose kept copy
-- moves to another landing day, compares unequal; a device new to the messages, or gone
-- from them, compares with null.
message_devices as (

    select
        device_key,
        count(*) as messages_count,
        sum({{ loaded_message_fingerprint() }})
            as messages_fingerprint
    from session_messages
    group by device_key

),

sessionized_devices as (

    select
        device_key,
        count(*) as messages_count,
        sum({{ loaded_message_fingerprint() }})
            as messages_fingerprint
    from sessionized_messages
    group by device_key

),

changed_devices as (

    select coalesce(message_devices.device_key, sessionized_devices.device_key) as device_key
    from message_devices
    full outer join sessionized_devices
        on message_devices.device_key = sessionized_devices.device_key
    where
        message_devices.messages_count is distinct from sessionized_devices.messages_count
        or message_devices.messages_fingerprint
        is distinct from sessionized_devices.messages_fingerprint

),

-- The late-data lookback: the devices seen in the run's landing days and the
-- web_late_data_lookback_days days before them (none without a window).
window_devices as (

    select device_key
    from session_messages
    where
        landing_dt >= {{ run_window_bound('start') }}
        - {{ var('web_late_data_lookback_days') | int }}
        and landing_dt < {{ run_window_bound('end') }}

),

final as (

    select device_key from changed_devices
    union
    select device_key from window_devices

)

select * from final
