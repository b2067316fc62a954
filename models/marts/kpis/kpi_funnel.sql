with

customers as (

    select * from {{ ref('dim_customers') }}

),

journey_stages as (

    select * from {{ ref('fct_journey_stages') }}

),

stage_rules as (

    select * from {{ ref('journey_stage_rules') }}

),

stages as (

    select distinct
        stage,
        stage_order
    from stage_rules

),

cohort_members as (

    select
        customer_id,
        cast({{ dbt.date_trunc('month', to_reporting_date('first_seen_at')) }} as date)
            as cohort_month
    from customers
    where first_seen_at is not null

),

cohorts as (

    select distinct cohort_month
    from cohort_members

),

stage_steps as (

    -- Stages are cumulative, so the previous row of a person (by stage order) is the
    -- previous stage; the gap is in seconds between the two entered_at.
    select
        customer_id,
        stage,
        cast({{ dbt.datediff(
            'lag(entered_at) over (partition by customer_id order by stage_order)',
            'entered_at',
            'second'
        ) }} as double) as seconds_from_previous
    from journey_stages

),

cohort_stage_counts as (

    select
        cohort_members.cohort_month,
        stage_steps.stage,
        count(*) as customers_reached,
        percentile_cont(0.5) within group (order by stage_steps.seconds_from_previous)
            as median_seconds_from_previous
    from cohort_members
    inner join stage_steps
        on cohort_members.customer_id = stage_steps.customer_id
    group by cohort_members.cohort_month, stage_steps.stage

),

cohort_stages as (

    select
        cohorts.cohort_month,
        stages.stage,
        stages.stage_order,
        coalesce(cohort_stage_counts.customers_reached, 0) as customers_reached,
        cohort_stage_counts.median_seconds_from_previous
    from cohorts
    cross join stages
    left join cohort_stage_counts
        on
            cohorts.cohort_month = cohort_stage_counts.cohort_month
            and stages.stage = cohort_stage_counts.stage

),

with_previous as (

    select
        cohort_month,
        stage,
        stage_order,
        customers_reached,
        lag(customers_reached) over (
            partition by cohort_month order by stage_order
        ) as previous_stage_customers,
        median_seconds_from_previous
    from cohort_stages

),

final as (

    select
        cohort_month,
        stage,
        cast(stage_order as integer) as stage_order,
        cast(customers_reached as bigint) as customers_reached,
        cast(previous_stage_customers as bigint) as previous_stage_customers,
        cast(customers_reached as double) / nullif(previous_stage_customers, 0)
            as conversion_from_previous,
        cast(median_seconds_from_previous / 86400 as double) as median_days_from_previous,
        cast(median_seconds_from_previous / 3600 as double) as median_hours_from_previous
    from with_previous

)

select * from final
