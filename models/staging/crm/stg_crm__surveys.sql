with

crm_surveys as (

    select * from {{ source('crm', 'surveys') }}

),

extracted as (

    select
        {{ json_text('record', '$.response_id') }} as response_id,
        {{ json_text('record', '$.contact_id') }} as contact_id,
        {{ json_text('record', '$.email') }} as email,
        {{ json_text('record', '$.submitted_at') }} as submitted_at,
        {{ json_text('record', '$.survey_type') }} as survey_type,
        {{ json_text('record', '$.score') }} as score,
        {{ json_text('record', '$.touchpoint') }} as survey_touchpoint,
        {{ json_text('record', '$.comment') }} as survey_comment,
        {{ json_text('record', '$.updated_at') }} as updated_at,
        dt as landing_dt,
        file as landing_file,
        line as landing_line,
        loaded_at
    from crm_surveys

),

renamed as (

    select
        {{ trim_to_null('response_id') }} as survey_response_id,
        {{ trim_to_null('contact_id') }} as crm_contact_id,
        {{ normalize_email('email') }} as email,
        {{ to_utc_timestamp('submitted_at') }} as submitted_at,
        lower({{ trim_to_null('survey_type') }}) as survey_type,
        {{ dbt.safe_cast('score', dbt.type_int()) }} as score,
        lower({{ trim_to_null('survey_touchpoint') }}) as survey_touchpoint,
        {{ trim_to_null('survey_comment') }} as survey_comment,
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
            partition by survey_response_id
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
        survey_response_id,
        crm_contact_id,
        email,
        submitted_at,
        survey_type,
        score,
        survey_touchpoint,
        -- `comment` is a SQL keyword, kept as the name downstream models use
        survey_comment as comment,  -- noqa: RF04
        updated_at,
        landing_dt,
        landing_file,
        landing_line,
        loaded_at
    from ranked
    where version_rank = 1

)

select * from final
