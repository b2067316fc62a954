with

crm_contacts as (

    select * from {{ source('crm', 'contacts') }}

),

extracted as (

    select
        {{ json_text('record', '$.contact_id') }} as contact_id,
        {{ json_text('record', '$.email') }} as email,
        {{ json_text('record', '$.first_name') }} as first_name,
        {{ json_text('record', '$.last_name') }} as last_name,
        {{ json_text('record', '$.phone') }} as phone,
        {{ json_text('record', '$.country') }} as country,
        {{ json_text('record', '$.lifecycle_stage') }} as lifecycle_stage,
        {{ json_text('record', '$.original_source') }} as original_source,
        {{ json_text('record', '$.marketing_opt_in') }} as marketing_opt_in,
        {{ json_text('record', '$.merged_into_contact_id') }} as merged_into_contact_id,
        {{ json_text('record', '$.created_at') }} as created_at,
        {{ json_text('record', '$.updated_at') }} as updated_at,
        dt as landing_dt,
        file as landing_file,
        line as landing_line,
        loaded_at
    from crm_contacts

),

renamed as (

    select
        {{ trim_to_null('contact_id') }} as crm_contact_id,
        {{ normalize_email('email') }} as email,
        {{ trim_to_null('first_name') }} as first_name,
        {{ trim_to_null('last_name') }} as last_name,
        {{ trim_to_null('phone') }} as phone,
        upper({{ trim_to_null('country') }}) as country,
        lower({{ trim_to_null('lifecycle_stage') }}) as lifecycle_stage,
        upper({{ trim_to_null('original_source') }}) as original_source,
        {{ dbt.safe_cast('lower(trim(marketing_opt_in))', dbt.type_boolean()) }}
            as is_marketing_opt_in,
        {{ trim_to_null('merged_into_contact_id') }} as merged_into_crm_contact_id,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        landing_dt,
        landing_file,
        landing_line,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at
    from extracted

),

ranked_copies as (

    select
        *,
        row_number() over (
            partition by crm_contact_id, updated_at
            order by landing_dt desc, landing_file desc, landing_line desc
        ) as copy_number
    from renamed

),

versions as (

    select
        *,
        row_number() over (
            partition by crm_contact_id
            order by updated_at asc nulls first
        ) as version_number,
        count(*) over (partition by crm_contact_id) as versions_count
    from ranked_copies
    where copy_number = 1

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
        version_number,
        version_number = versions_count as is_current_version,
        landing_dt,
        landing_file,
        landing_line,
        loaded_at
    from versions

)

select * from final
