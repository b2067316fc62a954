-- A survivor is its own survivor: following merges from any contact ends at a contact
-- that int_crm_contacts_merged maps to itself, with merge depth 0.
with

int_crm_contacts_merged as (

    select * from {{ ref('int_crm_contacts_merged') }}

),

survivors as (

    select distinct surviving_crm_contact_id
    from int_crm_contacts_merged

),

final as (

    select
        survivors.surviving_crm_contact_id,
        survivor_rows.surviving_crm_contact_id as survivors_own_survivor,
        survivor_rows.merge_depth
    from survivors
    left join int_crm_contacts_merged as survivor_rows
        on survivors.surviving_crm_contact_id = survivor_rows.crm_contact_id
    where
        survivor_rows.crm_contact_id is null
        or survivor_rows.surviving_crm_contact_id != survivors.surviving_crm_contact_id
        or survivor_rows.merge_depth != 0

)

select * from final
