{#- GA4's default channel group as a query: every column of `relation` plus `channel`, the
    channel of the first rule in seed channel_rules (by rule_order) whose conditions all hold
    for the row's source, medium and campaign. Matching is case-insensitive: the three values
    are trimmed and lower-cased, and an absent (null or empty) one is '(not set)', as in GA4.
    A source's category (seed channel_source_categories) is that of the most specific row
    naming it, or naming a domain it is a subdomain of when the row has match_subdomains.
    The rules run once per distinct (source, medium, campaign), then join back to the rows on
    the values as given (null-safe), so no per-row function runs.
    See _channels__macros.yml. -#}
{% macro classify_channel(relation, source='source', medium='medium', campaign='campaign') -%}

with

channel__rules as (

    select * from {{ ref('channel_rules') }}

),

channel__source_categories as (

    select * from {{ ref('channel_source_categories') }}

),

{#- The rules run on the few distinct (source, medium, campaign), not on every row. #}
channel__combinations as (

    select distinct
        {{ source }} as channel__raw_source,
        {{ medium }} as channel__raw_medium,
        {{ campaign }} as channel__raw_campaign
    from {{ relation }}

),

channel__normalised_combinations as (

    select
        channel__raw_source,
        channel__raw_medium,
        channel__raw_campaign,
        coalesce(lower({{ trim_to_null('channel__raw_source') }}), '(not set)') as channel__source,
        coalesce(lower({{ trim_to_null('channel__raw_medium') }}), '(not set)') as channel__medium,
        coalesce(lower({{ trim_to_null('channel__raw_campaign') }}), '(not set)') as channel__campaign
    from channel__combinations

),

{#- The category of each distinct source: from the most specific (longest) row of
    channel_source_categories that names it exactly or, for a row with match_subdomains, is
    a domain the source is a subdomain of (`m.facebook.com` under `facebook.com`, `amazon.fr`
    under `amazon.*`). #}
channel__source_category_matches as (

    select
        sources.channel__source,
        source_categories.source_category as channel__source_category,
        row_number() over (
            partition by sources.channel__source
            order by length(source_categories.source) desc, source_categories.source
        ) as channel__source_match_number
    from (select distinct channel__source from channel__normalised_combinations) as sources
    inner join channel__source_categories as source_categories
        on
            sources.channel__source = source_categories.source
            or (
                source_categories.match_subdomains
                and {{ host_matches_domain('sources.channel__source', 'source_categories.source') }}
            )

),

channel__categorised_sources as (

    select
        channel__source,
        channel__source_category
    from channel__source_category_matches
    where channel__source_match_number = 1

),

channel__rule_matches as (

    select
        combinations.channel__raw_source,
        combinations.channel__raw_medium,
        combinations.channel__raw_campaign,
        rules.channel as channel__channel,
        row_number() over (
            partition by
                combinations.channel__raw_source,
                combinations.channel__raw_medium,
                combinations.channel__raw_campaign
            order by rules.rule_order
        ) as channel__match_number
    from channel__normalised_combinations as combinations
    left join channel__categorised_sources as categorised_sources
        on combinations.channel__source = categorised_sources.channel__source
    inner join channel__rules as rules
        on (
            rules.source_category is null
            or rules.source_category = categorised_sources.channel__source_category
        )
        and (
            rules.source_regex is null
            or {{ matches_regex('combinations.channel__source', 'rules.source_regex') }}
        )
        and (
            rules.medium_regex is null
            or {{ matches_regex('combinations.channel__medium', 'rules.medium_regex') }}
        )
        and (
            rules.campaign_regex is null
            or {{ matches_regex('combinations.channel__campaign', 'rules.campaign_regex') }}
        )

),

channel__first_matches as (

    select
        channel__raw_source,
        channel__raw_medium,
        channel__raw_campaign,
        channel__channel
    from channel__rule_matches
    where channel__match_number = 1

)

select
    channel__input.*,
    channel__first_matches.channel__channel as channel
from {{ relation }} as channel__input
left join channel__first_matches
    on {{ source }} is not distinct from channel__first_matches.channel__raw_source
    and {{ medium }} is not distinct from channel__first_matches.channel__raw_medium
    and {{ campaign }} is not distinct from channel__first_matches.channel__raw_campaign

{%- endmacro %}
