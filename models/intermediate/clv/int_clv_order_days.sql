with

reporting_days as (

    select * from {{ ref('int_reporting_days') }}

),

orders as (

    select * from {{ ref('int_orders_resolved') }}

),

customers as (

    select * from {{ ref('int_customers_unioned') }}

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

final as (

    select
        order_days.customer_id,
        order_days.order_date,
        cast(order_days.net_revenue as decimal(18, 2)) as net_revenue,
        reporting_days.first_data_date,
        reporting_days.last_data_date
    from order_days
    cross join reporting_days

)

select * from final
