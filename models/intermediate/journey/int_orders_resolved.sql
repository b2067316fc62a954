with

orders as (

    select * from {{ ref('stg_crm__orders') }}

),

contacts_merged as (

    select * from {{ ref('int_crm_contacts_merged') }}

),

email_addresses as (

    select * from {{ ref('int_email_addresses_resolved') }}

),

resolved as (

    select
        orders.order_id,
        -- An order whose buyer cannot be resolved (no contact, a refused placeholder
        -- email) is a person of its own rather than a lost row.
        coalesce(
            contacts_merged.customer_id,
            email_addresses.customer_id,
            {{ dbt.hash("'order:' || orders.order_id") }}
        ) as customer_id,
        coalesce(
            contacts_merged.surviving_crm_contact_id,
            email_addresses.surviving_crm_contact_id
        ) as surviving_crm_contact_id,
        orders.ordered_at,
        orders.order_status,
        orders.currency,
        orders.total,
        orders.discount_code,
        orders.items_count,
        orders.updated_at
    from orders
    left join contacts_merged
        on orders.crm_contact_id = contacts_merged.crm_contact_id
    left join email_addresses
        on orders.email = email_addresses.email

)

select * from resolved
