{#- On an incremental run, keeps the rows of `row_alias` whose `key` the model does not hold:
    new keys, and those its pre-hook deleted to be recomputed. Nothing on a full build.
    Null keys compare equal, like the pre-hooks' deletes. -#}
{% macro where_key_not_in_this(row_alias, key) -%}
    {%- if is_incremental() %}
    where not exists (
        select 1
        from {{ this }} as already_built
        where already_built.{{ key }} is not distinct from {{ row_alias }}.{{ key }}
    )
    {%- endif %}
{%- endmacro %}
