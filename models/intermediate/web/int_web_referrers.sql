-- One row per referrer URL the channel rules need: the landing referrers of web sessions, and
-- the referrers of the seeds' own examples (channel_golden_cases, and every search_engines
-- row's example host), which the channel data tests check through this model. Browsers
-- send only the origin across sites, so referrers are few: the host is parsed, and the
-- search engine matched, once per distinct URL or host, not once per session.
with

int_sessions_aggregated as (

    select * from {{ ref('int_sessions_aggregated') }}

),

channel_golden_cases as (

    select * from {{ ref('channel_golden_cases') }}

),

search_engines as (

    select * from {{ ref('search_engines') }}

),

referrer_urls as (

    select landing_referrer as referrer_url
    from int_sessions_aggregated
    union
    select referrer_url
    from channel_golden_cases
    union
    select 'https://' || example_host || '/' as referrer_url
    from search_engines

),

referrers as (

    select
        referrer_url,
        {{ url_host_without_www('referrer_url') }} as referrer_host
    from referrer_urls
    where referrer_url is not null

),

-- A host is a search engine's when the most specific seed row that matches it (the row's
-- domain or a subdomain of it, a `brand.*` domain under any public suffix; the longest
-- domain wins) is a result page: `mail.google.*` beats `google.*`, so Gmail is a referral.
search_engine_matches as (

    select
        referrer_hosts.referrer_host,
        search_engines.domain as search_engine_domain,
        case
            when search_engines.is_search then search_engines.search_engine
        end as search_engine,
        row_number() over (
            partition by referrer_hosts.referrer_host
            order by length(search_engines.domain) desc, search_engines.domain
        ) as match_number
    from (
        select distinct referrer_host
        from referrers
        where referrer_host is not null
    ) as referrer_hosts
    inner join search_engines
        on {{ host_matches_domain('referrer_hosts.referrer_host', 'search_engines.domain') }}

),

final as (

    select
        referrers.referrer_url,
        referrers.referrer_host,
        search_engine_matches.search_engine_domain,
        search_engine_matches.search_engine
    from referrers
    left join search_engine_matches
        on
            referrers.referrer_host = search_engine_matches.referrer_host
            and search_engine_matches.match_number = 1

)

select * from final
