-- fct_customer_clv.predicted_clv_12m = expected_purchases_12m × expected_order_value
-- (undiscounted), to a relative tolerance of 1e-9; null exactly when either factor is
-- null (a model whose fit is unreliable predicts nothing).
with

customer_clv as (

    select * from {{ ref('fct_customer_clv') }}

),

mismatches as (

    select
        customer_id,
        expected_purchases_12m,
        expected_order_value,
        predicted_clv_12m,
        expected_purchases_12m * expected_order_value as product
    from customer_clv
    where
        (predicted_clv_12m is null) <> (expected_purchases_12m * expected_order_value is null)
        or abs(predicted_clv_12m - expected_purchases_12m * expected_order_value)
        > 1e-9 * greatest(1, abs(expected_purchases_12m * expected_order_value))

)

select * from mismatches
