with

customers as (

    select * from {{ ref('int_customers_unioned') }}

),

touchpoints as (

    select * from {{ ref('int_touchpoints_unioned') }}

),

engagements as (

    -- The touchpoints attribution considers (web sessions and email clicks): things the
    -- person did, unlike a delivery or an open, so only they can acquire someone.
    select * from {{ ref('int_attribution_touchpoints') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

journey_stages as (

    select * from {{ ref('fct_journey_stages') }}

),

reporting_days as (

    select * from {{ ref('int_reporting_days') }}

),

clv_predictions as (

    select * from {{ ref('fct_customer_clv') }}

),

clv_parameters as (

    select * from {{ ref('fct_clv_parameters') }}

),

rfm_segments as (

    select * from {{ ref('rfm_segments') }}

),

-- The last day of data (int_reporting_days), the day the CLV models score on too.
last_data_day as (

    select last_data_date
    from reporting_days

),

-- The BG/NBD fit decides lifecycle segments only when fct_clv_parameters calls it `ok`.
bg_nbd_fit as (

    select coalesce(bool_and(fit_status = 'ok'), false) as is_reliable
    from clv_parameters
    where model = 'bg_nbd'

),

first_touch as (

    select
        customer_id,
        min(occurred_at) as first_touch_at
    from touchpoints
    group by customer_id

),

order_summary as (

    select
        customer_id,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        count(*) as orders_count,
        sum(net_revenue) as lifetime_revenue
    from orders
    where status <> 'cancelled'
    group by customer_id

),

-- The channel that acquired the person: their first engagement with a channel, and for a
-- buyer only one at or before the first order (a session after it acquired no one: the
-- first order came through no tracked engagement, and the acquisition channel is null).
first_engagement as (

    select
        engagements.customer_id,
        min_by(
            engagements.channel,
            {{ sort_key(['engagements.occurred_at', 'engagements.touchpoint_id']) }}
        ) as acquisition_channel,
        min_by(
            engagements.touchpoint_id,
            {{ sort_key(['engagements.occurred_at', 'engagements.touchpoint_id']) }}
        ) as acquisition_touchpoint_id
    from engagements
    left join order_summary
        on engagements.customer_id = order_summary.customer_id
    where
        order_summary.first_order_at is null
        or engagements.occurred_at <= order_summary.first_order_at
    group by engagements.customer_id

),

order_recency as (

    select
        order_summary.customer_id,
        cast({{ dbt.datediff(
            to_reporting_date('order_summary.first_order_at'),
            'last_data_day.last_data_date',
            'day',
        ) }} as integer) as days_since_first_order,
        cast({{ dbt.datediff(
            to_reporting_date('order_summary.last_order_at'),
            'last_data_day.last_data_date',
            'day',
        ) }} as integer) as days_since_last_order
    from order_summary
    cross join last_data_day

),

-- RFM quintiles over everyone with a non-cancelled order (5 = most recent, most orders,
-- most revenue): 1 + the fifth of people with a strictly smaller value. Equal values share
-- a score (most buyers have one order: all of them score 1, none is a one-order Champion),
-- and a score of s or more holds at most (6 - s) fifths of the people.
rfm_scores as (

    select
        customer_id,
        cast(floor(
            5.0 * (rank() over (order by last_order_at) - 1) / count(*) over ()
        ) as integer) + 1 as rfm_recency_score,
        cast(floor(
            5.0 * (rank() over (order by orders_count) - 1) / count(*) over ()
        ) as integer) + 1 as rfm_frequency_score,
        cast(floor(
            5.0 * (rank() over (order by lifetime_revenue) - 1) / count(*) over ()
        ) as integer) + 1 as rfm_monetary_score
    from order_summary
    where last_order_at is not null

),

rfm_segmented as (

    select
        rfm_scores.customer_id,
        rfm_scores.rfm_recency_score,
        rfm_scores.rfm_frequency_score,
        rfm_scores.rfm_monetary_score,
        rfm_segments.rfm_segment
    from rfm_scores
    left join rfm_segments
        on
            rfm_scores.rfm_recency_score = rfm_segments.recency_score
            and ceil((rfm_scores.rfm_frequency_score + rfm_scores.rfm_monetary_score) / 2.0)
            = rfm_segments.frequency_monetary_score

),

-- Probability alive decides only for people the BG/NBD model scored while its fit is `ok`,
-- and who have bought again: BG/NBD lets a customer drop out only just after a repeat
-- purchase, so without one its probability alive is 1 however long ago the one order was.
-- One-time buyers go by days since that order, as when the fit is unreliable.
lifecycle_inputs as (

    select
        order_recency.customer_id,
        order_recency.days_since_first_order,
        order_recency.days_since_last_order,
        clv_predictions.probability_alive,
        coalesce(
            bg_nbd_fit.is_reliable
            and clv_predictions.probability_alive is not null
            and clv_predictions.frequency > 0,
            false
        ) as uses_probability_alive
    from order_recency
    cross join bg_nbd_fit
    left join clv_predictions
        on order_recency.customer_id = clv_predictions.customer_id

),

lifecycle as (

    select
        customer_id,
        case
            when days_since_first_order < {{ var('lifecycle_new_days') }} then 'new'
            when
                uses_probability_alive
                and probability_alive < {{ var('lifecycle_lapsed_probability_alive') }}
                then 'lapsed'
            when
                uses_probability_alive
                and probability_alive < {{ var('lifecycle_at_risk_probability_alive') }}
                then 'at_risk'
            when uses_probability_alive then 'active'
            when days_since_last_order > {{ var('lifecycle_lapsed_days') }} then 'lapsed'
            when days_since_last_order > {{ var('lifecycle_at_risk_days') }} then 'at_risk'
            else 'active'
        end as lifecycle_segment
    from lifecycle_inputs

),

current_stage as (

    select
        customer_id,
        max_by(stage, stage_order) as current_stage
    from journey_stages
    group by customer_id

),

final as (

    select
        customers.customer_id,
        customers.crm_contact_id,
        customers.identity_type <> 'anonymous_device' as is_identified,
        customers.identity_type,
        {{ sha256_hex('coalesce(customers.contact_email, customers.unresolved_email)') }}
            as email_sha256,
        customers.country,
        customers.is_marketing_opt_in as marketing_opt_in,
        least(first_touch.first_touch_at, customers.contact_created_at) as first_seen_at,
        first_engagement.acquisition_channel,
        order_summary.first_order_at,
        order_summary.last_order_at,
        coalesce(order_summary.orders_count, 0) as orders_count,
        -- decimal(38, 2), DuckDB's sum of decimal(18, 2) (Spark's is decimal(28, 2)).
        cast(coalesce(order_summary.lifetime_revenue, 0) as decimal(38, 2)) as lifetime_revenue,
        current_stage.current_stage,
        first_engagement.acquisition_touchpoint_id,
        order_recency.days_since_last_order,
        cast(rfm_segmented.rfm_recency_score as integer) as rfm_recency_score,
        cast(rfm_segmented.rfm_frequency_score as integer) as rfm_frequency_score,
        cast(rfm_segmented.rfm_monetary_score as integer) as rfm_monetary_score,
        rfm_segmented.rfm_segment,
        coalesce(lifecycle.lifecycle_segment, 'prospect') as lifecycle_segment
    from customers
    left join first_touch
        on customers.customer_id = first_touch.customer_id
    left join first_engagement
        on customers.customer_id = first_engagement.customer_id
    left join order_summary
        on customers.customer_id = order_summary.customer_id
    left join current_stage
        on customers.customer_id = current_stage.customer_id
    left join order_recency
        on customers.customer_id = order_recency.customer_id
    left join rfm_segmented
        on customers.customer_id = rfm_segmented.customer_id
    left join lifecycle
        on customers.customer_id = lifecycle.customer_id

)

select * from final
