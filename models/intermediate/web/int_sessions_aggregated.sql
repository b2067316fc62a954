-- depends_on: {{ ref('int_web_devices_to_reaggregate') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        full_refresh=rebuilt_whole_on_every_run(),
        pre_hook="{% if is_incremental() %}
            delete from {{ this }}
            where device_key in (select device_key from {{ ref('int_web_devices_to_reaggregate') }})
            {% endif %}"
    )
}}

with

int_web_events_sessionized as (

    select * from {{ ref('int_web_events_sessionized') }}

),

-- An incremental run aggregates the devices this table does not hold: new ones, and those
-- the pre-hook removed because their sessionised messages changed
-- (int_web_devices_to_reaggregate).
devices_to_aggregate as (

    select int_web_events_sessionized.*
    from int_web_events_sessionized
    {%- if is_incremental() %}
        where
            not exists (
                select 1
                from {{ this }} as already_built
                where
                    already_built.device_key
                    is not distinct from int_web_events_sessionized.device_key
            )
    {%- endif %}

),

-- One row per session; the landing fields are those of the session's first message, which
-- alone decides the traffic source (int_sessions).
final as (

    select
        session_id,
        max(device_key) as device_key,
        max(anonymous_id) as anonymous_id,
        max_by(user_id, session_message_number) filter (
            where user_id is not null
        ) as identified_user_id,
        {{ sorted_distinct_list('user_id') }} as user_ids,
        min(event_at) as started_at,
        max(event_at) as ended_at,
        count(case when message_type = 'page' then 1 end) as page_views,
        count(*) as events_count,
        {{ dbt.bool_or("coalesce(event_name = 'Order Completed', false)") }} as has_order,
        {{ sorted_distinct_list('order_id', "event_name = 'Order Completed'") }} as order_ids,
        max(case when session_message_number = 1 then page_path end) as landing_path,
        max(case when session_message_number = 1 then page_url end) as landing_page_url,
        max(case when session_message_number = 1 then page_referrer end) as landing_referrer,
        max(case when session_message_number = 1 then utm_source end) as landing_utm_source,
        max(case when session_message_number = 1 then utm_medium end) as landing_utm_medium,
        max(case when session_message_number = 1 then utm_campaign end) as landing_utm_campaign,
        sum({{ sessionized_message_fingerprint() }}) as messages_fingerprint
    from devices_to_aggregate
    group by session_id

)

select * from final
