with

int_identity_links_evaluated as (

    select * from {{ ref('int_identity_links_evaluated') }}

),

final as (

    select
        identifier_type,
        identifier_value,
        surviving_crm_contact_id,
        evidence,
        evidence_priority,
        evidence_sources,
        first_linked_at,
        last_linked_at,
        evidence_count,
        identifier_contacts_count
    from int_identity_links_evaluated
    where refusal_reason is null

)

select * from final
