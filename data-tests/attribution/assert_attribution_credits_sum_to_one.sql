-- For every order and attribution model, the credits sum to 1 (within 1e-9). Returns the
-- order × model pairs that do not.
with

attribution as (

    select * from {{ ref('fct_attribution') }}

),

totals as (

    select
        order_id,
        model,
        sum(credit) as total_credit
    from attribution
    group by order_id, model

)

select * from totals
where abs(total_credit - 1) > 1e-9
