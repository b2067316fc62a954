{#- Custom schemas are used as they are (staging, intermediate, marts), without the
    target schema as a prefix: BI tools read `marts.<table>` as the contract says. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
