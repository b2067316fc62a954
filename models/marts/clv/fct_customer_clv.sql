with

predictions as (

    select * from {{ source('clv_model', 'clv_customer_predictions') }}

),

final as (

    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(frequency as integer) as frequency,
        cast(recency_days as integer) as recency_days,
        cast(tenure_days as integer) as tenure_days,
        cast(avg_repeat_order_value as double) as avg_repeat_order_value,
        cast(probability_alive as double) as probability_alive,
        cast(expected_purchases_12m as double) as expected_purchases_12m,
        cast(expected_order_value as double) as expected_order_value,
        cast(predicted_clv_12m as double) as predicted_clv_12m,
        cast(model_fitted_at as timestamp) as model_fitted_at
    from predictions

)

select * from final
