with

customers as (

    select * from {{ ref('int_customers_unioned') }}

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

touchpoints as (

    select * from {{ ref('int_touchpoints_unioned') }}

),

engagements as (

    -- The touchpoints attribution considers (web sessions and email clicks): things the
    -- person did, unlike a delivery or an open, so only they can acquire someone.
    select * from {{ ref('int_attribution_touchpoints') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

journey_stages as (

    select * from {{ ref('fct_journey_stages') }}

),

first_touch as (

    select
        customer_id,
        min(occurred_at) as first_touch_at
    from touchpoints
    group by customer_id

),

first_engagement as (

    select
        customer_id,
        arg_min(channel, { 'occurred_at': occurred_at, 'touchpoint_id': touchpoint_id })
            as acquisition_channel
    from engagements
    group by customer_id

),

order_summary as (

    select
        customer_id,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        count(*) as orders_count,
        sum(net_revenue) as lifetime_revenue
    from orders
    where status <> 'cancelled'
    group by customer_id

),

current_stage as (

    select
        customer_id,
        arg_max(stage, stage_order) as current_stage
    from journey_stages
    group by customer_id

),

final as (

    select
        customers.customer_id,
        contacts.crm_contact_id,
        customers.identity_type <> 'anonymous_device' as is_identified,
        customers.identity_type,
        sha256(coalesce(contacts.email, customers.unresolved_email)) as email_sha256,
        contacts.country,
        contacts.is_marketing_opt_in as marketing_opt_in,
        least(first_touch.first_touch_at, contacts.created_at) as first_seen_at,
        first_engagement.acquisition_channel,
        order_summary.first_order_at,
        order_summary.last_order_at,
        coalesce(order_summary.orders_count, 0) as orders_count,
        coalesce(order_summary.lifetime_revenue, 0) as lifetime_revenue,
        current_stage.current_stage
    from customers
    left join contacts
        on customers.surviving_crm_contact_id = contacts.crm_contact_id
    left join first_touch
        on customers.customer_id = first_touch.customer_id
    left join first_engagement
        on customers.customer_id = first_engagement.customer_id
    left join order_summary
        on customers.customer_id = order_summary.customer_id
    left join current_stage
        on customers.customer_id = current_stage.customer_id

)

select * from final
