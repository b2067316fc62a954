{#- The landing days an incremental model must rebuild from `upstream`: every day whose
    upstream rows changed since the model last saw them (loaded, reloaded, anonymised by
    an erasure, or removed), plus the days of the Dagster partition window (macro
    run_window_bound) when the run passes one, and the
    `lookback_days` landing days before it (the source's late-data lookback).
    A day is compared on its latest `loaded_at`, so the answer stays the same after the
    pre-hook has deleted the day from the model: the delete and the insert agree.
    `upstream` is a raw table (`dt`, text `loaded_at`) or, with upstream_is_raw=false, a
    model with `landing_dt` and `loaded_at`. -#}
{% macro landing_days_to_rebuild(upstream, lookback_days=0, upstream_is_raw=true) -%}
        {%- set day_column = 'dt' if upstream_is_raw else 'landing_dt' -%}
        {%- set loaded_at = to_utc_timestamp('loaded_at') if upstream_is_raw else 'loaded_at' -%}
        select coalesce(raw_days.landing_dt, model_days.landing_dt) as landing_dt
        from (
            select
                {{ day_column }} as landing_dt,
                max({{ loaded_at }}) as last_loaded_at
            from {{ upstream }}
            group by {{ day_column }}
        ) as raw_days
        full outer join (
            select
                landing_dt,
                max(loaded_at) as last_loaded_at
            from {{ this }}
            group by landing_dt
        ) as model_days
            on raw_days.landing_dt = model_days.landing_dt
        where raw_days.last_loaded_at is distinct from model_days.last_loaded_at
        {%- if run_window_is_set() %}
        union
        select {{ day_column }} as landing_dt
        from {{ upstream }}
        where
            {{ day_column }} >= {{ run_window_bound('start') }} - {{ lookback_days | int }}
            and {{ day_column }} < {{ run_window_bound('end') }}
        {%- endif %}
{%- endmacro %}


{#- pre-hook of an incremental base model: remove the landing days about to be rebuilt. -#}
{% macro delete_landing_days_to_rebuild(raw_relation, lookback_days=0) -%}
    {%- if is_incremental() %}
    delete from {{ this }}
    where landing_dt in ({{ landing_days_to_rebuild(raw_relation, lookback_days) }})
    {%- endif %}
{%- endmacro %}


{#- pre-hook of a deduplicated staging model (one row per `key_column`, the winning copy of
    the base model's copies): remove the rows of the landing days to rebuild and every key
    with a copy in them. The model then builds every key it does not hold from all of its
    copies, so a new copy, a reload or an erasure of any copy picks the winner again. -#}
{% macro delete_copies_to_rebuild(upstream, key_column, lookback_days=0) -%}
    {%- if is_incremental() %}
    delete from {{ this }}
    where
        landing_dt in ({{ landing_days_to_rebuild(upstream, lookback_days, upstream_is_raw=false) }})
        or {{ key_column }} in (
            select {{ key_column }}
            from {{ upstream }}
            where landing_dt in ({{ landing_days_to_rebuild(upstream, lookback_days, upstream_is_raw=false) }})
        )
    {%- endif %}
{%- endmacro %}
