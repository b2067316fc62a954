{{ config(meta={'dagster': {'ref': {'name': 'fct_clv_parameters'}}}) }}
-- fct_clv_parameters holds each model's own parameters, all of them, and either both
-- models or neither; each model has one log-likelihood, customer count, status and note;
-- fct_customer_clv has rows exactly when the parameters do, and every CLV mart
-- (fct_clv_calibration too) shares one model_fitted_at. BG/NBD is fitted on every
-- customer (when it could be fitted at all).
with

parameters as (

    select * from {{ ref('fct_clv_parameters') }}

),

customer_clv as (

    select * from {{ ref('fct_customer_clv') }}

),

calibration as (

    select * from {{ ref('fct_clv_calibration') }}

),

expected_parameters as (

    select
        parameter_names.model,
        parameter_names.parameter
    from (
        values
        ('bg_nbd', 'r'),
        ('bg_nbd', 'alpha'),
        ('bg_nbd', 'a'),
        ('bg_nbd', 'b'),
        ('gamma_gamma', 'p'),
        ('gamma_gamma', 'q'),
        ('gamma_gamma', 'gamma')
    ) as parameter_names (model, parameter)  -- noqa: RF04
    where exists (select 1 from parameters)

),

wrong_parameters as (

    select
        coalesce(parameters.model, expected_parameters.model) as model_name,
        coalesce(parameters.parameter, expected_parameters.parameter) as parameter,
        case
            when expected_parameters.model is null then 'unexpected parameter'
            else 'missing parameter'
        end as problem
    from parameters
    full outer join expected_parameters
        on
            parameters.model = expected_parameters.model
            and parameters.parameter = expected_parameters.parameter
    where parameters.model is null or expected_parameters.model is null

),

per_model as (

    select
        model,
        count(distinct log_likelihood) as log_likelihoods,
        count(distinct customers_fitted) as customer_counts,
        count(distinct fit_status) + count(distinct fit_note) as statuses_and_notes,
        max(customers_fitted) as customers_fitted,
        count(value) as values_fitted
    from parameters
    group by model

),

inconsistent_models as (

    select
        per_model.model as model_name,
        cast(null as {{ dbt.type_string() }}) as parameter,
        case
            when per_model.log_likelihoods > 1 then 'several log-likelihoods'
            when per_model.customer_counts > 1 then 'several customer counts'
            when per_model.statuses_and_notes <> 2 then 'not one status and one note'
            else 'bg_nbd not fitted on every customer'
        end as problem
    from per_model
    where
        per_model.log_likelihoods > 1
        or per_model.customer_counts > 1
        or per_model.statuses_and_notes <> 2
        or (
            per_model.model = 'bg_nbd'
            and per_model.values_fitted > 0
            and per_model.customers_fitted <> (select count(*) from customer_clv)
        )

),

fitted_at as (

    select model_fitted_at from parameters
    union
    select model_fitted_at from customer_clv
    union
    select model_fitted_at from calibration

),

inconsistent_runs as (

    select
        cast(null as {{ dbt.type_string() }}) as model_name,
        cast(null as {{ dbt.type_string() }}) as parameter,
        'predictions and parameters disagree' as problem
    where
        (select count(*) from fitted_at) > 1
        or (exists (select 1 from parameters)) <> (exists (select 1 from customer_clv))

)

select * from wrong_parameters
union all
select * from inconsistent_models
union all
select * from inconsistent_runs
