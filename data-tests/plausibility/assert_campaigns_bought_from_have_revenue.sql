{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'kpi_email_campaigns'}}}) }}
-- Plausibility (warns, never blocks): a campaign whose clicks opened sessions that led to
-- orders with revenue should show attributed revenue. Returns each campaign with such
-- orders but no revenue in kpi_email_campaigns: a sign that the click-to-session link or
-- the default attribution model misses the campaign's touches.
with

campaigns as (

    select * from {{ ref('kpi_email_campaigns') }}

),

touchpoints as (

    select * from {{ ref('fct_touchpoints') }}

),

sessions as (

    select * from {{ ref('int_sessions') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

-- Orders with revenue placed in a session that a campaign's click opened (a refunded or
-- cancelled order earns nothing to attribute).
campaign_orders as (

    select
        touchpoints.email_campaign_id as campaign_id,
        count(distinct orders.order_id) as orders_with_revenue
    from touchpoints
    inner join sessions
        on touchpoints.touchpoint_id = sessions.session_id
    inner join orders
        on {{ array_has('sessions.order_ids', 'orders.order_id') }}
    where touchpoints.email_campaign_id is not null and orders.net_revenue > 0
    group by touchpoints.email_campaign_id

)

select
    campaigns.campaign_id,
    campaigns.campaign_name,
    campaign_orders.orders_with_revenue,
    campaigns.attributed_revenue
from campaign_orders
inner join campaigns
    on campaign_orders.campaign_id = campaigns.campaign_id
where campaigns.attributed_revenue = 0
