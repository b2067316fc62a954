{#- Surrounding spaces removed; an empty or all-space string becomes null. -#}
{% macro trim_to_null(expression) -%}
    nullif(trim({{ expression }}), '')
{%- endmacro %}
