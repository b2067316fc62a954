{#- A UTC timestamp (without time zone) as the reporting day in the var `reporting_tz`
    (JOURNEY_REPORTING_TZ): the day a marketer in that zone would call it. -#}
{% macro to_reporting_date(utc_timestamp) -%}
    cast(({{ utc_timestamp }} at time zone 'UTC') at time zone '{{ var("reporting_tz") }}' as date)
{%- endmacro %}
