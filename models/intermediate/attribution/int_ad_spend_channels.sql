-- Every ad spend row with its channel: the channel rules applied to its utm_source,
-- utm_medium and utm_campaign (int_traffic_source_channels; no click id, no referrer), so
-- spend and web traffic meet on one channel list. Untagged spend is Unassigned.
with

stg_ads__spend as (

    select * from {{ ref('stg_ads__spend') }}

),

int_traffic_source_channels as (

    select * from {{ ref('int_traffic_source_channels') }}

),

final as (

    select
        stg_ads__spend.spend_date,
        stg_ads__spend.ad_platform,
        stg_ads__spend.campaign_id,
        stg_ads__spend.campaign_name,
        stg_ads__spend.utm_source,
        stg_ads__spend.utm_medium,
        stg_ads__spend.utm_campaign,
        int_traffic_source_channels.channel,
        stg_ads__spend.impressions,
        stg_ads__spend.clicks,
        stg_ads__spend.spend,
        stg_ads__spend.currency
    from stg_ads__spend
    left join int_traffic_source_channels
        on
            {{ channel_match_value('stg_ads__spend.utm_source') }}
            = int_traffic_source_channels.source
            and {{ channel_match_value('stg_ads__spend.utm_medium') }}
            = int_traffic_source_channels.medium
            and {{ channel_match_value('stg_ads__spend.utm_campaign') }}
            = int_traffic_source_channels.campaign

)

select * from final
