with

audiences as (

    select * from {{ ref('audiences') }}

),

web_events as (

    select * from {{ ref('int_web_events_sessionized') }}

),

sessions_stitched as (

    select * from {{ ref('int_sessions_stitched') }}

),

-- Every event name an `abandoned_web_event` audience names, in either list.
rule_event_lists as (

    select rule_value as event_list
    from audiences
    where rule_type = 'abandoned_web_event'
    union all
    select not_followed_by as event_list
    from audiences
    where rule_type = 'abandoned_web_event'

),

rule_event_list_items as (

    select {{ split_to_rows('event_list', '|') }} as event_name
    from rule_event_lists
    where event_list is not null

),

rule_event_names as (

    select distinct trim(event_name) as event_name
    from rule_event_list_items

),

final as (

    select
        web_events.message_id,
        sessions_stitched.customer_id,
        web_events.session_id,
        web_events.event_name,
        web_events.event_at
    from web_events
    inner join rule_event_names
        on web_events.event_name = rule_event_names.event_name
    inner join sessions_stitched
        on web_events.session_id = sessions_stitched.session_id
    where web_events.message_type = 'track'

)

select * from final
