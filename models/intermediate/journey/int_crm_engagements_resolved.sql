with

tickets as (

    select * from {{ ref('stg_crm__tickets') }}

),

surveys as (

    select * from {{ ref('stg_crm__surveys') }}

),

activities as (

    select * from {{ ref('stg_crm__activities') }}

),

contacts_merged as (

    select * from {{ ref('int_crm_contacts_merged') }}

),

email_addresses as (

    select * from {{ ref('int_email_addresses_resolved') }}

),

engagements as (

    select
        'support_ticket' as engagement_type,
        ticket_id as engagement_id,
        crm_contact_id,
        email,
        created_at as occurred_at
    from tickets

    union all

    select
        'survey_response' as engagement_type,
        survey_response_id as engagement_id,
        crm_contact_id,
        email,
        submitted_at as occurred_at
    from surveys

    union all

    select
        'sales_activity' as engagement_type,
        activity_id as engagement_id,
        crm_contact_id,
        null as email,
        occurred_at
    from activities

),

resolved as (

    select
        engagements.engagement_type,
        engagements.engagement_id,
        coalesce(contacts_merged.customer_id, email_addresses.customer_id) as customer_id,
        engagements.occurred_at
    from engagements
    left join contacts_merged
        on engagements.crm_contact_id = contacts_merged.crm_contact_id
    left join email_addresses
        on engagements.email = email_addresses.email

)

select * from resolved
