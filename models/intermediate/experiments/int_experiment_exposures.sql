with

views as (

    select * from {{ ref('int_experiment_views') }}

),

orders as (

    select * from {{ ref('int_orders_resolved') }}

),

-- One row per experiment × person: the first exposure and its variation, and whether the
-- person saw more than one variation.
person_exposures as (

    select
        experiment_id,
        customer_id,
        min(viewed_at) as first_exposed_at,
        min_by(variation_id, {{ sort_key(['viewed_at', 'message_id']) }})
            as variation_id,
        count(distinct variation_id) > 1 as is_multiple_exposure,
        count(*) as views_count
    from views
    group by experiment_id, customer_id

),

-- A person converts with a non-cancelled order (refunded ones too, at net revenue 0) in
-- the window: from the first exposure to `experiment_conversion_window_days` days after
-- it, both ends included. Net revenue as fct_orders counts it: a completed order's total.
window_orders as (

    select
        person_exposures.experiment_id,
        person_exposures.customer_id,
        count(*) as orders_in_window,
        sum(
            case
                when orders.order_status = 'completed' then orders.total
                else cast(0 as decimal(18, 2))
            end
        ) as revenue_in_window
    from person_exposures
    inner join orders
        on
            person_exposures.customer_id = orders.customer_id
            and orders.ordered_at between person_exposures.first_exposed_at and {{ dbt.dateadd(
                'day',
                var('experiment_conversion_window_days'),
                'person_exposures.first_exposed_at',
            ) }}
    where orders.order_status <> 'cancelled'
    group by person_exposures.experiment_id, person_exposures.customer_id

),

final as (

    select
        person_exposures.experiment_id,
        person_exposures.customer_id,
        person_exposures.variation_id,
        person_exposures.first_exposed_at,
        person_exposures.is_multiple_exposure,
        person_exposures.views_count,
        window_orders.customer_id is not null as is_converted,
        cast(coalesce(window_orders.orders_in_window, 0) as integer) as orders_in_window,
        cast(coalesce(window_orders.revenue_in_window, 0) as decimal(18, 2)) as revenue_in_window
    from person_exposures
    left join window_orders
        on
            person_exposures.experiment_id = window_orders.experiment_id
            and person_exposures.customer_id = window_orders.customer_id

)

select * from final
