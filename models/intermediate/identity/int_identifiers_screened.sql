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

-- Some adapters load the seed text `null` as a SQL null: read it back as the text.
placeholders as (

    select
        coalesce(lower(trim(placeholder_value)), 'null') as placeholder_value,
        match_type,
        category
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

-- The parts that the seed's email rules look at: the local part without a +tag
-- (`test+1@shop.com` is `test`), and the domain.
identifiers_parsed as (

    select
        identifier_type,
        identifier_value,
        lower(trim(identifier_value)) as matching_value,
        case
            when identifier_type = 'email'
                then split_part(split_part(lower(identifier_value), '@', 1), '+', 1)
        end as email_local_part,
        case
            when identifier_type = 'email'
                then split_part(lower(identifier_value), '@', 2)
        end as email_domain
    from identifiers
    where identifier_value is not null

),

seed_matches as (

    select
        identifiers_parsed.identifier_type,
        identifiers_parsed.identifier_value,
        placeholders.category,
        placeholders.match_type || ' ' || placeholders.placeholder_value as placeholder_rule,
        1 as rule_priority
    from identifiers_parsed
    inner join placeholders
        on identifiers_parsed.matching_value = placeholders.placeholder_value
    where placeholders.match_type = 'exact'

    union all

    select
        identifiers_parsed.identifier_type,
        identifiers_parsed.identifier_value,
        placeholders.category,
        placeholders.match_type || ' ' || placeholders.placeholder_value as placeholder_rule,
        2 as rule_priority
    from identifiers_parsed
    inner join placeholders
        on identifiers_parsed.email_local_part = placeholders.placeholder_value
    where placeholders.match_type = 'email_local_part'

    union all

    -- A domain rule covers the domain and its subdomains (`example` covers `shop.example`).
    select
        identifiers_parsed.identifier_type,
        identifiers_parsed.identifier_value,
        placeholders.category,
        placeholders.match_type || ' ' || placeholders.placeholder_value as placeholder_rule,
        3 as rule_priority
    from identifiers_parsed
    inner join placeholders
        on (
            identifiers_parsed.email_domain = placeholders.placeholder_value
            or identifiers_parsed.email_domain like '%.' || placeholders.placeholder_value
        )
    where placeholders.match_type = 'email_domain'

    union all

    -- An email without a local part, an @ or a domain is no address at all.
    select
        identifier_type,
        identifier_value,
        'not_an_email_address' as category,
        'email without local part, @ or domain' as placeholder_rule,
        4 as rule_priority
    from identifiers_parsed
    where identifier_type = 'email' and identifier_value not like '%_@_%'

),

first_matches as (

    select
        identifier_type,
        identifier_value,
        category,
        placeholder_rule,
        row_number() over (
            partition by identifier_type, identifier_value
            order by rule_priority, placeholder_rule
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
