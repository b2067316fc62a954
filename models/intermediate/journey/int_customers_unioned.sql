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

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

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

people_ranked as (

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

),

-- The surviving CRM contact's own attributes, for the person's dimension.
final as (

    select
        people_ranked.customer_id,
        people_ranked.surviving_crm_contact_id,
        people_ranked.unresolved_email,
        people_ranked.identity_type,
        contacts.crm_contact_id,
        contacts.email as contact_email,
        contacts.country,
        contacts.is_marketing_opt_in,
        contacts.created_at as contact_created_at
    from people_ranked
    left join contacts
        on people_ranked.surviving_crm_contact_id = contacts.crm_contact_id

)

select * from final
