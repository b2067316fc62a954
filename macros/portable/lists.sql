{#- List (array) expressions that DuckDB and Spark spell differently. Lists are 1-based on
    both engines. -#}

{#- Aggregate: the distinct non-null values of `expression` in the group, sorted, for the
    rows where `condition` (a SQL boolean, default every row) holds; an empty list when there
    is none. -#}
{% macro sorted_distinct_list(expression, condition=none) -%}
    {{ return(adapter.dispatch('sorted_distinct_list', 'journey')(expression, condition)) }}
{%- endmacro %}

{% macro duckdb__sorted_distinct_list(expression, condition) -%}
    coalesce(array_agg(distinct {{ expression }} order by {{ expression }}) filter (where {% if condition is not none %}{{ condition }} and {% endif %}{{ expression }} is not null), [])
{%- endmacro %}

{#- collect_set skips nulls, and gives an empty array for a group without a value. -#}
{% macro spark__sorted_distinct_list(expression, condition) -%}
    array_sort(collect_set({{ expression }}){% if condition is not none %} filter (where {{ condition }}){% endif %})
{%- endmacro %}


{#- Aggregate: the distinct non-null values of `expression` in the group, sorted and joined
    with `delimiter` (a SQL string); null when there is none. -#}
{% macro sorted_distinct_string_agg(expression, delimiter) -%}
    {{ return(adapter.dispatch('sorted_distinct_string_agg', 'journey')(expression, delimiter)) }}
{%- endmacro %}

{% macro duckdb__sorted_distinct_string_agg(expression, delimiter) -%}
    string_agg(distinct {{ expression }}, {{ delimiter }} order by {{ expression }})
{%- endmacro %}

{% macro spark__sorted_distinct_string_agg(expression, delimiter) -%}
    case when count({{ expression }}) > 0 then array_join(array_sort(collect_set({{ expression }})), {{ delimiter }}) end
{%- endmacro %}


{#- The smallest element of a list from its 1-based `position` to its end. -#}
{% macro list_min_from(list, position) -%}
    {{ return(adapter.dispatch('list_min_from', 'journey')(list, position)) }}
{%- endmacro %}

{% macro duckdb__list_min_from(list, position) -%}
    list_min(list_slice({{ list }}, {{ position }}, len({{ list }})))
{%- endmacro %}

{#- Spark's slice takes a start and a length. -#}
{% macro spark__list_min_from(list, position) -%}
    array_min(slice({{ list }}, {{ position }}, cardinality({{ list }}) - {{ position }} + 1))
{%- endmacro %}


{#- A list of strings as a VALUES list of one-column rows, `values ('a'), ('b')`, which both
    engines read (DuckDB's `unnest` of a list literal has no Spark form). For a list the
    project configures (a var), not for data: the strings are quoted, not escaped. -#}
{% macro string_values(strings) -%}
    values {% for string in strings %}('{{ string }}'){{ ', ' if not loop.last }}{% endfor %}
{%- endmacro %}
