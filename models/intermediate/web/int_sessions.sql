with

int_web_events_sessionized as (

    select * from {{ ref('int_web_events_sessionized') }}

),

-- One row per session; the landing fields are those of the session's first message, which
-- alone decides the traffic source.
sessions_aggregated as (

    select
        session_id,
        max(device_key) as device_key,
        max(anonymous_id) as anonymous_id,
        max_by(user_id, session_message_number) filter (
            where user_id is not null
        ) as identified_user_id,
        coalesce(
            array_agg(distinct user_id order by user_id) filter (where user_id is not null),
            []
        ) as user_ids,
        min(event_at) as started_at,
        max(event_at) as ended_at,
        count(case when message_type = 'page' then 1 end) as page_views,
        count(*) as events_count,
        {{ dbt.bool_or("coalesce(event_name = 'Order Completed', false)") }} as has_order,
        coalesce(
            array_agg(distinct order_id order by order_id) filter (
                where event_name = 'Order Completed' and order_id is not null
            ),
            []
        ) as order_ids,
        max(case when session_message_number = 1 then page_path end) as landing_path,
        max(case when session_message_number = 1 then page_url end) as landing_page_url,
        max(case when session_message_number = 1 then page_referrer end) as landing_referrer,
        max(case when session_message_number = 1 then utm_source end) as landing_utm_source,
        max(case when session_message_number = 1 then utm_medium end) as landing_utm_medium,
        max(case when session_message_number = 1 then utm_campaign end) as landing_utm_campaign
    from int_web_events_sessionized
    group by session_id

),

traffic_sources as (

    {{ derive_traffic_source(
        'sessions_aggregated',
        utm_source='landing_utm_source',
        utm_medium='landing_utm_medium',
        utm_campaign='landing_utm_campaign',
        page_url='landing_page_url',
        referrer_url='landing_referrer',
    ) }}

),

channels as (

    {{ classify_channel('traffic_sources') }}

),

final as (

    select
        session_id,
        device_key,
        anonymous_id,
        identified_user_id,
        user_ids,
        started_at,
        ended_at,
        page_views,
        events_count,
        has_order,
        order_ids,
        landing_path,
        landing_page_url,
        landing_referrer,
        source,
        medium,
        campaign,
        click_id_type,
        channel
    from channels

)

select * from final
