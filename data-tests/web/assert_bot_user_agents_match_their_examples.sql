-- The bot patterns do what their rows say: written in lower case (user agents are
-- lower-cased before matching), each example user agent is recognised as its own row's bot
-- (no earlier pattern catches it first), and the user agents of common browsers, in-app
-- browsers and phones match no pattern at all. Returns one row per problem. (An invalid
-- regular expression makes this test, and int_web_bot_messages, error.)
with

bot_user_agents as (

    select * from {{ ref('bot_user_agents') }}

),

browser_user_agents as (

    select browsers.user_agent
    from (
        values
        (
            'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) '
            || 'Chrome/131.0.0.0 Safari/537.36'
        ),
        (
            'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) '
            || 'Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0'
        ),
        (
            'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like '
            || 'Gecko) Version/18.1 Safari/605.1.15'
        ),
        ('Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0'),
        (
            'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) '
            || 'Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0'
        ),
        (
            'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, '
            || 'like Gecko) Version/18.1 Mobile/15E148 Safari/604.1'
        ),
        (
            'Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like '
            || 'Gecko) Version/17.6 Mobile/15E148 Safari/604.1'
        ),
        (
            'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) '
            || 'Chrome/131.0.0.0 Mobile Safari/537.36'
        ),
        (
            'Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) '
            || 'SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36'
        ),
        (
            'Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) '
            || 'Chrome/120.0.0.0 Mobile Safari/537.36'
        ),
        (
            'Mozilla/5.0 (Linux; Android 9; CUBOT P30 Build/PPR1.180610.011; wv) '
            || 'AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.0.0 Mobile '
            || 'Safari/537.36'
        ),
        (
            'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) '
            || 'Chrome/128.0.0.0 YaBrowser/24.10.0.0 Safari/537.36'
        ),
        (
            'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, '
            || 'like Gecko) Mobile/21B80 [FBAN/FBIOS;FBAV/442.0.0.29.108;FBBV/544364738;'
            || 'FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.1;FBSS/3;FBCR/;FBID/phone;'
            || 'FBLC/de_DE;FBOP/80]'
        ),
        (
            'Mozilla/5.0 (Linux; Android 14; SM-A546B Build/UP1A.231005.007; wv) '
            || 'AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile '
            || 'Safari/537.36 Instagram 312.0.0.32.112 Android (34/14; 450dpi; 1080x2340; '
            || 'samsung; SM-A546B; a54x; s5e8835; de_DE; 550000000)'
        ),
        (
            'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, '
            || 'like Gecko) GSA/300.0.598994205 Mobile/15E148 Safari/604.1'
        ),
        (
            'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, '
            || 'like Gecko) Mobile/15E148 [Pinterest/iOS]'
        )
    ) as browsers (user_agent)

),

uppercase_patterns as (

    select
        bot_name as subject,
        'pattern is not written in lower case' as problem
    from bot_user_agents
    where pattern != lower(pattern)

),

example_matches as (

    select
        examples.bot_name as example_bot_name,
        patterns.bot_name as matched_bot_name,
        row_number() over (
            partition by examples.bot_name
            order by patterns.pattern_order
        ) as match_number
    from bot_user_agents as examples
    inner join bot_user_agents as patterns
        on {{ matches_regex('lower(examples.example_user_agent)', 'patterns.pattern') }}

),

examples_not_recognised as (

    select
        bot_user_agents.bot_name as subject,
        'example user agent is recognised as '
        || coalesce(example_matches.matched_bot_name, 'no bot') as problem
    from bot_user_agents
    left join example_matches
        on
            bot_user_agents.bot_name = example_matches.example_bot_name
            and example_matches.match_number = 1
    where example_matches.matched_bot_name is distinct from bot_user_agents.bot_name

),

browsers_taken_for_bots as (

    select
        browser_user_agents.user_agent as subject,
        'browser user agent matches the pattern of ' || bot_user_agents.bot_name as problem
    from browser_user_agents
    inner join bot_user_agents
        on {{ matches_regex('lower(browser_user_agents.user_agent)', 'bot_user_agents.pattern') }}

),

problems as (

    select * from uppercase_patterns
    union all
    select * from examples_not_recognised
    union all
    select * from browsers_taken_for_bots

)

select * from problems
