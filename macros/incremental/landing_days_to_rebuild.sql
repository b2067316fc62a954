{#- The landing days (`dt`) an incremental staging model must rebuild from `raw_relation`:
    every day whose raw rows changed since the model last saw them (loaded, reloaded,
    anonymised by an erasure, or removed), plus the days of the Dagster partition window
    (vars `window_start` inclusive, `window_end` exclusive) when the run passes one.
    A day is compared on its latest `loaded_at`, so the answer stays the same after the
    pre-hook has deleted the day from the model: the delete and the insert agree. -#}
{% macro landing_days_to_rebuild(raw_relation) -%}
        select coalesce(raw_days.landing_dt, model_days.landing_dt) as landing_dt
        from (
            select
                dt as landing_dt,
                max({{ to_utc_timestamp('loaded_at') }}) as last_loaded_at
            from {{ raw_relation }}
            group by dt
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
        {%- if var('window_start', none) and var('window_end', none) %}
        union
        select dt as landing_dt
        from {{ raw_relation }}
        where
            dt >= cast('{{ var("window_start") }}' as date)
            and dt < cast('{{ var("window_end") }}' as date)
        {%- endif %}
{%- endmacro %}


{#- pre-hook of an incremental staging model: remove the landing days about to be rebuilt. -#}
{% macro delete_landing_days_to_rebuild(raw_relation) -%}
    {%- if is_incremental() %}
    delete from {{ this }}
    where landing_dt in ({{ landing_days_to_rebuild(raw_relation) }})
    {%- endif %}
{%- endmacro %}
