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

-- The first and last days of data are those of kpi_daily: the first and last reporting
-- days on which any source has a record (every order counts here, cancelled ones too).
-- Same inputs as kpi_daily's day range, one layer down; a singular test checks the two
-- agree.
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

    select
        min(reporting_date) as first_data_date,
        max(reporting_date) as last_data_date
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

final as (

    select
        order_days.customer_id,
        order_days.order_date,
        cast(order_days.net_revenue as decimal(18, 2)) as net_revenue,
        data_bounds.first_data_date,
        data_bounds.last_data_date
    from order_days
    cross join data_bounds

)

select * from final
