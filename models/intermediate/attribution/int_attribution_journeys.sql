with

touchpoints as (

    select * from {{ ref('int_attribution_touchpoints') }}

),

paths as (

    select * from {{ ref('int_attribution_paths') }}

),

converting_steps as (

    select
        'order:' || order_id as journey_id,
        true as is_converting,
        order_id,
        customer_id,
        step_number,
        touchpoint_id,
        occurred_at,
        channel
    from paths

),

-- Touchpoints in no order's window; an order between two of them always puts them more
-- than the lookback apart, so runs never straddle an order.
outside_windows as (

    select
        touchpoints.touchpoint_id,
        touchpoints.customer_id,
        touchpoints.occurred_at,
        touchpoints.channel,
        lag(touchpoints.occurred_at) over by_person as previous_occurred_at
    from touchpoints
    where not exists (
            select 1 from paths
            where paths.touchpoint_id = touchpoints.touchpoint_id
        )
    window by_person as (
        partition by touchpoints.customer_id
        order by touchpoints.occurred_at, touchpoints.touchpoint_id
    )

),

run_starts as (

    select
        *,
        case
            when previous_occurred_at is null then 1
            when occurred_at > {{ dbt.dateadd(
                'day', var('attribution_lookback_days'), 'previous_occurred_at'
            ) }} then 1
            else 0
        end as is_run_start
    from outside_windows

),

runs as (

    select
        *,
        sum(is_run_start) over by_person as run_number
    from run_starts
    window by_person as (
        partition by customer_id
        order by occurred_at, touchpoint_id
        rows unbounded preceding
    )

),

non_converting_steps as (

    select
        'run:' || first_value(touchpoint_id) over by_run as journey_id,
        false as is_converting,
        cast(null as {{ dbt.type_string() }}) as order_id,
        customer_id,
        row_number() over by_run as step_number,
        touchpoint_id,
        occurred_at,
        channel
    from runs
    window by_run as (
        partition by customer_id, run_number
        order by occurred_at, touchpoint_id
    )

),

unioned as (

    select * from converting_steps
    union all
    select * from non_converting_steps

),

final as (

    select
        journey_id,
        is_converting,
        order_id,
        customer_id,
        cast(step_number as integer) as step_number,
        touchpoint_id,
        occurred_at,
        channel
    from unioned

)

select * from final
