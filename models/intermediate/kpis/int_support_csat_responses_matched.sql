with

surveys as (

    select * from {{ ref('stg_crm__surveys') }}

),

engagements as (

    select * from {{ ref('int_crm_engagements_resolved') }}

),

support_csat_responses as (

    select
        surveys.survey_response_id,
        engagements.customer_id,
        surveys.submitted_at,
        surveys.score
    from surveys
    left join engagements
        on
            engagements.engagement_type = 'survey_response'
            and surveys.survey_response_id = engagements.engagement_id
    where
        surveys.survey_type = 'csat'
        and surveys.survey_touchpoint = 'support'

),

person_tickets as (

    select
        engagement_id as ticket_id,
        customer_id,
        occurred_at as created_at
    from engagements
    where
        engagement_type = 'support_ticket'
        and customer_id is not null
        and occurred_at is not null

),

ranked_tickets as (

    select
        support_csat_responses.survey_response_id,
        person_tickets.ticket_id,
        row_number() over (
            partition by support_csat_responses.survey_response_id
            order by person_tickets.created_at desc, person_tickets.ticket_id desc
        ) as recency_rank
    from support_csat_responses
    inner join person_tickets
        on
            support_csat_responses.customer_id = person_tickets.customer_id
            and support_csat_responses.submitted_at >= person_tickets.created_at

),

final as (

    select
        support_csat_responses.survey_response_id,
        support_csat_responses.customer_id,
        support_csat_responses.submitted_at,
        support_csat_responses.score,
        coalesce(support_csat_responses.score >= 4, false) as is_satisfied,
        ranked_tickets.ticket_id
    from support_csat_responses
    left join ranked_tickets
        on
            support_csat_responses.survey_response_id = ranked_tickets.survey_response_id
            and ranked_tickets.recency_rank = 1

)

select * from final
