{#- JSON access that DuckDB and Spark spell differently. A JSON document is DuckDB's `json`
    type, or on Spark a string of JSON text. A path is a plain JSONPath literal (`'$.a.b'`),
    written into the SQL as a string. -#}

{#- The value at `path` as text: a string without its quotes, any other value as its JSON
    text (numbers, `true`, objects and arrays); null when absent or JSON `null`. -#}
{% macro json_text(doc, path) -%}
    {{ return(adapter.dispatch('json_text', 'journey')(doc, path)) }}
{%- endmacro %}

{% macro duckdb__json_text(doc, path) -%}
    ({{ doc }} ->> '{{ path }}')
{%- endmacro %}

{% macro spark__json_text(doc, path) -%}
    get_json_object({{ doc }}, '{{ path }}')
{%- endmacro %}


{#- The values at many paths as text (like `json_text`), from one parse of the document;
    `json_texts_item` reads one of them. -#}
{% macro json_texts(doc, paths) -%}
    {{ return(adapter.dispatch('json_texts', 'journey')(doc, paths)) }}
{%- endmacro %}

{% macro duckdb__json_texts(doc, paths) -%}
    json_extract_string(
        {{ doc }},
        [
            {%- for path in paths %}
                '{{ path }}'{{ ',' if not loop.last }}
            {%- endfor %}
        ]
    )
{%- endmacro %}

{#- A struct of the document's fields, every leaf a string (`from_json` writes a non-string
    value as its JSON text, as DuckDB does). -#}
{% macro spark__json_texts(doc, paths) -%}
    from_json({{ doc }}, '{{ spark_json_schema(paths, 'string') }}')
{%- endmacro %}


{#- The text at `paths[position - 1]` of `json_texts(doc, paths)` (position from 1). -#}
{% macro json_texts_item(texts, paths, position) -%}
    {{ return(adapter.dispatch('json_texts_item', 'journey')(texts, paths, position)) }}
{%- endmacro %}

{% macro duckdb__json_texts_item(texts, paths, position) -%}
    {{ texts }}[{{ position }}]
{%- endmacro %}

{% macro spark__json_texts_item(texts, paths, position) -%}
    {{ texts }}{% for key in spark_json_path_keys(paths[position - 1]) %}.`{{ key }}`{% endfor %}
{%- endmacro %}


{#- The values at many paths as JSON, from one extraction; `json_values_item` reads one. -#}
{% macro json_values(doc, paths) -%}
    {{ return(adapter.dispatch('json_values', 'journey')(doc, paths)) }}
{%- endmacro %}

{% macro duckdb__json_values(doc, paths) -%}
    json_extract(
        {{ doc }},
        [
            {%- for path in paths %}
                '{{ path }}'{{ ',' if not loop.last }}
            {%- endfor %}
        ]
    )
{%- endmacro %}

{#- `from_json` keeps an object's or array's text as written (minified, keys in their
    order), but gives a string without its quotes and JSON `null` as null; the variant of
    the document tells those apart (its `to_json` would sort an object's keys). -#}
{% macro spark__json_values(doc, paths) -%}
    named_struct(
        'as_text', from_json({{ doc }}, '{{ spark_json_schema(paths, 'string') }}'),
        'as_variant', try_parse_json({{ doc }})
    )
{%- endmacro %}


{#- The JSON at `paths[position - 1]` of `json_values(doc, paths)` (position from 1): null
    when absent, the text `null` for JSON `null`. -#}
{% macro json_values_item(values, paths, position) -%}
    {{ return(adapter.dispatch('json_values_item', 'journey')(values, paths, position)) }}
{%- endmacro %}

{% macro duckdb__json_values_item(values, paths, position) -%}
    {{ values }}[{{ position }}]
{%- endmacro %}

{% macro spark__json_values_item(values, paths, position) -%}
    {%- set path = paths[position - 1] -%}
    {%- set variant = "variant_get(" ~ values ~ ".as_variant, '" ~ path ~ "')" -%}
    case
        when {{ variant }} is null then null
        when is_variant_null({{ variant }}) then 'null'
        when schema_of_variant({{ variant }}) = 'STRING' then to_json({{ variant }})
        else {{ spark__json_texts_item(values ~ '.as_text', paths, position) }}
    end
{%- endmacro %}


{#- The JSON at one path (DuckDB's `->`). -#}
{% macro json_value(doc, path) -%}
    {{ return(adapter.dispatch('json_value', 'journey')(doc, path)) }}
{%- endmacro %}

{% macro duckdb__json_value(doc, path) -%}
    ({{ doc }} -> '{{ path }}')
{%- endmacro %}

{% macro spark__json_value(doc, path) -%}
    {{ spark__json_values_item(spark__json_values(doc, [path]), [path], 1) }}
{%- endmacro %}


{#- DuckDB's name of a JSON value's type: OBJECT, ARRAY, VARCHAR, BOOLEAN, NULL, UBIGINT (an
    integer from 0), BIGINT (a negative integer) or DOUBLE; null for null. -#}
{% macro json_type(json) -%}
    {{ return(adapter.dispatch('json_type', 'journey')(json)) }}
{%- endmacro %}

{% macro duckdb__json_type(json) -%}
    json_type({{ json }})
{%- endmacro %}

{#- Read from the first character of the JSON text. -#}
{% macro spark__json_type(json) -%}
    case left(ltrim({{ json }}), 1)
        when '{' then 'OBJECT'
        when '[' then 'ARRAY'
        when '"' then 'VARCHAR'
        when 't' then 'BOOLEAN'
        when 'f' then 'BOOLEAN'
        when 'n' then 'NULL'
        else
            case
                when {{ json }} rlike '^ *[0-9]+ *$' then 'UBIGINT'
                when {{ json }} rlike '^ *-[0-9]+ *$' then 'BIGINT'
                when {{ json }} is not null then 'DOUBLE'
            end
    end
{%- endmacro %}


{#- The elements of a JSON array as a list of text (like `json_text`: strings without their
    quotes, JSON `null` as null). -#}
{% macro json_array_texts(json) -%}
    {{ return(adapter.dispatch('json_array_texts', 'journey')(json)) }}
{%- endmacro %}

{% macro duckdb__json_array_texts(json) -%}
    json_extract_string({{ json }}, '$[*]')
{%- endmacro %}

{% macro spark__json_array_texts(json) -%}
    from_json({{ json }}, 'array<string>')
{%- endmacro %}


{#- Spark helpers: the keys of a path `$.a.b` (plain names only), and the `from_json` schema
    (DDL) of a list of such paths, every leaf of type `leaf_type`. -#}
{% macro spark_json_path_keys(path) -%}
    {%- if not modules.re.fullmatch('[$](?:[.][A-Za-z_][A-Za-z0-9_]*)+', path) -%}
        {{ exceptions.raise_compiler_error(
            "JSON path " ~ path ~ ": only '$.name.name...' paths are supported on Spark"
        ) }}
    {%- endif -%}
    {{ return(path[2:].split('.')) }}
{%- endmacro %}

{% macro spark_json_schema(paths, leaf_type) -%}
    {%- set tree = {} -%}
    {%- for path in paths -%}
        {%- set node = namespace(fields=tree) -%}
        {%- set keys = spark_json_path_keys(path) -%}
        {%- for key in keys -%}
            {%- if loop.last -%}
                {%- if key in node.fields -%}
                    {{ exceptions.raise_compiler_error("JSON path " ~ path ~ " overlaps another") }}
                {%- endif -%}
                {%- do node.fields.update({key: none}) -%}
            {%- else -%}
                {%- if key not in node.fields -%}
                    {%- do node.fields.update({key: {}}) -%}
                {%- elif node.fields[key] is none -%}
                    {{ exceptions.raise_compiler_error("JSON path " ~ path ~ " overlaps another") }}
                {%- endif -%}
                {%- set node.fields = node.fields[key] -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(spark_json_schema_fields(tree, leaf_type, ' ')) }}
{%- endmacro %}

{#- The fields of one level: `name type` at the top, `name: type` inside a struct. -#}
{% macro spark_json_schema_fields(fields, leaf_type, separator) -%}
    {%- set parts = [] -%}
    {%- for key, children in fields.items() -%}
        {%- if children is none -%}
            {%- do parts.append('`' ~ key ~ '`' ~ separator ~ leaf_type) -%}
        {%- else -%}
            {%- do parts.append(
                '`' ~ key ~ '`' ~ separator ~ 'struct<'
                ~ spark_json_schema_fields(children, leaf_type, ': ') ~ '>'
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(parts | join(', ')) }}
{%- endmacro %}
