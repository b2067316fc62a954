{{ config(meta={'dagster': {'ref': {'name': 'channel_golden_cases'}}}) }}
-- Every channel of the rules has at least one golden case that expects it.
-- Returns the channels without one.
with

channel_rules as (

    select * from {{ ref('channel_rules') }}

),

channel_golden_cases as (

    select * from {{ ref('channel_golden_cases') }}

),

uncovered_channels as (

    select distinct channel_rules.channel
    from channel_rules
    left join channel_golden_cases
        on channel_rules.channel = channel_golden_cases.expected_channel
    where channel_golden_cases.case_id is null

)

select * from uncovered_channels
