{{ config(materialized='view') }}

{#- The table as it stands, read by name rather than ref(): int_sessions_aggregated reads
    this view (its pre-hook), so a ref() back would be a cycle. Before its first build there
    is no table, and every device is new. `execute` is false while dbt parses and SQLFluff
    lints, which need no warehouse. -#}
{%- set aggregated = this.incorporate(path={'identifier': 'int_sessions_aggregated'}) -%}
{%- set aggregated_is_built = execute and adapter.get_relation(
    database=aggregated.database,
    schema=aggregated.schema,
    identifier=aggregated.identifier,
) is not none -%}

with

int_web_events_sessionized as (

    select * from {{ ref('int_web_events_sessionized') }}

),

-- Per session of int_web_events_sessionized: its number of messages and the sum of a hash of
-- each (message id, landing day, loaded_at, session and position in it), the two figures
-- int_sessions_aggregated keeps per session (events_count, messages_fingerprint).
sessionized_sessions as (

    select
        device_key,
        session_id,
        count(*) as events_count,
        sum({{ sessionized_message_fingerprint() }}) as messages_fingerprint
    from int_web_events_sessionized
    group by device_key, session_id

),

-- The sessions int_sessions_aggregated holds (none before its first build).
aggregated_sessions as (

    select
        device_key,
        session_id,
        events_count,
        messages_fingerprint
    from {{ aggregated if aggregated_is_built else 'sessionized_sessions' }}
    where {{ 'true' if aggregated_is_built else 'false' }}

),

-- A device re-sessionised differently, new, or gone compares unequal or with null.
sessionized_devices as (

    select
        device_key,
        sum(events_count) as messages_count,
        sum(messages_fingerprint) as messages_fingerprint
    from sessionized_sessions
    group by device_key

),

aggregated_devices as (

    select
        device_key,
        sum(events_count) as messages_count,
        sum(messages_fingerprint) as messages_fingerprint
    from aggregated_sessions
    group by device_key

),

changed_devices as (

    select coalesce(sessionized_devices.device_key, aggregated_devices.device_key) as device_key
    from sessionized_devices
    full outer join aggregated_devices
        on sessionized_devices.device_key = aggregated_devices.device_key
    where
        sessionized_devices.messages_count is distinct from aggregated_devices.messages_count
        or sessionized_devices.messages_fingerprint
        is distinct from aggregated_devices.messages_fingerprint

),

-- The devices with a sessionised message in the run's landing days (none without a window).
window_devices as (

    select device_key
    from int_web_events_sessionized
    where
        landing_dt >= {{ run_window_bound('start') }}
        and landing_dt < {{ run_window_bound('end') }}

),

final as (

    select device_key from changed_devices
    union
    select device_key from window_devices

)

select * from final
