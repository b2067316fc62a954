-- int_clv_customer_summary computes the last day of data from the same inputs as
-- kpi_daily's day range, one layer down: the two must agree (tenure ends there).
with

customer_summary as (

    select * from {{ ref('int_clv_customer_summary') }}

),

kpi_daily as (

    select * from {{ ref('kpi_daily') }}

),

summary_days as (

    select distinct last_data_date
    from customer_summary

),

kpi_last_day as (

    select max(date) as last_day  -- noqa: RF04
    from kpi_daily

),

mismatches as (

    select
        summary_days.last_data_date,
        kpi_last_day.last_day
    from summary_days
    cross join kpi_last_day
    where summary_days.last_data_date is distinct from kpi_last_day.last_day

)

select * from mismatches
