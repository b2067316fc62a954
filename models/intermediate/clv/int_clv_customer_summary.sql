with

orders as (

    select * from {{ ref('int_orders_resolved') }}

),

customers as (

    select * from {{ ref('int_customers_unioned') }}

),

sessions_stitched as (

    select * from {{ ref('int_sessions_stitched') }}

),

spend as (

    select * from {{ ref('stg_ads__spend') }}

),

email_daily as (

    select * from {{ ref('int_email_messages_daily') }}

),

survey_daily as (

    select * from {{ ref('int_survey_scores_daily') }}

),

-- The last day of data is the last day of kpi_daily: the last reporting day on which
-- any source has a record (every order counts here, cancelled ones too). Same inputs
-- as kpi_daily's day range, one layer down; a singular test checks the two agree.
activity_days as (

    select {{ to_reporting_date('started_at') }} as reporting_date from sessions_stitched
    union all
    select {{ to_reporting_date('ordered_at') }} as reporting_date from orders
    union all
    select spend_date as reporting_date from spend
    union all
    select reporting_date from email_daily
    union all
    select reporting_date from survey_daily

),

data_bounds as (

    select max(reporting_date) as last_data_date
    from activity_days

),

-- One row per identified person and order day: a reporting day with at least one
-- non-cancelled order (a refunded one counts, with net revenue 0), its orders summed.
order_days as (

    select
        orders.customer_id,
        {{ to_reporting_date('orders.ordered_at') }} as order_date,
        sum(
            case
                when orders.order_status = 'completed' then orders.total
                else cast(0 as decimal(18, 2))
            end
        ) as net_revenue
    from orders
    inner join customers
        on orders.customer_id = customers.customer_id
    where
        orders.order_status <> 'cancelled'
        and orders.ordered_at is not null
        and customers.identity_type <> 'anonymous_device'
    group by orders.customer_id, order_date

),

numbered_days as (

    select
        customer_id,
        order_date,
        net_revenue,
        row_number() over (partition by customer_id order by order_date) as day_number
    from order_days

),

customer_days as (

    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        count(*) - 1 as frequency,
        avg(net_revenue) filter (where day_number > 1) as avg_repeat_order_value
    from numbered_days
    group by customer_id

),

final as (

    select
        customer_days.customer_id,
        customer_days.first_order_date,
        customer_days.last_order_date,
        cast(customer_days.frequency as integer) as frequency,
        cast({{ dbt.datediff(
            'customer_days.first_order_date', 'customer_days.last_order_date', 'day'
        ) }} as integer) as recency_days,
        cast({{ dbt.datediff(
            'customer_days.first_order_date', 'data_bounds.last_data_date', 'day'
        ) }} as integer) as tenure_days,
        cast(customer_days.avg_repeat_order_value as double) as avg_repeat_order_value,
        data_bounds.last_data_date
    from customer_days
    cross join data_bounds

)

select * from final
