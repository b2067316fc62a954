{#- A web session's traffic source from its first message (contract: fct_sessions), as four
    expressions over one row that carries the columns named by the arguments: the UTM
    parameters, the landing page's URL, the external referrer's host (null when there is no
    referrer, or it is the own site: is_external_host) and that host's search engine (null
    when it is none: int_web_referrers). The first signal present decides:
      1. UTM parameters (any of source, medium, campaign set): lower-cased source and medium,
         '(not set)' for a missing one, the campaign as given;
      2. a click id on the landing page: gclid -> google / cpc, msclkid -> bing / cpc;
      3. an external referrer: a search engine's host -> that engine / organic, any other
         host -> the host / referral;
      4. nothing: (direct) / (none). fbclid is no signal (the contract's click ids are
         gclid and msclkid; GA4 ignores fbclid too): untagged traffic without a referrer is
         Direct.
    Empty and all-space strings count as absent. Used by int_session_traffic_sources and the
    golden cases (assert_channel_golden_cases). See _channels__macros.yml. -#}

{% macro traffic_source(utm_source='utm_source', utm_medium='utm_medium', utm_campaign='utm_campaign', page_url='page_url', referrer_host='referrer_host', search_engine='search_engine') -%}
    case
        when {{ has_utm_parameters(utm_source, utm_medium, utm_campaign) }}
            then coalesce(lower({{ trim_to_null(utm_source) }}), '(not set)')
        when {{ url_has_query_param(page_url, 'gclid') }} then 'google'
        when {{ url_has_query_param(page_url, 'msclkid') }} then 'bing'
        when {{ referrer_host }} is not null then coalesce({{ search_engine }}, {{ referrer_host }})
        else '(direct)'
    end
{%- endmacro %}


{% macro traffic_medium(utm_source='utm_source', utm_medium='utm_medium', utm_campaign='utm_campaign', page_url='page_url', referrer_host='referrer_host', search_engine='search_engine') -%}
    case
        when {{ has_utm_parameters(utm_source, utm_medium, utm_campaign) }}
            then coalesce(lower({{ trim_to_null(utm_medium) }}), '(not set)')
        when {{ url_has_query_param(page_url, 'gclid') }} or {{ url_has_query_param(page_url, 'msclkid') }} then 'cpc'
        when {{ search_engine }} is not null then 'organic'
        when {{ referrer_host }} is not null then 'referral'
        else '(none)'
    end
{%- endmacro %}


{% macro traffic_campaign(utm_source='utm_source', utm_medium='utm_medium', utm_campaign='utm_campaign') -%}
    case when {{ has_utm_parameters(utm_source, utm_medium, utm_campaign) }} then {{ trim_to_null(utm_campaign) }} end
{%- endmacro %}


{#- The click id on the landing page, whether or not it decided the source: gclid, else
    msclkid, else fbclid; null when none. -#}
{% macro click_id_type(page_url='page_url') -%}
    case
        when {{ url_has_query_param(page_url, 'gclid') }} then 'gclid'
        when {{ url_has_query_param(page_url, 'msclkid') }} then 'msclkid'
        when {{ url_has_query_param(page_url, 'fbclid') }} then 'fbclid'
    end
{%- endmacro %}


{#- True when any of the UTM source, medium, campaign is set (not null, not blank). -#}
{% macro has_utm_parameters(utm_source='utm_source', utm_medium='utm_medium', utm_campaign='utm_campaign') -%}
    (coalesce(lower({{ trim_to_null(utm_source) }}), lower({{ trim_to_null(utm_medium) }}), {{ trim_to_null(utm_campaign) }}) is not null)
{%- endmacro %}


{#- (Here rather than in channel_helpers.sql: SQLFluff's jinja templater calls a macro of
    the same file without the wrapper that handles `return`, which
    own_site_hosts_normalised uses.)
    True when `host` (lower-case, without `www.`, as url_host_without_www returns it) is an
    external referrer: not null, and neither one of the own site's hosts (the argument, else
    the var `own_site_hosts`) nor a subdomain of one (checkout.example-shop.com is the own
    site when example-shop.com is listed). -#}
{% macro is_external_host(host, own_site_hosts=none) -%}
    {%- set own_hosts = own_site_hosts_normalised(own_site_hosts) -%}
    ({{ host }} is not null
    {%- if own_hosts %}
    and {{ host }} not in ('{{ own_hosts | join("', '") }}')
    {%- endif %}
    {%- for own_host in own_hosts %}
    and {{ host }} not like '%.{{ own_host }}'
    {%- endfor %})
{%- endmacro %}
