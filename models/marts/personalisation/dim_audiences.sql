with

audiences as (

    select * from {{ ref('audiences') }}

),

audience_members as (

    select * from {{ ref('fct_audience_members') }}

),

member_counts as (

    select
        audience,
        count(*) as members,
        count(crm_contact_id) as members_with_crm_contact,
        count(email_sha256) as members_with_email
    from audience_members
    group by audience

),

final as (

    select
        cast(audiences.audience as {{ dbt.type_string() }}) as audience,
        cast(audiences.purpose as {{ dbt.type_string() }}) as purpose,
        cast(audiences.description as {{ dbt.type_string() }}) as description,
        cast(audiences.rule_type as {{ dbt.type_string() }}) as rule_type,
        cast(audiences.rule_value as {{ dbt.type_string() }}) as rule_value,
        cast(audiences.not_followed_by as {{ dbt.type_string() }}) as not_followed_by,
        cast(audiences.window_days as integer) as window_days,
        cast(coalesce(member_counts.members, 0) as bigint) as members,
        cast(coalesce(member_counts.members_with_crm_contact, 0) as bigint)
            as members_with_crm_contact,
        cast(coalesce(member_counts.members_with_email, 0) as bigint) as members_with_email
    from audiences
    left join member_counts
        on audiences.audience = member_counts.audience

)

select * from final
