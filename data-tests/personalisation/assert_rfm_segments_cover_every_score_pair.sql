-- The seed rfm_segments names every cell of the 5 × 5 grid of recency score × frequency-
-- monetary score exactly once (the uniqueness test on the seed catches a doubled cell).
-- Returns the cells without a segment and the rows outside the grid.
with

rfm_segments as (

    select * from {{ ref('rfm_segments') }}

),

scores as (

    select score_values.score
    from (values (1), (2), (3), (4), (5)) as score_values (score)

),

grid as (

    select
        recency.score as recency_score,
        frequency_monetary.score as frequency_monetary_score
    from scores as recency
    cross join scores as frequency_monetary

),

missing_cells as (

    select
        grid.recency_score,
        grid.frequency_monetary_score,
        'no segment for this cell' as problem
    from grid
    left join rfm_segments
        on
            grid.recency_score = rfm_segments.recency_score
            and grid.frequency_monetary_score = rfm_segments.frequency_monetary_score
    where rfm_segments.rfm_segment is null

),

stray_rows as (

    select
        rfm_segments.recency_score,
        rfm_segments.frequency_monetary_score,
        'outside the 5 × 5 grid' as problem
    from rfm_segments
    left join grid
        on
            rfm_segments.recency_score = grid.recency_score
            and rfm_segments.frequency_monetary_score = grid.frequency_monetary_score
    where grid.recency_score is null

)

select * from missing_cells
union all
select * from stray_rows
