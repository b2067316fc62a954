{{ config(meta={'dagster': {'ref': {'name': 'dim_customers'}}}) }}
-- A person's acquisition channel is the channel of their first engagement (web session or
-- email click), at or before their first order for a buyer: a newsletter delivered or
-- opened never acquires anyone, nor does a session after the first purchase. Returns the
-- people whose acquisition channel differs from that of that engagement, or who have one
-- without any such engagement.
with

customers as (

    select * from {{ ref('dim_customers') }}

),

touchpoints as (

    select * from {{ ref('fct_touchpoints') }}

),

first_engagements as (

    select
        touchpoints.customer_id,
        touchpoints.touchpoint_type,
        coalesce(touchpoints.channel, 'Unassigned') as channel
    from touchpoints
    left join customers
        on touchpoints.customer_id = customers.customer_id
    where
        touchpoints.touchpoint_type in ('web_session', 'email_click')
        and (
            customers.first_order_at is null
            or touchpoints.occurred_at <= customers.first_order_at
        )
    qualify row_number() over (
            partition by touchpoints.customer_id
            order by touchpoints.occurred_at asc, touchpoints.touchpoint_id asc
        ) = 1

)

select
    customers.customer_id,
    customers.acquisition_channel,
    first_engagements.touchpoint_type as first_engagement_type,
    first_engagements.channel as first_engagement_channel
from customers
left join first_engagements
    on customers.customer_id = first_engagements.customer_id
where
    customers.acquisition_channel is distinct from first_engagements.channel
