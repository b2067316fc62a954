{{ config(meta={'dagster': {'ref': {'name': 'dim_customers'}}}) }}
-- int_clv_customer_summary restates the order rules of fct_orders and dim_customers one
-- layer down; this checks them against the marts: the same people (identified, with a
-- non-cancelled order), the same first and last order days, the same number of distinct
-- order days, and the repeat days' revenue adding up to the lifetime revenue.
with

customer_summary as (

    select * from {{ ref('int_clv_customer_summary') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

order_days as (

    select
        customer_id,
        {{ to_reporting_date('ordered_at') }} as order_date,
        sum(net_revenue) as net_revenue
    from orders
    where status <> 'cancelled' and ordered_at is not null
    group by customer_id, order_date

),

expected as (

    select
        order_days.customer_id,
        min(order_days.order_date) as first_order_date,
        max(order_days.order_date) as last_order_date,
        count(*) - 1 as frequency,
        sum(order_days.net_revenue) as lifetime_revenue,
        min_by(order_days.net_revenue, order_days.order_date) filter (
            where order_days.net_revenue is not null
        ) as first_day_revenue
    from order_days
    inner join customers
        on order_days.customer_id = customers.customer_id
    where customers.is_identified
    group by order_days.customer_id

),

mismatches as (

    select
        coalesce(expected.customer_id, customer_summary.customer_id) as customer_id,
        expected.frequency as expected_frequency,
        customer_summary.frequency as summary_frequency
    from expected
    full outer join customer_summary
        on expected.customer_id = customer_summary.customer_id
    where
        expected.customer_id is null
        or customer_summary.customer_id is null
        or expected.first_order_date <> customer_summary.first_order_date
        or expected.last_order_date <> customer_summary.last_order_date
        or expected.frequency <> customer_summary.frequency
        or abs(
            expected.lifetime_revenue - expected.first_day_revenue
            - coalesce(customer_summary.avg_repeat_order_value * customer_summary.frequency, 0)
        ) > 0.005

)

select * from mismatches
