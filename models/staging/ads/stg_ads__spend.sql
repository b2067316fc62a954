with

ads_spend as (

    select * from {{ source('ads', 'spend') }}

),

extracted as (

    select
        {{ json_text('record', '$.date') }} as report_date,
        {{ json_text('record', '$.platform') }} as ad_platform,
        {{ json_text('record', '$.campaign_id') }} as campaign_id,
        {{ json_text('record', '$.campaign_name') }} as campaign_name,
        {{ json_text('record', '$.utm_source') }} as utm_source,
        {{ json_text('record', '$.utm_medium') }} as utm_medium,
        {{ json_text('record', '$.utm_campaign') }} as utm_campaign,
        {{ json_text('record', '$.impressions') }} as impressions,
        {{ json_text('record', '$.clicks') }} as clicks,
        {{ json_text('record', '$.spend') }} as spend,
        {{ json_text('record', '$.currency') }} as currency,
        dt as landing_dt,
        file as landing_file,
        line as landing_line,
        loaded_at
    from ads_spend

),

renamed as (

    select
        {{ dbt.safe_cast('report_date', 'date') }} as spend_date,
        lower({{ trim_to_null('ad_platform') }}) as ad_platform,
        {{ trim_to_null('campaign_id') }} as campaign_id,
        {{ trim_to_null('campaign_name') }} as campaign_name,
        {{ trim_to_null('utm_source') }} as utm_source,
        {{ trim_to_null('utm_medium') }} as utm_medium,
        {{ trim_to_null('utm_campaign') }} as utm_campaign,
        {{ dbt.safe_cast('impressions', dbt.type_bigint()) }} as impressions,
        {{ dbt.safe_cast('clicks', dbt.type_bigint()) }} as clicks,
        {{ dbt.safe_cast('spend', 'decimal(18, 2)') }} as spend,
        upper({{ trim_to_null('currency') }}) as currency,
        landing_dt,
        landing_file,
        landing_line,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at
    from extracted

),

ranked as (

    select
        *,
        row_number() over (
            partition by spend_date, ad_platform, campaign_id
            order by landing_dt desc, landing_file desc, landing_line desc
        ) as restatement_rank
    from renamed

),

final as (

    select
        spend_date,
        ad_platform,
        campaign_id,
        campaign_name,
        utm_source,
        utm_medium,
        utm_campaign,
        impressions,
        clicks,
        spend,
        currency,
        landing_dt,
        landing_file,
        landing_line,
        loaded_at
    from ranked
    where restatement_rank = 1

)

select * from final
