{#- The run's partition window as a SQL date: bound 'start' (inclusive) or 'end' (exclusive),
    from the vars window_start and window_end that a Dagster run passes; a null date when
    the run passes no window (a plain `dbt build`), so that comparisons select no day. -#}
{% macro run_window_bound(bound) -%}
    {%- if var('window_start', none) and var('window_end', none) -%}
        cast('{{ var("window_" ~ bound) }}' as date)
    {%- else -%}
        cast(null as date)
    {%- endif -%}
{%- endmacro %}
