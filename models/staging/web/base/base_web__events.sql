{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        pre_hook="{{ delete_landing_days_to_rebuild(
            source('web', 'events'), lookback_days=var('web_late_data_lookback_days')
        ) }}",
        **landing_day_incremental_config()
    )
}}

{#- The record's text fields, as (column of `extracted`, JSON path): `parsed` extracts them
    all in one call (`json_texts`), and the two fields kept as JSON in another
    (`json_values`). -#}
{%- set text_fields = [
    ('message_id', '$.messageId'),
    ('message_type', '$.type'),
    ('event_name', '$.event'),
    ('anonymous_id', '$.anonymousId'),
    ('user_id', '$.userId'),
    ('event_timestamp', '$.timestamp'),
    ('received_timestamp', '$.receivedAt'),
    ('context_page_url', '$.context.page.url'),
    ('context_page_path', '$.context.page.path'),
    ('context_page_referrer', '$.context.page.referrer'),
    ('context_page_title', '$.context.page.title'),
    ('properties_url', '$.properties.url'),
    ('properties_path', '$.properties.path'),
    ('properties_referrer', '$.properties.referrer'),
    ('properties_title', '$.properties.title'),
    ('campaign_source', '$.context.campaign.source'),
    ('campaign_medium', '$.context.campaign.medium'),
    ('campaign_name', '$.context.campaign.name'),
    ('campaign_term', '$.context.campaign.term'),
    ('campaign_content', '$.context.campaign.content'),
    ('user_agent', '$.context.userAgent'),
    ('ip', '$.context.ip'),
    ('traits_email', '$.traits.email'),
    ('context_traits_email', '$.context.traits.email'),
    ('order_id', '$.properties.order_id'),
    ('revenue', '$.properties.revenue'),
    ('currency', '$.properties.currency'),
    ('product_id', '$.properties.product_id'),
] -%}
{%- set text_paths = text_fields | map(attribute=1) | list -%}
{%- set json_paths = ['$.properties', '$.traits'] -%}

with

web_events as (

    select * from {{ source('web', 'events') }}
    {#- the macro's union is laid out for the pre-hook, not for this line #}
    -- noqa: disable=LT02
    {% if is_incremental() -%}
    where dt in (
        {{ landing_days_to_rebuild(
            source('web', 'events'), lookback_days=var('web_late_data_lookback_days')
        ) }}
    )
    {%- endif %}
    -- noqa: enable=LT02

),

-- One parse per record: DuckDB parses the JSON document again for each `->>`, so all the
-- text fields come from one `json_texts` over the list of paths (DuckDB: one
-- `json_extract_string`; Spark: one `from_json`), and `extracted` names them by position;
-- properties and traits, kept as JSON, come from one `json_values` (`json_extract`).
parsed as (

    select
        {{ json_texts('record', text_paths) }} as text_values,
        {{ json_values('record', json_paths) }} as json_values,
        dt,
        file,
        line,
        loaded_at
    from web_events

),

extracted as (

    select
        {%- for column, path in text_fields %}
            {{ json_texts_item('text_values', text_paths, loop.index) }} as {{ column }},
        {%- endfor %}
        {{ json_type(json_values_item('json_values', json_paths, 1)) }} as properties_json_type,
        {{ json_values_item('json_values', json_paths, 1) }} as properties,
        {{ json_type(json_values_item('json_values', json_paths, 2)) }} as traits_json_type,
        {{ json_values_item('json_values', json_paths, 2) }} as traits,
        dt as landing_dt,
        file as landing_file,
        line as landing_line,
        loaded_at
    from parsed

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
