{#- dbt-core's default safe_cast is a plain `cast` on DuckDB, which raises on bad input.
    dbt.safe_cast(...) dispatches here first (root project before the dbt namespace). -#}
{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}
