{{ config(materialized='table', schema='metrics') }}

{#- The days MetricFlow may ask for, 2020-01-01 to 2039-12-31. The project's own generator
    rather than dbt.date_spine, which asks the warehouse how many days lie between the
    two dates while compiling (a query at compile time). -#}

with

days as (

    select
        {{ date_series("cast('2020-01-01' as date)", "cast('2039-12-31' as date)", 'day') }}
            as date_day

),

final as (

    select cast(date_day as date) as date_day
    from days

)

select * from final
