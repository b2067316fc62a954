{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        full_refresh=rebuilt_whole_on_every_run(),
        pre_hook="{{ delete_copies_to_rebuild(
            ref('base_web__events'),
            'message_id',
            lookback_days=var('web_late_data_lookback_days'),
        ) }}"
    )
}}

with

base_web_events as (

    select * from {{ ref('base_web__events') }} as base_web__events
    -- An incremental run ranks the copies of every message_id this table does not hold: new
    -- ones, and those the pre-hook removed because a copy changed (delete_copies_to_rebuild).
    {%- if is_incremental() %}
        where
            not exists (
                select 1
                from {{ this }} as already_built
                where already_built.message_id is not distinct from base_web__events.message_id
            )
    {%- endif %}

),

ranked as (

    select
        *,
        row_number() over (
            partition by message_id
            order by
                received_at asc nulls last,
                landing_dt asc,
                landing_file asc,
                landing_line asc
        ) as copy_number
    from base_web_events

),

final as (

    select
        message_id,
        message_type,
        event_name,
        anonymous_id,
        user_id,
        event_at,
        received_at,
        page_url,
        page_path,
        page_referrer,
        page_title,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_term,
        utm_content,
        gclid,
        fbclid,
        msclkid,
        user_agent,
        ip,
        trait_email,
        order_id,
        revenue,
        currency,
        product_id,
        properties,
        traits,
        landing_dt,
        landing_file,
        landing_line,
        loaded_at
    from ranked
    where copy_number = 1

)

select * from final
