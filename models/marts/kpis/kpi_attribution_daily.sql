with

attribution as (

    select * from {{ ref('fct_attribution') }}

),

spend as (

    select * from {{ ref('int_ad_spend_channel_daily') }}

),

attribution_daily as (

    select
        {{ to_reporting_date('ordered_at') }} as reporting_date,
        channel,
        model,
        sum(credit) as attributed_orders,
        sum(attributed_revenue) as attributed_revenue
    from attribution
    group by reporting_date, channel, model

),

spend_daily as (

    select
        spend_date as reporting_date,
        channel,
        ad_spend
    from spend

),

attribution_models as (

    select distinct model from attribution

),

channel_days as (

    select
        reporting_date,
        channel
    from attribution_daily
    union
    select
        reporting_date,
        channel
    from spend_daily

),

-- Every model on every channel-day, so models compare side by side also where one of
-- them credits the channel nothing.
grid as (

    select
        channel_days.reporting_date,
        channel_days.channel,
        attribution_models.model
    from channel_days
    cross join attribution_models

),

joined as (

    select
        grid.reporting_date,
        grid.channel,
        grid.model,
        coalesce(attribution_daily.attributed_orders, 0) as attributed_orders,
        coalesce(attribution_daily.attributed_revenue, 0) as attributed_revenue,
        coalesce(spend_daily.ad_spend, 0) as ad_spend
    from grid
    left join attribution_daily
        on
            grid.reporting_date = attribution_daily.reporting_date
            and grid.channel = attribution_daily.channel
            and grid.model = attribution_daily.model
    left join spend_daily
        on
            grid.reporting_date = spend_daily.reporting_date
            and grid.channel = spend_daily.channel

),

final as (

    select
        reporting_date as date,  -- noqa: RF04
        channel,
        model,
        cast(attributed_orders as double) as attributed_orders,
        cast(attributed_revenue as double) as attributed_revenue,
        cast(ad_spend as decimal(18, 2)) as ad_spend,
        cast(attributed_revenue / nullif(ad_spend, 0) as double) as roas
    from joined

)

select * from final
