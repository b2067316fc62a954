with

erasure_requests as (

    select * from {{ source('privacy', 'erasure_requests') }}

),

extracted as (

    select
        {{ json_text('record', '$.request_id') }} as request_id,
        {{ json_text('record', '$.email') }} as email,
        {{ json_text('record', '$.requested_at') }} as requested_at,
        dt as landing_dt,
        file as landing_file,
        line as landing_line,
        loaded_at
    from erasure_requests

),

renamed as (

    select
        {{ trim_to_null('request_id') }} as erasure_request_id,
        {{ normalize_email('email') }} as email,
        {{ to_utc_timestamp('requested_at') }} as requested_at,
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
            partition by erasure_request_id
            order by landing_dt asc, landing_file asc, landing_line asc
        ) as copy_number
    from renamed

),

final as (

    select
        erasure_request_id,
        email,
        requested_at,
        landing_dt,
        landing_file,
        landing_line,
        loaded_at
    from ranked
    where copy_number = 1

)

select * from final
