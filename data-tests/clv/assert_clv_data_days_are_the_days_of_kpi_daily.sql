{{ config(meta={'dagster': {'ref': {'name': 'int_clv_order_days'}}}) }}
-- int_clv_order_days computes the first and last day of data from the same inputs as
-- kpi_daily's day range, one layer down, and int_clv_customer_summary takes the last day
-- from it: they must agree with kpi_daily (tenure ends on the last day; the calibration
-- check's observed days run from the first to the last).
with

order_days as (

    select * from {{ ref('int_clv_order_days') }}

),

customer_summary as (

    select * from {{ ref('int_clv_customer_summary') }}

),

kpi_daily as (

    select * from {{ ref('kpi_daily') }}

),

clv_days as (

    select distinct
        'int_clv_order_days' as relation_name,
        first_data_date,
        last_data_date
    from order_days
    union all
    select distinct
        'int_clv_customer_summary' as relation_name,
        cast(null as date) as first_data_date,
        last_data_date
    from customer_summary

),

kpi_days as (

    select
        min(date) as first_day,  -- noqa: RF04
        max(date) as last_day  -- noqa: RF04
    from kpi_daily

),

mismatches as (

    select
        clv_days.relation_name,
        clv_days.first_data_date,
        clv_days.last_data_date,
        kpi_days.first_day,
        kpi_days.last_day
    from clv_days
    cross join kpi_days
    where
        clv_days.last_data_date is distinct from kpi_days.last_day
        or (
            clv_days.relation_name = 'int_clv_order_days'
            and clv_days.first_data_date is distinct from kpi_days.first_day
        )

)

select * from mismatches
