{#- An ISO 8601 string with an offset (or a timestamp with time zone) as a timestamp
    without time zone holding the UTC wall-clock time; null when it does not parse. -#}
{% macro to_utc_timestamp(expression) -%}
    {{ return(adapter.dispatch('to_utc_timestamp', 'journey')(expression)) }}
{%- endmacro %}

{% macro default__to_utc_timestamp(expression) -%}
    ({{ dbt.safe_cast(expression, 'timestamp with time zone') }} at time zone 'UTC')
{%- endmacro %}


{#- Unix epoch seconds (integer, or its text) as a UTC timestamp without time zone. -#}
{% macro epoch_to_utc_timestamp(expression) -%}
    {{ return(adapter.dispatch('epoch_to_utc_timestamp', 'journey')(expression)) }}
{%- endmacro %}

{% macro default__epoch_to_utc_timestamp(expression) -%}
    (to_timestamp({{ dbt.safe_cast(expression, dbt.type_bigint()) }}) at time zone 'UTC')
{%- endmacro %}


{#- Spark runs in UTC (profiles.yml): its `timestamp` is the instant, shown in UTC. -#}
{% macro spark__to_utc_timestamp(expression) -%}
    {{ dbt.safe_cast(expression, 'timestamp') }}
{%- endmacro %}

{% macro spark__epoch_to_utc_timestamp(expression) -%}
    timestamp_seconds({{ dbt.safe_cast(expression, dbt.type_bigint()) }})
{%- endmacro %}
