{#- Fails with one row per listed column that holds a null: the column's name and how many
    rows. One scan of the model for all its columns, and one dbt node instead of one per
    column (each node costs dbt and Dagster a fixed 30-50 ms, whatever the table's size). -#}
{% test not_null_columns(model, column_names) %}

    with null_counts as (

        select
            {%- for column in column_names %}
            sum(case when {{ column }} is null then 1 else 0 end) as nulls_{{ loop.index }}
            {{- "," if not loop.last }}
            {%- endfor %}
        from {{ model }}

    )

    {% for column in column_names %}
    select
        '{{ column }}' as column_name,
        nulls_{{ loop.index }} as null_rows
    from null_counts
    where nulls_{{ loop.index }} > 0
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

{% endtest %}
