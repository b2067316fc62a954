{#- Expressions of the channel models (int_web_referrers, int_session_traffic_sources,
    int_traffic_source_channels) and of the channel data tests. -#}

{#- The host of an absolute URL, lower-cased, without a leading `www.`, user info or port;
    null for a null, relative or malformed URL. `android-app://com.example.app/...` gives
    the app id, as browsers report app referrers that way. -#}
{% macro url_host_without_www(url) -%}
    {{ return(adapter.dispatch('url_host_without_www', 'journey')(url)) }}
{%- endmacro %}

{#- Two cheap regular expressions (the authority, then user info, `www.` and port removed)
    run several times faster on DuckDB than one pattern with an optional user-info group. -#}
{% macro default__url_host_without_www(url) -%}
    nullif(regexp_replace(lower(regexp_extract({{ url }}, '^[a-zA-Z][a-zA-Z0-9+.-]*://([^/?#]*)', 1)), '^([^@]*@)?(www\.)?|:[0-9]*$', '', 'g'), '')
{%- endmacro %}

{#- Spark's regexp_replace replaces every match (its 4th argument is a position, not flags),
    and its string literals read backslash escapes: the dot is written `[.]`. -#}
{% macro spark__url_host_without_www(url) -%}
    nullif(regexp_replace(lower(regexp_extract({{ url }}, '^[a-zA-Z][a-zA-Z0-9+.-]*://([^/?#]*)', 1)), '^([^@]*@)?(www[.])?|:[0-9]*$', ''), '')
{%- endmacro %}


{#- True when the URL's query string has the parameter with a non-empty value (`gclid`,
    `msclkid`, `fbclid`); null for a null URL. A substring test runs first, so the regular
    expression runs only on the few URLs that contain the name. -#}
{% macro url_has_query_param(url, parameter) -%}
    {{ return(adapter.dispatch('url_has_query_param', 'journey')(url, parameter)) }}
{%- endmacro %}

{% macro default__url_has_query_param(url, parameter) -%}
    ({{ dbt.position("'" ~ parameter ~ "='", url) }} > 0 and {{ matches_regex(url, "'[?&]" ~ parameter ~ "=[^&#]'") }})
{%- endmacro %}


{#- True when `value` contains a match of the regular expression `pattern` (a search, not a
    full match: anchor the pattern with ^...$ for an exact match); null when either is null. -#}
{% macro matches_regex(value, pattern) -%}
    {{ return(adapter.dispatch('matches_regex', 'journey')(value, pattern)) }}
{%- endmacro %}

{% macro default__matches_regex(value, pattern) -%}
    regexp_matches({{ value }}, {{ pattern }})
{%- endmacro %}

{#- Java regular expressions rather than RE2: the same for the seeds' patterns. -#}
{% macro spark__matches_regex(value, pattern) -%}
    ({{ value }} rlike {{ pattern }})
{%- endmacro %}


{#- The list of the own site's hosts in the form url_host_without_www returns: from the
    argument, else the `own_site_hosts` var (a list, or one host as a string). -#}
{% macro own_site_hosts_normalised(own_site_hosts=none) -%}
    {%- set hosts = own_site_hosts if own_site_hosts is not none
        else var('own_site_hosts', ['www.example-shop.com', 'example-shop.com']) -%}
    {%- if hosts is string -%}
        {%- set hosts = [hosts] -%}
    {%- endif -%}
    {%- set normalised = [] -%}
    {%- for host in hosts -%}
        {%- set host = host | trim | lower -%}
        {%- if host.startswith('www.') -%}
            {%- set host = host[4:] -%}
        {%- endif -%}
        {%- if host and host not in normalised -%}
            {%- do normalised.append(host) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(normalised) }}
{%- endmacro %}


{#- True when `host` is the domain `domain` or one of its subdomains (`images.google.com` is
    under `google.com`; `notgoogle.com` is not); a domain ending in `.*` stands for that name
    under any public suffix (`google.*`: google.de, google.co.uk, images.google.com.br; see
    host_without_public_suffix in url_parts.sql). Null when either is null. -#}
{% macro host_matches_domain(host, domain) -%}
    {{ return(adapter.dispatch('host_matches_domain', 'journey')(host, domain)) }}
{%- endmacro %}

{% macro default__host_matches_domain(host, domain) -%}
    {%- set name -%}
        case when {{ domain }} like '%.*' then {{ host_without_public_suffix(host) }} else {{ host }} end
    {%- endset -%}
    {%- set parent -%}
        case when {{ domain }} like '%.*' then substring({{ domain }}, 1, length({{ domain }}) - 2) else {{ domain }} end
    {%- endset -%}
    ({{ name }} = {{ parent }} or right({{ name }}, length({{ parent }}) + 1) = '.' || {{ parent }})
{%- endmacro %}


{#- A source, medium or campaign as the channel rules match it: trimmed, lower-cased, and
    '(not set)' when absent (null, empty or blank), as in GA4. int_traffic_source_channels
    holds one row per distinct triple of these values. -#}
{% macro channel_match_value(expression) -%}
    coalesce(lower({{ trim_to_null(expression) }}), '(not set)')
{%- endmacro %}
