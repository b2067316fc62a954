-- The days of data: the first and last reporting days on which any source has a record (a
-- web session, an order of any status, an ad spend row, an email event of any type, a
-- survey, a support ticket opened, a CRM activity). One row. kpi_daily has a row for every
-- day between them; the CLV models, the RFM scores, the lifecycle segments and the
-- audiences are as of the last.
with

sessions as (

    select * from {{ ref('int_sessions_stitched') }}

),

orders as (

    select * from {{ ref('int_orders_resolved') }}

),

spend as (

    select * from {{ ref('stg_ads__spend') }}

),

email_events as (

    select * from {{ ref('stg_email__events') }}

),

survey_daily as (

    select * from {{ ref('int_survey_scores_daily') }}

),

tickets as (

    select * from {{ ref('stg_crm__tickets') }}

),

activities as (

    select * from {{ ref('stg_crm__activities') }}

),

activity_days as (

    select {{ to_reporting_date('started_at') }} as reporting_date from sessions
    union all
    select {{ to_reporting_date('ordered_at') }} as reporting_date from orders
    union all
    select spend_date as reporting_date from spend
    union all
    select {{ to_reporting_date('event_at') }} as reporting_date from email_events
    union all
    select reporting_date from survey_daily
    union all
    select {{ to_reporting_date('created_at') }} as reporting_date from tickets
    union all
    select {{ to_reporting_date('occurred_at') }} as reporting_date from activities

),

final as (

    select
        min(reporting_date) as first_data_date,
        max(reporting_date) as last_data_date
    from activity_days

)

select * from final
