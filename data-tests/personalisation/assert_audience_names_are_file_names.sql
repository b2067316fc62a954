-- Every audience becomes published/audiences/<audience>.csv: its name must be a safe file
-- name (lower-case letters, digits and underscores). Returns the names that are not: empty,
-- or with a character outside that set (a search for one needs no anchors, whose `$` Java
-- and RE2 read differently before a trailing line break).
with

audiences as (

    select * from {{ ref('audiences') }}

)

select audience
from audiences
where audience = '' or {{ matches_regex('audience', "'[^a-z0-9_]'") }}
