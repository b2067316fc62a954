with

audiences as (

    select * from {{ ref('audiences') }}

),

reporting_days as (

    select * from {{ ref('int_reporting_days') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

clv_predictions as (

    select * from {{ ref('fct_customer_clv') }}

),

web_events as (

    select * from {{ ref('int_audience_web_events') }}

),

touchpoints as (

    select * from {{ ref('int_touchpoints_unioned') }}

),

contact_preferences as (

    select * from {{ ref('int_customers_contact_preferences') }}

),

-- Audiences hold people as of the last day of data (int_reporting_days).
last_data_day as (

    select last_data_date
    from reporting_days

),

-- abandoned_web_event: an event named in `rule_value` within the last `window_days`
-- reporting days, not followed by a non-cancelled order nor by an event named in
-- `not_followed_by`; qualified at the latest such event.
abandoned_event_rule_items as (

    select
        audience,
        {{ split_to_rows('rule_value', '|') }} as event_name,
        window_days
    from audiences
    where rule_type = 'abandoned_web_event'

),

abandoned_event_rules as (

    select
        audience,
        trim(event_name) as event_name,
        window_days
    from abandoned_event_rule_items

),

abandonment_stopping_rule_items as (

    select
        audience,
        {{ split_to_rows('not_followed_by', '|') }} as event_name
    from audiences
    where rule_type = 'abandoned_web_event' and not_followed_by is not null

),

abandonment_stopping_rules as (

    select
        audience,
        trim(event_name) as event_name
    from abandonment_stopping_rule_items

),

last_stopping_events as (

    select
        abandonment_stopping_rules.audience,
        web_events.customer_id,
        max(web_events.event_at) as last_stopped_at
    from web_events
    inner join abandonment_stopping_rules
        on web_events.event_name = abandonment_stopping_rules.event_name
    group by abandonment_stopping_rules.audience, web_events.customer_id

),

abandoned_web_event_members as (

    select
        abandoned_event_rules.audience,
        web_events.customer_id,
        max(web_events.event_at) as qualified_at
    from web_events
    inner join abandoned_event_rules
        on web_events.event_name = abandoned_event_rules.event_name
    cross join last_data_day
    left join customers
        on web_events.customer_id = customers.customer_id
    left join last_stopping_events
        on
            abandoned_event_rules.audience = last_stopping_events.audience
            and web_events.customer_id = last_stopping_events.customer_id
    where
        {{ dbt.datediff(
            to_reporting_date('web_events.event_at'), 'last_data_day.last_data_date', 'day'
        ) }} < abandoned_event_rules.window_days
        and (customers.last_order_at is null or customers.last_order_at <= web_events.event_at)
        and (
            last_stopping_events.last_stopped_at is null
            or last_stopping_events.last_stopped_at <= web_events.event_at
        )
    group by abandoned_event_rules.audience, web_events.customer_id

),

-- rfm_segment / lifecycle_segment: the person's segment in dim_customers is `rule_value`;
-- qualified on the last day of data (00:00), the day the segments are scored on.
segment_members as (

    select
        audiences.audience,
        customers.customer_id,
        cast(last_data_day.last_data_date as timestamp) as qualified_at
    from audiences
    inner join customers
        on
            (audiences.rule_type = 'rfm_segment' and audiences.rule_value = customers.rfm_segment)
            or (
                audiences.rule_type = 'lifecycle_segment'
                and audiences.rule_value = customers.lifecycle_segment
            )
    cross join last_data_day

),

-- predicted_clv_top_share: the people whose predicted 12-month CLV is in the top
-- `rule_value` share (fewer than that share of people predicted strictly higher, so ties
-- at the edge are all in); none while the CLV fit is unreliable (the prediction is null).
predicted_clv_ranks as (

    select
        customer_id,
        model_fitted_at,
        rank() over (order by predicted_clv_12m desc) - 1 as people_predicted_higher,
        count(*) over () as people_predicted
    from clv_predictions
    where predicted_clv_12m is not null

),

predicted_clv_members as (

    select
        audiences.audience,
        predicted_clv_ranks.customer_id,
        predicted_clv_ranks.model_fitted_at as qualified_at
    from audiences
    inner join predicted_clv_ranks
        on
            cast(audiences.rule_value as double) * predicted_clv_ranks.people_predicted
            > predicted_clv_ranks.people_predicted_higher
    where audiences.rule_type = 'predicted_clv_top_share'

),

-- unengaged_marketing_email: marketing mail delivered within the last `window_days`
-- reporting days, and no human open and no click of marketing mail in that time;
-- qualified at the latest such delivery.
recent_marketing_email as (

    select
        audiences.audience,
        touchpoints.customer_id,
        max(touchpoints.occurred_at) filter (
            where touchpoints.touchpoint_type = 'email_delivered'
        ) as last_delivered_at,
        count(*) filter (
            where touchpoints.touchpoint_type in ('email_open', 'email_click')
        ) as engagements
    from touchpoints
    inner join audiences
        on audiences.rule_type = 'unengaged_marketing_email'
    cross join last_data_day
    where
        touchpoints.is_marketing_email
        and touchpoints.touchpoint_type in ('email_delivered', 'email_open', 'email_click')
        and {{ dbt.datediff(
            to_reporting_date('touchpoints.occurred_at'), 'last_data_day.last_data_date', 'day'
        ) }} < audiences.window_days
    group by audiences.audience, touchpoints.customer_id

),

unengaged_members as (

    select
        audience,
        customer_id,
        last_delivered_at as qualified_at
    from recent_marketing_email
    where last_delivered_at is not null and engagements = 0

),

candidates as (

    select * from abandoned_web_event_members
    union all
    select * from segment_members
    union all
    select * from predicted_clv_members
    union all
    select * from unengaged_members

),

-- Only identified people that can be matched (a CRM contact or an email), never anyone who
-- asked to be erased; audiences for sending also need marketing consent (opt-in true) and
-- no unsubscribe that a resubscribe did not follow.
eligible as (

    select
        candidates.audience,
        audiences.purpose,
        candidates.customer_id,
        customers.crm_contact_id,
        customers.email_sha256,
        candidates.qualified_at
    from candidates
    inner join audiences
        on candidates.audience = audiences.audience
    inner join customers
        on candidates.customer_id = customers.customer_id
    left join contact_preferences
        on candidates.customer_id = contact_preferences.customer_id
    where
        customers.is_identified
        and (customers.crm_contact_id is not null or customers.email_sha256 is not null)
        and not coalesce(contact_preferences.has_erasure_request, false)
        and (
            audiences.purpose = 'suppress'
            or (
                coalesce(customers.marketing_opt_in, false)
                and not coalesce(contact_preferences.is_unsubscribed, false)
            )
        )

),

final as (

    select
        cast(audience as {{ dbt.type_string() }}) as audience,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(crm_contact_id as {{ dbt.type_string() }}) as crm_contact_id,
        cast(email_sha256 as {{ dbt.type_string() }}) as email_sha256,
        cast(qualified_at as timestamp) as qualified_at,
        cast(purpose as {{ dbt.type_string() }}) as purpose
    from eligible

)

select * from final
