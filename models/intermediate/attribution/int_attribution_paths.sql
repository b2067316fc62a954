with

orders as (

    select * from {{ ref('int_orders_resolved') }}

),

touchpoints as (

    select * from {{ ref('int_attribution_touchpoints') }}

),

non_cancelled_orders as (

    select
        order_id,
        customer_id,
        ordered_at
    from orders
    where order_status <> 'cancelled'

),

in_window as (

    select
        non_cancelled_orders.order_id,
        non_cancelled_orders.customer_id,
        non_cancelled_orders.ordered_at,
        touchpoints.touchpoint_id,
        touchpoints.occurred_at,
        touchpoints.touchpoint_type,
        touchpoints.channel,
        touchpoints.campaign
    from non_cancelled_orders
    inner join touchpoints
        on
            non_cancelled_orders.customer_id = touchpoints.customer_id
            -- order time - lookback <= touchpoint time <= order time
            and touchpoints.occurred_at between {{ dbt.dateadd(
                'day',
                -1 * var('attribution_lookback_days'),
                'non_cancelled_orders.ordered_at'
            ) }} and non_cancelled_orders.ordered_at

),

final as (

    select
        order_id,
        customer_id,
        ordered_at,
        touchpoint_id,
        occurred_at,
        touchpoint_type,
        channel,
        campaign,
        cast(row_number() over by_order as {{ dbt.type_bigint() }}) as step_number,
        count(*) over (partition by order_id) as path_length,
        cast({{ dbt.datediff('occurred_at', 'ordered_at', 'second') }} as double) / 86400
            as age_days
    from in_window
    window by_order as (partition by order_id order by occurred_at, touchpoint_id)

)

select * from final
