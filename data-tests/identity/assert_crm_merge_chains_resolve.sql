{{ config(severity='warn') }}

-- Merge chains that the guards of int_crm_contacts_merged had to stop: a cycle of merges
-- (resolved to the cycle's smallest contact id) or a chain longer than
-- identity_max_merge_depth (stopped there). A warning: the data needs a look in the CRM.
with

int_crm_contacts_merged as (

    select * from {{ ref('int_crm_contacts_merged') }}

),

final as (

    select
        crm_contact_id,
        surviving_crm_contact_id,
        merge_depth,
        merge_status
    from int_crm_contacts_merged
    where merge_status in ('merge cycle', 'merge chain too long')

)

select * from final
