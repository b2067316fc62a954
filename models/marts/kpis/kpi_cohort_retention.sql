with

orders as (

    select * from {{ ref('fct_orders') }}

),

daily as (

    select * from {{ ref('kpi_daily') }}

),

non_cancelled_orders as (

    select
        customer_id,
        order_number,
        net_revenue,
        cast({{ dbt.date_trunc('month', to_reporting_date('ordered_at')) }} as date)
            as order_month
    from orders
    where status <> 'cancelled'

),

cohort_members as (

    select
        customer_id,
        order_month as cohort_month
    from non_cancelled_orders
    where order_number = 1

),

cohort_sizes as (

    select
        cohort_month,
        count(*) as cohort_customers
    from cohort_members
    group by cohort_month

),

last_month as (

    -- The last complete or current month: the month of the last day of data.
    select cast({{ dbt.date_trunc('month', 'max(date)') }} as date) as last_month
    from daily

),

cohort_calendar as (

    select
        cohort_sizes.cohort_month,
        cohort_sizes.cohort_customers,
        {{ date_series('cohort_sizes.cohort_month', 'last_month.last_month', 'month') }}
            as activity_month
    from cohort_sizes
    cross join last_month

),

cohort_activity as (

    select
        cohort_members.cohort_month,
        non_cancelled_orders.order_month as activity_month,
        count(distinct non_cancelled_orders.customer_id) as active_customers,
        sum(non_cancelled_orders.net_revenue) as net_revenue
    from non_cancelled_orders
    inner join cohort_members
        on non_cancelled_orders.customer_id = cohort_members.customer_id
    group by cohort_members.cohort_month, non_cancelled_orders.order_month

),

joined as (

    select
        cohort_calendar.cohort_month,
        cohort_calendar.activity_month,
        cohort_calendar.cohort_customers,
        coalesce(cohort_activity.active_customers, 0) as active_customers,
        sum(coalesce(cohort_activity.net_revenue, 0)) over (
            partition by cohort_calendar.cohort_month
            order by cohort_calendar.activity_month
            rows unbounded preceding
        ) as cumulative_net_revenue
    from cohort_calendar
    left join cohort_activity
        on
            cohort_calendar.cohort_month = cohort_activity.cohort_month
            and cohort_calendar.activity_month = cohort_activity.activity_month

),

final as (

    select
        cohort_month,
        cast({{ dbt.datediff('cohort_month', 'activity_month', 'month') }} as integer)
            as months_since_first_order,
        activity_month,
        cast(cohort_customers as bigint) as cohort_customers,
        cast(active_customers as bigint) as active_customers,
        cast(active_customers as double) / nullif(cohort_customers, 0) as retention_rate,
        cast(cumulative_net_revenue as decimal(18, 2)) as cumulative_net_revenue,
        cast(cumulative_net_revenue as double) / nullif(cohort_customers, 0)
            as cumulative_revenue_per_customer
    from joined

)

select * from final
