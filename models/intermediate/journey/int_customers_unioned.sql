with

contacts_merged as (

    select * from {{ ref('int_crm_contacts_merged') }}

),

email_addresses as (

    select * from {{ ref('int_email_addresses_resolved') }}

),

sessions_stitched as (

    select * from {{ ref('int_sessions_stitched') }}

),

orders as (

    select * from {{ ref('int_orders_resolved') }}

),

touchpoints as (

    select * from {{ ref('int_touchpoints_unioned') }}

),

people as (

    select
        customer_id,
        surviving_crm_contact_id,
        null as email,
        1 as identity_rank
    from contacts_merged
    where crm_contact_id = surviving_crm_contact_id

    union all

    select
        customer_id,
        null as surviving_crm_contact_id,
        email,
        2 as identity_rank
    from email_addresses
    where resolution = 'email_only'

    union all

    select
        customer_id,
        null as surviving_crm_contact_id,
        null as email,
        3 as identity_rank
    from sessions_stitched
    where not is_identified

    union all

    select
        customer_id,
        surviving_crm_contact_id,
        null as email,
        4 as identity_rank
    from orders

    union all

    select
        customer_id,
        null as surviving_crm_contact_id,
        null as email,
        5 as identity_rank
    from touchpoints

),

final as (

    select
        customer_id,
        surviving_crm_contact_id,
        email as unresolved_email,
        case identity_rank
            when 1 then 'crm_contact'
            when 2 then 'email_only'
            when 3 then 'anonymous_device'
            else 'unresolved_record'
        end as identity_type
    from people
    where customer_id is not null
    qualify row_number() over (
            partition by customer_id
            order by identity_rank, surviving_crm_contact_id nulls last
        ) = 1

)

select * from final
