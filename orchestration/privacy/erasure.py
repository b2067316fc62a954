"""Carry out data-subject erasure requests in `raw`, and keep them carried out.

Two entry points, both called by the ingestion assets on the warehouse connection:

- `apply_erasure_requests`: after the erasure requests are loaded (the last raw asset of
  a run), every request whose email is still in clear is carried out over everything in
  `raw` and `raw.rejected_records`: the person is resolved from the raw records, their
  identifiers get pseudonyms, their personal fields are nulled, and the ledger keeps the
  keyed hashes that recognise them later.
- `apply_ledger_to_partitions`: after any other raw asset loads landing days, the
  records of those days that carry an identifier of an erased person are anonymised on
  arrival with the ledger's pseudonyms (a re-delivery, a rerun, a rebuild from landing).

Anonymising rather than deleting keeps the aggregates: each distinct value of an
identifier is replaced by one pseudonym everywhere, a one-to-one renaming, so every join,
deduplication, merge and identity rule of the dbt models finds the same structure, and
sessions, orders, revenue and customer counts stay what they were. What no longer exists
is a way back from the warehouse to the person. dbt rebuilds staging and marts from
`raw`, and the publish step copies the marts, so the run that loads a request leaves no
trace of the person anywhere the pipeline writes.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import jinja2

from orchestration.ingestion.loader import ensure_raw_schema, next_loaded_at
from orchestration.ingestion.specs import ENTITY_SPECS, EntitySpec
from orchestration.privacy import ledger as led
from orchestration.privacy.keys import ErasureKey, ErasureKeyError
from orchestration.privacy.rules import (
    ANONYMOUS_ID,
    CONTACT_ID,
    EMAIL,
    EMAIL_PSEUDONYM_DOMAIN,
    ERASED_REJECTED_RECORD,
    IDENTIFIER_TYPES,
    IP,
    ORDER_ID,
    PSEUDONYM_PREFIX,
    RECORD_ID,
    TABLE_RULES,
    JsonPath,
    TableRules,
    extract_sql,
    normalise,
    sql_value,
)
from orchestration.project import REPO_ROOT

PLACEHOLDER_SEED = REPO_ROOT / "seeds" / "identity" / "identity_placeholder_values.csv"
# The seed's matching rules, the dbt macros of identity resolution (plain Jinja).
PLACEHOLDER_RULES = REPO_ROOT / "macros" / "identity" / "placeholder_rules.sql"
HMAC_MACRO = "_erasure_hmac"
# Outside their own fields, identifiers are recognised anywhere in a record only when
# long enough not to be mistaken for an ordinary value (a 5-digit contact id is not).
DEEP_MATCH_MIN_LENGTH = 8
REQUESTS_TABLE = "privacy_erasure_requests"
# An email address inside longer text, also URL-encoded (`ann%40shop.com`).
_EMAIL_IN_TEXT = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+",
    re.IGNORECASE,
)
_NOT_PSEUDONYM = f"not like '{PSEUDONYM_PREFIX}%'"


@dataclass
class ErasureSummary:
    requests_applied: list[str] = field(default_factory=list)
    identifiers: int = 0
    records_anonymised: int = 0
    rejected_records_erased: int = 0
    widened_to_all_days: bool = False

    def add(self, other: ErasureSummary) -> None:
        self.requests_applied += other.requests_applied
        self.identifiers += other.identifiers
        self.records_anonymised += other.records_anonymised
        self.rejected_records_erased += other.rejected_records_erased
        self.widened_to_all_days = self.widened_to_all_days or other.widened_to_all_days


@dataclass(frozen=True)
class Scope:
    """Which raw rows a pass looks at: some landing days of one table, or everything."""

    table: str | None = None
    days: tuple[dt.date, ...] = ()

    def includes(self, table: str) -> bool:
        return self.table is None or self.table == table

    def _days(self) -> str:
        return "dt in (" + ", ".join(f"date '{day.isoformat()}'" for day in self.days) + ")"

    def where(self, table: str) -> str:
        if self.table is None:
            return "true"
        if self.table != table or not self.days:
            return "false"
        return self._days()

    def where_rejected(self) -> str:
        if self.table is None:
            return "true"
        if not self.days:
            return "false"
        spec = TABLE_RULES[self.table].spec
        return f"source = '{spec.source}' and entity = '{spec.entity}' and {self._days()}"


EVERYTHING = Scope()


# --------------------------------------------------------------------------- entry points


def apply_erasure_requests(con: duckdb.DuckDBPyConnection, warehouse_dir: Path) -> ErasureSummary:
    """Carry out every loaded erasure request whose email is still in clear."""
    ensure_raw_schema(con)
    led.ensure_ledger_schema(con)
    pending = con.execute(
        f"""
        select
            {sql_value(("email",), EMAIL)} as email,
            list(distinct trim(record ->> '$.request_id') order by trim(record ->> '$.request_id'))
                as request_ids,
            list(distinct dt order by dt) as days
        from raw.{REQUESTS_TABLE}
        where {sql_value(("email",), EMAIL)} {_NOT_PSEUDONYM}
        group by 1
        order by 1
        """
    ).fetchall()
    summary = ErasureSummary()
    if not pending:
        return summary
    key = _open_key(con, warehouse_dir, create=True)
    applied = con.execute(
        "select list(distinct email_hmac), list(distinct request_id) "
        "from raw.erasure_requests_applied"
    ).fetchone()
    applied_emails, applied_requests = set(applied[0] or []), set(applied[1] or [])
    new_requests: list[tuple[str, list[str], str]] = []
    for email, request_ids, days in pending:
        email_hmac = key.hmac(email)
        if email_hmac in applied_emails:
            # Carried out before: this is a re-delivered request (or another request for
            # the same person); anonymise its row like any record of an erased person.
            summary.add(_arrival_pass(con, key, Scope(REQUESTS_TABLE, tuple(days))))
            new_ids = [r for r in request_ids if r not in applied_requests]
            _record_applied(con, new_ids, email_hmac, 0, ErasureSummary())
            continue
        new_requests.append((email, request_ids, email_hmac))
    if new_requests:
        summary.add(_in_transaction(con, functools.partial(_requests_pass, con, key, new_requests)))
    return summary


def apply_ledger_to_partitions(
    con: duckdb.DuckDBPyConnection,
    warehouse_dir: Path,
    spec: EntitySpec,
    days: Iterable[dt.date],
) -> ErasureSummary:
    """Anonymise what some landing days of one entity brought of people erased before."""
    days = tuple(days)
    if not days or spec.table not in TABLE_RULES or led.ledger_is_empty(con):
        return ErasureSummary()
    key = _open_key(con, warehouse_dir, create=False)
    return _arrival_pass(con, key, Scope(spec.table, days))


# ------------------------------------------------------------------------------ passes


def _in_transaction(con: duckdb.DuckDBPyConnection, work):
    con.execute("begin transaction")
    try:
        result = work()
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return result


def _requests_pass(
    con: duckdb.DuckDBPyConnection,
    key: ErasureKey,
    requests: list[tuple[str, list[str], str]],
) -> ErasureSummary:
    """Carry out new requests (email, request ids, email hmac) in one pass over raw.

    Each request's person is resolved on its own (so that the ledger says which request
    erased what), then all of them are rewritten in one scan of every table.
    """
    eraser = _Eraser(con, key, None)
    try:
        con.execute(_extract_sql(EVERYTHING))
        # All requests walked together first: each request's own walk then needs only the
        # link rows that touch what they reach together, a sliver of a year of raw.
        con.execute(
            "insert into _erasure_ids select ?, unnest(?), true",
            [EMAIL, [email for email, _, _ in requests]],
        )
        eraser.extend_to_closure()
        eraser.keep_links_touching_ids()
        con.execute("delete from _erasure_ids")
        con.execute("create or replace temp table _erasure_union as from _erasure_ids")
        identifiers = []
        for email, request_ids, _ in requests:
            eraser.request_id = request_ids[0]
            con.execute("delete from _erasure_ids")
            con.execute("insert into _erasure_ids values (?, ?, true)", [EMAIL, email])
            identifiers.append(eraser.follow_links())
            con.execute("insert into _erasure_union from _erasure_ids")
        con.execute("delete from _erasure_ids")
        con.execute("insert into _erasure_ids from _erasure_union")
        eraser.follow_links()
        result = eraser.rewrite(EVERYTHING)
    finally:
        eraser.drop()
    for (_, request_ids, email_hmac), count in zip(requests, identifiers, strict=True):
        _record_applied(con, request_ids, email_hmac, count, result)
        result.requests_applied += request_ids
    return result


def _arrival_pass(con: duckdb.DuckDBPyConnection, key: ErasureKey, scope: Scope) -> ErasureSummary:
    def work() -> ErasureSummary:
        eraser = _Eraser(con, key, None)
        try:
            if not eraser.seed_from_ledger(scope):
                # Nothing of an erased person among the valid records; their rejected
                # records may still have come (a malformed re-delivered line).
                summary = ErasureSummary()
                summary.rejected_records_erased = eraser.erase_rejected(scope)
                return summary
            eraser.resolve(scope)
            if eraser.found_new_identifiers():
                # The day revealed identifiers the ledger did not know (a new device or
                # merge of an erased person): look for them on every day.
                eraser.resolve(EVERYTHING)
                summary = eraser.rewrite(EVERYTHING)
                summary.widened_to_all_days = True
                return summary
            return eraser.rewrite(scope)
        finally:
            eraser.drop()

    return _in_transaction(con, work)


def _open_key(con: duckdb.DuckDBPyConnection, warehouse_dir: Path, create: bool) -> ErasureKey:
    fingerprints = [
        row[0] for row in con.execute("select fingerprint from raw.erasure_key_check").fetchall()
    ]
    key = ErasureKey.load(warehouse_dir, create=create and not fingerprints)
    if not fingerprints:
        con.execute(
            "insert into raw.erasure_key_check values (?, ?)",
            [key.fingerprint, dt.datetime.now(dt.UTC)],
        )
    elif key.fingerprint not in fingerprints:
        raise ErasureKeyError(
            "the erasure key file does not match the key the erasure ledger was written with: "
            "restore the original key file (or point JOURNEY_ERASURE_KEY_FILE at it)"
        )
    return key


def _record_applied(
    con: duckdb.DuckDBPyConnection,
    request_ids: Iterable[str],
    email_hmac: str,
    identifiers: int,
    result: ErasureSummary,
) -> None:
    """The audit trail: the request's own identifiers, and the records its pass rewrote
    (requests loaded together share one pass, and its counts)."""
    now = dt.datetime.now(dt.UTC)
    for request_id in request_ids:
        con.execute(
            "insert into raw.erasure_requests_applied values (?, ?, ?, ?, ?, ?)",
            [
                request_id,
                email_hmac,
                now,
                identifiers,
                result.records_anonymised,
                result.rejected_records_erased,
            ],
        )


# ------------------------------------------------------------------------ the eraser


def _placeholders() -> list[tuple[str | None, str]]:
    """The seed's rows as dbt loads them (an empty value is null): the macros normalise."""
    with PLACEHOLDER_SEED.open(newline="", encoding="utf-8") as handle:
        return [
            (row["placeholder_value"] or None, row["match_type"]) for row in csv.DictReader(handle)
        ]


# The placeholder rules of identity resolution, its dbt macros rendered by plain jinja2
# (erasure runs before dbt): a candidate matches a row of the seed (`_erasure_placeholders`),
# or is an email that is no address at all. The macros name the email type `email`, as EMAIL.
_RULES = jinja2.Environment().from_string(PLACEHOLDER_RULES.read_text()).module
_PLACEHOLDER_RULE_MATCHES = _RULES.placeholder_rule_matches(
    "candidates.identifier_type",
    "candidates.value",
    "placeholders.match_type",
    "placeholders.value",
)
_NOT_AN_EMAIL_ADDRESS = _RULES.is_not_an_email_address("identifier_type", "value")


def _v(path: str, identifier_type: str) -> str:
    return sql_value(tuple(path.split(".")), identifier_type)


# The identifiers that belong to the person, found from those already known, until no new
# one appears. Links followed (each from a known identifier to a new one):
# - a contact whose id, merged-into id or email is the person's is theirs, with its
#   merged-into id and email (merges both ways; the contacts sharing their address);
# - their contacts' orders, and guest orders (no contact) placed with their email: the
#   order id and the email used;
# - their contacts' tickets and surveys: the email used;
# - web messages with their contact id as userId: the device (anonymousId), the emails
#   in traits and the order ids; an identify whose traits.email is a contact email of
#   theirs: the device;
# - every ip seen on their devices and in their email events.
# Addresses found on orders, tickets and traits are erased but do not pull in further
# contacts (`links_contacts` false): only the requested address and their contacts' own
# addresses do, so that an order placed with someone else's address does not erase that
# someone. Placeholder values (the identity seed's rules) identify nobody and are left
# alone, as identity resolution leaves them alone.
CLOSURE_SQL = f"""
insert into _erasure_ids
select identifier_type, value, links_contacts
from (
    with
    contact_ids as (select value from _erasure_ids where identifier_type = '{CONTACT_ID}'),
    emails as (select value from _erasure_ids where identifier_type = '{EMAIL}'),
    linking_emails as (
        select value from _erasure_ids where identifier_type = '{EMAIL}' and links_contacts
    ),
    anonymous_ids as (select value from _erasure_ids where identifier_type = '{ANONYMOUS_ID}'),
    person_contacts as (
        select * from _erasure_contacts
        where
            contact_id in (select value from contact_ids)
            or merged_into in (select value from contact_ids)
            or email in (select value from linking_emails)
    ),
    person_orders as (
        select * from _erasure_orders
        where
            contact_id in (select value from contact_ids)
            or (contact_id is null and email in (select value from emails))
    ),
    person_messages as (
        select * from _erasure_web where user_id in (select value from contact_ids)
    ),
    identified_devices as (
        select anonymous_id from _erasure_web
        where
            is_identify
            and (
                trait_email in (select value from linking_emails)
                or context_trait_email in (select value from linking_emails)
            )
    ),
    device_messages as (
        select ip from _erasure_web
        where
            anonymous_id in (select value from anonymous_ids)
            or user_id in (select value from contact_ids)
    ),
    found as (
        select '{CONTACT_ID}' as identifier_type, contact_id as value, false as links_contacts
        from person_contacts
        union all
        select '{CONTACT_ID}', merged_into, false from person_contacts
        union all
        select '{EMAIL}', email, true from person_contacts
        union all
        select '{ORDER_ID}', order_id, false from person_orders
        union all
        select '{EMAIL}', email, false from person_orders
        union all
        select '{EMAIL}', email, false from _erasure_engagements
        where contact_id in (select value from contact_ids)
        union all
        select '{ANONYMOUS_ID}', anonymous_id, false from person_messages
        union all
        select '{EMAIL}', trait_email, false from person_messages
        union all
        select '{EMAIL}', context_trait_email, false from person_messages
        union all
        select '{ORDER_ID}', order_id, false from person_messages
        union all
        select '{ANONYMOUS_ID}', anonymous_id, false from identified_devices
        union all
        select '{IP}', ip, false from device_messages
        union all
        select '{IP}', ip, false from _erasure_mail where email in (select value from emails)
    ),
    candidates as (
        select identifier_type, value, bool_or(links_contacts) as links_contacts
        from found
        where value is not null and value {_NOT_PSEUDONYM}
        group by identifier_type, value
    ),
    placeholder_hits as (
        select candidates.identifier_type, candidates.value
        from candidates
        inner join _erasure_placeholders as placeholders on {_PLACEHOLDER_RULE_MATCHES}
        union all
        select identifier_type, value from candidates
        where {_NOT_AN_EMAIL_ADDRESS}
    )
    select candidates.*
    from candidates
    where
        not exists (
            select 1 from placeholder_hits
            where
                placeholder_hits.identifier_type = candidates.identifier_type
                and placeholder_hits.value = candidates.value
        )
        and not exists (
            select 1 from _erasure_ids as known
            where
                known.identifier_type = candidates.identifier_type
                and known.value = candidates.value
                and (known.links_contacts or not candidates.links_contacts)
        )
)
"""


def _extract_sql(scope: Scope) -> str:
    """The linking columns of the rows in scope, once per pass, as small temp tables."""
    where = scope.where

    def fields(*items: tuple[str, str, str]) -> list[tuple[str, JsonPath, str]]:
        return [(alias, tuple(path.split(".")), kind) for alias, path, kind in items]

    contacts = fields(
        ("contact_id", "contact_id", CONTACT_ID),
        ("merged_into", "merged_into_contact_id", CONTACT_ID),
        ("email", "email", EMAIL),
    )
    orders = fields(
        ("order_id", "order_id", ORDER_ID),
        ("contact_id", "contact_id", CONTACT_ID),
        ("email", "email", EMAIL),
    )
    engagements = fields(("contact_id", "contact_id", CONTACT_ID), ("email", "email", EMAIL))
    web = fields(
        ("user_id", "userId", CONTACT_ID),
        ("anonymous_id", "anonymousId", ANONYMOUS_ID),
        ("message_type", "type", EMAIL),  # lower-cased like an email
        ("trait_email", "traits.email", EMAIL),
        ("context_trait_email", "context.traits.email", EMAIL),
        ("order_id", "properties.order_id", ORDER_ID),
        ("ip", "context.ip", IP),
    )
    mail = fields(("email", "email", EMAIL), ("ip", "ip", IP))
    return f"""
    create or replace temp table _erasure_contacts as
    select distinct * from ({extract_sql("crm_contacts", contacts, where("crm_contacts"))});

    create or replace temp table _erasure_orders as
    select distinct * from ({extract_sql("crm_orders", orders, where("crm_orders"))});

    create or replace temp table _erasure_engagements as
    {extract_sql("crm_tickets", engagements, where("crm_tickets"))}
    union
    {extract_sql("crm_surveys", engagements, where("crm_surveys"))};

    create or replace temp table _erasure_web as
    select distinct
        user_id,
        anonymous_id,
        coalesce(message_type = 'identify', false) as is_identify,
        trait_email,
        context_trait_email,
        order_id,
        ip
    from ({extract_sql("web_events", web, where("web_events"))});

    create or replace temp table _erasure_mail as
    select distinct * from ({extract_sql("email_events", mail, where("email_events"))});
    """


def _rule_fields(rules: TableRules) -> list[tuple[str, JsonPath, str]]:
    return [(f"f{i}", path, kind) for i, (path, kind) in enumerate(rules.identifiers)]


# The tables of links extracted from raw (_extract_sql), which CLOSURE_SQL walks.
LINK_TABLES = (
    "_erasure_contacts",
    "_erasure_orders",
    "_erasure_engagements",
    "_erasure_web",
    "_erasure_mail",
)

TEMP_TABLES = (
    "_erasure_ids",
    "_erasure_union",
    "_erasure_placeholders",
    *LINK_TABLES,
    "_erasure_rejected_hits",
)


def _get(record: dict, path: JsonPath) -> object:
    node: object = record
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _set(record: dict, path: JsonPath, value: object) -> None:
    """Set a field that exists; a missing field stays missing."""
    node: object = record
    for part in path[:-1]:
        if not isinstance(node, dict) or part not in node:
            return
        node = node[part]
    if isinstance(node, dict) and path[-1] in node:
        node[path[-1]] = value


def _new_pseudonym(key: ErasureKey, identifier_type: str, value: str) -> str | None:
    """A pseudonym that cannot be turned back into the value without the erasure key, and
    is the same for the same key and value: a rerun, or the same landing folder run day
    by day, gives the same marts."""
    if identifier_type == IP:
        return None
    token = PSEUDONYM_PREFIX + key.hmac(f"pseudonym:{identifier_type}:{value}")[:20]
    return f"{token}@{EMAIL_PSEUDONYM_DOMAIN}" if identifier_type == EMAIL else token


class _Eraser:
    """One pass: the person's identifiers in clear live only in this connection's temp
    tables and in memory, and are dropped when the pass ends."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, key: ErasureKey, request_id: str | None
    ) -> None:
        self.con = con
        self.key = key
        self.request_id = request_id
        # later than every loaded_at in raw: incremental models rebuild the rewritten rows
        self.now = next_loaded_at(con, [spec.table for spec in ENTITY_SPECS])
        self.ledger = led.load_ledger(con)
        self.new_entries: dict[tuple[str, str], led.LedgerEntry] = {}
        self.upgraded: list[str] = []
        self.maps: dict[str, dict[str, str | None]] = {t: {} for t in IDENTIFIER_TYPES}
        con.execute(key.sql_macro(HMAC_MACRO))
        con.execute(
            "create or replace temp table _erasure_ids "
            "(identifier_type varchar, value varchar, links_contacts boolean)"
        )
        con.execute(
            "create or replace temp table _erasure_placeholders (value varchar, match_type varchar)"
        )
        con.executemany("insert into _erasure_placeholders values (?, ?)", _placeholders())

    def drop(self) -> None:
        for table in TEMP_TABLES:
            self.con.execute(f"drop table if exists {table}")
        self.con.execute(f"drop macro if exists {HMAC_MACRO}")

    # -- ledger

    def entry(self, identifier_type: str, value: str, links: bool = False) -> led.LedgerEntry:
        identifier_hmac = self.key.hmac(value)
        slot = (identifier_type, identifier_hmac)
        entry = self.ledger.get(slot) or self.new_entries.get(slot)
        if entry is None:
            entry = led.LedgerEntry(
                identifier_type,
                identifier_hmac,
                _new_pseudonym(self.key, identifier_type, value),
                links,
                self.request_id,
            )
            self.new_entries[slot] = entry
        elif links and not entry.links_contacts:
            entry.links_contacts = True
            if slot in self.ledger:
                self.upgraded.append(identifier_hmac)
        self.maps[identifier_type][value] = entry.pseudonym
        return entry

    def flush(self) -> None:
        led.save_entries(self.con, list(self.new_entries.values()), self.now)
        led.upgrade_links(self.con, self.upgraded)
        self.ledger.update(self.new_entries)
        self.new_entries = {}
        self.upgraded = []

    def found_new_identifiers(self) -> bool:
        return any(slot[0] != RECORD_ID for slot in self.new_entries)

    # -- resolution

    def seed_from_ledger(self, scope: Scope) -> int:
        """The identifiers of erased people among the values of the day's records."""
        rules = TABLE_RULES[scope.table]
        fields = _rule_fields(rules)
        seen = " union all ".join(
            f"select '{kind}' as identifier_type, {alias} as value from day_values"
            for alias, _, kind in fields
        )
        self.con.execute(
            f"""
            insert into _erasure_ids
            with
            day_values as ({extract_sql(rules.table, fields, scope.where(rules.table))}),
            values_seen as (
                select distinct identifier_type, value from ({seen})
                where value is not null and value {_NOT_PSEUDONYM}
            )
            select values_seen.identifier_type, values_seen.value, bool_or(ledger.links_contacts)
            from values_seen
            inner join raw.erasure_ledger as ledger
                on
                    ledger.identifier_type = values_seen.identifier_type
                    and ledger.identifier_hmac = {HMAC_MACRO}(values_seen.value)
            group by all
            """
        )
        return self.con.execute("select count(*) from _erasure_ids").fetchone()[0]

    def resolve(self, scope: Scope) -> int:
        """Extend the identifiers in `_erasure_ids` along the links found in `scope`."""
        self.con.execute(_extract_sql(scope))
        return self.follow_links()

    def follow_links(self) -> int:
        """The closure over the extracted links; every identifier gets its ledger entry.

        Returns how many identifiers (record ids aside) the person has.
        """
        self.extend_to_closure()
        found = self.con.execute(
            "select identifier_type, value, bool_or(links_contacts) from _erasure_ids "
            "group by all order by all"
        ).fetchall()
        for identifier_type, value, links in found:
            self.entry(identifier_type, value, links)
        return len({(t, v) for t, v, _ in found})

    def extend_to_closure(self) -> None:
        """Add to `_erasure_ids` what the extracted links reach, until nothing new."""
        while self.con.execute(CLOSURE_SQL).fetchone()[0]:
            pass

    def keep_links_touching_ids(self) -> None:
        """Drop the extracted link rows that hold none of the identifiers in `_erasure_ids`.

        A walk from any subset of these identifiers only follows rows that hold one of
        them, so it finds the same identifiers in what is left. Every text column counts,
        whichever CLOSURE_SQL links from: a new link needs no change here.
        """
        for table in LINK_TABLES:
            columns = [
                row[0]
                for row in self.con.execute(
                    "select column_name from duckdb_columns() "
                    "where database_name = 'temp' and table_name = ? and data_type = 'VARCHAR'",
                    [table],
                ).fetchall()
            ]
            touching = " or ".join(
                f"{column} in (select value from _erasure_ids)" for column in columns
            )
            self.con.execute(f"delete from {table} where not coalesce({touching}, false)")

    # -- rewriting

    def rewrite(self, scope: Scope) -> ErasureSummary:
        summary = ErasureSummary()
        for rules in TABLE_RULES.values():
            if scope.includes(rules.table):
                summary.records_anonymised += self._rewrite_table(rules, scope)
        summary.identifiers = sum(len(v) for t, v in self.maps.items() if t != RECORD_ID)
        self.flush()
        summary.rejected_records_erased = self.erase_rejected(scope)
        return summary

    def _rewrite_table(self, rules: TableRules, scope: Scope) -> int:
        fields = _rule_fields(rules)
        mentions = " or ".join(
            f"{alias} in (select value from _erasure_ids where identifier_type = '{kind}')"
            for alias, _, kind in fields
        )
        located = extract_sql(
            rules.table, fields, scope.where(rules.table), "dt, file, line, record"
        )
        rows = self.con.execute(
            f"select dt, file, line, cast(record as varchar) from ({located}) where {mentions}"
        ).fetchall()
        if not rows:
            return 0
        records = [
            json.dumps(
                self.rewrite_record(rules, json.loads(text)),
                ensure_ascii=False,
                separators=(",", ":"),
            )
            for _, _, _, text in rows
        ]
        # loaded_at moves on: incremental models rebuild the days whose rows changed.
        self.con.execute(
            f"""
            update raw.{rules.table}
            set record = cast(updates.record as json), loaded_at = ?
            from (
                select unnest(?) as dt, unnest(?) as file, unnest(?) as line, unnest(?) as record
            ) as updates
            where
                {rules.table}.dt = updates.dt
                and {rules.table}.file = updates.file
                and {rules.table}.line = updates.line
            """,
            [
                self.now,
                [row[0] for row in rows],
                [row[1] for row in rows],
                [row[2] for row in rows],
                records,
            ],
        )
        return len(rows)

    def _holds(self, record: dict, path: JsonPath, identifier_type: str) -> bool:
        value = normalise(_get(record, path), identifier_type)
        return value is not None and value in self.maps[identifier_type]

    def is_persons(self, rules: TableRules, record: dict) -> bool:
        if any(self._holds(record, path, t) for path, t in rules.owners):
            return True
        return (
            rules.guest_email is not None
            and self._holds(record, rules.guest_email, EMAIL)
            and normalise(_get(record, ("contact_id",)), CONTACT_ID) is None
        )

    def rewrite_record(self, rules: TableRules, record: dict) -> dict:
        persons = self.is_persons(rules, record)
        if persons and rules.keeps_spec_fields_only:
            # Columns outside the contract may hold anything: the person's rows drop them.
            kept = set(rules.spec.csv_columns)
            record = {name: value for name, value in record.items() if name in kept}
        for path, identifier_type in rules.identifiers:
            value = normalise(_get(record, path), identifier_type)
            if value is not None and value in self.maps[identifier_type]:
                _set(record, path, self.maps[identifier_type][value])
        if persons:
            for path in rules.record_ids:
                value = normalise(_get(record, path), RECORD_ID)
                if value is not None and not value.startswith(PSEUDONYM_PREFIX):
                    _set(record, path, self.entry(RECORD_ID, value).pseudonym)
            for path in rules.scrubbed:
                _set(record, path, None)
            for path in rules.reduced:
                node = _get(record, path)
                if isinstance(node, dict):
                    _set(record, path, {k: v for k, v in node.items() if k == "email"})
        return self._deep(record)

    def _deep(self, node: object) -> object:
        if isinstance(node, dict):
            return {name: self._deep(value) for name, value in node.items()}
        if isinstance(node, list):
            return [self._deep(value) for value in node]
        if isinstance(node, str):
            return self._scrub_text(node)
        return node

    def _known(self, value: str, types: tuple[str, ...]) -> led.LedgerEntry | None:
        """The ledger entry of a value (by its keyed hash), if it is an erased identifier.

        Looking values up in the ledger rather than in this pass's own identifiers makes
        a record rewritten on arrival come out exactly as the request's pass wrote it.
        """
        identifier_hmac = self.key.hmac(value)
        for identifier_type in types:
            slot = (identifier_type, identifier_hmac)
            entry = self.ledger.get(slot) or self.new_entries.get(slot)
            if entry is not None:
                return entry
        return None

    def _scrub_text(self, text: str) -> str | None:
        """Any string of a rewritten record: an erased identifier as a whole value, or
        an erased email address inside longer text (a URL's `?email=`)."""
        stripped = text.strip()
        if not stripped or stripped.startswith(PSEUDONYM_PREFIX):
            return text
        if "@" in stripped or "%40" in stripped:
            entry = self._known(stripped.lower(), (EMAIL,))
            if entry is not None:
                return entry.pseudonym
            return _EMAIL_IN_TEXT.sub(self._replace_email, text)
        if self._known(stripped, (IP,)) is not None:
            return None
        if len(stripped) >= DEEP_MATCH_MIN_LENGTH:
            entry = self._known(stripped, (ANONYMOUS_ID, RECORD_ID, ORDER_ID, CONTACT_ID))
            if entry is not None:
                return entry.pseudonym
        return text

    def _replace_email(self, match: re.Match) -> str:
        found = match.group(0)
        entry = self._known(found.lower().replace("%40", "@"), (EMAIL,))
        return entry.pseudonym if entry is not None else found

    def erase_rejected(self, scope: Scope) -> int:
        """Rejected records that carry an erased identifier keep their file, line and
        reason (so the counts still reconcile) but lose their text."""
        self.con.execute(
            f"""
            create or replace temp table _erasure_rejected_hits as
            with
            candidates as (
                select rowid as row_id, raw_record
                from raw.rejected_records
                where
                    ({scope.where_rejected()})
                    and raw_record is not null
                    and raw_record <> '{ERASED_REJECTED_RECORD}'
            ),
            tokens as (
                select row_id, unnest(regexp_extract_all(raw_record, '[A-Za-z0-9._%+@-]{{3,}}'))
                    as token
                from candidates
            ),
            hashed as (
                select token, {HMAC_MACRO}(token) as exact_hmac, {HMAC_MACRO}(lower(token))
                    as lower_hmac
                from (select distinct token from tokens)
            ),
            known as (select identifier_hmac from raw.erasure_ledger)
            select distinct tokens.row_id
            from tokens
            inner join hashed on tokens.token = hashed.token
            where
                hashed.exact_hmac in (select identifier_hmac from known)
                or hashed.lower_hmac in (select identifier_hmac from known)
            """
        )
        return self.con.execute(
            f"""
            update raw.rejected_records
            set
                raw_record = '{ERASED_REJECTED_RECORD}',
                reason = regexp_replace(reason, '''[^'']*''', '''[erased]''', 'g'),
                loaded_at = ?
            where rowid in (select row_id from _erasure_rejected_hits)
            """,
            [self.now],
        ).fetchone()[0]
