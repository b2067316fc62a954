with

email_events as (

    select * from {{ ref('stg_email__events') }}

),

message_firsts as (

    select
        email_message_id,
        -- Marketing mail belongs to a campaign; transactional mail (order confirmations,
        -- receipts) to none, and it is counted apart, in no rate.
        max(campaign_id) is not null as is_marketing,
        min(event_at) filter (where event_type = 'delivered') as delivered_at,
        min(event_at) filter (
            where event_type = 'open' and not is_machine_open
        ) as first_human_open_at,
        min(event_at) filter (where event_type = 'click') as first_click_at
    from email_events
    group by email_message_id

),

per_day as (

    select
        {{ to_reporting_date('delivered_at') }} as reporting_date,
        case when is_marketing then 'delivered' else 'transactional_delivered' end as measure
    from message_firsts
    where delivered_at is not null

    union all

    select
        {{ to_reporting_date('first_human_open_at') }} as reporting_date,
        'unique_open' as measure
    from message_firsts
    where first_human_open_at is not null and is_marketing

    union all

    select
        {{ to_reporting_date('first_click_at') }} as reporting_date,
        'unique_click' as measure
    from message_firsts
    where first_click_at is not null and is_marketing

),

final as (

    select
        reporting_date,
        count(*) filter (where measure = 'delivered') as emails_delivered,
        count(*) filter (where measure = 'unique_open') as unique_opens,
        count(*) filter (where measure = 'unique_click') as unique_clicks,
        count(*) filter (where measure = 'transactional_delivered')
            as transactional_emails_delivered
    from per_day
    group by reporting_date

)

select * from final
