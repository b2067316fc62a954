{#- The last non-null value of `expression` in the window frame that follows (`over (...)` is
    written by the caller): DuckDB and Spark spell "ignore nulls" differently. -#}
{% macro last_value_ignoring_nulls(expression) -%}
    {{ return(adapter.dispatch('last_value_ignoring_nulls', 'journey')(expression)) }}
{%- endmacro %}

{% macro duckdb__last_value_ignoring_nulls(expression) -%}
    last_value({{ expression }} ignore nulls)
{%- endmacro %}

{#- Spark's second argument is ignoreNulls (it reads `ignore nulls` only after the call). -#}
{% macro spark__last_value_ignoring_nulls(expression) -%}
    last_value({{ expression }}, true)
{%- endmacro %}
