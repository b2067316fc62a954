with

contact_versions as (

    select * from {{ ref('stg_crm__contact_versions') }}

),

final as (

    select
        crm_contact_id,
        email,
        first_name,
        last_name,
        phone,
        country,
        lifecycle_stage,
        original_source,
        is_marketing_opt_in,
        merged_into_crm_contact_id,
        created_at,
        updated_at,
        version_number as versions_count,
        landing_dt,
        landing_file,
        landing_line,
        loaded_at
    from contact_versions
    where is_current_version

)

select * from final
