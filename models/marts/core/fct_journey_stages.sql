with

stage_rules as (

    select * from {{ ref('journey_stage_rules') }}

),

qualified_events as (

    select * from {{ ref('int_stage_events_qualified') }}

),

touchpoints as (

    select * from {{ ref('int_touchpoints_unioned') }}

),

attribution as (

    select * from {{ ref('fct_attribution') }}

),

stages as (

    select distinct
        stage,
        stage_order
    from stage_rules

),

first_qualified as (

    select
        customer_id,
        stage,
        stage_order,
        qualified_at,
        touchpoint_id
    from qualified_events
    qualify row_number() over (
            partition by customer_id, stage
            order by qualified_at nulls last, touchpoint_id
        ) = 1

),

furthest_stage as (

    select
        customer_id,
        max(stage_order) as furthest_stage_order
    from first_qualified
    group by customer_id

),

reached as (

    select
        furthest_stage.customer_id,
        stages.stage,
        stages.stage_order,
        first_qualified.qualified_at,
        first_qualified.touchpoint_id
    from furthest_stage
    inner join stages
        on furthest_stage.furthest_stage_order >= stages.stage_order
    left join first_qualified
        on
            furthest_stage.customer_id = first_qualified.customer_id
            and stages.stage = first_qualified.stage

),

entered as (

    -- entered_at(k) = min(first qualifying event of k, entered_at(k + 1)): the earliest
    -- qualifying event of this stage or any later one, which also names the entering
    -- touchpoint of an inferred stage.
    select
        customer_id,
        stage,
        stage_order,
        qualified_at,
        min_by(
            touchpoint_id,
            case
                when qualified_at is not null
                    then {{ sort_key(['qualified_at', 'stage_order']) }}
            end
        ) over later_stages as entering_touchpoint_id,
        min(qualified_at) over later_stages as entered_at
    from reached
    window later_stages as (
        partition by customer_id
        order by stage_order desc
        rows between unbounded preceding and current row
    )

),

order_channels as (

    -- The channel that the default attribution model credits most for an order (ties: the
    -- channel first in name order): the channel of the purchase stage, entered by an order.
    select
        'order:' || order_id as touchpoint_id,
        channel,
        row_number() over (
            partition by order_id
            order by sum(credit) desc, channel asc
        ) as channel_rank
    from attribution
    where model = '{{ var("default_attribution_model") }}'
    group by order_id, channel

),

final as (

    select
        entered.customer_id,
        entered.stage,
        entered.stage_order,
        entered.entered_at,
        coalesce(entered.qualified_at is null or entered.qualified_at > entered.entered_at, false)
            as is_inferred,
        entered.entering_touchpoint_id,
        coalesce(order_channels.channel, touchpoints.channel) as channel
    from entered
    left join touchpoints
        on entered.entering_touchpoint_id = touchpoints.touchpoint_id
    left join order_channels
        on
            entered.entering_touchpoint_id = order_channels.touchpoint_id
            and order_channels.channel_rank = 1

)

select * from final
