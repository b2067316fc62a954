-- A table on top of the incremental int_sessions_aggregated: the traffic source and the
-- channel come from seeds an analyst edits (int_session_traffic_sources,
-- int_traffic_source_channels), so they are derived again on every run.
with

int_sessions_aggregated as (

    select * from {{ ref('int_sessions_aggregated') }}

),

int_session_traffic_sources as (

    select * from {{ ref('int_session_traffic_sources') }}

),

int_traffic_source_channels as (

    select * from {{ ref('int_traffic_source_channels') }}

),

final as (

    select
        int_sessions_aggregated.session_id,
        int_sessions_aggregated.device_key,
        int_sessions_aggregated.anonymous_id,
        int_sessions_aggregated.identified_user_id,
        int_sessions_aggregated.user_ids,
        int_sessions_aggregated.started_at,
        int_sessions_aggregated.ended_at,
        int_sessions_aggregated.page_views,
        int_sessions_aggregated.events_count,
        int_sessions_aggregated.has_order,
        int_sessions_aggregated.order_ids,
        int_sessions_aggregated.landing_path,
        int_sessions_aggregated.landing_page_url,
        int_sessions_aggregated.landing_referrer,
        int_session_traffic_sources.source,
        int_session_traffic_sources.medium,
        int_session_traffic_sources.campaign,
        int_session_traffic_sources.click_id_type,
        int_traffic_source_channels.channel
    from int_sessions_aggregated
    left join int_session_traffic_sources
        on int_sessions_aggregated.session_id = int_session_traffic_sources.session_id
    left join int_traffic_source_channels
        on
            {{ channel_match_value('int_session_traffic_sources.source') }}
            = int_traffic_source_channels.source
            and {{ channel_match_value('int_session_traffic_sources.medium') }}
            = int_traffic_source_channels.medium
            and {{ channel_match_value('int_session_traffic_sources.campaign') }}
            = int_traffic_source_channels.campaign

)

select * from final
