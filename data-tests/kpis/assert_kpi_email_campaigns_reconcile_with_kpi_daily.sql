-- The campaign rows (transactional mail included) add up to all email: delivered,
-- unique opens and unique clicks match the totals of kpi_daily, and attributed revenue
-- matches the last_touch revenue of fct_attribution on email-click touchpoints.
-- Returns the measures that differ.
with

campaigns as (

    select * from {{ ref('kpi_email_campaigns') }}

),

daily as (

    select * from {{ ref('kpi_daily') }}

),

attribution as (

    select * from {{ ref('fct_attribution') }}

),

campaign_totals as (

    select
        coalesce(sum(delivered), 0) as delivered,
        coalesce(sum(unique_opens), 0) as unique_opens,
        coalesce(sum(unique_clicks), 0) as unique_clicks,
        coalesce(sum(attributed_revenue), 0) as attributed_revenue
    from campaigns

),

daily_totals as (

    select
        coalesce(sum(emails_delivered), 0) as delivered,
        coalesce(sum(unique_opens), 0) as unique_opens,
        coalesce(sum(unique_clicks), 0) as unique_clicks
    from daily

),

attribution_totals as (

    select coalesce(sum(attributed_revenue), 0) as attributed_revenue
    from attribution
    where model = 'last_touch' and touchpoint_id like 'email_click:%'

)

select
    campaign_totals.delivered,
    daily_totals.delivered as daily_delivered,
    campaign_totals.unique_opens,
    daily_totals.unique_opens as daily_unique_opens,
    campaign_totals.unique_clicks,
    daily_totals.unique_clicks as daily_unique_clicks,
    campaign_totals.attributed_revenue,
    attribution_totals.attributed_revenue as last_touch_email_click_revenue
from campaign_totals
cross join daily_totals
cross join attribution_totals
where
    campaign_totals.delivered <> daily_totals.delivered
    or campaign_totals.unique_opens <> daily_totals.unique_opens
    or campaign_totals.unique_clicks <> daily_totals.unique_clicks
    or abs(campaign_totals.attributed_revenue - attribution_totals.attributed_revenue) > 0.005
