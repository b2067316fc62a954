{#- dbt.safe_cast: null for a value that does not convert, on every engine. dbt-core's default
    is a plain `cast` on DuckDB, and dbt-spark's a plain `cast` too, which raises on bad input
    under Spark's ANSI mode. dbt.safe_cast(...) dispatches here first (root project before the
    dbt namespace). -#}
{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro spark__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}
