{{ config(meta={'dagster': {'ref': {'name': 'kpi_funnel'}}}) }}
-- kpi_funnel tells the story of fct_journey_stages: per stage, its cohorts together count
-- every person who reached the stage, no stage has more people than the stage before
-- it, and each row's denominator is the previous row's count. Returns the rows that
-- break a rule.
with

funnel as (

    select * from {{ ref('kpi_funnel') }}

),

journey_stages as (

    select * from {{ ref('fct_journey_stages') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

reached_per_stage as (

    select
        journey_stages.stage,
        count(*) as people
    from journey_stages
    inner join customers
        on journey_stages.customer_id = customers.customer_id
    where customers.first_seen_at is not null
    group by journey_stages.stage

),

funnel_per_stage as (

    select
        stage,
        sum(customers_reached) as people
    from funnel
    group by stage

),

count_mismatches as (

    select
        coalesce(funnel_per_stage.stage, reached_per_stage.stage) as stage_name,
        cast(null as date) as cohort_month,
        'stage total differs from fct_journey_stages' as broken_rule
    from funnel_per_stage
    full outer join reached_per_stage
        on funnel_per_stage.stage = reached_per_stage.stage
    where coalesce(funnel_per_stage.people, 0) <> coalesce(reached_per_stage.people, 0)

),

with_previous as (

    select
        stage,
        cohort_month,
        customers_reached,
        previous_stage_customers,
        lag(customers_reached) over (
            partition by cohort_month order by stage_order
        ) as previous_row_customers
    from funnel

),

order_mismatches as (

    select
        stage as stage_name,
        cohort_month,
        'more people than the previous stage, or a wrong denominator' as broken_rule
    from with_previous
    where
        customers_reached > previous_stage_customers
        or previous_stage_customers is distinct from previous_row_customers

)

select * from count_mismatches
union all
select * from order_mismatches
