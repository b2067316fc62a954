-- The web sessions that marketing email clicks opened: a session of the same person that
-- starts at most `email_click_session_minutes` after the click and carries the click URL's
-- utm_campaign (compared trimmed and lower-cased). kpi_email_campaigns credits the
-- campaign with both touches: without the session, the click is rarely the last touch.
with

email_events as (

    select * from {{ ref('stg_email__events') }}

),

email_messages as (

    select * from {{ ref('int_email_messages_summarised') }}

),

email_addresses as (

    select * from {{ ref('int_email_addresses_resolved') }}

),

sessions as (

    select * from {{ ref('int_sessions') }}

),

sessions_stitched as (

    select * from {{ ref('int_sessions_stitched') }}

),

marketing_clicks as (

    select
        'email_click:' || email_events.email_event_id as click_touchpoint_id,
        email_addresses.customer_id,
        email_events.event_at as clicked_at,
        email_messages.campaign_id as email_campaign_id,
        lower({{ trim_to_null(url_query_param('email_events.click_url', 'utm_campaign')) }})
            as utm_campaign
    from email_events
    inner join email_messages
        on email_events.email_message_id = email_messages.email_message_id
    inner join email_addresses
        on email_events.email = email_addresses.email
    where
        email_events.event_type = 'click'
        and email_messages.campaign_id is not null

),

customer_sessions as (

    select
        sessions.session_id,
        sessions_stitched.customer_id,
        sessions.started_at,
        lower({{ trim_to_null('sessions.campaign') }}) as utm_campaign
    from sessions
    inner join sessions_stitched
        on sessions.session_id = sessions_stitched.session_id
    where sessions.campaign is not null

),

candidates as (

    select
        customer_sessions.session_id,
        marketing_clicks.click_touchpoint_id,
        marketing_clicks.email_campaign_id,
        marketing_clicks.clicked_at,
        -- The click nearest before the session opened it (ties: the lowest touchpoint id).
        row_number() over (
            partition by customer_sessions.session_id
            order by marketing_clicks.clicked_at desc, marketing_clicks.click_touchpoint_id asc
        ) as click_rank
    from customer_sessions
    inner join marketing_clicks
        on
            customer_sessions.customer_id = marketing_clicks.customer_id
            and customer_sessions.utm_campaign = marketing_clicks.utm_campaign
            and customer_sessions.started_at >= marketing_clicks.clicked_at
            and customer_sessions.started_at
            <= {{ dbt.dateadd(
                'minute', var('email_click_session_minutes'), 'marketing_clicks.clicked_at'
            ) }}

),

final as (

    select
        session_id,
        click_touchpoint_id,
        email_campaign_id,
        clicked_at
    from candidates
    where click_rank = 1

)

select * from final
