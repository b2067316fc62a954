{{ config(meta={'dagster': {'ref': {'name': 'channel_source_categories'}}}) }}
-- The source lists match what the channel models compare them with: sources and domains
-- lower-case and trimmed (int_traffic_source_channels lower-cases the source before the
-- lookup, and int_web_referrers lower-cases referrer hosts without www.), every search
-- engine's name a search source (so its organic traffic is Organic Search), every
-- search_engines row the most specific match of its example host, `.*` only where
-- subdomains are matched, and no category row that a broader row of the same category
-- already covers. Returns one row per problem.
with

channel_source_categories as (

    select * from {{ ref('channel_source_categories') }}

),

search_engines as (

    select * from {{ ref('search_engines') }}

),

int_web_referrers as (

    select * from {{ ref('int_web_referrers') }}

),

unnormalised_sources as (

    select
        source as subject,
        'source is not lower-case and trimmed' as problem
    from channel_source_categories
    where source != lower(trim(source))

),

exact_sources_with_wildcards as (

    select
        source as subject,
        'a source ending in .* needs match_subdomains (it names no source exactly)' as problem
    from channel_source_categories
    where source like '%.*' and not match_subdomains

),

redundant_sources as (

    select
        covered.source as subject,
        'source is already covered by ' || covering.source || ' (same category)' as problem
    from channel_source_categories as covered
    inner join channel_source_categories as covering
        on
            covered.source_category = covering.source_category
            and covered.source != covering.source
            and covering.match_subdomains
            and {{ host_matches_domain('covered.source', 'covering.source') }}

),

malformed_domains as (

    select
        domain as subject,
        'domain is not a lower-case domain without www. (a trailing .* allowed)' as problem
    from search_engines
    where
        not {{ matches_regex('domain', "'^[a-z0-9-]+([.][a-z0-9-]+)*([.][*])?$'") }}
        or domain like 'www.%'

),

search_engines_not_search_sources as (

    select
        search_engines.search_engine as subject,
        'search engine is not a SOURCE_CATEGORY_SEARCH source' as problem
    from search_engines
    left join channel_source_categories
        on
            search_engines.search_engine = channel_source_categories.source
            and channel_source_categories.source_category = 'SOURCE_CATEGORY_SEARCH'
    where search_engines.is_search and channel_source_categories.source is null

),

-- int_web_referrers resolves every row's example host (as the referrer https://<host>/).
rows_missing_their_example as (

    select
        search_engines.domain as subject,
        'the example host ' || search_engines.example_host || ' is decided by '
        || coalesce(int_web_referrers.search_engine_domain, 'no row')
        || ', not by this row' as problem
    from search_engines
    left join int_web_referrers
        on 'https://' || search_engines.example_host || '/' = int_web_referrers.referrer_url
    where int_web_referrers.search_engine_domain is distinct from search_engines.domain

),

problems as (

    select * from unnormalised_sources
    union all
    select * from exact_sources_with_wildcards
    union all
    select * from redundant_sources
    union all
    select * from malformed_domains
    union all
    select * from search_engines_not_search_sources
    union all
    select * from rows_missing_their_example

)

select * from problems
