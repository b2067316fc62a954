with

crm_tickets as (

    select * from {{ source('crm', 'tickets') }}

),

extracted as (

    select
        {{ json_text('record', '$.ticket_id') }} as ticket_id,
        {{ json_text('record', '$.contact_id') }} as contact_id,
        {{ json_text('record', '$.email') }} as email,
        {{ json_text('record', '$.created_at') }} as created_at,
        {{ json_text('record', '$.closed_at') }} as closed_at,
        {{ json_text('record', '$.status') }} as ticket_status,
        {{ json_text('record', '$.channel') }} as support_channel,
        {{ json_text('record', '$.category') }} as category,
        {{ json_text('record', '$.priority') }} as priority,
        {{ json_text('record', '$.subject') }} as subject,
        {{ json_text('record', '$.updated_at') }} as updated_at,
        dt as landing_dt,
        file as landing_file,
        line as landing_line,
        loaded_at
    from crm_tickets

),

renamed as (

    select
        {{ trim_to_null('ticket_id') }} as ticket_id,
        {{ trim_to_null('contact_id') }} as crm_contact_id,
        {{ normalize_email('email') }} as email,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('closed_at') }} as closed_at,
        lower({{ trim_to_null('ticket_status') }}) as ticket_status,
        lower({{ trim_to_null('support_channel') }}) as support_channel,
        lower({{ trim_to_null('category') }}) as category,
        lower({{ trim_to_null('priority') }}) as priority,
        {{ trim_to_null('subject') }} as subject,
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
            partition by ticket_id
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
        ticket_id,
        crm_contact_id,
        email,
        created_at,
        closed_at,
        ticket_status,
        support_channel,
        category,
        priority,
        subject,
        updated_at,
        landing_dt,
        landing_file,
        landing_line,
        loaded_at
    from ranked
    where version_rank = 1

)

select * from final
