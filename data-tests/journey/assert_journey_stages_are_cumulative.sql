-- A person who reached stage k has a row for every earlier stage, entered no later than
-- the next one. Returns the rows that break either rule.
with

journey_stages as (

    select * from {{ ref('fct_journey_stages') }}

),

checked as (

    select
        customer_id,
        stage,
        stage_order,
        entered_at,
        lead(entered_at) over by_stage as next_entered_at,
        row_number() over by_stage as expected_stage_order
    from journey_stages
    window by_stage as (partition by customer_id order by stage_order)

)

select * from checked
where stage_order <> expected_stage_order or entered_at > next_entered_at
