with

reporting_days as (

    select * from {{ ref('int_reporting_days') }}

),

sessions as (

    select * from {{ ref('fct_sessions') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

ad_spend_channel_daily as (

    select * from {{ ref('int_ad_spend_channel_daily') }}

),

email_daily as (

    select * from {{ ref('int_email_messages_daily') }}

),

survey_daily as (

    select * from {{ ref('int_survey_scores_daily') }}

),

calendar as (

    select
        {{ date_series('first_data_date', 'last_data_date', 'day') }} as reporting_date
    from reporting_days

),

session_daily as (

    select
        {{ to_reporting_date('started_at') }} as reporting_date,
        count(*) as sessions,
        count(*) filter (where has_order) as converting_sessions
    from sessions
    group by reporting_date

),

non_cancelled_orders as (

    select
        *,
        {{ to_reporting_date('ordered_at') }} as reporting_date
    from orders
    where status <> 'cancelled'

),

order_daily as (

    select
        reporting_date,
        count(*) as orders,
        sum(net_revenue) as net_revenue,
        count(*) filter (where order_number = 1) as new_customers,
        count(*) filter (where order_number = 2) as new_repeat_customers
    from non_cancelled_orders
    group by reporting_date

),

spend_daily as (

    select
        spend_date as reporting_date,
        sum(ad_spend) as ad_spend
    from ad_spend_channel_daily
    group by spend_date

),

joined as (

    select
        calendar.reporting_date as date,  -- noqa: RF04
        coalesce(session_daily.sessions, 0) as sessions,
        coalesce(session_daily.converting_sessions, 0) as converting_sessions,
        coalesce(order_daily.orders, 0) as orders,
        coalesce(order_daily.net_revenue, 0) as net_revenue,
        coalesce(order_daily.new_customers, 0) as new_customers,
        coalesce(spend_daily.ad_spend, 0) as ad_spend,
        sum(coalesce(order_daily.new_customers, 0)) over to_date as customers_with_orders_to_date,
        sum(coalesce(order_daily.new_repeat_customers, 0)) over to_date
            as repeat_customers_to_date,
        coalesce(email_daily.emails_delivered, 0) as emails_delivered,
        coalesce(email_daily.unique_opens, 0) as unique_opens,
        coalesce(email_daily.unique_clicks, 0) as unique_clicks,
        coalesce(email_daily.transactional_emails_delivered, 0)
            as transactional_emails_delivered,
        coalesce(survey_daily.nps_responses, 0) as nps_responses,
        coalesce(survey_daily.nps_promoters, 0) as nps_promoters,
        coalesce(survey_daily.nps_detractors, 0) as nps_detractors,
        coalesce(survey_daily.csat_responses, 0) as csat_responses,
        coalesce(survey_daily.csat_satisfied, 0) as csat_satisfied
    from calendar
    left join session_daily on calendar.reporting_date = session_daily.reporting_date
    left join order_daily on calendar.reporting_date = order_daily.reporting_date
    left join spend_daily on calendar.reporting_date = spend_daily.reporting_date
    left join email_daily on calendar.reporting_date = email_daily.reporting_date
    left join survey_daily on calendar.reporting_date = survey_daily.reporting_date
    window to_date as (order by calendar.reporting_date rows unbounded preceding)

),

final as (

    select
        date,
        sessions,
        converting_sessions,
        converting_sessions / nullif(sessions, 0) as session_conversion_rate,
        orders,
        cast(net_revenue as decimal(18, 2)) as net_revenue,
        cast(net_revenue as double) / nullif(orders, 0) as average_order_value,
        new_customers,
        cast(ad_spend as decimal(18, 2)) as ad_spend,
        cast(ad_spend as double) / nullif(new_customers, 0) as blended_cac,
        cast(customers_with_orders_to_date as bigint) as customers_with_orders_to_date,
        cast(repeat_customers_to_date as bigint) as repeat_customers_to_date,
        repeat_customers_to_date / nullif(customers_with_orders_to_date, 0)
            as repeat_purchase_rate,
        emails_delivered,
        unique_opens,
        unique_clicks,
        unique_opens / nullif(emails_delivered, 0) as email_open_rate,
        unique_clicks / nullif(emails_delivered, 0) as email_click_rate,
        transactional_emails_delivered,
        nps_responses,
        nps_promoters,
        nps_detractors,
        100 * cast(nps_promoters - nps_detractors as double) / nullif(nps_responses, 0) as nps,
        csat_responses,
        csat_satisfied,
        100 * cast(csat_satisfied as double) / nullif(csat_responses, 0) as csat
    from joined

)

select * from final
