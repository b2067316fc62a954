{{ config(meta={'dagster': {'ref': {'name': 'fct_customer_clv'}}}) }}
-- A model fitted on too little evidence predicts nothing, and one called `ok` had the
-- evidence: an `ok` model was fitted on at least var('clv_min_repeat_buyers') people with
-- a repeat purchase (for Gamma-Gamma, with a positive spend) and ended inside its search
-- range with finite parameters (q > 1 for Gamma-Gamma); fct_customer_clv has the
-- columns of an `ok` model for everyone and those of an unreliable one for no one.
with

parameters as (

    select * from {{ ref('fct_clv_parameters') }}

),

customer_clv as (

    select * from {{ ref('fct_customer_clv') }}

),

fitted_models as (

    select
        model,
        max(fit_status) as fit_status,
        max(customers_fitted) as customers_fitted,
        count(value) as values_fitted,
        max(case when parameter = 'q' then value end) as q
    from parameters
    group by model

),

ok_models as (

    select count(*) as models_ok
    from fitted_models
    where fit_status = 'ok'

),

repeat_buyers as (

    select count(*) filter (where frequency > 0) as people
    from customer_clv

),

predictions as (

    select
        count(probability_alive) as probability_alive,
        count(expected_purchases_12m) as expected_purchases_12m,
        count(expected_order_value) as expected_order_value,
        count(predicted_clv_12m) as predicted_clv_12m,
        count(*) as people
    from customer_clv

),

unearned_ok as (

    select
        fitted_models.model,
        'ok on too little evidence' as problem
    from fitted_models
    cross join repeat_buyers
    where
        fitted_models.fit_status = 'ok'
        and (
            fitted_models.values_fitted < case when fitted_models.model = 'bg_nbd' then 4 else 3 end
            or (
                fitted_models.model = 'bg_nbd'
                and repeat_buyers.people < {{ var('clv_min_repeat_buyers') }}
            )
            or fitted_models.customers_fitted < {{ var('clv_min_repeat_buyers') }}
            or (fitted_models.model = 'gamma_gamma' and not fitted_models.q > 1)
        )

),

wrong_predictions as (

    select
        fitted_models.model,
        'predictions do not follow the fit status' as problem
    from fitted_models
    cross join predictions
    cross join ok_models
    where
        (
            fitted_models.model = 'bg_nbd'
            and (
                predictions.probability_alive
                <> case when fitted_models.fit_status = 'ok' then predictions.people else 0 end
                or predictions.expected_purchases_12m
                <> case when fitted_models.fit_status = 'ok' then predictions.people else 0 end
            )
        )
        or (
            fitted_models.model = 'gamma_gamma'
            and predictions.expected_order_value
            <> case when fitted_models.fit_status = 'ok' then predictions.people else 0 end
        )
        or (
            predictions.predicted_clv_12m
            <> case when ok_models.models_ok = 2 then predictions.people else 0 end
        )

)

select * from unearned_ok
union all
select * from wrong_predictions
