with

int_identifiers_screened as (

    select * from {{ ref('int_identifiers_screened') }}

),

int_identity_links_evaluated as (

    select * from {{ ref('int_identity_links_evaluated') }}

),

int_crm_contacts_merged as (

    select * from {{ ref('int_crm_contacts_merged') }}

),

email_addresses as (

    select
        identifier_value as email,
        is_placeholder
    from int_identifiers_screened
    where identifier_type = 'email'

),

-- An email linked to several surviving contacts resolves to one: the strongest evidence
-- first (a contact's current email, then an earlier one, then an order's, a ticket's, a
-- survey's), then the contact that had the address first, then the smallest contact id.
accepted_links_ranked as (

    select
        identifier_value as email,
        surviving_crm_contact_id,
        evidence,
        identifier_contacts_count,
        row_number() over (
            partition by identifier_value
            order by
                evidence_priority,
                first_linked_at nulls last,
                surviving_crm_contact_id nulls last
        ) as contact_rank
    from int_identity_links_evaluated
    where identifier_type = 'email' and refusal_reason is null

),

refused_emails as (

    select
        identifier_value as email,
        min(refusal_reason) as refusal_reason
    from int_identity_links_evaluated
    where identifier_type = 'email' and refusal_reason is not null
    group by identifier_value

),

resolved as (

    select
        email_addresses.email,
        accepted_links_ranked.surviving_crm_contact_id,
        accepted_links_ranked.evidence as resolved_by_evidence,
        coalesce(accepted_links_ranked.identifier_contacts_count, 0) as linked_contacts_count,
        coalesce(
            refused_emails.refusal_reason,
            case when email_addresses.is_placeholder then 'placeholder value' end
        ) as refusal_reason
    from email_addresses
    left join accepted_links_ranked
        on
            email_addresses.email = accepted_links_ranked.email
            and accepted_links_ranked.contact_rank = 1
    left join refused_emails
        on email_addresses.email = refused_emails.email

),

-- The person key: the surviving contact's; for an address that no contact has, the address
-- is a person of its own (md5 of 'email:' and the address); a refused address (a
-- placeholder, or one joining too many contacts) is no one's.
final as (

    select
        resolved.email,
        case
            when resolved.surviving_crm_contact_id is not null
                then int_crm_contacts_merged.customer_id
            when resolved.refusal_reason is null
                then {{ dbt.hash("'email:' || resolved.email") }}
        end as customer_id,
        resolved.surviving_crm_contact_id,
        case
            when resolved.surviving_crm_contact_id is not null then 'crm_contact'
            when resolved.refusal_reason is null then 'email_only'
            else 'refused'
        end as resolution,
        resolved.resolved_by_evidence,
        resolved.linked_contacts_count,
        resolved.refusal_reason
    from resolved
    left join int_crm_contacts_merged
        on resolved.surviving_crm_contact_id = int_crm_contacts_merged.crm_contact_id

)

select * from final
