{{ config(meta={'dagster': {'ref': {'name': 'fct_attribution'}}}) }}
-- For every order and attribution model, attributed_revenue sums to the order's
-- net_revenue (within 0.01). Returns the order × model pairs that do not.
with

attribution as (

    select * from {{ ref('fct_attribution') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

totals as (

    select
        order_id,
        model,
        sum(attributed_revenue) as total_attributed_revenue
    from attribution
    group by order_id, model

),

compared as (

    select
        totals.order_id,
        totals.model,
        totals.total_attributed_revenue,
        orders.net_revenue
    from totals
    left join orders
        on totals.order_id = orders.order_id

)

select * from compared
where
    net_revenue is null
    or abs(total_attributed_revenue - cast(net_revenue as double)) > 0.01
