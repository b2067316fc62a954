with

email_events as (

    select * from {{ ref('stg_email__events') }}

),

erasure_requests as (

    select * from {{ ref('stg_privacy__erasure_requests') }}

),

email_addresses as (

    select * from {{ ref('int_email_addresses_resolved') }}

),

subscription_changes as (

    select
        email_addresses.customer_id,
        max(email_events.event_at) filter (
            where email_events.event_type in ('unsubscribe', 'group_unsubscribe')
        ) as unsubscribed_at,
        max(email_events.event_at) filter (
            where email_events.event_type = 'group_resubscribe'
        ) as resubscribed_at
    from email_events
    inner join email_addresses
        on email_events.email = email_addresses.email
    where
        email_events.event_type in ('unsubscribe', 'group_unsubscribe', 'group_resubscribe')
        and email_addresses.customer_id is not null
    group by email_addresses.customer_id

),

-- A request's email is the person's email pseudonym once it is carried out, and resolves
-- to the same (pseudonymous) person as their other records.
erasures as (

    select
        email_addresses.customer_id,
        min(erasure_requests.requested_at) as erasure_requested_at
    from erasure_requests
    inner join email_addresses
        on erasure_requests.email = email_addresses.email
    where email_addresses.customer_id is not null
    group by email_addresses.customer_id

),

people as (

    select customer_id from subscription_changes
    union
    select customer_id from erasures

),

final as (

    select
        people.customer_id,
        subscription_changes.unsubscribed_at,
        subscription_changes.resubscribed_at,
        (
            subscription_changes.unsubscribed_at is not null
            and (
                subscription_changes.resubscribed_at is null
                or subscription_changes.resubscribed_at <= subscription_changes.unsubscribed_at
            )
        ) as is_unsubscribed,
        erasures.erasure_requested_at,
        erasures.customer_id is not null as has_erasure_request
    from people
    left join subscription_changes
        on people.customer_id = subscription_changes.customer_id
    left join erasures
        on people.customer_id = erasures.customer_id

)

select * from final
