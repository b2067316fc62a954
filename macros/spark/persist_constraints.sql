{#- Contracts on Spark: DuckDB enforces a contract's constraints (not_null, unique,
    primary_key, check) when it builds the table; dbt-spark applies them only to Delta
    tables (as ALTER TABLE statements), and the project's are Parquet, so a mart could hold
    a null key or a negative count on Spark unnoticed. This checks the built table against
    every constraint of the contract in one query and fails the model, naming each broken
    rule and its rows, as DuckDB's build would. On Delta, dbt-spark's statements follow, so
    later writers are held to them too.
    dbt-spark calls it when it creates or replaces a table (a table, or an incremental
    model's first or full-refresh build); an incremental run's merge does not: the contracted
    models are tables. -#}
{% macro spark__persist_constraints(relation, model) %}
    {%- if config.get('contract').enforced -%}
        {%- set rules = contract_rules(model) -%}
        {%- if rules -%}
            {%- set counts = run_query(contract_violations_sql(relation, rules)).rows[0] -%}
            {%- set broken = [] -%}
            {%- for rule in rules -%}
                {%- set rows = counts[loop.index0] | int -%}
                {%- if rows -%}
                    {%- do broken.append(rule.name ~ ": " ~ rows ~ (" row" if rows == 1 else " rows")) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- if broken -%}
                {{ exceptions.raise_compiler_error(
                    model.name ~ " breaks its contract (checked on Spark after building "
                    ~ relation ~ "): " ~ broken | join("; ")) }}
            {%- endif -%}
        {%- endif -%}
        {%- if config.get('file_format', 'delta') == 'delta' -%}
            {%- do alter_table_add_constraints(relation, model.constraints) -%}
            {%- do alter_column_set_constraints(relation, model.columns) -%}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}


{#- A contract's constraints as rules: a name to report and the SQL expression counting the
    rows that break it (a check fails where its expression is false, not null, as in
    DuckDB; a unique constraint counts the rows beyond the first of each key, rows with a
    null in the key apart; a primary key is not null and unique). -#}
{% macro contract_rules(model) %}
    {%- set rules = [] -%}
    {%- set constraints = [] -%}
    {%- for name, column in model.columns.items() -%}
        {%- set quoted = adapter.quote(name) if column.get('quote') else name -%}
        {%- for constraint in column.get('constraints', []) -%}
            {%- do constraints.append((constraint, [quoted])) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for constraint in model.get('constraints', []) -%}
        {%- do constraints.append((constraint, constraint.get('columns') or [])) -%}
    {%- endfor -%}
    {%- for constraint, columns in constraints -%}
        {%- set kind = constraint['type'] -%}
        {%- if kind in ('not_null', 'primary_key') -%}
            {%- for column in columns if column ~ ' not null' not in rules | map(attribute='name') -%}
                {%- do rules.append({'name': column ~ ' not null',
                    'sql': 'sum(case when ' ~ column ~ ' is null then 1 else 0 end)'}) -%}
            {%- endfor -%}
        {%- endif -%}
        {%- if kind in ('unique', 'primary_key') and columns -%}
            {%- do rules.append({'name': columns | join(', ') ~ ' unique',
                'sql': 'sum(case when ' ~ columns | join(' is not null and ')
                    ~ ' is not null then 1 else 0 end) - count(distinct '
                    ~ columns | join(', ') ~ ')'}) -%}
        {%- elif kind == 'check' -%}
            {%- do rules.append({'name': 'check (' ~ constraint['expression'] ~ ')',
                'sql': 'sum(case when not (' ~ constraint['expression'] ~ ') then 1 else 0 end)'}) -%}
        {%- elif kind not in ('not_null', 'primary_key') -%}
            {%- do exceptions.warn(model.name ~ ": a `" ~ kind ~ "` constraint is not checked on Spark") -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(rules) }}
{% endmacro %}


{% macro contract_violations_sql(relation, rules) -%}
    select
    {%- for rule in rules %}
        coalesce({{ rule.sql }}, 0) as broken_{{ loop.index }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ relation }}
{%- endmacro %}
