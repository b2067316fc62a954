with

tickets as (

    select * from {{ ref('int_support_tickets') }}

),

touchpoints as (

    select * from {{ ref('fct_touchpoints') }}

),

csat_responses as (

    select * from {{ ref('int_support_csat_responses_matched') }}

),

-- The person's stage when the ticket was created is the journey_stage of the ticket's
-- touchpoint (`support_ticket:<ticket_id>` in fct_touchpoints).
tickets_at_creation as (

    select
        tickets.ticket_id,
        tickets.ticket_month,
        tickets.category,
        coalesce(touchpoints.journey_stage, '(unknown)') as journey_stage,
        tickets.is_closed,
        tickets.resolution_seconds
    from tickets
    left join touchpoints
        on 'support_ticket:' || tickets.ticket_id = touchpoints.touchpoint_id

),

csat_per_ticket as (

    select
        ticket_id,
        count(*) as csat_responses,
        count(*) filter (where is_satisfied) as csat_satisfied
    from csat_responses
    where ticket_id is not null
    group by ticket_id

),

aggregated as (

    select
        tickets_at_creation.ticket_month,
        tickets_at_creation.category,
        tickets_at_creation.journey_stage,
        count(*) as tickets,
        count(*) filter (where tickets_at_creation.is_closed) as closed_tickets,
        percentile_cont(0.5) within group (order by tickets_at_creation.resolution_seconds)
        / 3600 as median_resolution_hours,
        coalesce(sum(csat_per_ticket.csat_responses), 0) as csat_responses,
        coalesce(sum(csat_per_ticket.csat_satisfied), 0) as csat_satisfied
    from tickets_at_creation
    left join csat_per_ticket
        on tickets_at_creation.ticket_id = csat_per_ticket.ticket_id
    group by
        tickets_at_creation.ticket_month,
        tickets_at_creation.category,
        tickets_at_creation.journey_stage

),

final as (

    select
        ticket_month as month,  -- noqa: RF04
        category,
        journey_stage,
        cast(tickets as bigint) as tickets,
        cast(closed_tickets as bigint) as closed_tickets,
        cast(median_resolution_hours as double) as median_resolution_hours,
        cast(csat_responses as bigint) as csat_responses,
        cast(csat_satisfied as bigint) as csat_satisfied,
        100 * cast(csat_satisfied as double) / nullif(csat_responses, 0) as csat
    from aggregated

)

select * from final
