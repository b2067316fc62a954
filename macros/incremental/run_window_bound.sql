{#- The run's partition window as a SQL date: bound 'start' (inclusive) or 'end' (exclusive),
    from JOURNEY_RUN_WINDOW_START and JOURNEY_RUN_WINDOW_END, which a Dagster run sets for
    its dbt process (run_window_is_set); a null date when the run passes no window (a plain
    `dbt build`), so that comparisons select no day. The window travels in the environment,
    not in --vars: dbt parses the whole project again whenever --vars change, while an
    environment variable read here is read when the SQL is compiled. -#}
{% macro run_window_bound(bound) -%}
    {%- if run_window_is_set() -%}
        cast('{{ env_var("JOURNEY_RUN_WINDOW_" ~ (bound | upper)) }}' as date)
    {%- else -%}
        cast(null as date)
    {%- endif -%}
{%- endmacro %}


{#- Whether the run passed its partition window (both bounds set). Never while dbt parses
    (`execute` is false): dbt records the environment variables a file reads while it is
    parsed and parses the file again whenever one of them changes, which the window does from
    one dbt command to the next (set for the incremental group, unset for the others). Read
    only when the SQL is compiled, the window costs no parsing; no ref() depends on it. -#}
{% macro run_window_is_set() -%}
    {{- return(execute and env_var('JOURNEY_RUN_WINDOW_START', '') != '' and env_var('JOURNEY_RUN_WINDOW_END', '') != '') -}}
{%- endmacro %}
