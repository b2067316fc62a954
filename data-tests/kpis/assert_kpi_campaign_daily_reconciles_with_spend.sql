{{ config(meta={'dagster': {'ref': {'name': 'kpi_campaign_daily'}}}) }}
-- kpi_campaign_daily carries every spend row once: its impressions, clicks and spend sum
-- to those of stg_ads__spend, per platform and campaign; and it credits no more new
-- customers than kpi_daily has, nor more attributed orders than there are non-cancelled
-- orders. Returns the checks that fail.
with

campaign_daily as (

    select * from {{ ref('kpi_campaign_daily') }}

),

spend as (

    select * from {{ ref('stg_ads__spend') }}

),

kpi_daily as (

    select * from {{ ref('kpi_daily') }}

),

campaign_totals as (

    select
        platform,
        campaign_id,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(ad_spend) as ad_spend
    from campaign_daily
    group by platform, campaign_id

),

spend_totals as (

    select
        ad_platform as platform,
        campaign_id,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(spend) as ad_spend
    from spend
    group by ad_platform, campaign_id

),

spend_mismatches as (

    select
        coalesce(campaign_totals.platform, spend_totals.platform) || ' / '
        || coalesce(campaign_totals.campaign_id, spend_totals.campaign_id) as problem
    from campaign_totals
    full outer join spend_totals
        on
            campaign_totals.platform = spend_totals.platform
            and campaign_totals.campaign_id = spend_totals.campaign_id
    where
        campaign_totals.impressions is distinct from spend_totals.impressions
        or campaign_totals.clicks is distinct from spend_totals.clicks
        or campaign_totals.ad_spend is distinct from spend_totals.ad_spend

),

campaigns as (

    select
        sum(new_customers) as new_customers,
        sum(attributed_orders) as attributed_orders
    from campaign_daily

),

shop as (

    select
        sum(new_customers) as new_customers,
        sum(orders) as orders
    from kpi_daily

),

totals_check as (

    select 'more new customers or attributed orders than the shop had' as problem
    from campaigns
    cross join shop
    where
        campaigns.new_customers > shop.new_customers
        or campaigns.attributed_orders > shop.orders + 1e-6

)

select * from spend_mismatches
union all
select * from totals_check
