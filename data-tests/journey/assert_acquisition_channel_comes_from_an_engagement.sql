{{ config(meta={'dagster': {'ref': {'name': 'dim_customers'}}}) }}
-- A person's acquisition channel is the channel of their first engagement (web session or
-- email click): a newsletter delivered or opened never acquires anyone. Returns the people
-- whose acquisition channel differs from that of their first engagement, or who have one
-- without any engagement.
with

customers as (

    select * from {{ ref('dim_customers') }}

),

touchpoints as (

    select * from {{ ref('fct_touchpoints') }}

),

first_engagements as (

    select
        customer_id,
        touchpoint_type,
        coalesce(channel, 'Unassigned') as channel
    from touchpoints
    where touchpoint_type in ('web_session', 'email_click')
    qualify row_number() over (
            partition by customer_id
            order by occurred_at asc, touchpoint_id asc
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
