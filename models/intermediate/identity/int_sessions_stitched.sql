{%- set session_timeout_minutes = var('session_timeout_minutes', 30) -%}

with

int_sessions as (

    select * from {{ ref('int_sessions') }}

),

int_crm_contacts_merged as (

    select * from {{ ref('int_crm_contacts_merged') }}

),

int_identity_links as (

    select * from {{ ref('int_identity_links') }}

),

int_identity_links_refused as (

    select * from {{ ref('int_identity_links_refused') }}

),

int_web_identifications as (

    select * from {{ ref('int_web_identifications') }}

),

identity_placeholder_values as (

    select * from {{ ref('identity_placeholder_values') }}

),

-- The seed's exact rules, the ones that apply to a device id (macros placeholder_rules).
exact_placeholders as (

    select distinct {{ placeholder_seed_value('placeholder_value') }} as placeholder_value
    from identity_placeholder_values
    where match_type = 'exact'

),

sessions as (

    select
        int_sessions.session_id,
        int_sessions.anonymous_id,
        int_sessions.started_at,
        int_sessions.ended_at,
        -- null for a placeholder userId, which int_crm_contacts_merged leaves out
        int_crm_contacts_merged.surviving_crm_contact_id as user_surviving_crm_contact_id,
        (
            int_sessions.anonymous_id is null
            or exact_placeholders.placeholder_value is not null
        ) as is_placeholder_device
    from int_sessions
    left join int_crm_contacts_merged
        on int_sessions.identified_user_id = int_crm_contacts_merged.crm_contact_id
    left join exact_placeholders
        on
            {{ placeholder_match_key('exact', "'web_anonymous_id'", 'int_sessions.anonymous_id') }}
            = exact_placeholders.placeholder_value

),

device_links as (

    select
        identifier_value as anonymous_id,
        count(*) as linked_contacts_count,
        min(surviving_crm_contact_id) as first_surviving_crm_contact_id
    from int_identity_links
    where identifier_type = 'web_anonymous_id'
    group by identifier_value

),

refused_devices as (

    select distinct identifier_value as anonymous_id
    from int_identity_links_refused
    where identifier_type = 'web_anonymous_id'

),

-- Identifications on shared devices (linked to 2..N contacts): each message with a userId,
-- and each identify whose traits.email is a contact's current email, at its own time.
identifications as (

    select
        int_web_identifications.web_anonymous_id as anonymous_id,
        int_web_identifications.identified_at,
        int_crm_contacts_merged.surviving_crm_contact_id
    from int_web_identifications
    inner join int_crm_contacts_merged
        on int_web_identifications.web_user_id = int_crm_contacts_merged.crm_contact_id
    union all
    select
        int_web_identifications.web_anonymous_id as anonymous_id,
        int_web_identifications.identified_at,
        email_links.surviving_crm_contact_id
    from int_web_identifications
    inner join int_identity_links as email_links
        on
            email_links.identifier_type = 'email'
            and {{ normalize_email('int_web_identifications.trait_email') }}
            = email_links.identifier_value
    where
        int_web_identifications.message_type = 'identify'
        and email_links.evidence = 'crm_contact_email'

),

-- Only links that passed the guardrails count. Identifications of several contacts at the
-- same instant: the smallest contact id.
shared_device_identifications as (

    select
        identifications.anonymous_id,
        identifications.identified_at,
        min(identifications.surviving_crm_contact_id) as surviving_crm_contact_id
    from identifications
    inner join int_identity_links as device_links
        on
            device_links.identifier_type = 'web_anonymous_id'
            and identifications.anonymous_id = device_links.identifier_value
            and identifications.surviving_crm_contact_id = device_links.surviving_crm_contact_id
    where device_links.identifier_contacts_count >= 2
    group by identifications.anonymous_id, identifications.identified_at

),

-- Every session of a shared device, with the window in which an identification belongs to
-- it: identify messages neither start nor extend a session, but one sent during the visit
-- (before session_timeout_minutes of inactivity, and before the device's next session)
-- is the session's. A login right after the landing page is the typical case: the page
-- still carried the previous user's userId.
shared_device_sessions as (

    select
        sessions.anonymous_id,
        sessions.session_id,
        sessions.started_at,
        least(
            {{ dbt.dateadd('minute', session_timeout_minutes, 'sessions.ended_at') }},
            coalesce(
                lead(sessions.started_at) over (
                    partition by sessions.anonymous_id
                    order by sessions.started_at nulls last, sessions.session_id
                ),
                {{ dbt.dateadd('minute', session_timeout_minutes, 'sessions.ended_at') }}
            )
        ) as window_ends_at
    from sessions
    inner join device_links
        on sessions.anonymous_id = device_links.anonymous_id
    where
        not sessions.is_placeholder_device
        and device_links.linked_contacts_count >= 2

),

-- Sessions and identifications of a device on one timeline. At the same instant a session
-- sorts before an identification, so an identification at a session's start is the
-- session's own.
timeline as (

    select
        anonymous_id,
        session_id,
        started_at as timeline_at,
        window_ends_at,
        cast(null as timestamp) as identified_at,
        0 as row_kind
    from shared_device_sessions
    union all
    select
        anonymous_id,
        cast(null as {{ dbt.type_string() }}) as session_id,
        identified_at as timeline_at,
        cast(null as timestamp) as window_ends_at,
        identified_at,
        1 as row_kind
    from shared_device_identifications

),

neighbours as (

    select
        anonymous_id,
        session_id,
        timeline_at,
        window_ends_at,
        identified_at,
        row_kind,
        -- for an identification: the start and window of the session before it
        max(case when row_kind = 0 then timeline_at end) over (
            partition by anonymous_id
            order by timeline_at nulls last, row_kind
            rows between unbounded preceding and current row
        ) as owning_session_started_at,
        max(window_ends_at) over (
            partition by anonymous_id
            order by timeline_at nulls last, row_kind
            rows between unbounded preceding and current row
        ) as owning_window_ends_at,
        -- for a session: the identifications around its start
        max(identified_at) over (
            partition by anonymous_id
            order by timeline_at nulls last, row_kind
            rows between unbounded preceding and 1 preceding
        ) as previous_identified_at,
        min(identified_at) over (
            partition by anonymous_id
            order by timeline_at nulls last, row_kind
            rows between 1 following and unbounded following
        ) as next_identified_at
    from timeline

),

-- A session that contains identifications goes to the last of them: who is logged in
-- when the visit ends (earlier ones may be the previous user's, still in the browser).
last_identifications_in_sessions as (

    select
        anonymous_id,
        owning_session_started_at as started_at,
        max(identified_at) as identified_at
    from neighbours
    where row_kind = 1 and timeline_at < owning_window_ends_at
    group by anonymous_id, owning_session_started_at

),

-- Otherwise, the identification nearest to the session's start; at equal distance the
-- earlier one.
nearest_identifications as (

    select
        neighbours.anonymous_id,
        neighbours.session_id,
        last_identifications_in_sessions.identified_at is not null as is_in_session,
        case
            when last_identifications_in_sessions.identified_at is not null
                then last_identifications_in_sessions.identified_at
            when neighbours.previous_identified_at is null then neighbours.next_identified_at
            when neighbours.next_identified_at is null then neighbours.previous_identified_at
            when
                neighbours.timeline_at - neighbours.previous_identified_at
                <= neighbours.next_identified_at - neighbours.timeline_at
                then neighbours.previous_identified_at
            else neighbours.next_identified_at
        end as nearest_identified_at
    from neighbours
    left join last_identifications_in_sessions
        on
            neighbours.anonymous_id = last_identifications_in_sessions.anonymous_id
            and neighbours.timeline_at = last_identifications_in_sessions.started_at
    where neighbours.row_kind = 0

),

nearest_contacts as (

    select
        nearest_identifications.session_id,
        nearest_identifications.is_in_session,
        shared_device_identifications.surviving_crm_contact_id
    from nearest_identifications
    inner join shared_device_identifications
        on
            nearest_identifications.anonymous_id = shared_device_identifications.anonymous_id
            and nearest_identifications.nearest_identified_at
            = shared_device_identifications.identified_at

),

stitched as (

    select
        sessions.session_id,
        sessions.anonymous_id,
        sessions.started_at,
        case
            when nearest_contacts.is_in_session then 'device_identification_in_session'
            when nearest_contacts.session_id is not null then 'device_nearest_identification'
            when sessions.user_surviving_crm_contact_id is not null then 'session_user_id'
            when sessions.is_placeholder_device then 'placeholder_device'
            when refused_devices.anonymous_id is not null then 'refused_device'
            when device_links.linked_contacts_count = 1 then 'device_single_contact'
            else 'anonymous_device'
        end as stitch_method,
        case
            when nearest_contacts.session_id is not null
                then nearest_contacts.surviving_crm_contact_id
            when sessions.user_surviving_crm_contact_id is not null
                then sessions.user_surviving_crm_contact_id
            when device_links.linked_contacts_count = 1
                then device_links.first_surviving_crm_contact_id
        end as surviving_crm_contact_id
    from sessions
    left join refused_devices
        on sessions.anonymous_id = refused_devices.anonymous_id
    left join device_links
        on sessions.anonymous_id = device_links.anonymous_id
    left join nearest_contacts
        on sessions.session_id = nearest_contacts.session_id

),

-- The person key: the surviving contact's; for a device that never identified, the
-- device's (md5 of 'web:' and the anonymousId); for a session on a placeholder or refused
-- device, the session's own (md5 of 'web_session:' and the session id).
final as (

    select
        stitched.session_id,
        case
            when stitched.surviving_crm_contact_id is not null
                then int_crm_contacts_merged.customer_id
            when stitched.stitch_method = 'anonymous_device'
                then {{ dbt.hash("'web:' || stitched.anonymous_id") }}
            else {{ dbt.hash("'web_session:' || stitched.session_id") }}
        end as customer_id,
        stitched.surviving_crm_contact_id,
        stitched.surviving_crm_contact_id is not null as is_identified,
        stitched.stitch_method,
        stitched.anonymous_id as web_anonymous_id,
        stitched.started_at
    from stitched
    left join int_crm_contacts_merged
        on stitched.surviving_crm_contact_id = int_crm_contacts_merged.crm_contact_id

)

select * from final
