{#- Expressions the marts (and their intermediate models) need that DuckDB and Spark spell
    differently (#21). Each dispatches to `duckdb__` (the SQL the models had before) and
    `spark__`; no `default__`, so a third engine fails loudly. -#}

{#- A value that orders like `fields` in turn, each with nulls last (DuckDB's order of a
    struct's fields), for min_by/max_by and min/max: the key of "the first row by a, then
    b". -#}
{% macro sort_key(fields) -%}
    {{ return(adapter.dispatch('sort_key', 'journey')(fields)) }}
{%- endmacro %}

{% macro duckdb__sort_key(fields) -%}
    { {%- for field in fields %}'k{{ loop.index }}': {{ field }}{{ ', ' if not loop.last }}{% endfor -%} }
{%- endmacro %}

{#- Spark orders a struct's null fields first: each field goes after a flag `is null`. -#}
{% macro spark__sort_key(fields) -%}
    named_struct(
        {%- for field in fields %}'k{{ loop.index }}_is_null', ({{ field }}) is null, 'k{{ loop.index }}', {{ field }}{{ ', ' if not loop.last }}{% endfor -%}
    )
{%- endmacro %}

{#- SHA-256 of a string, as 64 lower-case hex digits; null for null. -#}
{% macro sha256_hex(expression) -%}
    {{ return(adapter.dispatch('sha256_hex', 'journey')(expression)) }}
{%- endmacro %}

{% macro duckdb__sha256_hex(expression) -%}
    sha256({{ expression }})
{%- endmacro %}

{% macro spark__sha256_hex(expression) -%}
    sha2({{ expression }}, 256)
{%- endmacro %}

{#- Whether an array holds a value (null when the array or the value is null). -#}
{% macro array_has(array, value) -%}
    {{ return(adapter.dispatch('array_has', 'journey')(array, value)) }}
{%- endmacro %}

{% macro duckdb__array_has(array, value) -%}
    list_contains({{ array }}, {{ value }})
{%- endmacro %}

{% macro spark__array_has(array, value) -%}
    array_contains({{ array }}, {{ value }})
{%- endmacro %}

{#- One row per part of a delimited string (a set-returning expression, alone in its select
    item: Spark nests no generator in another expression); no row for null. -#}
{% macro split_to_rows(expression, delimiter) -%}
    {{ return(adapter.dispatch('split_to_rows', 'journey')(expression, delimiter)) }}
{%- endmacro %}

{% macro duckdb__split_to_rows(expression, delimiter) -%}
    unnest(string_split({{ expression }}, '{{ delimiter }}'))
{%- endmacro %}

{#- Spark's split takes a regex: every character of the delimiter in a class of its own
    (`[|]`), since its string literals read backslash escapes. -#}
{% macro spark__split_to_rows(expression, delimiter) -%}
    {%- for character in delimiter if character in "\\^[]'" -%}
        {{ exceptions.raise_compiler_error("split_to_rows: unsupported delimiter " ~ delimiter) }}
    {%- endfor -%}
    explode(split({{ expression }}, '{% for character in delimiter %}[{{ character }}]{% endfor %}'))
{%- endmacro %}
