-- Every audience becomes published/audiences/<audience>.csv: its name must be a safe file
-- name (lower-case letters, digits and underscores). Returns the names that are not.
with

audiences as (

    select * from {{ ref('audiences') }}

)

select audience
from audiences
where not regexp_full_match(audience, '[a-z0-9_]+')
