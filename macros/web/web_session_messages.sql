{#- Which web messages sessions are built from, and the device they are cut by; shared by
    int_web_events_sessionized and the pre-hook that finds the devices it must recompute. -#}

{#- A device: the anonymousId, else the userId (a message sent with a userId only). -#}
{% macro web_device_key(events) -%}
    coalesce({{ events }}.anonymous_id, {{ events }}.user_id)
{%- endmacro %}


{#- page and track messages of humans: identify messages neither start nor extend a
    session, and bots' messages (int_web_bot_messages, joined on message_id) are left out. -#}
{% macro is_web_session_message(events, bot_messages) -%}
    {{ events }}.message_type in ('page', 'track')
    and {{ bot_messages }}.message_id is null
{%- endmacro %}


{#- The session messages' device and what identifies their content (the kept copy and
    when it was loaded), as `keys_to_recompute` reads them. -#}
{% macro web_session_messages_by_device() -%}
    (
            select
                {{ web_device_key('stg_web__events') }} as device_key,
                stg_web__events.message_id,
                stg_web__events.landing_dt,
                stg_web__events.loaded_at
            from {{ ref('stg_web__events') }} as stg_web__events
            left join {{ ref('int_web_bot_messages') }} as int_web_bot_messages
                on stg_web__events.message_id = int_web_bot_messages.message_id
            where {{ is_web_session_message('stg_web__events', 'int_web_bot_messages') }}
        )
{%- endmacro %}


{#- A session message's content, as a hash: int_web_events_sessionized holds one row per
    session message, and recomputes a device whose sum of these changes. -#}
{% macro web_session_message_fingerprint() -%}
    hash(message_id, landing_dt, loaded_at)
{%- endmacro %}


{#- A sessionised message, with the session it was put in: int_sessions_aggregated keeps
    the sum per session (messages_fingerprint) and recomputes a device whose sum changes. -#}
{% macro sessionized_message_fingerprint() -%}
    hash(message_id, landing_dt, loaded_at, session_id, session_message_number)
{%- endmacro %}
