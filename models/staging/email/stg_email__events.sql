{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        full_refresh=rebuilt_whole_on_every_run(),
        pre_hook="{{ delete_copies_to_rebuild(
            ref('base_email__events'),
            'email_event_id',
            lookback_days=var('email_late_data_lookback_days'),
        ) }}"
    )
}}

with

base_email_events as (

    select * from {{ ref('base_email__events') }} as base_email__events
    -- An incremental run ranks the copies of every email_event_id this table does not hold: new
    -- ones, and those the pre-hook removed because a copy changed (delete_copies_to_rebuild).
    {%- if is_incremental() %}
        where
            not exists (
                select 1
                from {{ this }} as already_built
                where
                    already_built.email_event_id
                    is not distinct from base_email__events.email_event_id
            )
    {%- endif %}

),

ranked as (

    select
        *,
        row_number() over (
            partition by email_event_id
            order by landing_dt asc, landing_file asc, landing_line asc
        ) as copy_number
    from base_email_events

),

final as (

    select
        email_event_id,
        email_message_id,
        email,
        event_type,
        event_at,
        campaign_id,
        campaign_name,
        categories,
        click_url,
        is_machine_open,
        user_agent,
        ip,
        bounce_reason,
        bounce_type,
        landing_dt,
        landing_file,
        landing_line,
        loaded_at
    from ranked
    where copy_number = 1

)

select * from final
