{{ config(meta={'dagster': {'ref': {'name': 'fct_clv_calibration'}}}) }}
-- fct_clv_calibration restated from int_clv_order_days in SQL, independently of the
-- Python that writes it: the last quarter of the observed days (rounded down) is held
-- out when that is at least 30 days, and the table is empty otherwise; per bucket of
-- calibration repeat purchases, the same people and the same mean of actual holdout
-- purchases (distinct order days after the calibration period); every bucket present;
-- and the `all` row is the customer-weighted mean of the others.
with

order_days as (

    select * from {{ ref('int_clv_order_days') }}

),

calibration as (

    select * from {{ ref('fct_clv_calibration') }}

),

observed as (

    select
        min(first_data_date) as first_data_date,
        max(last_data_date) as last_data_date,
        {{ dbt.datediff('min(first_data_date)', 'max(last_data_date)', 'day') }} + 1
            as observed_days
    from order_days

),

-- A quarter of the observed days, rounded down (`/` divides as a fraction on both engines).
quarters as (

    select
        last_data_date,
        observed_days,
        cast(floor(observed_days / 4) as integer) as quarter_days
    from observed

),

split as (

    select
        observed_days - quarter_days as calibration_days,
        quarter_days as holdout_days,
        cast({{ dbt.dateadd('day', '-quarter_days', 'last_data_date') }} as date)
            as calibration_end
    from quarters
    where quarter_days >= 30

),

people as (

    select
        order_days.customer_id,
        count(*) filter (where order_days.order_date <= split.calibration_end) - 1
            as frequency_in_calibration,
        count(*) filter (where order_days.order_date > split.calibration_end)
            as holdout_purchases
    from order_days
    cross join split
    group by order_days.customer_id
    having min(order_days.order_date) <= min(split.calibration_end)

),

buckets as (

    select bucket_names.bucket
    from (
        values ('0'), ('1'), ('2'), ('3'), ('4'), ('5'), ('6+'), ('all')
    ) as bucket_names (bucket)
    where exists (select 1 from split)

),

people_buckets as (

    select
        case
            when frequency_in_calibration >= 6 then '6+'
            else cast(frequency_in_calibration as {{ dbt.type_string() }})
        end as bucket,
        holdout_purchases
    from people
    union all
    select
        'all' as bucket,
        holdout_purchases
    from people

),

expected as (

    select
        buckets.bucket,
        count(people_buckets.holdout_purchases) as customers,
        avg(people_buckets.holdout_purchases) as mean_actual_holdout_purchases
    from buckets
    left join people_buckets
        on buckets.bucket = people_buckets.bucket
    group by buckets.bucket

),

wrong_rows as (

    select
        coalesce(expected.bucket, calibration.frequency_in_calibration) as bucket,
        'rows differ from the order days' as problem
    from expected
    full outer join calibration
        on expected.bucket = calibration.frequency_in_calibration
    where
        expected.bucket is null
        or calibration.frequency_in_calibration is null
        or expected.customers <> calibration.customers
        or calibration.calibration_days <> (select min(split.calibration_days) from split)
        or calibration.holdout_days <> (select min(split.holdout_days) from split)
        or (expected.mean_actual_holdout_purchases is null)
        <> (calibration.mean_actual_holdout_purchases is null)
        or abs(expected.mean_actual_holdout_purchases - calibration.mean_actual_holdout_purchases)
        > 1e-9

),

weighted as (

    select
        sum(customers) as customers,
        sum(customers * mean_predicted_holdout_purchases) / nullif(sum(customers), 0)
            as mean_predicted_holdout_purchases,
        sum(customers * mean_absolute_error) / nullif(sum(customers), 0)
            as mean_absolute_error
    from calibration
    where frequency_in_calibration <> 'all' and customers > 0

),

wrong_all as (

    select
        'all' as bucket,
        'the all row is not the weighted mean of the others' as problem
    from calibration
    cross join weighted
    where
        calibration.frequency_in_calibration = 'all'
        and (
            calibration.customers <> weighted.customers
            or abs(
                calibration.mean_predicted_holdout_purchases
                - weighted.mean_predicted_holdout_purchases
            ) > 1e-9 * greatest(1, weighted.mean_predicted_holdout_purchases)
            or abs(calibration.mean_absolute_error - weighted.mean_absolute_error)
            > 1e-9 * greatest(1, weighted.mean_absolute_error)
        )

)

select * from wrong_rows
union all
select * from wrong_all
