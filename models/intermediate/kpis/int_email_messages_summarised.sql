with

email_events as (

    select * from {{ ref('stg_email__events') }}

),

final as (

    select
        email_message_id,
        max(campaign_id) as campaign_id,
        max_by(campaign_name, event_at) filter (where campaign_name is not null)
            as campaign_name,
        min(event_at) filter (where event_type = 'processed') as processed_at,
        max(event_at) as last_event_at,
        {{ dbt.bool_or("event_type = 'processed'") }} as is_processed,
        {{ dbt.bool_or("event_type = 'delivered'") }} as is_delivered,
        {{ dbt.bool_or("event_type = 'open' and not is_machine_open") }} as is_opened,
        {{ dbt.bool_or("event_type = 'click'") }} as is_clicked,
        {{ dbt.bool_or("event_type in ('bounce', 'dropped')") }} as is_bounced,
        {{ dbt.bool_or("event_type in ('unsubscribe', 'group_unsubscribe')") }}
            as is_unsubscribed,
        {{ dbt.bool_or("event_type = 'spamreport'") }} as is_spam_reported
    from email_events
    group by email_message_id

)

select * from final
