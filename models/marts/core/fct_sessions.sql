with

sessions as (

    select * from {{ ref('int_sessions') }}

),

sessions_stitched as (

    select * from {{ ref('int_sessions_stitched') }}

),

final as (

    select
        sessions.session_id,
        sessions_stitched.customer_id,
        sessions.anonymous_id,
        sessions.started_at,
        sessions.ended_at,
        sessions.channel,
        sessions.source,
        sessions.medium,
        sessions.campaign,
        sessions.landing_path,
        sessions.page_views,
        sessions.events_count,
        sessions.has_order,
        sessions_stitched.stitch_method
    from sessions
    inner join sessions_stitched
        on sessions.session_id = sessions_stitched.session_id

)

select * from final
