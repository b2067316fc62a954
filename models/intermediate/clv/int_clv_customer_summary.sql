with

order_days as (

    select * from {{ ref('int_clv_order_days') }}

),

numbered_days as (

    select
        customer_id,
        order_date,
        net_revenue,
        last_data_date,
        row_number() over (partition by customer_id order by order_date) as day_number
    from order_days

),

customer_days as (

    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        count(*) - 1 as frequency,
        avg(cast(net_revenue as double)) filter (where day_number > 1) as avg_repeat_order_value,
        max(last_data_date) as last_data_date
    from numbered_days
    group by customer_id

),

final as (

    select
        customer_id,
        first_order_date,
        last_order_date,
        cast(frequency as integer) as frequency,
        cast({{ dbt.datediff('first_order_date', 'last_order_date', 'day') }} as integer)
            as recency_days,
        cast({{ dbt.datediff('first_order_date', 'last_data_date', 'day') }} as integer)
            as tenure_days,
        cast(avg_repeat_order_value as double) as avg_repeat_order_value,
        last_data_date
    from customer_days

)

select * from final
