{{ config(meta={'dagster': {'ref': {'name': 'kpi_support'}}}) }}
-- kpi_support counts every ticket that has a created_at once, and every support CSAT
-- response matched to a ticket once; no row has more closed tickets than tickets or more
-- satisfied responses than responses. Returns the checks that fail.
with

support as (

    select * from {{ ref('kpi_support') }}

),

tickets as (

    select * from {{ ref('stg_crm__tickets') }}

),

csat_responses as (

    select * from {{ ref('int_support_csat_responses_matched') }}

),

observed as (

    select
        coalesce(sum(tickets), 0) as tickets,
        coalesce(sum(csat_responses), 0) as csat_responses,
        count(*) filter (
            where closed_tickets > tickets or csat_satisfied > csat_responses
        ) as inconsistent_rows
    from support

),

expected_tickets as (

    select count(*) as tickets
    from tickets
    where created_at is not null

),

expected_responses as (

    select count(*) as csat_responses
    from csat_responses
    where ticket_id is not null

)

select
    observed.tickets,
    expected_tickets.tickets as expected_tickets,
    observed.csat_responses,
    expected_responses.csat_responses as expected_csat_responses,
    observed.inconsistent_rows
from observed
cross join expected_tickets
cross join expected_responses
where
    observed.tickets <> expected_tickets.tickets
    or observed.csat_responses <> expected_responses.csat_responses
    or observed.inconsistent_rows > 0
