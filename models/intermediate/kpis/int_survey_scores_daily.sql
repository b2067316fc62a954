with

surveys as (

    select * from {{ ref('stg_crm__surveys') }}

),

final as (

    select
        {{ to_reporting_date('submitted_at') }} as reporting_date,
        count(*) filter (where survey_type = 'nps') as nps_responses,
        count(*) filter (where survey_type = 'nps' and score >= 9) as nps_promoters,
        count(*) filter (where survey_type = 'nps' and score <= 6) as nps_detractors,
        count(*) filter (where survey_type = 'csat') as csat_responses,
        count(*) filter (where survey_type = 'csat' and score >= 4) as csat_satisfied
    from surveys
    where submitted_at is not null
    group by reporting_date

)

select * from final
