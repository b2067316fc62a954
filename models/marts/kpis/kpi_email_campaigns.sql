with

messages as (

    select * from {{ ref('int_email_messages_summarised') }}

),

touchpoints as (

    select * from {{ ref('int_touchpoints_unioned') }}

),

attribution as (

    select * from {{ ref('fct_attribution') }}

),

campaign_messages as (

    -- Transactional mail (no marketing campaign) is one row of its own.
    select
        coalesce(campaign_id, '(transactional)') as campaign_id,
        case
            when campaign_id is null then '(transactional)'
            else coalesce(campaign_name, campaign_id)
        end as campaign_name,
        email_message_id,
        processed_at,
        last_event_at,
        is_processed,
        is_delivered,
        is_opened,
        is_clicked,
        is_bounced,
        is_unsubscribed,
        is_spam_reported
    from messages

),

campaign_counts as (

    select
        campaign_id,
        max_by(campaign_name, last_event_at) filter (where campaign_name is not null)
            as campaign_name,
        min(processed_at) as first_sent_at,
        count(*) filter (where is_processed) as sent,
        count(*) filter (where is_delivered) as delivered,
        count(*) filter (where is_opened) as unique_opens,
        count(*) filter (where is_clicked) as unique_clicks,
        count(*) filter (where is_bounced) as bounces,
        count(*) filter (where is_unsubscribed) as unsubscribes,
        count(*) filter (where is_spam_reported) as spam_reports
    from campaign_messages
    group by campaign_id

),

campaign_touches as (

    -- The campaign's touches: its email clicks and the web sessions they opened.
    select
        touchpoint_id,
        email_campaign_id as campaign_id
    from touchpoints
    where email_campaign_id is not null

),

campaign_revenue as (

    select
        campaign_touches.campaign_id,
        sum(attribution.credit) as attributed_orders,
        sum(attribution.attributed_revenue) as attributed_revenue
    from attribution
    inner join campaign_touches
        on attribution.touchpoint_id = campaign_touches.touchpoint_id
    where attribution.model = '{{ var("default_attribution_model") }}'
    group by campaign_touches.campaign_id

),

final as (

    select
        campaign_counts.campaign_id,
        campaign_counts.campaign_name,
        campaign_counts.first_sent_at,
        {{ to_reporting_date('campaign_counts.first_sent_at') }} as first_sent_date,
        cast(campaign_counts.sent as bigint) as sent,
        cast(campaign_counts.delivered as bigint) as delivered,
        cast(campaign_counts.unique_opens as bigint) as unique_opens,
        cast(campaign_counts.unique_clicks as bigint) as unique_clicks,
        cast(campaign_counts.bounces as bigint) as bounces,
        cast(campaign_counts.unsubscribes as bigint) as unsubscribes,
        cast(campaign_counts.spam_reports as bigint) as spam_reports,
        cast(campaign_counts.unique_opens as double) / nullif(campaign_counts.delivered, 0)
            as open_rate,
        cast(campaign_counts.unique_clicks as double) / nullif(campaign_counts.delivered, 0)
            as click_rate,
        cast(campaign_counts.unique_clicks as double) / nullif(campaign_counts.unique_opens, 0)
            as click_to_open_rate,
        cast(campaign_counts.bounces as double) / nullif(campaign_counts.sent, 0) as bounce_rate,
        cast(campaign_counts.unsubscribes as double) / nullif(campaign_counts.delivered, 0)
            as unsubscribe_rate,
        cast(coalesce(campaign_revenue.attributed_orders, 0) as double) as attributed_orders,
        cast(coalesce(campaign_revenue.attributed_revenue, 0) as double) as attributed_revenue
    from campaign_counts
    left join campaign_revenue
        on campaign_counts.campaign_id = campaign_revenue.campaign_id

)

select * from final
