with

calibration as (

    select * from {{ source('clv_model', 'clv_calibration') }}

),

final as (

    select
        cast(frequency_in_calibration as {{ dbt.type_string() }}) as frequency_in_calibration,
        cast(customers as integer) as customers,
        cast(mean_predicted_holdout_purchases as double) as mean_predicted_holdout_purchases,
        cast(mean_actual_holdout_purchases as double) as mean_actual_holdout_purchases,
        cast(mean_absolute_error as double) as mean_absolute_error,
        cast(calibration_days as integer) as calibration_days,
        cast(holdout_days as integer) as holdout_days,
        cast(model_fitted_at as timestamp) as model_fitted_at,
        cast(fit_status as {{ dbt.type_string() }}) as fit_status,
        cast(fit_note as {{ dbt.type_string() }}) as fit_note
    from calibration

)

select * from final
