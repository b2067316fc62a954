{#- A UTC timestamp (without time zone) as the reporting day in the var `reporting_tz`
    (JOURNEY_REPORTING_TZ): the day a marketer in that zone would call it. -#}
{% macro to_reporting_date(utc_timestamp) -%}
    {{ return(adapter.dispatch('to_reporting_date', 'journey')(utc_timestamp)) }}
{%- endmacro %}

{% macro duckdb__to_reporting_date(utc_timestamp) -%}
    cast(({{ utc_timestamp }} at time zone 'UTC') at time zone '{{ var("reporting_tz") }}' as date)
{%- endmacro %}

{#- Spark runs in UTC (profiles.yml): from_utc_timestamp gives the zone's wall-clock time. -#}
{% macro spark__to_reporting_date(utc_timestamp) -%}
    cast(from_utc_timestamp({{ utc_timestamp }}, '{{ var("reporting_tz") }}') as date)
{%- endmacro %}
