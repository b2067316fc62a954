with

orders as (

    select * from {{ ref('fct_orders') }}

),

paths as (

    select * from {{ ref('int_attribution_paths') }}

),

removal_effects as (

    select * from {{ source('markov_model', 'markov_removal_effects') }}

),

attribution_models as (

    -- The var's list as rows (a VALUES list: both engines read it).
    select configured_models.attribution_model
    from ({{ string_values(var('attribution_models')) }}) as configured_models (attribution_model)

),

attributable_orders as (

    select
        order_id,
        customer_id,
        ordered_at,
        net_revenue
    from orders
    where status <> 'cancelled'

),

path_touches as (

    select
        order_id,
        touchpoint_id,
        step_number,
        path_length,
        max(case when channel <> 'Direct' then step_number end)
            over (partition by order_id) as last_non_direct_step,
        pow(2, -age_days / {{ var('attribution_half_life_days') }}) as time_decay_weight
    from paths

),

markov_touches as (

    select
        paths.order_id,
        paths.touchpoint_id,
        paths.path_length,
        -- A channel missing from the fitted model (new since the fit) has no effect.
        coalesce(removal_effects.removal_effect, 0) as removal_effect,
        count(*) over (partition by paths.order_id, paths.channel) as channel_touches
    from paths
    left join removal_effects
        on paths.channel = removal_effects.channel

),

markov_totals as (

    select
        *,
        -- Each channel's effect once: its touches share it.
        sum(removal_effect / channel_touches) over (partition by order_id) as path_effect
    from markov_touches

),

rule_credits as (

    select
        order_id,
        touchpoint_id,
        'first_touch' as attribution_model,
        1.0 as credit
    from path_touches
    where step_number = 1

    union all

    select
        order_id,
        touchpoint_id,
        'last_touch' as attribution_model,
        1.0 as credit
    from path_touches
    where step_number = path_length

    union all

    select
        order_id,
        touchpoint_id,
        'last_non_direct' as attribution_model,
        1.0 as credit
    from path_touches
    where step_number = coalesce(last_non_direct_step, path_length)

    union all

    select
        order_id,
        touchpoint_id,
        'linear' as attribution_model,
        1.0 / path_length as credit
    from path_touches

    union all

    select
        order_id,
        touchpoint_id,
        'position_based' as attribution_model,
        case
            when path_length = 1 then 1.0
            when path_length = 2 then 0.5
            when step_number in (1, path_length) then 0.4
            else 0.2 / (path_length - 2)
        end as credit
    from path_touches

    union all

    select
        order_id,
        touchpoint_id,
        'time_decay' as attribution_model,
        time_decay_weight / sum(time_decay_weight) over (partition by order_id) as credit
    from path_touches

    union all

    select
        order_id,
        touchpoint_id,
        'markov' as attribution_model,
        case
            when path_effect > 0 then removal_effect / path_effect / channel_touches
            -- No channel on the path has an effect: an equal split per touchpoint.
            else 1.0 / path_length
        end as credit
    from markov_totals

),

unattributed_credits as (

    select
        attributable_orders.order_id,
        cast(null as {{ dbt.type_string() }}) as touchpoint_id,
        attribution_models.attribution_model,
        1.0 as credit
    from attributable_orders
    cross join attribution_models
    where not exists (
            select 1 from paths
            where paths.order_id = attributable_orders.order_id
        )

),

credits as (

    select * from rule_credits
    union all
    select * from unattributed_credits

),

final as (

    select
        attributable_orders.order_id,
        attributable_orders.customer_id,
        credits.attribution_model as model,  -- noqa: RF04
        credits.touchpoint_id,
        coalesce(paths.channel, '(unattributed)') as channel,
        cast(credits.credit as double) as credit,
        cast(credits.credit as double) * cast(attributable_orders.net_revenue as double)
            as attributed_revenue,
        attributable_orders.ordered_at,
        paths.touchpoint_type,
        paths.occurred_at,
        paths.campaign,
        paths.step_number,
        paths.path_length
    from credits
    inner join attributable_orders
        on credits.order_id = attributable_orders.order_id
    left join paths
        on
            credits.order_id = paths.order_id
            and credits.touchpoint_id = paths.touchpoint_id
    where credits.credit > 0

)

select * from final
