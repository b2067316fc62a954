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


{#- How an incremental base model keeps its landing days (config(**landing_day_incremental_config()))
    on each engine. DuckDB: the pre-hook deletes the days to rebuild and the model appends them.
    Spark, whose plain Parquet tables take no delete: the table is partitioned by landing_dt and
    the model's rows overwrite the partitions of their days (dbt-spark's insert_overwrite, a
    dynamic partition overwrite); the pre-hook drops the days to rebuild that have no rows left
    upstream, which no row would overwrite. -#}
{% macro landing_day_incremental_config() -%}
    {{- return(adapter.dispatch('landing_day_incremental_config', 'journey')()) -}}
{%- endmacro %}

{% macro duckdb__landing_day_incremental_config() -%}
    {{- return({'incremental_strategy': 'append'}) -}}
{%- endmacro %}

{% macro spark__landing_day_incremental_config() -%}
    {{- return({
        'incremental_strategy': 'insert_overwrite',
        'partition_by': ['landing_dt'],
        'file_format': 'parquet',
    }) -}}
{%- endmacro %}


{#- pre-hook of an incremental base model: remove the landing days about to be rebuilt. -#}
{% macro delete_landing_days_to_rebuild(raw_relation, lookback_days=0) -%}
    {{- adapter.dispatch('delete_landing_days_to_rebuild', 'journey')(raw_relation, lookback_days) -}}
{%- endmacro %}

{% macro duckdb__delete_landing_days_to_rebuild(raw_relation, lookback_days=0) -%}
    {%- if is_incremental() %}
    delete from {{ this }}
    where landing_dt in ({{ landing_days_to_rebuild(raw_relation, lookback_days) }})
    {%- endif %}
{%- endmacro %}

{#- Spark: the landing days the model holds and raw no longer does (a reload whose records
    were all rejected), their partitions dropped: no row of the run would overwrite them.
    They are exactly the days to rebuild that raw does not hold (landing_days_to_rebuild
    lists every day the model holds and raw does not, and only days raw holds besides), so
    the hook reads two day columns instead of computing the days to rebuild a second time;
    the other days to rebuild are overwritten by the model's rows. Nothing when none. -#}
{% macro spark__delete_landing_days_to_rebuild(raw_relation, lookback_days=0) -%}
    {%- if is_incremental() and execute %}
        {%- set removed_days_query -%}
            select model_days.landing_dt
            from (select distinct landing_dt from {{ this }}) as model_days
            where not exists (
                select 1 from {{ raw_relation }} as raw_rows
                where raw_rows.dt = model_days.landing_dt
            )
            order by model_days.landing_dt
        {%- endset -%}
        {%- set removed_days = run_query(removed_days_query).columns[0].values() -%}
        {%- if removed_days | length > 0 %}
    alter table {{ this }} drop if exists
        {%- for day in removed_days %}
        partition (landing_dt = '{{ day }}'){{ ',' if not loop.last }}
        {%- endfor %}
        {%- endif %}
    {%- endif %}
{%- endmacro %}


{#- Whether an incremental model is rebuilt whole on every run of this engine
    (config(full_refresh=...)): the deduplicated staging models and the sessions on Spark,
    whose plain Parquet tables take no delete and which are not partitioned by anything their
    incremental runs could overwrite (a message's winning copy, a device's sessions, move
    between landing days). None elsewhere, so that `--full-refresh` decides. -#}
{% macro rebuilt_whole_on_every_run() -%}
    {{- return(adapter.dispatch('rebuilt_whole_on_every_run', 'journey')()) -}}
{%- endmacro %}

{% macro duckdb__rebuilt_whole_on_every_run() -%}
    {{- return(none) -}}
{%- endmacro %}

{% macro spark__rebuilt_whole_on_every_run() -%}
    {{- return(true) -}}
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
