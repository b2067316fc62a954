{#- The matching form of an email address: trimmed, lower-cased, empty as null. -#}
{% macro normalize_email(expression) -%}
    lower({{ trim_to_null(expression) }})
{%- endmacro %}
