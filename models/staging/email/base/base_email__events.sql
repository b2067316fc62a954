{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        pre_hook="{{ delete_landing_days_to_rebuild(
            source('email', 'events'), lookback_days=var('email_late_data_lookback_days')
        ) }}",
        **landing_day_incremental_config()
    )
}}

{#- The record's text fields, as (column of `extracted`, JSON path): `parsed` extracts them
    all in one call (`json_texts`). -#}
{%- set text_fields = [
    ('sg_event_id', '$.sg_event_id'),
    ('sg_message_id', '$.sg_message_id'),
    ('email', '$.email'),
    ('event_name', '$.event'),
    ('event_timestamp', '$.timestamp'),
    ('marketing_campaign_id', '$.marketing_campaign_id'),
    ('marketing_campaign_name', '$.marketing_campaign_name'),
    ('url', '$.url'),
    ('sg_machine_open', '$.sg_machine_open'),
    ('useragent', '$.useragent'),
    ('ip', '$.ip'),
    ('reason', '$.reason'),
    ('bounce_type', '$.type'),
] -%}

with

email_events as (

    select * from {{ source('email', 'events') }}
    {#- the macro's union is laid out for the pre-hook, not for this line #}
    -- noqa: disable=LT02
    {% if is_incremental() -%}
    where dt in (
        {{ landing_days_to_rebuild(
            source('email', 'events'), lookback_days=var('email_late_data_lookback_days')
        ) }}
    )
    {%- endif %}
    -- noqa: enable=LT02

),

-- One parse per record: DuckDB parses the JSON document again for each `->>`, so all the
-- text fields come from one `json_texts` over the list of paths (DuckDB: one
-- `json_extract_string`; Spark: one `from_json`), and `extracted` names them by position.
-- The category stays JSON (a string or an array), and its type is read from the
-- extracted value, not from the whole record.
parsed as (

    select
        {{ json_texts('record', text_fields | map(attribute=1) | list) }} as text_values,
        {{ json_value('record', '$.category') }} as category,
        dt,
        file,
        line,
        loaded_at
    from email_events

),

extracted as (

    select
        {%- for column, path in text_fields %}
            {{ json_texts_item(
                'text_values', text_fields | map(attribute=1) | list, loop.index
            ) }} as {{ column }},
        {%- endfor %}
        {{ json_type('category') }} as category_json_type,
        category,
        dt as landing_dt,
        file as landing_file,
        line as landing_line,
        loaded_at
    from parsed

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
            when 'ARRAY' then {{ json_array_texts('category') }}
            when 'VARCHAR' then {{ dbt.array_construct([json_text('category', '$')]) }}
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
