with

spend as (

    select * from {{ ref('stg_ads__spend') }}

),

spend_channels as (

    {{ classify_channel(
        'spend',
        source='utm_source',
        medium='utm_medium',
        campaign='utm_campaign',
    ) }}

),

final as (

    select
        spend_date,
        channel,
        cast(sum(spend) as decimal(18, 2)) as ad_spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks
    from spend_channels
    group by spend_date, channel

)

select * from final
