-- depends_on: {{ ref('int_web_devices_to_recompute') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        full_refresh=rebuilt_whole_on_every_run(),
        pre_hook="{% if is_incremental() %}
            delete from {{ this }}
            where device_key in (select device_key from {{ ref('int_web_devices_to_recompute') }})
            {% endif %}"
    )
}}

{%- set session_timeout_minutes = var('session_timeout_minutes', 30) -%}

with

stg_web__events as (

    select * from {{ ref('stg_web__events') }}

),

int_web_bot_messages as (

    select * from {{ ref('int_web_bot_messages') }}

),

-- Sessions are built from page and track messages only: identify messages neither start
-- nor extend one. Bots' messages are left out (int_web_bot_messages counts them).
human_messages as (

    select
        stg_web__events.message_id,
        {{ web_device_key('stg_web__events') }} as device_key,
        stg_web__events.anonymous_id,
        stg_web__events.user_id,
        stg_web__events.event_at,
        stg_web__events.message_type,
        stg_web__events.event_name,
        stg_web__events.page_url,
        stg_web__events.page_path,
        stg_web__events.page_referrer,
        stg_web__events.page_title,
        stg_web__events.utm_source,
        stg_web__events.utm_medium,
        stg_web__events.utm_campaign,
        stg_web__events.utm_term,
        stg_web__events.utm_content,
        stg_web__events.gclid,
        stg_web__events.msclkid,
        stg_web__events.fbclid,
        stg_web__events.order_id,
        stg_web__events.revenue,
        stg_web__events.currency,
        stg_web__events.product_id,
        stg_web__events.landing_dt,
        stg_web__events.loaded_at
    from stg_web__events
    left join int_web_bot_messages
        on stg_web__events.message_id = int_web_bot_messages.message_id
    where {{ is_web_session_message('stg_web__events', 'int_web_bot_messages') }}

),

-- An incremental run sessionises the devices this table does not hold: new ones, and those
-- the pre-hook removed because their messages changed (int_web_devices_to_recompute). All
-- of a device's messages are read again, so its sessions come out as in a full build.
devices_to_sessionize as (

    select human_messages.*
    from human_messages
    {%- if is_incremental() %}
        where
            not exists (
                select 1
                from {{ this }} as already_built
                where already_built.device_key is not distinct from human_messages.device_key
            )
    {%- endif %}

),

-- The campaign a message carries, as one comparable value: null without UTM parameters,
-- else source and medium lower-cased (as traffic sources report them) and the
-- campaign as given, the parts kept apart by a unit separator (so never an empty string).
-- Every window below has the same partition and order: a device's messages by time.
campaign_keyed as (

    select
        *,
        case
            when coalesce(utm_source, utm_medium, utm_campaign) is not null
                then {{ dbt.concat([
                    "coalesce(lower(utm_source), '')",
                    "chr(31)",
                    "coalesce(lower(utm_medium), '')",
                    "chr(31)",
                    "coalesce(utm_campaign, '')",
                ]) }}
        end as campaign_key,
        lag(event_at) over (
            partition by device_key
            order by event_at nulls last, message_id nulls last
        ) as previous_event_at,
        row_number() over (
            partition by device_key
            order by event_at nulls last, message_id nulls last
        ) as device_message_number
    from devices_to_sessionize

),

-- A visit is a run of a device's messages without a gap of session_timeout_minutes or
-- more; a campaign change can split a visit into several sessions.
visit_started as (

    select
        *,
        coalesce(
            event_at >= {{ dbt.dateadd('minute', session_timeout_minutes, 'previous_event_at') }},
            true
        ) as is_visit_start
    from campaign_keyed

),

-- The session's campaign before this message: the last campaign seen earlier in the
-- visit ('' for none). Within a visit every campaign change starts a session, so that is
-- the current session's campaign. A visit's first message always leaves a value (its
-- campaign, or ''), so the look-back never reaches into the device's previous visit.
campaign_compared as (

    select
        *,
        {{ last_value_ignoring_nulls(
            "case when is_visit_start then coalesce(campaign_key, '') else campaign_key end"
        ) }} over (
            partition by device_key
            order by event_at nulls last, message_id nulls last
            rows between unbounded preceding and 1 preceding
        ) as session_campaign_key
    from visit_started

),

session_started as (

    select
        *,
        (
            is_visit_start
            or (
                campaign_key is not null
                and campaign_key != session_campaign_key
            )
        ) as is_session_start
    from campaign_compared

),

-- Each message looks back to the latest session start of its device: that message is
-- the session's first.
session_identified as (

    select
        *,
        {{ last_value_ignoring_nulls('case when is_session_start then message_id end') }} over (
            partition by device_key
            order by event_at nulls last, message_id nulls last
            rows between unbounded preceding and current row
        ) as session_first_message_id,
        {{ last_value_ignoring_nulls(
            'case when is_session_start then device_message_number end'
        ) }} over (
            partition by device_key
            order by event_at nulls last, message_id nulls last
            rows between unbounded preceding and current row
        ) as session_first_message_number
    from session_started

),

final as (

    select
        message_id,
        {{ dbt.hash(dbt.concat(['device_key', "'|'", 'session_first_message_id'])) }}
            as session_id,
        device_key,
        anonymous_id,
        user_id,
        event_at,
        message_type,
        event_name,
        page_url,
        page_path,
        page_referrer,
        page_title,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_term,
        utm_content,
        gclid,
        msclkid,
        fbclid,
        order_id,
        revenue,
        currency,
        product_id,
        device_message_number - session_first_message_number + 1 as session_message_number,
        landing_dt,
        loaded_at
    from session_identified

)

select * from final
