{#- The rule of which web messages sessions are built from, and the device they are cut by:
    expressions shared by int_web_events_sessionized and int_web_devices_to_recompute (the
    devices whose messages changed since the table was last built). -#}

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


{#- A sessionised message with the session it was put in, as a hash: int_sessions_aggregated
    keeps the sum per session (messages_fingerprint), and int_web_devices_to_reaggregate
    compares it with the sum over int_web_events_sessionized. -#}
{% macro sessionized_message_fingerprint() -%}
    hash(message_id, landing_dt, loaded_at, session_id, session_message_number)
{%- endmacro %}
