with

sessions as (

    select * from {{ ref('fct_sessions') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

spend as (

    select * from {{ ref('int_ad_spend_channel_daily') }}

),

attribution as (

    select * from {{ ref('fct_attribution') }}

),

session_daily as (

    select
        {{ to_reporting_date('started_at') }} as reporting_date,
        channel,
        count(*) as sessions,
        count(*) filter (where has_order) as converting_sessions
    from sessions
    group by reporting_date, channel

),

new_customer_daily as (

    select
        {{ to_reporting_date('orders.ordered_at') }} as reporting_date,
        coalesce(customers.acquisition_channel, 'Unassigned') as channel,
        count(*) as new_customers
    from orders
    left join customers
        on orders.customer_id = customers.customer_id
    where orders.order_number = 1
    group by reporting_date, channel

),

spend_daily as (

    select
        spend_date as reporting_date,
        channel,
        ad_spend
    from spend

),

attribution_daily as (

    select
        {{ to_reporting_date('ordered_at') }} as reporting_date,
        channel,
        sum(credit) as attributed_orders,
        sum(attributed_revenue) as attributed_revenue
    from attribution
    where model = '{{ var("default_attribution_model") }}'
    group by reporting_date, channel

),

channel_days as (

    select
        reporting_date,
        channel
    from session_daily
    union
    select
        reporting_date,
        channel
    from new_customer_daily
    union
    select
        reporting_date,
        channel
    from spend_daily
    union
    select
        reporting_date,
        channel
    from attribution_daily

),

joined as (

    select
        channel_days.reporting_date,
        channel_days.channel,
        coalesce(session_daily.sessions, 0) as sessions,
        coalesce(session_daily.converting_sessions, 0) as converting_sessions,
        coalesce(new_customer_daily.new_customers, 0) as new_customers,
        coalesce(spend_daily.ad_spend, 0) as ad_spend,
        coalesce(attribution_daily.attributed_orders, 0) as attributed_orders,
        coalesce(attribution_daily.attributed_revenue, 0) as attributed_revenue
    from channel_days
    left join session_daily
        on
            channel_days.reporting_date = session_daily.reporting_date
            and channel_days.channel = session_daily.channel
    left join new_customer_daily
        on
            channel_days.reporting_date = new_customer_daily.reporting_date
            and channel_days.channel = new_customer_daily.channel
    left join spend_daily
        on
            channel_days.reporting_date = spend_daily.reporting_date
            and channel_days.channel = spend_daily.channel
    left join attribution_daily
        on
            channel_days.reporting_date = attribution_daily.reporting_date
            and channel_days.channel = attribution_daily.channel

),

final as (

    select
        reporting_date as date,  -- noqa: RF04
        channel,
        sessions,
        converting_sessions,
        converting_sessions / nullif(sessions, 0) as session_conversion_rate,
        new_customers,
        cast(ad_spend as decimal(18, 2)) as ad_spend,
        cast(ad_spend as double) / nullif(new_customers, 0) as cac,
        cast(attributed_orders as double) as attributed_orders,
        cast(attributed_revenue as double) as attributed_revenue,
        cast(attributed_revenue / nullif(ad_spend, 0) as double) as roas
    from joined

)

select * from final
