{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_landing_days_to_rebuild(source('web', 'events')) }}"
    )
}}

with

web_events as (

    select * from {{ source('web', 'events') }}
    {#- the macro's union is laid out for the pre-hook, not for this line #}
    -- noqa: disable=LT02
    {% if is_incremental() -%}
    where dt in (
        {{ landing_days_to_rebuild(source('web', 'events')) }}
    )
    {%- endif %}
    -- noqa: enable=LT02

),

extracted as (

    select
        record ->> '$.messageId' as message_id,
        record ->> '$.type' as message_type,
        record ->> '$.event' as event_name,
        record ->> '$.anonymousId' as anonymous_id,
        record ->> '$.userId' as user_id,
        record ->> '$.timestamp' as event_timestamp,
        record ->> '$.receivedAt' as received_timestamp,
        record ->> '$.context.page.url' as context_page_url,
        record ->> '$.context.page.path' as context_page_path,
        record ->> '$.context.page.referrer' as context_page_referrer,
        record ->> '$.context.page.title' as context_page_title,
        record ->> '$.properties.url' as properties_url,
        record ->> '$.properties.path' as properties_path,
        record ->> '$.properties.referrer' as properties_referrer,
        record ->> '$.properties.title' as properties_title,
        record ->> '$.context.campaign.source' as campaign_source,
        record ->> '$.context.campaign.medium' as campaign_medium,
        record ->> '$.context.campaign.name' as campaign_name,
        record ->> '$.context.campaign.term' as campaign_term,
        record ->> '$.context.campaign.content' as campaign_content,
        record ->> '$.context.userAgent' as user_agent,
        record ->> '$.context.ip' as ip,
        record ->> '$.traits.email' as traits_email,
        record ->> '$.context.traits.email' as context_traits_email,
        record ->> '$.properties.order_id' as order_id,
        record ->> '$.properties.revenue' as revenue,
        record ->> '$.properties.currency' as currency,
        record ->> '$.properties.product_id' as product_id,
        json_type(record, '$.properties') as properties_json_type,
        record -> '$.properties' as properties,
        json_type(record, '$.traits') as traits_json_type,
        record -> '$.traits' as traits,
        dt as landing_dt,
        file as landing_file,
        line as landing_line,
        loaded_at
    from web_events

),

renamed as (

    select
        {{ trim_to_null('message_id') }} as message_id,
        lower({{ trim_to_null('message_type') }}) as message_type,
        {{ trim_to_null('event_name') }} as event_name,
        {{ trim_to_null('anonymous_id') }} as anonymous_id,
        {{ trim_to_null('user_id') }} as user_id,
        {{ to_utc_timestamp('event_timestamp') }} as event_at,
        {{ to_utc_timestamp('received_timestamp') }} as received_at,
        coalesce(
            {{ trim_to_null('context_page_url') }},
            case when message_type = 'page' then {{ trim_to_null('properties_url') }} end
        ) as page_url,
        coalesce(
            {{ trim_to_null('context_page_path') }},
            case when message_type = 'page' then {{ trim_to_null('properties_path') }} end
        ) as reported_page_path,
        coalesce(
            {{ trim_to_null('context_page_referrer') }},
            case when message_type = 'page' then {{ trim_to_null('properties_referrer') }} end
        ) as page_referrer,
        coalesce(
            {{ trim_to_null('context_page_title') }},
            case when message_type = 'page' then {{ trim_to_null('properties_title') }} end
        ) as page_title,
        {{ trim_to_null('campaign_source') }} as campaign_source,
        {{ trim_to_null('campaign_medium') }} as campaign_medium,
        {{ trim_to_null('campaign_name') }} as campaign_name,
        {{ trim_to_null('campaign_term') }} as campaign_term,
        {{ trim_to_null('campaign_content') }} as campaign_content,
        {{ trim_to_null('user_agent') }} as user_agent,
        {{ trim_to_null('ip') }} as ip,
        coalesce(
            {{ normalize_email('traits_email') }},
            {{ normalize_email('context_traits_email') }}
        ) as trait_email,
        {{ trim_to_null('order_id') }} as order_id,
        {{ dbt.safe_cast('revenue', 'decimal(18, 2)') }} as revenue,
        upper({{ trim_to_null('currency') }}) as currency,
        {{ trim_to_null('product_id') }} as product_id,
        case when properties_json_type = 'OBJECT' then properties end as properties,
        case when traits_json_type = 'OBJECT' then traits end as traits,
        landing_dt,
        landing_file,
        landing_line,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at
    from extracted

),

url_parsed as (

    select
        *,
        coalesce(reported_page_path, {{ url_path('page_url') }}) as page_path,
        coalesce(campaign_source, {{ url_query_param('page_url', 'utm_source') }}) as utm_source,
        coalesce(campaign_medium, {{ url_query_param('page_url', 'utm_medium') }}) as utm_medium,
        coalesce(campaign_name, {{ url_query_param('page_url', 'utm_campaign') }}) as utm_campaign,
        coalesce(campaign_term, {{ url_query_param('page_url', 'utm_term') }}) as utm_term,
        coalesce(campaign_content, {{ url_query_param('page_url', 'utm_content') }}) as utm_content,
        {{ url_query_param('page_url', 'gclid') }} as gclid,
        {{ url_query_param('page_url', 'fbclid') }} as fbclid,
        {{ url_query_param('page_url', 'msclkid') }} as msclkid
    from renamed

),

final as (

    select
        message_id,
        message_type,
        event_name,
        anonymous_id,
        user_id,
        event_at,
        received_at,
        page_url,
        page_path,
        page_referrer,
        page_title,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_term,
        utm_content,
        gclid,
        fbclid,
        msclkid,
        user_agent,
        ip,
        trait_email,
        order_id,
        revenue,
        currency,
        product_id,
        properties,
        traits,
        landing_dt,
        landing_file,
        landing_line,
        loaded_at
    from url_parsed

)

select * from final
