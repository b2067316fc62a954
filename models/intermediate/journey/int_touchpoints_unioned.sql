with

sessions as (

    select * from {{ ref('int_sessions') }}

),

sessions_stitched as (

    select * from {{ ref('int_sessions_stitched') }}

),

email_events as (

    select * from {{ ref('stg_email__events') }}

),

email_messages as (

    select * from {{ ref('int_email_messages_summarised') }}

),

email_click_sessions as (

    select * from {{ ref('int_email_click_sessions') }}

),

email_addresses as (

    select * from {{ ref('int_email_addresses_resolved') }}

),

orders as (

    select * from {{ ref('int_orders_resolved') }}

),

engagements as (

    select * from {{ ref('int_crm_engagements_resolved') }}

),

contact_versions as (

    select * from {{ ref('stg_crm__contact_versions') }}

),

contacts_merged as (

    select * from {{ ref('int_crm_contacts_merged') }}

),

web_sessions as (

    select
        sessions.session_id as touchpoint_id,
        sessions_stitched.customer_id,
        sessions.started_at as occurred_at,
        'web' as source_system,
        'web_session' as touchpoint_type,
        sessions.channel,
        sessions.campaign,
        email_click_sessions.email_campaign_id,
        cast(null as boolean) as is_marketing_email,
        sessions.session_id as source_record_id
    from sessions
    inner join sessions_stitched
        on sessions.session_id = sessions_stitched.session_id
    left join email_click_sessions
        on sessions.session_id = email_click_sessions.session_id

),

email_touches as (

    select
        'email_' || email_events.event_type || ':' || email_events.email_event_id
            as touchpoint_id,
        email_addresses.customer_id,
        email_events.event_at as occurred_at,
        'email' as source_system,
        'email_' || email_events.event_type as touchpoint_type,
        'Email' as channel,
        coalesce(email_events.campaign_name, email_events.campaign_id) as campaign,
        -- Only a click is the campaign's touch; a delivery or an open is done to the person.
        case when email_events.event_type = 'click' then email_messages.campaign_id end
            as email_campaign_id,
        email_messages.campaign_id is not null as is_marketing_email,
        email_events.email_event_id as source_record_id
    from email_events
    inner join email_addresses
        on email_events.email = email_addresses.email
    inner join email_messages
        on email_events.email_message_id = email_messages.email_message_id
    where
        email_events.event_type in ('delivered', 'click')
        or (email_events.event_type = 'open' and not email_events.is_machine_open)

),

order_touches as (

    select
        'order:' || order_id as touchpoint_id,
        customer_id,
        ordered_at as occurred_at,
        'crm' as source_system,
        'order' as touchpoint_type,
        null as channel,
        null as campaign,
        null as email_campaign_id,
        null as is_marketing_email,
        order_id as source_record_id
    from orders
    where order_status <> 'cancelled'

),

engagement_touches as (

    select
        engagement_type || ':' || engagement_id as touchpoint_id,
        customer_id,
        occurred_at,
        'crm' as source_system,
        engagement_type as touchpoint_type,
        null as channel,
        null as campaign,
        null as email_campaign_id,
        null as is_marketing_email,
        engagement_id as source_record_id
    from engagements

),

lifecycle_first_reached as (

    select
        contacts_merged.customer_id,
        contact_versions.lifecycle_stage,
        min(contact_versions.updated_at) as first_reached_at
    from contact_versions
    inner join contacts_merged
        on contact_versions.crm_contact_id = contacts_merged.crm_contact_id
    where contact_versions.lifecycle_stage is not null
    group by contacts_merged.customer_id, contact_versions.lifecycle_stage

),

lifecycle_touches as (

    select
        'crm_lifecycle_change:' || customer_id || ':' || lifecycle_stage as touchpoint_id,
        customer_id,
        first_reached_at as occurred_at,
        'crm' as source_system,
        'crm_lifecycle_change' as touchpoint_type,
        null as channel,
        null as campaign,
        null as email_campaign_id,
        null as is_marketing_email,
        lifecycle_stage as source_record_id
    from lifecycle_first_reached

),

unioned as (

    select * from web_sessions
    union all
    select * from email_touches
    union all
    select * from order_touches
    union all
    select * from engagement_touches
    union all
    select * from lifecycle_touches

),

final as (

    select
        touchpoint_id,
        customer_id,
        occurred_at,
        source_system,
        touchpoint_type,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(campaign as {{ dbt.type_string() }}) as campaign,
        cast(email_campaign_id as {{ dbt.type_string() }}) as email_campaign_id,
        cast(is_marketing_email as boolean) as is_marketing_email,
        source_record_id
    from unioned
    where customer_id is not null and occurred_at is not null

)

select * from final
