-- GA4's default channel group of every traffic source (source, medium, campaign) the
-- warehouse classifies: web sessions', ad spend rows' UTM tags, and the expected sources of
-- the golden cases (seed channel_golden_cases, checked through this model). Matching is
-- case-insensitive: the three values are trimmed and lower-cased, and an absent (null or
-- blank) one is '(not set)', as in GA4 (macro channel_match_value); a row joins here on
-- those three values. The rules (seed channel_rules) run once per distinct triple, a few
-- thousand at most, so no per-row regular expression runs.
with

int_session_traffic_sources as (

    select * from {{ ref('int_session_traffic_sources') }}

),

stg_ads__spend as (

    select * from {{ ref('stg_ads__spend') }}

),

channel_golden_cases as (

    select * from {{ ref('channel_golden_cases') }}

),

channel_rules as (

    select * from {{ ref('channel_rules') }}

),

channel_source_categories as (

    select * from {{ ref('channel_source_categories') }}

),

traffic_sources as (

    select
        {{ channel_match_value('source') }} as source,  -- noqa: RF04
        {{ channel_match_value('medium') }} as medium,
        {{ channel_match_value('campaign') }} as campaign
    from int_session_traffic_sources
    union
    select
        {{ channel_match_value('utm_source') }} as source,  -- noqa: RF04
        {{ channel_match_value('utm_medium') }} as medium,
        {{ channel_match_value('utm_campaign') }} as campaign
    from stg_ads__spend
    union
    select
        {{ channel_match_value('expected_source') }} as source,  -- noqa: RF04
        {{ channel_match_value('expected_medium') }} as medium,
        {{ channel_match_value('expected_campaign') }} as campaign
    from channel_golden_cases

),

-- The category of each distinct source: from the most specific (longest) row of
-- channel_source_categories that names it exactly or, for a row with match_subdomains, is
-- a domain the source is a subdomain of (`m.facebook.com` under `facebook.com`, `amazon.fr`
-- under `amazon.*`; macro host_matches_domain).
source_category_matches as (

    select
        sources.source,
        channel_source_categories.source_category,
        row_number() over (
            partition by sources.source
            order by
                length(channel_source_categories.source) desc,
                channel_source_categories.source
        ) as match_number
    from (select distinct source from traffic_sources) as sources
    inner join channel_source_categories
        on
            sources.source = channel_source_categories.source
            or (
                channel_source_categories.match_subdomains
                and {{ host_matches_domain('sources.source', 'channel_source_categories.source') }}
            )

),

categorised_sources as (

    select
        source,
        source_category
    from source_category_matches
    where match_number = 1

),

-- The first rule (lowest rule_order) whose conditions all hold: a condition left empty in
-- the seed always holds.
rule_matches as (

    select
        traffic_sources.source,
        traffic_sources.medium,
        traffic_sources.campaign,
        categorised_sources.source_category,
        channel_rules.channel,
        row_number() over (
            partition by
                traffic_sources.source,
                traffic_sources.medium,
                traffic_sources.campaign
            order by channel_rules.rule_order
        ) as match_number
    from traffic_sources
    left join categorised_sources
        on traffic_sources.source = categorised_sources.source
    inner join channel_rules
        on (
            channel_rules.source_category is null
            or categorised_sources.source_category = channel_rules.source_category
        )
        and (
            channel_rules.source_regex is null
            or {{ matches_regex('traffic_sources.source', 'channel_rules.source_regex') }}
        )
        and (
            channel_rules.medium_regex is null
            or {{ matches_regex('traffic_sources.medium', 'channel_rules.medium_regex') }}
        )
        and (
            channel_rules.campaign_regex is null
            or {{ matches_regex('traffic_sources.campaign', 'channel_rules.campaign_regex') }}
        )

),

final as (

    select
        source,
        medium,
        campaign,
        source_category,
        channel
    from rule_matches
    where match_number = 1

)

select * from final
