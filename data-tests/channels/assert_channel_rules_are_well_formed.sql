-- The channel rules keep GA4's documented channel order, each channel's rules are
-- consecutive, and the only rule without conditions is the last one (Unassigned, the
-- fallback). Returns one row per problem. (An invalid regular expression makes every
-- classification, and so assert_channel_golden_cases, error.)
with

channel_rules as (

    select * from {{ ref('channel_rules') }}

),

ga4_channel_order as (

    select
        ga4_order.channel_position,
        ga4_order.channel
    from (
        values
        (1, 'Direct'),
        (2, 'Cross-network'),
        (3, 'Paid Shopping'),
        (4, 'Paid Search'),
        (5, 'Paid Social'),
        (6, 'Paid Video'),
        (7, 'Display'),
        (8, 'Paid Other'),
        (9, 'Organic Shopping'),
        (10, 'Organic Social'),
        (11, 'Organic Video'),
        (12, 'Organic Search'),
        (13, 'Referral'),
        (14, 'Email'),
        (15, 'Affiliates'),
        (16, 'Audio'),
        (17, 'SMS'),
        (18, 'Mobile Push Notifications'),
        (19, 'Unassigned')
    ) as ga4_order (channel_position, channel)

),

channel_spans as (

    select
        channel,
        min(rule_order) as first_rule_order,
        max(rule_order) as last_rule_order
    from channel_rules
    group by channel

),

ranked_channels as (

    select
        channel_spans.channel,
        channel_spans.first_rule_order,
        channel_spans.last_rule_order,
        ga4_channel_order.channel_position,
        row_number() over (order by channel_spans.first_rule_order) as rule_position
    from channel_spans
    left join ga4_channel_order
        on channel_spans.channel = ga4_channel_order.channel

),

out_of_order_channels as (

    select
        channel,
        'channel is not in GA4''s place '
        || coalesce(cast(channel_position as {{ dbt.type_string() }}), '(none)')
        || ' but ' || cast(rule_position as {{ dbt.type_string() }}) as problem
    from ranked_channels
    where channel_position is distinct from rule_position

),

missing_channels as (

    select
        ga4_channel_order.channel,
        'GA4 channel without a rule' as problem
    from ga4_channel_order
    left join channel_spans
        on ga4_channel_order.channel = channel_spans.channel
    where channel_spans.channel is null

),

interleaved_rules as (

    select
        channel_spans.channel,
        'rule ' || cast(channel_rules.rule_order as {{ dbt.type_string() }})
        || ' of ' || channel_rules.channel
        || ' lies between this channel''s rules' as problem
    from channel_spans
    inner join channel_rules
        on
            channel_spans.first_rule_order < channel_rules.rule_order
            and channel_spans.last_rule_order > channel_rules.rule_order
            and channel_spans.channel != channel_rules.channel

),

last_rules as (

    select max(rule_order) as last_rule_order
    from channel_rules

),

misplaced_fallbacks as (

    select
        channel_rules.channel,
        'rule ' || cast(channel_rules.rule_order as {{ dbt.type_string() }})
        || ' has no conditions: only the last rule, Unassigned, may have none' as problem
    from channel_rules
    cross join last_rules
    where
        channel_rules.source_category is null
        and channel_rules.source_regex is null
        and channel_rules.medium_regex is null
        and channel_rules.campaign_regex is null
        and (
            channel_rules.rule_order != last_rules.last_rule_order
            or channel_rules.channel != 'Unassigned'
        )

),

missing_fallbacks as (

    select
        'Unassigned' as channel,
        'the last rule must be Unassigned without conditions' as problem
    from channel_rules
    having
        count(
            case
                when
                    channel = 'Unassigned'
                    and source_category is null
                    and source_regex is null
                    and medium_regex is null
                    and campaign_regex is null
                    then 1
            end
        ) = 0

),

problems as (

    select * from out_of_order_channels
    union all
    select * from missing_channels
    union all
    select * from interleaved_rules
    union all
    select * from misplaced_fallbacks
    union all
    select * from missing_fallbacks

)

select * from problems
