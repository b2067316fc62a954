with

orders as (

    select * from {{ ref('int_orders_resolved') }}

),

non_cancelled_sequence as (

    select
        order_id,
        cast(row_number() over (
            partition by customer_id
            order by ordered_at, order_id
        ) as {{ dbt.type_bigint() }}) as order_number,
        lag(ordered_at) over (
            partition by customer_id
            order by ordered_at, order_id
        ) as previous_ordered_at
    from orders
    where order_status <> 'cancelled'

),

final as (

    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_at,
        orders.order_status as status,
        case
            when orders.order_status = 'completed' then orders.total
            else cast(0 as decimal(18, 2))
        end as net_revenue,
        coalesce(non_cancelled_sequence.order_number = 1, false) as is_first_order,
        non_cancelled_sequence.order_number,
        cast({{ dbt.datediff(
            'non_cancelled_sequence.previous_ordered_at', 'orders.ordered_at', 'second'
        ) }} as double) / 86400 as days_since_previous_order,
        orders.total,
        orders.currency,
        orders.discount_code,
        orders.items_count,
        orders.surviving_crm_contact_id as crm_contact_id,
        orders.updated_at
    from orders
    left join non_cancelled_sequence
        on orders.order_id = non_cancelled_sequence.order_id

)

select * from final
