{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_landing_days_to_rebuild(source('email', 'events')) }}"
    )
}}

with

email_events as (

    select * from {{ source('email', 'events') }}
    {#- the macro's union is laid out for the pre-hook, not for this line #}
    -- noqa: disable=LT02
    {% if is_incremental() -%}
    where dt in (
        {{ landing_days_to_rebuild(source('email', 'events')) }}
    )
    {%- endif %}
    -- noqa: enable=LT02

),

extracted as (

    select
        record ->> '$.sg_event_id' as sg_event_id,
        record ->> '$.sg_message_id' as sg_message_id,
        record ->> '$.email' as email,
        record ->> '$.event' as event_name,
        record ->> '$.timestamp' as event_timestamp,
        record ->> '$.marketing_campaign_id' as marketing_campaign_id,
        record ->> '$.marketing_campaign_name' as marketing_campaign_name,
        json_type(record, '$.category') as category_json_type,
        record -> '$.category' as category,
        record ->> '$.url' as url,
        record ->> '$.sg_machine_open' as sg_machine_open,
        record ->> '$.useragent' as useragent,
        record ->> '$.ip' as ip,
        record ->> '$.reason' as reason,
        record ->> '$.type' as bounce_type,
        dt as landing_dt,
        file as landing_file,
        line as landing_line,
        loaded_at
    from email_events

),

renamed as (

    select
        {{ trim_to_null('sg_event_id') }} as email_event_id,
        {{ trim_to_null('sg_message_id') }} as email_message_id,
        {{ normalize_email('email') }} as email,
        lower({{ trim_to_null('event_name') }}) as event_type,
        {{ epoch_to_utc_timestamp('event_timestamp') }} as event_at,
        {{ trim_to_null('marketing_campaign_id') }} as campaign_id,
        {{ trim_to_null('marketing_campaign_name') }} as campaign_name,
        case category_json_type
            when 'ARRAY' then json_extract_string(category, '$[*]')
            when 'VARCHAR' then [json_extract_string(category, '$')]
        end as categories,
        {{ trim_to_null('url') }} as click_url,
        coalesce(
            {{ dbt.safe_cast('sg_machine_open', dbt.type_boolean()) }}, false
        ) as is_machine_open,
        {{ trim_to_null('useragent') }} as user_agent,
        {{ trim_to_null('ip') }} as ip,
        {{ trim_to_null('reason') }} as bounce_reason,
        lower({{ trim_to_null('bounce_type') }}) as bounce_type,
        landing_dt,
        landing_file,
        landing_line,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at
    from extracted

),

final as (

    select
        email_event_id,
        email_message_id,
        email,
        event_type,
        event_at,
        campaign_id,
        campaign_name,
        categories,
        click_url,
        is_machine_open,
        user_agent,
        ip,
        bounce_reason,
        bounce_type,
        landing_dt,
        landing_file,
        landing_line,
        loaded_at
    from renamed

)

select * from final
