-- The traffic source of every web session, from its first message (contract: fct_sessions;
-- the rule is the macros of macros/channels/traffic_source.sql, which the golden cases
-- check too). A table on top of the incremental int_sessions_aggregated: the search engines
-- come from a seed an analyst edits, so the sources are derived again on every run.
with

int_sessions_aggregated as (

    select * from {{ ref('int_sessions_aggregated') }}

),

int_web_referrers as (

    select * from {{ ref('int_web_referrers') }}

),

-- The landing fields of each session, with its referrer when that is an external host: the
-- own site (var own_site_hosts, and its subdomains) is no referrer.
first_messages as (

    select
        int_sessions_aggregated.session_id,
        int_sessions_aggregated.landing_utm_source as utm_source,
        int_sessions_aggregated.landing_utm_medium as utm_medium,
        int_sessions_aggregated.landing_utm_campaign as utm_campaign,
        int_sessions_aggregated.landing_page_url as page_url,
        case
            when {{ is_external_host('int_web_referrers.referrer_host') }}
                then int_web_referrers.referrer_host
        end as referrer_host,
        case
            when {{ is_external_host('int_web_referrers.referrer_host') }}
                then int_web_referrers.search_engine
        end as search_engine
    from int_sessions_aggregated
    left join int_web_referrers
        on int_sessions_aggregated.landing_referrer = int_web_referrers.referrer_url

),

final as (

    select
        session_id,
        {{ traffic_source() }} as source,  -- noqa: RF04
        {{ traffic_medium() }} as medium,
        {{ traffic_campaign() }} as campaign,
        {{ click_id_type() }} as click_id_type
    from first_messages

)

select * from final
