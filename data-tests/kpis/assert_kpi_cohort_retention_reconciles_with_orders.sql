{{ config(meta={'dagster': {'ref': {'name': 'kpi_cohort_retention'}}}) }}
-- kpi_cohort_retention reconciles with fct_orders and covers every month: each cohort
-- runs without gaps from month 0 to the month of the last day of kpi_daily, everyone of
-- a cohort is active in month 0, the cohorts together hold every first order, and each
-- cohort's last cumulative revenue is the whole net revenue of its people. Returns the
-- cohorts that break a rule.
with

retention as (

    select * from {{ ref('kpi_cohort_retention') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

daily as (

    select * from {{ ref('kpi_daily') }}

),

last_month as (

    select cast({{ dbt.date_trunc('month', 'max(date)') }} as date) as last_month
    from daily

),

first_orders as (

    select
        customer_id,
        cast({{ dbt.date_trunc('month', to_reporting_date('ordered_at')) }} as date)
            as cohort_month
    from orders
    where order_number = 1

),

expected as (

    select
        first_orders.cohort_month,
        count(distinct first_orders.customer_id) as cohort_customers,
        sum(orders.net_revenue) as net_revenue
    from first_orders
    inner join orders
        on first_orders.customer_id = orders.customer_id
    where orders.status <> 'cancelled'
    group by first_orders.cohort_month

),

observed as (

    select
        cohort_month,
        count(*) as months,
        max(months_since_first_order) as last_month_number,
        max(activity_month) as last_activity_month,
        max(cohort_customers) as cohort_customers,
        max(active_customers) filter (where months_since_first_order = 0) as active_in_month_0,
        max_by(cumulative_net_revenue, months_since_first_order) as net_revenue
    from retention
    group by cohort_month

)

select
    coalesce(observed.cohort_month, expected.cohort_month) as cohort_month,
    observed.months,
    observed.last_activity_month,
    observed.cohort_customers,
    expected.cohort_customers as expected_cohort_customers,
    observed.net_revenue,
    expected.net_revenue as expected_net_revenue
from observed
full outer join expected
    on observed.cohort_month = expected.cohort_month
cross join last_month
where
    observed.cohort_month is null
    or expected.cohort_month is null
    or observed.months <> observed.last_month_number + 1
    or observed.last_activity_month <> last_month.last_month
    or observed.active_in_month_0 <> observed.cohort_customers
    or observed.cohort_customers <> expected.cohort_customers
    or observed.net_revenue <> expected.net_revenue
