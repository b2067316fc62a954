{%- set max_contacts = var('identity_max_contacts_per_identifier', 5) -%}
{#- Evidence sources, strongest first: a link's `evidence` is its strongest source. -#}
{%- set evidence_order = [
    'web_user_id',
    'web_identify_email',
    'crm_contact_email',
    'crm_contact_previous_email',
    'crm_order_email',
    'crm_ticket_email',
    'crm_survey_email',
] -%}

with

int_crm_contacts_merged as (

    select * from {{ ref('int_crm_contacts_merged') }}

),

int_web_identifications as (

    select * from {{ ref('int_web_identifications') }}

),

int_identifiers_screened as (

    select * from {{ ref('int_identifiers_screened') }}

),

stg_crm__contact_versions as (

    select * from {{ ref('stg_crm__contact_versions') }}

),

stg_crm__orders as (

    select * from {{ ref('stg_crm__orders') }}

),

stg_crm__tickets as (

    select * from {{ ref('stg_crm__tickets') }}

),

stg_crm__surveys as (

    select * from {{ ref('stg_crm__surveys') }}

),

-- Email evidence. A contact's email: `crm_contact_email` when its current version carries
-- it, `crm_contact_previous_email` when only older versions did. A CRM record that names
-- both a contact and an email (order, ticket, survey) is weaker evidence of the same.
contact_version_emails as (

    select
        crm_contact_id,
        {{ normalize_email('email') }} as email,
        updated_at,
        is_current_version
    from stg_crm__contact_versions

),

contact_emails as (

    select
        email,
        crm_contact_id,
        case
            when {{ dbt.bool_or('is_current_version') }} then 'crm_contact_email'
            else 'crm_contact_previous_email'
        end as evidence,
        min(updated_at) as first_linked_at,
        max(updated_at) as last_linked_at,
        count(*) as evidence_count
    from contact_version_emails
    where email is not null and crm_contact_id is not null
    group by email, crm_contact_id

),

record_emails as (

    select
        {{ normalize_email('email') }} as email,
        crm_contact_id,
        'crm_order_email' as evidence,
        coalesce(ordered_at, updated_at) as linked_at
    from stg_crm__orders
    union all
    select
        {{ normalize_email('email') }} as email,
        crm_contact_id,
        'crm_ticket_email' as evidence,
        coalesce(created_at, updated_at) as linked_at
    from stg_crm__tickets
    union all
    select
        {{ normalize_email('email') }} as email,
        crm_contact_id,
        'crm_survey_email' as evidence,
        coalesce(submitted_at, updated_at) as linked_at
    from stg_crm__surveys

),

email_evidence as (

    select
        email,
        crm_contact_id,
        evidence,
        first_linked_at,
        last_linked_at,
        evidence_count
    from contact_emails
    union all
    select
        email,
        crm_contact_id,
        evidence,
        min(linked_at) as first_linked_at,
        max(linked_at) as last_linked_at,
        count(*) as evidence_count
    from record_emails
    where email is not null and crm_contact_id is not null
    group by email, crm_contact_id, evidence

),

email_evidence_resolved as (

    select
        'email' as identifier_type,
        email_evidence.email as identifier_value,
        int_crm_contacts_merged.surviving_crm_contact_id,
        email_evidence.evidence,
        email_evidence.first_linked_at,
        email_evidence.last_linked_at,
        email_evidence.evidence_count
    from email_evidence
    inner join int_crm_contacts_merged
        on email_evidence.crm_contact_id = int_crm_contacts_merged.crm_contact_id

),

-- Web evidence: a message that carries both an anonymousId and a (usable) userId. A
-- placeholder userId is not in int_crm_contacts_merged, so it links nothing here.
user_id_evidence as (

    select
        'web_anonymous_id' as identifier_type,
        int_web_identifications.web_anonymous_id as identifier_value,
        int_crm_contacts_merged.surviving_crm_contact_id,
        'web_user_id' as evidence,
        int_web_identifications.identified_at as first_linked_at,
        int_web_identifications.identified_at as last_linked_at,
        1 as evidence_count
    from int_web_identifications
    inner join int_crm_contacts_merged
        on int_web_identifications.web_user_id = int_crm_contacts_merged.crm_contact_id
    where int_web_identifications.web_anonymous_id is not null

),

-- Which evidence counts most: `evidence_priority` orders a link's sources (1 strongest),
-- and the email resolver prefers the contact with the strongest evidence.
evidence_ranked as (

    select
        *,
        case evidence
            {%- for evidence in evidence_order %}
                when '{{ evidence }}' then {{ loop.index }}
            {%- endfor %}
        end as evidence_priority
    from email_evidence_resolved

),

email_links as (

    select
        identifier_type,
        identifier_value,
        surviving_crm_contact_id,
        min(evidence_priority) as evidence_priority,
        {{ sorted_distinct_string_agg('evidence', "', '") }} as evidence_sources,
        {{ dbt.bool_or("evidence = 'crm_contact_email'") }} as is_current_contact_email,
        min(first_linked_at) as first_linked_at,
        max(last_linked_at) as last_linked_at,
        cast(sum(evidence_count) as {{ dbt.type_bigint() }}) as evidence_count
    from evidence_ranked
    group by identifier_type, identifier_value, surviving_crm_contact_id

),

-- Guardrails, in order: a placeholder identifier links nothing; an identifier that joins
-- more than identity_max_contacts_per_identifier surviving contacts links none of them.
email_links_judged as (

    select
        email_links.*,
        count(*) over (
            partition by email_links.identifier_type, email_links.identifier_value
        ) as identifier_contacts_count,
        int_identifiers_screened.is_placeholder,
        int_identifiers_screened.placeholder_category,
        int_identifiers_screened.placeholder_rule
    from email_links
    inner join int_identifiers_screened
        on
            email_links.identifier_type = int_identifiers_screened.identifier_type
            and email_links.identifier_value = int_identifiers_screened.identifier_value

),

-- An identify's traits.email links its device to the contacts whose current email it is,
-- through the email links that passed the guardrails (a refused email is audited as such).
identify_email_evidence as (

    select
        'web_anonymous_id' as identifier_type,
        int_web_identifications.web_anonymous_id as identifier_value,
        email_links_judged.surviving_crm_contact_id,
        'web_identify_email' as evidence,
        int_web_identifications.identified_at as first_linked_at,
        int_web_identifications.identified_at as last_linked_at,
        1 as evidence_count
    from int_web_identifications
    inner join email_links_judged
        on {{ normalize_email('int_web_identifications.trait_email') }}
            = email_links_judged.identifier_value
    where
        int_web_identifications.web_anonymous_id is not null
        and int_web_identifications.message_type = 'identify'
        and email_links_judged.is_current_contact_email
        and not email_links_judged.is_placeholder
        and email_links_judged.identifier_contacts_count <= {{ max_contacts }}

),

device_evidence_unioned as (

    select * from user_id_evidence
    union all
    select * from identify_email_evidence

),

device_evidence as (

    select
        *,
        case evidence
            {%- for evidence in evidence_order %}
                when '{{ evidence }}' then {{ loop.index }}
            {%- endfor %}
        end as evidence_priority
    from device_evidence_unioned

),

device_links as (

    select
        identifier_type,
        identifier_value,
        surviving_crm_contact_id,
        min(evidence_priority) as evidence_priority,
        {{ sorted_distinct_string_agg('evidence', "', '") }} as evidence_sources,
        min(first_linked_at) as first_linked_at,
        max(last_linked_at) as last_linked_at,
        cast(sum(evidence_count) as {{ dbt.type_bigint() }}) as evidence_count
    from device_evidence
    group by identifier_type, identifier_value, surviving_crm_contact_id

),

device_links_judged as (

    select
        device_links.*,
        count(*) over (
            partition by device_links.identifier_type, device_links.identifier_value
        ) as identifier_contacts_count,
        int_identifiers_screened.is_placeholder,
        int_identifiers_screened.placeholder_category,
        int_identifiers_screened.placeholder_rule
    from device_links
    inner join int_identifiers_screened
        on
            device_links.identifier_type = int_identifiers_screened.identifier_type
            and device_links.identifier_value = int_identifiers_screened.identifier_value

),

-- A placeholder userId claims a contact that does not exist: audited on its own, with no
-- contact.
placeholder_user_ids as (

    select
        'web_user_id' as identifier_type,
        int_web_identifications.web_user_id as identifier_value,
        cast(null as {{ dbt.type_string() }}) as surviving_crm_contact_id,
        1 as evidence_priority,
        'web_user_id' as evidence_sources,
        min(int_web_identifications.identified_at) as first_linked_at,
        max(int_web_identifications.identified_at) as last_linked_at,
        count(*) as evidence_count,
        0 as identifier_contacts_count,
        true as is_placeholder,
        int_identifiers_screened.placeholder_category,
        int_identifiers_screened.placeholder_rule
    from int_web_identifications
    inner join int_identifiers_screened
        on
            int_identifiers_screened.identifier_type = 'web_user_id'
            and int_web_identifications.web_user_id = int_identifiers_screened.identifier_value
    where int_identifiers_screened.is_placeholder
    group by
        int_web_identifications.web_user_id,
        int_identifiers_screened.placeholder_category,
        int_identifiers_screened.placeholder_rule

),

links_judged as (

    select
        identifier_type,
        identifier_value,
        surviving_crm_contact_id,
        evidence_priority,
        evidence_sources,
        first_linked_at,
        last_linked_at,
        evidence_count,
        identifier_contacts_count,
        is_placeholder,
        placeholder_category,
        placeholder_rule
    from email_links_judged
    union all
    select
        identifier_type,
        identifier_value,
        surviving_crm_contact_id,
        evidence_priority,
        evidence_sources,
        first_linked_at,
        last_linked_at,
        evidence_count,
        identifier_contacts_count,
        is_placeholder,
        placeholder_category,
        placeholder_rule
    from device_links_judged
    union all
    select
        identifier_type,
        identifier_value,
        surviving_crm_contact_id,
        evidence_priority,
        evidence_sources,
        first_linked_at,
        last_linked_at,
        evidence_count,
        identifier_contacts_count,
        is_placeholder,
        placeholder_category,
        placeholder_rule
    from placeholder_user_ids

),

final as (

    select
        identifier_type,
        identifier_value,
        surviving_crm_contact_id,
        case evidence_priority
            {%- for evidence in evidence_order %}
                when {{ loop.index }} then '{{ evidence }}'
            {%- endfor %}
        end as evidence,
        evidence_priority,
        evidence_sources,
        first_linked_at,
        last_linked_at,
        evidence_count,
        identifier_contacts_count,
        case
            when is_placeholder then 'placeholder value'
            when identifier_contacts_count > {{ max_contacts }}
                then 'identifier joins more than N contacts'
        end as refusal_reason,
        case
            when is_placeholder then placeholder_category || ': ' || placeholder_rule
            when identifier_contacts_count > {{ max_contacts }}
                then 'joins ' || cast(identifier_contacts_count as {{ dbt.type_string() }})
                    || ' surviving contacts; identity_max_contacts_per_identifier is '
                    || '{{ max_contacts }}'
        end as refusal_detail
    from links_judged

)

select * from final
