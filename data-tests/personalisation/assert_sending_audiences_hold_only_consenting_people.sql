{{ config(meta={'dagster': {'ref': {'name': 'fct_audience_members'}}}) }}
-- An audience for sending never holds a person who is not identified, has not opted in
-- to marketing, has a standing unsubscribe, or asked to be erased; a suppression list
-- holds no erased person either. Returns the members that break it.
with

audience_members as (

    select * from {{ ref('fct_audience_members') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

contact_preferences as (

    select * from {{ ref('int_customers_contact_preferences') }}

)

select
    audience_members.audience,
    audience_members.purpose,
    audience_members.customer_id,
    customers.is_identified,
    customers.marketing_opt_in,
    contact_preferences.is_unsubscribed,
    contact_preferences.has_erasure_request
from audience_members
left join customers
    on audience_members.customer_id = customers.customer_id
left join contact_preferences
    on audience_members.customer_id = contact_preferences.customer_id
where
    not coalesce(customers.is_identified, false)
    or coalesce(contact_preferences.has_erasure_request, false)
    or (
        audience_members.purpose = 'send'
        and (
            customers.marketing_opt_in is distinct from true
            or coalesce(contact_preferences.is_unsubscribed, false)
        )
    )
