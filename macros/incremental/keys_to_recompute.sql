{#- The keys (e.g. a web device) whose rows an incremental model must recompute: every key
    whose upstream rows differ from those the model last built it from. A key is compared
    on its number of upstream rows and the sum of a fingerprint of each row (a hash of
    the columns that identify the row's content, e.g. message id, landing day and
    loaded_at: the loader and the erasure step give every row they write a new, later
    loaded_at). So a key that gains, loses or changes a row, or whose rows move to another
    copy, compares unequal; a key gone from upstream, or new to it, compares with null.
    Keys seen in the late-data lookback (the landing days from `window_start` minus
    `lookback_days` up to `window_end`) are recomputed as well.

    upstream: a relation or a parenthesised select, one row per upstream row, with the
      columns `key_column`, `landing_dt` and those `row_fingerprint` reads;
    row_fingerprint: a hash expression over one upstream row;
    model_rows_count / model_fingerprint: the same two figures aggregated over the model's
      rows of one key (by default count(*) and the sum of row_fingerprint over them). -#}
{% macro keys_to_recompute(
    upstream,
    key_column,
    row_fingerprint,
    model_rows_count='count(*)',
    model_fingerprint=none,
    lookback_days=0
) -%}
        select coalesce(upstream_keys.{{ key_column }}, model_keys.{{ key_column }}) as {{ key_column }}
        from (
            select
                {{ key_column }},
                count(*) as rows_count,
                sum({{ row_fingerprint }}) as fingerprint
            from {{ upstream }} as upstream_rows
            group by {{ key_column }}
        ) as upstream_keys
        full outer join (
            select
                {{ key_column }},
                {{ model_rows_count }} as rows_count,
                {{ model_fingerprint or 'sum(' ~ row_fingerprint ~ ')' }} as fingerprint
            from {{ this }}
            group by {{ key_column }}
        ) as model_keys
            on upstream_keys.{{ key_column }} = model_keys.{{ key_column }}
        where
            upstream_keys.rows_count is distinct from model_keys.rows_count
            or upstream_keys.fingerprint is distinct from model_keys.fingerprint
        {%- if var('window_start', none) and var('window_end', none) %}
        union
        select {{ key_column }}
        from {{ upstream }} as upstream_rows
        where
            landing_dt >= cast('{{ var("window_start") }}' as date) - {{ lookback_days | int }}
            and landing_dt < cast('{{ var("window_end") }}' as date)
        {%- endif %}
{%- endmacro %}


{#- pre-hook of a keyed incremental model: remove the rows of the keys to recompute. The
    model then builds every key it does not hold, so a run that dies between the two
    leaves keys that the next run rebuilds. -#}
{% macro delete_keys_to_recompute(upstream, key_column) -%}
    {%- if is_incremental() %}
    delete from {{ this }}
    where {{ key_column }} in (
        {{ keys_to_recompute(upstream, key_column, **kwargs) }}
    )
    {%- endif %}
{%- endmacro %}
