{#- One query-string parameter of a URL, percent-decoded; null when absent or empty. -#}
{% macro url_query_param(url, parameter) -%}
    {{ return(adapter.dispatch('url_query_param', 'journey')(url, parameter)) }}
{%- endmacro %}

{% macro default__url_query_param(url, parameter) -%}
    nullif(url_decode(regexp_extract({{ url }}, '[?&]{{ parameter }}=([^&#]*)', 1)), '')
{%- endmacro %}

{#- Decodes as DuckDB's `url_decode` does: a '+' stays a '+' (Spark's reads it as a space),
    and a '%' not followed by two hex digits stays as it is (Spark's raises on it). -#}
{% macro spark__url_query_param(url, parameter) -%}
    nullif(
        url_decode(
            regexp_replace(
                replace(regexp_extract({{ url }}, '[?&]{{ parameter }}=([^&#]*)', 1), '+', '%2B'),
                '%(?![0-9A-Fa-f]{2})',
                '%25'
            )
        ),
        ''
    )
{%- endmacro %}


{#- The path of an absolute URL ('/' when it has none); null for a null or relative URL. -#}
{% macro url_path(url) -%}
    {{ return(adapter.dispatch('url_path', 'journey')(url)) }}
{%- endmacro %}

{% macro default__url_path(url) -%}
    case
        when regexp_matches({{ url }}, '^[A-Za-z][A-Za-z0-9+.-]*://')
            then coalesce(
                nullif(regexp_extract({{ url }}, '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*([^?#]*)', 1), ''),
                '/'
            )
    end
{%- endmacro %}

{% macro spark__url_path(url) -%}
    case
        when {{ url }} rlike '^[A-Za-z][A-Za-z0-9+.-]*://'
            then coalesce(
                nullif(regexp_extract({{ url }}, '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*([^?#]*)', 1), ''),
                '/'
            )
    end
{%- endmacro %}


{#- The host without its public suffix (the top-level domain, and a ccTLD's second level such
    as `co.uk` or `com.br`): `images.google.co.uk` gives `images.google`, `ya.ru` gives `ya`;
    null for a name without a dot. A small approximation of the Public Suffix List, enough
    for the `brand.*` domains of the channel seeds. -#}
{% macro host_without_public_suffix(host) -%}
    {{ return(adapter.dispatch('host_without_public_suffix', 'journey')(host)) }}
{%- endmacro %}

{% macro default__host_without_public_suffix(host) -%}
    nullif(regexp_extract({{ host }}, '^(.*?)\.(?:(?:com?|net|org|gov|edu|ac|ne|or|go)\.[a-z]{2}|[a-z]{2,})$', 1), '')
{%- endmacro %}

{#- The same expression with `[.]` for `\.` (a Spark string literal drops the backslash). -#}
{% macro spark__host_without_public_suffix(host) -%}
    nullif(regexp_extract({{ host }}, '^(.*?)[.](?:(?:com?|net|org|gov|edu|ac|ne|or|go)[.][a-z]{2}|[a-z]{2,})$', 1), '')
{%- endmacro %}
