-- One row per support ticket with a creation time, in the terms of the support KPIs: its
-- reporting month, its category ('(not set)' for none), whether it is closed, and how long
-- it took to close. kpi_support adds the journey stage the person was in (fct_touchpoints).
with

tickets as (

    select * from {{ ref('stg_crm__tickets') }}

),

final as (

    select
        ticket_id,
        cast({{ dbt.date_trunc('month', to_reporting_date('created_at')) }} as date)
            as ticket_month,
        coalesce(category, '(not set)') as category,
        ticket_status = 'closed' and closed_at is not null as is_closed,
        case
            when ticket_status = 'closed'
                then {{ dbt.datediff('created_at', 'closed_at', 'second') }}
        end as resolution_seconds
    from tickets
    where created_at is not null

)

select * from final
