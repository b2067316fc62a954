with

spend as (

    select * from {{ ref('int_ad_spend_channels') }}

),

sessions as (

    select * from {{ ref('fct_sessions') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

attribution as (

    select * from {{ ref('fct_attribution') }}

),

-- One row per campaign of the ad spend files, named and classified as its latest spend row.
campaigns as (

    select
        ad_platform,
        campaign_id,
        max_by(campaign_name, spend_date) filter (where campaign_name is not null)
            as campaign_name,
        max_by(channel, spend_date) as channel
    from spend
    group by ad_platform, campaign_id

),

-- The UTM tags of each campaign's spend rows, trimmed and lower-cased; a row without all
-- three matches no session.
campaign_tags as (

    select distinct
        ad_platform,
        campaign_id,
        lower(trim(utm_source)) as utm_source,
        lower(trim(utm_medium)) as utm_medium,
        lower(trim(utm_campaign)) as utm_campaign
    from spend
    where
        {{ trim_to_null('utm_source') }} is not null
        and {{ trim_to_null('utm_medium') }} is not null
        and {{ trim_to_null('utm_campaign') }} is not null

),

-- The campaign's sessions: source, medium and campaign equal to its tags.
campaign_sessions as (

    select
        campaign_tags.ad_platform,
        campaign_tags.campaign_id,
        sessions.session_id,
        sessions.started_at
    from sessions
    inner join campaign_tags
        on
            lower(trim(sessions.source)) = campaign_tags.utm_source
            and lower(trim(sessions.medium)) = campaign_tags.utm_medium
            and lower(trim(sessions.campaign)) = campaign_tags.utm_campaign

),

spend_daily as (

    select
        spend_date as reporting_date,
        ad_platform,
        campaign_id,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(spend) as ad_spend
    from spend
    group by spend_date, ad_platform, campaign_id

),

session_daily as (

    select
        {{ to_reporting_date('started_at') }} as reporting_date,
        ad_platform,
        campaign_id,
        count(*) as sessions
    from campaign_sessions
    group by reporting_date, ad_platform, campaign_id

),

-- New customers: a first non-cancelled order that day by a person whose acquiring
-- touchpoint (dim_customers.acquisition_touchpoint_id) is one of the campaign's sessions.
new_customer_daily as (

    select
        {{ to_reporting_date('orders.ordered_at') }} as reporting_date,
        campaign_sessions.ad_platform,
        campaign_sessions.campaign_id,
        count(*) as new_customers
    from orders
    inner join customers
        on orders.customer_id = customers.customer_id
    inner join campaign_sessions
        on customers.acquisition_touchpoint_id = campaign_sessions.session_id
    where orders.order_number = 1
    group by reporting_date, campaign_sessions.ad_platform, campaign_sessions.campaign_id

),

attribution_daily as (

    select
        {{ to_reporting_date('attribution.ordered_at') }} as reporting_date,
        campaign_sessions.ad_platform,
        campaign_sessions.campaign_id,
        sum(attribution.credit) as attributed_orders,
        sum(attribution.attributed_revenue) as attributed_revenue
    from attribution
    inner join campaign_sessions
        on attribution.touchpoint_id = campaign_sessions.session_id
    where attribution.model = '{{ var("default_attribution_model") }}'
    group by reporting_date, campaign_sessions.ad_platform, campaign_sessions.campaign_id

),

campaign_days as (

    select
        reporting_date,
        ad_platform,
        campaign_id
    from spend_daily
    union
    select
        reporting_date,
        ad_platform,
        campaign_id
    from session_daily
    union
    select
        reporting_date,
        ad_platform,
        campaign_id
    from new_customer_daily
    union
    select
        reporting_date,
        ad_platform,
        campaign_id
    from attribution_daily

),

joined as (

    select
        campaign_days.reporting_date,
        campaign_days.ad_platform,
        campaign_days.campaign_id,
        campaigns.campaign_name,
        campaigns.channel,
        coalesce(spend_daily.impressions, 0) as impressions,
        coalesce(spend_daily.clicks, 0) as clicks,
        coalesce(spend_daily.ad_spend, 0) as ad_spend,
        coalesce(session_daily.sessions, 0) as sessions,
        coalesce(new_customer_daily.new_customers, 0) as new_customers,
        coalesce(attribution_daily.attributed_orders, 0) as attributed_orders,
        coalesce(attribution_daily.attributed_revenue, 0) as attributed_revenue
    from campaign_days
    inner join campaigns
        on
            campaign_days.ad_platform = campaigns.ad_platform
            and campaign_days.campaign_id = campaigns.campaign_id
    left join spend_daily
        on
            campaign_days.reporting_date = spend_daily.reporting_date
            and campaign_days.ad_platform = spend_daily.ad_platform
            and campaign_days.campaign_id = spend_daily.campaign_id
    left join session_daily
        on
            campaign_days.reporting_date = session_daily.reporting_date
            and campaign_days.ad_platform = session_daily.ad_platform
            and campaign_days.campaign_id = session_daily.campaign_id
    left join new_customer_daily
        on
            campaign_days.reporting_date = new_customer_daily.reporting_date
            and campaign_days.ad_platform = new_customer_daily.ad_platform
            and campaign_days.campaign_id = new_customer_daily.campaign_id
    left join attribution_daily
        on
            campaign_days.reporting_date = attribution_daily.reporting_date
            and campaign_days.ad_platform = attribution_daily.ad_platform
            and campaign_days.campaign_id = attribution_daily.campaign_id

),

final as (

    select
        reporting_date as date,  -- noqa: RF04
        ad_platform as platform,
        campaign_id,
        campaign_name,
        channel,
        cast(impressions as bigint) as impressions,
        cast(clicks as bigint) as clicks,
        cast(ad_spend as decimal(18, 2)) as ad_spend,
        cast(clicks / nullif(impressions, 0) as double) as ctr,
        cast(ad_spend as double) / nullif(clicks, 0) as cpc,
        cast(1000 * ad_spend as double) / nullif(impressions, 0) as cpm,
        cast(sessions as bigint) as sessions,
        cast(new_customers as bigint) as new_customers,
        cast(ad_spend as double) / nullif(new_customers, 0) as cac,
        cast(attributed_orders as double) as attributed_orders,
        cast(attributed_revenue as double) as attributed_revenue,
        cast(attributed_revenue / nullif(ad_spend, 0) as double) as roas
    from joined

)

select * from final
