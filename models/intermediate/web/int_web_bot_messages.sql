with

stg_web__events as (

    select * from {{ ref('stg_web__events') }}

),

bot_user_agents as (

    select * from {{ ref('bot_user_agents') }}

),

-- User agents are few next to messages: the patterns run once per distinct user agent.
user_agents as (

    select distinct user_agent
    from stg_web__events
    where user_agent is not null

),

user_agent_matches as (

    select
        user_agents.user_agent,
        bot_user_agents.bot_name,
        bot_user_agents.bot_category,
        row_number() over (
            partition by user_agents.user_agent
            order by bot_user_agents.pattern_order
        ) as match_number
    from user_agents
    inner join bot_user_agents
        on {{ matches_regex('lower(user_agents.user_agent)', 'bot_user_agents.pattern') }}

),

bot_user_agents_matched as (

    select
        user_agent,
        bot_name,
        bot_category
    from user_agent_matches
    where match_number = 1

),

final as (

    select
        stg_web__events.message_id,
        stg_web__events.message_type,
        stg_web__events.event_name,
        stg_web__events.anonymous_id,
        stg_web__events.user_id,
        stg_web__events.event_at,
        stg_web__events.received_at,
        stg_web__events.page_url,
        stg_web__events.page_path,
        stg_web__events.user_agent,
        bot_user_agents_matched.bot_name,
        bot_user_agents_matched.bot_category,
        stg_web__events.landing_dt,
        stg_web__events.loaded_at
    from stg_web__events
    inner join bot_user_agents_matched
        on stg_web__events.user_agent = bot_user_agents_matched.user_agent

)

select * from final
