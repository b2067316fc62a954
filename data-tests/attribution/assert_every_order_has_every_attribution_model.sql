{{ config(meta={'dagster': {'ref': {'name': 'fct_attribution'}}}) }}
-- Every non-cancelled order has rows under every attribution model (var attribution_models), and no
-- cancelled order has any. Returns the missing order × model pairs and the rows of
-- cancelled orders.
with

orders as (

    select * from {{ ref('fct_orders') }}

),

attribution as (

    select * from {{ ref('fct_attribution') }}

),

attribution_models as (

    -- The var's list as rows (a VALUES list: both engines read it).
    select configured_models.attribution_model
    from ({{ string_values(var('attribution_models')) }}) as configured_models (attribution_model)

),

expected as (

    select
        orders.order_id,
        attribution_models.attribution_model
    from orders
    cross join attribution_models
    where orders.status <> 'cancelled'

),

missing as (

    select
        expected.order_id,
        expected.attribution_model,
        'missing' as problem
    from expected
    where not exists (
            select 1 from attribution
            where
                attribution.order_id = expected.order_id
                and attribution.model = expected.attribution_model
        )

),

cancelled as (

    select distinct
        attribution.order_id,
        attribution.model as attribution_model,
        'cancelled order attributed' as problem
    from attribution
    inner join orders
        on attribution.order_id = orders.order_id
    where orders.status = 'cancelled'

)

select * from missing
union all
select * from cancelled
