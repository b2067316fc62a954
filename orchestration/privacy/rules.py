"""Where each raw table holds personal data, and what erasure does to it.

Each entity declares its identifier and personal-data fields once, as `personal` in the
source registry (ingestion/specs.py); `TABLE_RULES` is derived from those declarations,
so a new entity is covered without an edit here.

Identifier types (one pseudonym per distinct normalised value, shared by every table):
- `email` (trimmed, lower-cased), `contact_id` (CRM contact ids and web `userId`s),
  `anonymous_id` (web devices), `order_id` (CRM orders and web `properties.order_id`),
  `record_id` (the person's own message, event, ticket, survey and activity ids);
- `ip`: nulled wherever it appears, never replaced by a pseudonym.

A record is *the person's* when one of its owner fields holds one of their identifiers;
then its record ids get pseudonyms, its personal fields are nulled, and (for CSV
entities) columns outside the contract (schema drift) are dropped. Any other record that
mentions one of their identifiers (another contact's order placed with their email, a
shared device's messages) keeps its own data and only has those values replaced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from orchestration.ingestion.specs import (
    ANONYMOUS_ID,
    CONTACT_ID,
    EMAIL,
    ENTITY_SPECS,
    IP,
    ORDER_ID,
    RECORD_ID,
    EntitySpec,
)

IDENTIFIER_TYPES = (EMAIL, CONTACT_ID, ANONYMOUS_ID, ORDER_ID, RECORD_ID, IP)

PSEUDONYM_PREFIX = "erased-"
# Pseudonymous emails stay well-formed addresses on a domain that the identity seed does
# not treat as a placeholder, so that identity resolution treats them as it treated the
# original address (a malformed or placeholder address would be refused).
EMAIL_PSEUDONYM_DOMAIN = "erased.person"
ERASED_REJECTED_RECORD = "[erased: data-subject erasure request]"

JsonPath = tuple[str, ...]


@dataclass(frozen=True)
class TableRules:
    spec: EntitySpec
    # typed fields: any value that is an erased identifier of that type is replaced
    identifiers: tuple[tuple[JsonPath, str], ...]
    # a record is the person's when one of these holds one of their identifiers
    owners: tuple[tuple[JsonPath, str], ...]
    # ... or when this email is theirs and the record names no contact (a guest order)
    guest_email: JsonPath | None = None
    record_ids: tuple[JsonPath, ...] = ()
    scrubbed: tuple[JsonPath, ...] = ()
    # objects reduced to their (pseudonymised) `email` in the person's records
    reduced: tuple[JsonPath, ...] = ()

    @property
    def table(self) -> str:
        return self.spec.table

    @property
    def keeps_spec_fields_only(self) -> bool:
        return self.spec.format == "csv"


def _p(dotted: str) -> JsonPath:
    return tuple(dotted.split("."))


def table_rules(spec: EntitySpec) -> TableRules | None:
    """The erasure rules of an entity, from its `personal` declaration in the registry
    (ingestion/specs.py); None for an entity without personal data, which is never scanned."""
    personal = spec.personal
    if personal is None:
        return None
    types = dict(personal.identifiers)
    return TableRules(
        spec=spec,
        identifiers=tuple((_p(path), kind) for path, kind in personal.identifiers),
        owners=tuple((_p(path), types[path]) for path in personal.owners),
        guest_email=_p(personal.guest_email) if personal.guest_email else None,
        record_ids=tuple(_p(path) for path in personal.record_ids),
        scrubbed=tuple(_p(path) for path in personal.scrubbed),
        reduced=tuple(_p(path) for path in personal.reduced),
    )


# Every registered entity with personal data, in registry order.
TABLE_RULES: dict[str, TableRules] = {
    spec.table: rules for spec in ENTITY_SPECS if (rules := table_rules(spec)) is not None
}


def json_path(path: JsonPath) -> str:
    return "$." + ".".join('"' + part.replace('"', '\\"') + '"' for part in path)


def sql_normalised(text: str, identifier_type: str) -> str:
    """SQL for the matching form of a text expression (null when empty)."""
    if identifier_type == EMAIL:
        return f"nullif(lower(trim({text})), '')"
    return f"nullif(trim({text}), '')"


def sql_value(path: JsonPath, identifier_type: str, column: str = "record") -> str:
    """SQL for the normalised text of a JSON field (null when empty)."""
    return sql_normalised(f"({column} ->> '{json_path(path)}')", identifier_type)


def extract_sql(
    table: str, fields: Sequence[tuple[str, JsonPath, str]], where: str, keep: str = ""
) -> str:
    """`select <keep>, <alias>...` of normalised fields of a raw table's records.

    All paths are read in one `json_extract_string` call, which parses each record once
    (one `->>` per field would parse it once per field).
    """
    paths = ", ".join(f"'{json_path(path)}'" for _, path, _ in fields)
    columns = ", ".join(
        f"{sql_normalised(f'fields[{i}]', identifier_type)} as {alias}"
        for i, (alias, _, identifier_type) in enumerate(fields, start=1)
    )
    return (
        f"select {keep + ', ' if keep else ''}{columns} "
        f"from (select *, json_extract_string(record, [{paths}]) as fields "
        f"from raw.{table} where {where})"
    )


def normalise(value: object, identifier_type: str) -> str | None:
    """The matching form of a JSON value, as `sql_value` computes it."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    if identifier_type == EMAIL:
        value = value.lower()
    return value or None
