{#- The search engine of each distinct non-null host of `relation`, as a query: columns
    `search_engine__host`, `search_engine__domain` (the seed search_engines row that decides:
    the longest domain that matches the host, see host_matches_domain) and
    `search_engine__search_engine` (that row's engine, null when the row is not a result
    page: `mail.google.*` beats `google.*`, so Gmail is an ordinary referrer). Hosts that no
    row matches are left out. The hosts must be lower-case and without `www.`, as
    url_host_without_www returns them. (A file of its own: SQLFluff's jinja templater calls a
    macro of the same file without the wrapper that handles `return`, so the dispatched
    helpers this calls must live in other files.) -#}
{% macro search_engine_of_hosts(relation, host) -%}

with

search_engine__engines as (

    select * from {{ ref('search_engines') }}

),

search_engine__hosts as (

    select distinct {{ host }} as search_engine__host
    from {{ relation }}
    where {{ host }} is not null

),

search_engine__matches as (

    select
        hosts.search_engine__host,
        engines.domain as search_engine__domain,
        case when engines.is_search then engines.search_engine end as search_engine__search_engine,
        row_number() over (
            partition by hosts.search_engine__host
            order by length(engines.domain) desc, engines.domain
        ) as search_engine__match_number
    from search_engine__hosts as hosts
    inner join search_engine__engines as engines
        on {{ host_matches_domain('hosts.search_engine__host', 'engines.domain') }}

)

select
    search_engine__host,
    search_engine__domain,
    search_engine__search_engine
from search_engine__matches
where search_engine__match_number = 1

{%- endmacro %}
