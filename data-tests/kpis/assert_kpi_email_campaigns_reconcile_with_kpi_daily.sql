{{ config(meta={'dagster': {'ref': {'name': 'kpi_email_campaigns'}}}) }}
-- The campaign rows add up to all marketing mail and the (transactional) row to the rest:
-- delivered, unique opens and unique clicks of the campaigns match the marketing totals of
-- kpi_daily, transactional deliveries match transactional_emails_delivered, and the
-- campaigns' attributed revenue matches the default model's revenue on the touchpoints
-- that name a campaign (fct_touchpoints.email_campaign_id). Returns the measures that
-- differ.
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

touchpoints as (

    select * from {{ ref('fct_touchpoints') }}

),

campaign_totals as (

    select
        coalesce(sum(delivered) filter (where campaign_id <> '(transactional)'), 0)
            as delivered,
        coalesce(sum(unique_opens) filter (where campaign_id <> '(transactional)'), 0)
            as unique_opens,
        coalesce(sum(unique_clicks) filter (where campaign_id <> '(transactional)'), 0)
            as unique_clicks,
        coalesce(sum(delivered) filter (where campaign_id = '(transactional)'), 0)
            as transactional_delivered,
        coalesce(sum(attributed_revenue), 0) as attributed_revenue
    from campaigns

),

daily_totals as (

    select
        coalesce(sum(emails_delivered), 0) as delivered,
        coalesce(sum(unique_opens), 0) as unique_opens,
        coalesce(sum(unique_clicks), 0) as unique_clicks,
        coalesce(sum(transactional_emails_delivered), 0) as transactional_delivered
    from daily

),

attribution_totals as (

    select coalesce(sum(attribution.attributed_revenue), 0) as attributed_revenue
    from attribution
    inner join touchpoints
        on attribution.touchpoint_id = touchpoints.touchpoint_id
    where
        attribution.model = '{{ var("default_attribution_model") }}'
        and touchpoints.email_campaign_id is not null

)

select
    campaign_totals.delivered,
    daily_totals.delivered as daily_delivered,
    campaign_totals.unique_opens,
    daily_totals.unique_opens as daily_unique_opens,
    campaign_totals.unique_clicks,
    daily_totals.unique_clicks as daily_unique_clicks,
    campaign_totals.transactional_delivered,
    daily_totals.transactional_delivered as daily_transactional_delivered,
    campaign_totals.attributed_revenue,
    attribution_totals.attributed_revenue as campaign_touch_revenue
from campaign_totals
cross join daily_totals
cross join attribution_totals
where
    campaign_totals.delivered <> daily_totals.delivered
    or campaign_totals.unique_opens <> daily_totals.unique_opens
    or campaign_totals.unique_clicks <> daily_totals.unique_clicks
    or campaign_totals.transactional_delivered <> daily_totals.transactional_delivered
    or abs(campaign_totals.attributed_revenue - attribution_totals.attributed_revenue) > 0.005
