with

touchpoints as (

    select * from {{ ref('int_touchpoints_unioned') }}

),

final as (

    select
        touchpoint_id,
        customer_id,
        occurred_at,
        touchpoint_type,
        coalesce(channel, 'Unassigned') as channel,
        campaign
    from touchpoints
    where touchpoint_type in ('web_session', 'email_click')

)

select * from final
