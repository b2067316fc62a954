{#- One row per date from start_date to end_date (both included), one datepart apart: a
    generator, so the expression stands alone as a column of a select (its other columns
    repeat on every row); none when end_date is before start_date. For month steps, start on
    the first of a month (from a 31st, the engines step differently). DuckDB's
    generate_series steps dates as timestamps (hence the cast); Spark has no unnest. -#}
{% macro date_series(start_date, end_date, datepart) -%}
    {{ return(adapter.dispatch('date_series', 'journey')(start_date, end_date, datepart)) }}
{%- endmacro %}

{% macro duckdb__date_series(start_date, end_date, datepart) -%}
    cast(
        unnest(generate_series({{ start_date }}, {{ end_date }}, interval 1 {{ datepart }})) as date
    )
{%- endmacro %}

{#- Spark's sequence raises when the end is before the start: no rows then, as on DuckDB. -#}
{% macro spark__date_series(start_date, end_date, datepart) -%}
    explode(
        case
            when cast({{ start_date }} as date) <= cast({{ end_date }} as date)
                then sequence(
                    cast({{ start_date }} as date),
                    cast({{ end_date }} as date),
                    interval 1 {{ datepart }}
                )
        end
    )
{%- endmacro %}
