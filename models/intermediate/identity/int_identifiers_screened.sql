with

int_web_identifications as (

    select * from {{ ref('int_web_identifications') }}

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

stg_email__events as (

    select * from {{ ref('stg_email__events') }}

),

identity_placeholder_values as (

    select * from {{ ref('identity_placeholder_values') }}

),

-- The rules' text names the seed value in its matching form (a null is the text `null`).
placeholders as (

    select
        placeholder_value,
        match_type,
        category,
        match_type || ' ' || {{ placeholder_seed_value('placeholder_value') }} as placeholder_rule
    from identity_placeholder_values

),

identifiers as (

    select
        'email' as identifier_type,
        {{ normalize_email('email') }} as identifier_value
    from stg_crm__contact_versions
    union
    select
        'email' as identifier_type,
        {{ normalize_email('email') }} as identifier_value
    from stg_crm__orders
    union
    select
        'email' as identifier_type,
        {{ normalize_email('email') }} as identifier_value
    from stg_crm__tickets
    union
    select
        'email' as identifier_type,
        {{ normalize_email('email') }} as identifier_value
    from stg_crm__surveys
    union
    select
        'email' as identifier_type,
        {{ normalize_email('email') }} as identifier_value
    from stg_email__events
    union
    select
        'email' as identifier_type,
        {{ normalize_email('trait_email') }} as identifier_value
    from int_web_identifications
    union
    select
        'web_anonymous_id' as identifier_type,
        web_anonymous_id as identifier_value
    from int_web_identifications
    union
    select
        'web_user_id' as identifier_type,
        web_user_id as identifier_value
    from int_web_identifications

),

-- Each identifier with the part that each match type of the seed compares (the local part
-- of an email is taken without its +tag: `test+1@shop.com` is `test`). The rules are in
-- macros/identity/placeholder_rules.sql, which erasure applies too.
identifiers_parsed as (

    select
        identifier_type,
        identifier_value,
        {{ placeholder_match_key('exact', 'identifier_type', 'identifier_value') }} as exact_key,
        {{ placeholder_match_key('email_local_part', 'identifier_type', 'identifier_value') }}
            as email_local_part_key,
        {{ placeholder_match_key('email_domain', 'identifier_type', 'identifier_value') }}
            as email_domain_key
    from identifiers
    where identifier_value is not null

),

-- Every rule that matches, one join per match type; a domain rule covers the domain and
-- its subdomains (`example` covers `shop.example`).
seed_matches as (

    select
        identifiers_parsed.identifier_type,
        identifiers_parsed.identifier_value,
        placeholders.category,
        placeholders.placeholder_rule,
        {{ placeholder_rule_priority('placeholders.match_type') }} as rule_priority
    from identifiers_parsed
    inner join placeholders
        on {{ placeholder_key_matches(
            'exact',
            'identifiers_parsed.exact_key',
            'placeholders.placeholder_value'
        ) }}
    where placeholders.match_type = 'exact'

    union all

    select
        identifiers_parsed.identifier_type,
        identifiers_parsed.identifier_value,
        placeholders.category,
        placeholders.placeholder_rule,
        {{ placeholder_rule_priority('placeholders.match_type') }} as rule_priority
    from identifiers_parsed
    inner join placeholders
        on {{ placeholder_key_matches(
            'email_local_part',
            'identifiers_parsed.email_local_part_key',
            'placeholders.placeholder_value'
        ) }}
    where placeholders.match_type = 'email_local_part'

    union all

    select
        identifiers_parsed.identifier_type,
        identifiers_parsed.identifier_value,
        placeholders.category,
        placeholders.placeholder_rule,
        {{ placeholder_rule_priority('placeholders.match_type') }} as rule_priority
    from identifiers_parsed
    inner join placeholders
        on {{ placeholder_key_matches(
            'email_domain',
            'identifiers_parsed.email_domain_key',
            'placeholders.placeholder_value'
        ) }}
    where placeholders.match_type = 'email_domain'

    union all

    -- An email without a local part, an @ or a domain is no address at all.
    select
        identifier_type,
        identifier_value,
        'not_an_email_address' as category,
        'email without local part, @ or domain' as placeholder_rule,
        {{ placeholder_rule_priority("'not_an_email_address'") }} as rule_priority
    from identifiers_parsed
    where {{ is_not_an_email_address('identifier_type', 'identifier_value') }}

),

first_matches as (

    select
        identifier_type,
        identifier_value,
        category,
        placeholder_rule,
        row_number() over (
            partition by identifier_type, identifier_value
            order by rule_priority, placeholder_rule nulls last
        ) as match_number
    from seed_matches

),

final as (

    select
        identifiers.identifier_type,
        identifiers.identifier_value,
        first_matches.identifier_value is not null as is_placeholder,
        first_matches.category as placeholder_category,
        first_matches.placeholder_rule
    from identifiers_parsed as identifiers
    left join first_matches
        on
            identifiers.identifier_type = first_matches.identifier_type
            and identifiers.identifier_value = first_matches.identifier_value
            and first_matches.match_number = 1

)

select * from final
