with

int_crm_contacts_merged as (

    select * from {{ ref('int_crm_contacts_merged') }}

),

int_email_addresses_resolved as (

    select * from {{ ref('int_email_addresses_resolved') }}

),

int_sessions_stitched as (

    select * from {{ ref('int_sessions_stitched') }}

),

crm_people as (

    select
        customer_id,
        'crm_contact' as person_type,
        surviving_crm_contact_id,
        cast(null as {{ dbt.type_string() }}) as email,
        cast(null as {{ dbt.type_string() }}) as web_anonymous_id,
        cast(null as {{ dbt.type_string() }}) as web_session_id
    from int_crm_contacts_merged
    where crm_contact_id = surviving_crm_contact_id

),

email_people as (

    select
        customer_id,
        'email_address' as person_type,
        cast(null as {{ dbt.type_string() }}) as surviving_crm_contact_id,
        email,
        cast(null as {{ dbt.type_string() }}) as web_anonymous_id,
        cast(null as {{ dbt.type_string() }}) as web_session_id
    from int_email_addresses_resolved
    where resolution = 'email_only'

),

device_people as (

    select distinct
        customer_id,
        'web_device' as person_type,
        cast(null as {{ dbt.type_string() }}) as surviving_crm_contact_id,
        cast(null as {{ dbt.type_string() }}) as email,
        web_anonymous_id,
        cast(null as {{ dbt.type_string() }}) as web_session_id
    from int_sessions_stitched
    where stitch_method = 'anonymous_device'

),

session_people as (

    select
        customer_id,
        'web_session' as person_type,
        cast(null as {{ dbt.type_string() }}) as surviving_crm_contact_id,
        cast(null as {{ dbt.type_string() }}) as email,
        web_anonymous_id,
        session_id as web_session_id
    from int_sessions_stitched
    where stitch_method in ('placeholder_device', 'refused_device')

),

people as (

    select * from crm_people
    union all
    select * from email_people
    union all
    select * from device_people
    union all
    select * from session_people

),

final as (

    select
        customer_id,
        person_type,
        person_type in ('crm_contact', 'email_address') as is_identified,
        surviving_crm_contact_id,
        email,
        web_anonymous_id,
        web_session_id
    from people

)

select * from final
