-- A table on top of the incremental int_sessions_aggregated: the traffic source and the
-- channel come from seeds an analyst edits, so they are derived again on every run.
with

int_sessions_aggregated as (

    select * from {{ ref('int_sessions_aggregated') }}

),

traffic_sources as (

    {{ derive_traffic_source(
        'int_sessions_aggregated',
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
