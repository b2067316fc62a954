with

stg_web__events as (

    select * from {{ ref('stg_web__events') }}

),

-- A message identifies when it carries a userId (any type: page, track or identify), or
-- when it is an identify with traits.email. Everything else is anonymous browsing.
identifying_messages as (

    select
        message_id,
        message_type,
        anonymous_id,
        user_id,
        case when message_type = 'identify' then trait_email end as trait_email,
        event_at
    from stg_web__events
    where
        user_id is not null
        or (message_type = 'identify' and trait_email is not null)

),

final as (

    select
        message_id,
        message_type,
        anonymous_id as web_anonymous_id,
        user_id as web_user_id,
        trait_email,
        event_at as identified_at
    from identifying_messages

)

select * from final
