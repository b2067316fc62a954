{{ config(meta={'dagster': {'ref': {'name': 'channel_rules'}}}) }}
-- Every row of the golden fixture goes through derive_traffic_source, then classify_channel,
-- exactly as web sessions do. Returns the cases whose derived source, medium, campaign,
-- click id type or channel differ from the expected ones: any row fails the test.
-- The fixture's own site is example-shop.com whatever the project's own_site_hosts var says.
with

channel_golden_cases as (

    select * from {{ ref('channel_golden_cases') }}

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

traffic_sources as (

    {{ derive_traffic_source(
        'first_messages',
        own_site_hosts=['www.example-shop.com', 'example-shop.com'],
    ) }}

),

channels as (

    {{ classify_channel('traffic_sources') }}

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
