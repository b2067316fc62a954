with

crm_activities as (

    select * from {{ source('crm', 'activities') }}

),

extracted as (

    select
        {{ json_text('record', '$.activity_id') }} as activity_id,
        {{ json_text('record', '$.contact_id') }} as contact_id,
        {{ json_text('record', '$.type') }} as activity_type,
        {{ json_text('record', '$.occurred_at') }} as occurred_at,
        {{ json_text('record', '$.updated_at') }} as updated_at,
        dt as landing_dt,
        file as landing_file,
        line as landing_line,
        loaded_at
    from crm_activities

),

renamed as (

    select
        {{ trim_to_null('activity_id') }} as activity_id,
        {{ trim_to_null('contact_id') }} as crm_contact_id,
        lower({{ trim_to_null('activity_type') }}) as activity_type,
        {{ to_utc_timestamp('occurred_at') }} as occurred_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        landing_dt,
        landing_file,
        landing_line,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at
    from extracted

),

ranked as (

    select
        *,
        row_number() over (
            partition by activity_id
            order by
                updated_at desc nulls last,
                landing_dt desc,
                landing_file desc,
                landing_line desc
        ) as version_rank
    from renamed

),

final as (

    select
        activity_id,
        crm_contact_id,
        activity_type,
        occurred_at,
        updated_at,
        landing_dt,
        landing_file,
        landing_line,
        loaded_at
    from ranked
    where version_rank = 1

)

select * from final
