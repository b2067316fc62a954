{#- One query-string parameter of a URL, percent-decoded; null when absent or empty. -#}
{% macro url_query_param(url, parameter) -%}
    {{ return(adapter.dispatch('url_query_param', 'journey')(url, parameter)) }}
{%- endmacro %}

{% macro default__url_query_param(url, parameter) -%}
    nullif(url_decode(regexp_extract({{ url }}, '[?&]{{ parameter }}=([^&#]*)', 1)), '')
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
