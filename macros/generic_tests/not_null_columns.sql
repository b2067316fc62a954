{#- Fails with one row per listed column that holds a null: the column's name and how many
    rows. One scan of the model for all its columns (the counts are read once, so Spark,
    which inlines a CTE wherever it is named, does not scan again per column), and one dbt
    node instead of one per column (each node costs dbt and Dagster a fixed 30-50 ms,
    whatever the table's size). -#}
{% test not_null_columns(model, column_names) %}

    with null_counts as (

        select
            {%- for column in column_names %}
            sum(case when {{ column }} is null then 1 else 0 end) as nulls_{{ loop.index }}
            {{- "," if not loop.last }}
            {%- endfor %}
        from {{ model }}

    ),

    listed as (

        {%- for column in column_names %}
        select {{ loop.index }} as column_number, '{{ column }}' as column_name
        {%- if not loop.last %} union all{% endif %}
        {%- endfor %}

    ),

    per_column as (

        select
            listed.column_name,
            case listed.column_number
                {%- for column in column_names %}
                when {{ loop.index }} then null_counts.nulls_{{ loop.index }}
                {%- endfor %}
            end as null_rows
        from null_counts
        cross join listed

    )

    select
        column_name,
        null_rows
    from per_column
    where null_rows > 0

{% endtest %}
