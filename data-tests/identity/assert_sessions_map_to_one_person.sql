{{ config(meta={'dagster': {'ref': {'name': 'int_sessions_stitched'}}}) }}
-- Every session maps to exactly one customer_id, and no customer_id maps to two
-- surviving contacts (across sessions, contacts, email addresses and the person key).
-- Returns one row per violation.
with

int_sessions as (

    select * from {{ ref('int_sessions') }}

),

int_sessions_stitched as (

    select * from {{ ref('int_sessions_stitched') }}

),

int_crm_contacts_merged as (

    select * from {{ ref('int_crm_contacts_merged') }}

),

int_email_addresses_resolved as (

    select * from {{ ref('int_email_addresses_resolved') }}

),

int_customers_keyed as (

    select * from {{ ref('int_customers_keyed') }}

),

session_mappings as (

    select
        int_sessions.session_id,
        count(int_sessions_stitched.session_id) as mappings_count,
        count(distinct int_sessions_stitched.customer_id) as customers_count
    from int_sessions
    left join int_sessions_stitched
        on int_sessions.session_id = int_sessions_stitched.session_id
    group by int_sessions.session_id

),

unmapped_sessions as (

    select
        'session maps to ' || cast(customers_count as {{ dbt.type_string() }})
        || ' customer_ids in ' || cast(mappings_count as {{ dbt.type_string() }})
        || ' rows' as violation,
        session_id as subject
    from session_mappings
    where mappings_count != 1 or customers_count != 1

),

customer_contacts as (

    select
        customer_id,
        surviving_crm_contact_id
    from int_sessions_stitched
    union all
    select
        customer_id,
        surviving_crm_contact_id
    from int_crm_contacts_merged
    union all
    select
        customer_id,
        surviving_crm_contact_id
    from int_email_addresses_resolved
    union all
    select
        customer_id,
        surviving_crm_contact_id
    from int_customers_keyed

),

customers_with_several_contacts as (

    select
        'customer_id maps to '
        || cast(count(distinct surviving_crm_contact_id) as {{ dbt.type_string() }})
        || ' surviving contacts' as violation,
        customer_id as subject
    from customer_contacts
    where customer_id is not null
    group by customer_id
    having count(distinct surviving_crm_contact_id) > 1

),

final as (

    select * from unmapped_sessions
    union all
    select * from customers_with_several_contacts

)

select * from final
