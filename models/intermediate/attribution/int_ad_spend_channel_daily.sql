with

int_ad_spend_channels as (

    select * from {{ ref('int_ad_spend_channels') }}

),

final as (

    select
        spend_date,
        channel,
        cast(sum(spend) as decimal(18, 2)) as ad_spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks
    from int_ad_spend_channels
    group by spend_date, channel

)

select * from final
