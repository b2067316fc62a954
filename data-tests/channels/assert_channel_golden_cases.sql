{{ config(meta={'dagster': {'ref': {'name': 'int_traffic_source_channels'}}}) }}
-- Every row of the golden fixture goes through the channel rules exactly as web sessions do:
-- its referrer through int_web_referrers (the host and its search engine), the traffic
-- source macros (as int_session_traffic_sources), then the channel of int_traffic_source_channels
-- (which classifies the golden cases' expected sources along with the sessions'). Returns
-- the cases whose derived source, medium, campaign, click id type or channel differ from the
-- expected ones: any row fails the test.
-- The fixture's own site is example-shop.com whatever the project's own_site_hosts var says.
{%- set own_site_hosts = ['www.example-shop.com', 'example-shop.com'] %}
with

channel_golden_cases as (

    select * from {{ ref('channel_golden_cases') }}

),

int_web_referrers as (

    select * from {{ ref('int_web_referrers') }}

),

int_traffic_source_channels as (

    select * from {{ ref('int_traffic_source_channels') }}

),

first_messages as (

    select
        case_id,
        case
            when nulls_as_empty_strings then coalesce(utm_source, '') else utm_source
        end as utm_source,
        case
            when nulls_as_empty_strings then coalesce(utm_medium, '') else utm_medium
        end as utm_medium,
        case
            when nulls_as_empty_strings then coalesce(utm_campaign, '') else utm_campaign
        end as utm_campaign,
        page_url,
        case
            when nulls_as_empty_strings then coalesce(referrer_url, '') else referrer_url
        end as page_referrer
    from channel_golden_cases

),

referred as (

    select
        first_messages.*,
        case
            when {{ is_external_host('int_web_referrers.referrer_host', own_site_hosts) }}
                then int_web_referrers.referrer_host
        end as referrer_host,
        case
            when {{ is_external_host('int_web_referrers.referrer_host', own_site_hosts) }}
                then int_web_referrers.search_engine
        end as search_engine
    from first_messages
    left join int_web_referrers
        on first_messages.page_referrer = int_web_referrers.referrer_url

),

traffic_sources as (

    select
        case_id,
        {{ traffic_source() }} as source,  -- noqa: RF04
        {{ traffic_medium() }} as medium,
        {{ traffic_campaign() }} as campaign,
        {{ click_id_type() }} as click_id_type
    from referred

),

channels as (

    select
        traffic_sources.*,
        int_traffic_source_channels.channel
    from traffic_sources
    left join int_traffic_source_channels
        on
            {{ channel_match_value('traffic_sources.source') }}
            = int_traffic_source_channels.source
            and {{ channel_match_value('traffic_sources.medium') }}
            = int_traffic_source_channels.medium
            and {{ channel_match_value('traffic_sources.campaign') }}
            = int_traffic_source_channels.campaign

),

compared as (

    select
        channel_golden_cases.case_id,
        channel_golden_cases.note,
        channel_golden_cases.expected_source,
        channels.source as derived_source,
        channel_golden_cases.expected_medium,
        channels.medium as derived_medium,
        channel_golden_cases.expected_campaign,
        channels.campaign as derived_campaign,
        channel_golden_cases.expected_click_id_type,
        channels.click_id_type as derived_click_id_type,
        channel_golden_cases.expected_channel,
        channels.channel as derived_channel
    from channel_golden_cases
    left join channels
        on channel_golden_cases.case_id = channels.case_id

),

mismatches as (

    select *
    from compared
    where
        derived_source is distinct from expected_source
        or derived_medium is distinct from expected_medium
        or derived_campaign is distinct from expected_campaign
        or derived_click_id_type is distinct from expected_click_id_type
        or derived_channel is distinct from expected_channel

)

select * from mismatches
