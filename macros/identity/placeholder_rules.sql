{#- The placeholder guardrail: when an identifier matches a rule of the seed
    `identity_placeholder_values`. Written once for identity resolution
    (int_identifiers_screened) and for data-subject erasure (orchestration/privacy/erasure.py),
    which runs over raw before dbt and renders this file with plain jinja2: so these macros
    use plain Jinja only, no dbt context (`ref`, `var`, `return`, `adapter`, `dbt.*`).
    Every argument except `match_type_name` is a SQL expression; the identifier type of an
    email is `email` in both callers. The match types, in the order in which they name an
    identifier's reason: `exact`, `email_local_part`, `email_domain`. -#}

{#- A seed value in its matching form: trimmed and lower-cased; a null is the text `null`
    (some adapters load the seed text `null` as a SQL null). -#}
{% macro placeholder_seed_value(placeholder_value) -%}
    coalesce(lower(trim({{ placeholder_value }})), 'null')
{%- endmacro %}


{#- The part of an identifier that the rules of one match type compare, named by
    `match_type_name` (a Jinja string, not SQL): `exact`, the whole value trimmed and
    lower-cased, for any identifier type; `email_local_part`, the local part of an email
    without its +tag (`test+1@shop.com` is `test`); `email_domain`, the domain of an email.
    Null when the match type does not apply to the identifier type. -#}
{% macro placeholder_match_key(match_type_name, identifier_type, identifier_value) -%}
    {%- if match_type_name == 'exact' -%}
        lower(trim({{ identifier_value }}))
    {%- elif match_type_name == 'email_local_part' -%}
        case when {{ identifier_type }} = 'email' then split_part(split_part(lower({{ identifier_value }}), '@', 1), '+', 1) end
    {%- elif match_type_name == 'email_domain' -%}
        case when {{ identifier_type }} = 'email' then split_part(lower({{ identifier_value }}), '@', 2) end
    {%- else -%}
        {#- not a macro: an unknown match type fails the render, in dbt and in jinja2 -#}
        {{ placeholder_match_type_is_unknown(match_type_name) }}
    {%- endif -%}
{%- endmacro %}


{#- True when a match key (`placeholder_match_key` of the same match type) matches the seed
    value: equal to it, or for `email_domain` also a subdomain of it (`example` covers
    `shop.example`). The seed value is normalised here (`placeholder_seed_value`). Each side
    refers to one relation only: a model joins identifiers with precomputed keys to the
    seed's rows of one match type on it (an equi-join, but for domains). -#}
{% macro placeholder_key_matches(match_type_name, match_key, placeholder_value) -%}
    {%- set seed_value = placeholder_seed_value(placeholder_value) -%}
    {%- if match_type_name == 'email_domain' -%}
        ({{ match_key }} = {{ seed_value }} or {{ match_key }} like '%.' || {{ seed_value }})
    {%- else -%}
        {{ match_key }} = {{ seed_value }}
    {%- endif -%}
{%- endmacro %}


{#- True when the identifier matches the seed row (`match_type`, `placeholder_value`):
    `placeholder_key_matches` on the identifier's `placeholder_match_key` of the row's match
    type. One condition for a join of a few identifiers with every seed row. -#}
{% macro placeholder_rule_matches(identifier_type, identifier_value, match_type, placeholder_value) -%}
    (
    {%- for match_type_name in ['exact', 'email_local_part', 'email_domain'] %}
        {{ 'or ' if not loop.first }}({{ match_type }} = '{{ match_type_name }}' and {{ placeholder_key_matches(match_type_name, placeholder_match_key(match_type_name, identifier_type, identifier_value), placeholder_value) }})
    {%- endfor %}
    )
{%- endmacro %}


{#- True for an email without a local part, an @ or a domain: no address at all, a
    placeholder whatever the seed says (category `not_an_email_address`). -#}
{% macro is_not_an_email_address(identifier_type, identifier_value) -%}
    ({{ identifier_type }} = 'email' and {{ identifier_value }} not like '%_@_%')
{%- endmacro %}


{#- The order in which matching rules name an identifier's reason, 1 first: `exact`,
    `email_local_part`, `email_domain`, then `not_an_email_address`. -#}
{% macro placeholder_rule_priority(match_type) -%}
    case {{ match_type }} when 'exact' then 1 when 'email_local_part' then 2 when 'email_domain' then 3 when 'not_an_email_address' then 4 end
{%- endmacro %}
