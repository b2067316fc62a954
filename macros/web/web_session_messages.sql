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
    {{ message_fingerprint(['message_id', 'landing_dt', epoch_microseconds('loaded_at'), 'session_id', 'session_message_number']) }}
{%- endmacro %}


{#- A web message as loaded (message id, landing day, loaded_at: the loader and the erasure
    step give every row they write a new, later loaded_at), as a fingerprint: the devices
    whose messages changed (int_web_devices_to_recompute). -#}
{% macro loaded_message_fingerprint() -%}
    {{ message_fingerprint(['message_id', 'landing_dt', epoch_microseconds('loaded_at')]) }}
{%- endmacro %}


{#- A 60-bit number from the md5 of a row's values, summed per device or session to compare
    two sets of messages (int_web_devices_to_recompute, sessionized_message_fingerprint).
    The same value on every engine: the values are joined as text (timestamps as epoch
    microseconds, whose text both engines write alike), and the first 15 hex digits of the
    md5 read as a number, a decimal(38, 0) so that sums of them cannot overflow. -#}
{% macro message_fingerprint(expressions) -%}
    {%- set text -%}
        concat_ws('|', {% for expression in expressions -%}
            coalesce(cast({{ expression }} as {{ dbt.type_string() }}), '')
            {%- if not loop.last %}, {% endif -%}
        {%- endfor %})
    {%- endset -%}
    cast({{ hex_to_bigint('substring(md5(' ~ text ~ '), 1, 15)') }} as decimal(38, 0))
{%- endmacro %}

{#- A string of at most 15 hexadecimal digits as the number it writes. -#}
{% macro hex_to_bigint(hex) -%}
    {{ return(adapter.dispatch('hex_to_bigint', 'journey')(hex)) }}
{%- endmacro %}

{% macro duckdb__hex_to_bigint(hex) -%}
    cast('0x' || {{ hex }} as bigint)
{%- endmacro %}

{% macro spark__hex_to_bigint(hex) -%}
    cast(conv({{ hex }}, 16, 10) as bigint)
{%- endmacro %}


{#- A timestamp as whole microseconds since 1970-01-01 (its text is the same on every engine). -#}
{% macro epoch_microseconds(timestamp) -%}
    {{ return(adapter.dispatch('epoch_microseconds', 'journey')(timestamp)) }}
{%- endmacro %}

{% macro duckdb__epoch_microseconds(timestamp) -%}
    epoch_us({{ timestamp }})
{%- endmacro %}

{% macro spark__epoch_microseconds(timestamp) -%}
    unix_micros({{ timestamp }})
{%- endmacro %}
