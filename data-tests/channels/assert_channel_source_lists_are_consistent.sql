-- The source lists match what the macros compare them with: sources lower-case and trimmed
-- (classify_channel lower-cases the source before the lookup), every search engine's name a
-- search source (so its organic traffic is Organic Search), and every search-engine
-- pattern matching its example host. Returns one row per problem.
with

channel_source_categories as (

    select * from {{ ref('channel_source_categories') }}

),

search_engines as (

    select * from {{ ref('search_engines') }}

),

unnormalised_sources as (

    select
        source as subject,
        'source is not lower-case and trimmed' as problem
    from channel_source_categories
    where source != lower(trim(source))

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
    where channel_source_categories.source is null

),

patterns_missing_their_example as (

    select
        search_engines.host_regex as subject,
        'pattern does not match its example host ' || search_engines.example_host as problem
    from search_engines
    where
        not {{ matches_regex(
            url_host_without_www("'https://' || search_engines.example_host || '/'"),
            'search_engines.host_regex'
        ) }}

),

problems as (

    select * from unnormalised_sources
    union all
    select * from search_engines_not_search_sources
    union all
    select * from patterns_missing_their_example

)

select * from problems
