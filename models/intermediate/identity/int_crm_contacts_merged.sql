{%- set max_merge_depth = var('identity_max_merge_depth', 20) -%}

with recursive

stg_crm__contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

stg_crm__orders as (

    select * from {{ ref('stg_crm__orders') }}

),

stg_crm__tickets as (

    select * from {{ ref('stg_crm__tickets') }}

),

stg_crm__surveys as (

    select * from {{ ref('stg_crm__surveys') }}

),

stg_crm__activities as (

    select * from {{ ref('stg_crm__activities') }}

),

int_web_identifications as (

    select * from {{ ref('int_web_identifications') }}

),

int_identifiers_screened as (

    select * from {{ ref('int_identifiers_screened') }}

),

-- A web userId is the CRM contact_id of the logged-in visitor; a placeholder userId
-- ('undefined', '0' ...) names no contact and is left out.
web_user_ids as (

    select distinct int_web_identifications.web_user_id as crm_contact_id
    from int_web_identifications
    inner join int_identifiers_screened
        on
            int_identifiers_screened.identifier_type = 'web_user_id'
            and int_web_identifications.web_user_id = int_identifiers_screened.identifier_value
    where not int_identifiers_screened.is_placeholder

),

contact_ids_seen as (

    select crm_contact_id from stg_crm__contacts
    union
    select merged_into_crm_contact_id from stg_crm__contacts
    union
    select crm_contact_id from stg_crm__orders
    union
    select crm_contact_id from stg_crm__tickets
    union
    select crm_contact_id from stg_crm__surveys
    union
    select crm_contact_id from stg_crm__activities
    union
    select crm_contact_id from web_user_ids

),

-- One edge per merged contact, from its current version.
merge_edges as (

    select
        crm_contact_id,
        merged_into_crm_contact_id
    from stg_crm__contacts
    where merged_into_crm_contact_id is not null

),

-- Every contact walks its chain of merges, one step per iteration. The walk keeps the
-- contacts it has passed, and stops at a contact that was not merged, before a contact it
-- has already passed (a cycle), or after identity_max_merge_depth steps.
merge_walk as (

    select
        crm_contact_id,
        crm_contact_id as reached_crm_contact_id,
        {{ dbt.array_construct(['crm_contact_id']) }} as merge_path,
        0 as steps
    from contact_ids_seen
    where crm_contact_id is not null

    union all

    select
        merge_walk.crm_contact_id,
        merge_edges.merged_into_crm_contact_id as reached_crm_contact_id,
        array_append(
            merge_walk.merge_path, merge_edges.merged_into_crm_contact_id
        ) as merge_path,
        merge_walk.steps + 1 as steps
    from merge_walk
    inner join merge_edges
        on merge_walk.reached_crm_contact_id = merge_edges.crm_contact_id
    where
        not array_contains(merge_walk.merge_path, merge_edges.merged_into_crm_contact_id)
        and merge_walk.steps < {{ max_merge_depth }}

),

walk_ends as (

    select
        merge_walk.crm_contact_id,
        merge_walk.reached_crm_contact_id,
        merge_walk.merge_path,
        merge_edges.merged_into_crm_contact_id as next_crm_contact_id,
        -- where the cycle starts in the path (1-based): null unless the next step goes back
        nullif(
            array_position(merge_walk.merge_path, merge_edges.merged_into_crm_contact_id), 0
        ) as cycle_start_position,
        row_number() over (
            partition by merge_walk.crm_contact_id
            order by merge_walk.steps desc
        ) as walk_rank
    from merge_walk
    left join merge_edges
        on merge_walk.reached_crm_contact_id = merge_edges.crm_contact_id

),

-- The survivor is where the walk ended. In a cycle (A -> B -> A), no contact survives on
-- its own terms: the cycle's smallest contact id (in text order) does, whichever contact
-- the walk started from, so all of the cycle's contacts stay one person.
survivors as (

    select
        crm_contact_id,
        merge_path,
        case
            when next_crm_contact_id is null then 'merge chain followed'
            when cycle_start_position is not null then 'merge cycle'
            else 'merge chain too long'
        end as merge_status,
        case
            when cycle_start_position is not null
                then {{ list_min_from('merge_path', 'cycle_start_position') }}
            else reached_crm_contact_id
        end as surviving_crm_contact_id
    from walk_ends
    where walk_rank = 1

),

final as (

    select
        survivors.crm_contact_id,
        survivors.surviving_crm_contact_id,
        {{ dbt.hash("'crm:' || survivors.surviving_crm_contact_id") }} as customer_id,
        nullif(array_position(survivors.merge_path, survivors.surviving_crm_contact_id), 0) - 1
            as merge_depth,
        survivors.crm_contact_id != survivors.surviving_crm_contact_id as is_merged,
        case
            when
                survivors.merge_status = 'merge chain followed'
                and cardinality(survivors.merge_path) = 1
                then 'not merged'
            else survivors.merge_status
        end as merge_status,
        stg_crm__contacts.merged_into_crm_contact_id,
        stg_crm__contacts.crm_contact_id is not null as is_known_contact
    from survivors
    left join stg_crm__contacts
        on survivors.crm_contact_id = stg_crm__contacts.crm_contact_id

)

select * from final
