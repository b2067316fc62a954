{#- A web session's traffic source from its first message (contract: fct_sessions), as a
    query: every column of `relation` plus `source`, `medium`, `campaign`, `click_id_type`.
    The first signal present decides, in this order:
      1. UTM parameters (any of source, medium, campaign set): lower-cased source and medium,
         '(not set)' for a missing one, the campaign as given;
      2. a click id on the landing page: gclid -> google / cpc, msclkid -> bing / cpc;
      3. an external referrer: a search engine's host (seed search_engines: a listed domain
         or a subdomain of it, `brand.*` under any public suffix; the most specific row
         decides) -> that engine / organic, any other host -> the host without `www.` /
         referral; the own site (the hosts of var own_site_hosts and their subdomains) is
         not a referrer;
      4. fbclid without an external referrer -> facebook / referral (Meta appends fbclid to
         every outbound link, organic or paid, and in-app browsers drop the referrer);
      5. nothing: (direct) / (none).
    Empty and all-space strings count as absent. See _channels__macros.yml. -#}
{% macro derive_traffic_source(relation, utm_source='utm_source', utm_medium='utm_medium', utm_campaign='utm_campaign', page_url='page_url', referrer_url='page_referrer', own_site_hosts=none) -%}

{%- set utm_source_value = 'lower(' ~ trim_to_null(utm_source) ~ ')' -%}
{%- set utm_medium_value = 'lower(' ~ trim_to_null(utm_medium) ~ ')' -%}
{%- set utm_campaign_value = trim_to_null(utm_campaign) -%}
{%- set has_utm -%}
    coalesce({{ utm_source_value }}, {{ utm_medium_value }}, {{ utm_campaign_value }}) is not null
{%- endset -%}
{%- set has_gclid = url_has_query_param(page_url, 'gclid') -%}
{%- set has_msclkid = url_has_query_param(page_url, 'msclkid') -%}
{%- set has_fbclid = url_has_query_param(page_url, 'fbclid') -%}
{%- set own_hosts = own_site_hosts_normalised(own_site_hosts) -%}
{%- set referrer_host = 'traffic_source__referrers.traffic_source__referrer_host' -%}
{%- set search_engine = 'traffic_source__referrers.traffic_source__search_engine' -%}

with

{#- Referrers are few next to rows (browsers send only the origin across sites): the host and
    own-site work runs once per distinct referrer URL, the search-engine match once per
    distinct host. #}
traffic_source__referrer_urls as (

    select distinct {{ referrer_url }} as traffic_source__referrer_url
    from {{ relation }}

),

traffic_source__referrer_hosts as (

    select
        traffic_source__referrer_url,
        {{ url_host_without_www('traffic_source__referrer_url') }} as traffic_source__referrer_host
    from traffic_source__referrer_urls

),

{#- A host is a search engine's when the most specific seed row that matches it (equal, a
    subdomain, or `brand.*` under any public suffix) is a result page. #}
traffic_source__search_hosts as (

    {{ search_engine_of_hosts('traffic_source__referrer_hosts', 'traffic_source__referrer_host') }}

),

{#- External referrers: a parseable host that is neither an own-site host nor a subdomain
    of one (checkout.example-shop.com is the own site when example-shop.com is listed). #}
traffic_source__external_referrers as (

    select
        referrer_hosts.traffic_source__referrer_url,
        referrer_hosts.traffic_source__referrer_host,
        search_hosts.search_engine__search_engine as traffic_source__search_engine
    from traffic_source__referrer_hosts as referrer_hosts
    left join traffic_source__search_hosts as search_hosts
        on referrer_hosts.traffic_source__referrer_host = search_hosts.search_engine__host
    where
        referrer_hosts.traffic_source__referrer_host is not null
        {%- if own_hosts %}
        and referrer_hosts.traffic_source__referrer_host not in ('{{ own_hosts | join("', '") }}')
        {%- endif %}
        {%- for own_host in own_hosts %}
        and referrer_hosts.traffic_source__referrer_host not like '%.{{ own_host }}'
        {%- endfor %}

)

select
    traffic_source__input.*,
    case
        when {{ has_utm }} then coalesce({{ utm_source_value }}, '(not set)')
        when {{ has_gclid }} then 'google'
        when {{ has_msclkid }} then 'bing'
        when {{ referrer_host }} is not null then coalesce({{ search_engine }}, {{ referrer_host }})
        when {{ has_fbclid }} then 'facebook'
        else '(direct)'
    end as source,
    case
        when {{ has_utm }} then coalesce({{ utm_medium_value }}, '(not set)')
        when {{ has_gclid }} or {{ has_msclkid }} then 'cpc'
        when {{ search_engine }} is not null then 'organic'
        when {{ referrer_host }} is not null or {{ has_fbclid }} then 'referral'
        else '(none)'
    end as medium,
    case when {{ has_utm }} then {{ utm_campaign_value }} end as campaign,
    case
        when {{ has_gclid }} then 'gclid'
        when {{ has_msclkid }} then 'msclkid'
        when {{ has_fbclid }} then 'fbclid'
    end as click_id_type
from {{ relation }} as traffic_source__input
left join traffic_source__external_referrers as traffic_source__referrers
    on {{ referrer_url }} = traffic_source__referrers.traffic_source__referrer_url

{%- endmacro %}
