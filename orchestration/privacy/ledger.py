"""The erasure ledger: what stays behind so that an erasure is permanent.

`raw.erasure_ledger` holds, for every identifier of an erased person, its keyed hash
(HMAC-SHA256 of the normalised value, see `keys.py`) and the pseudonym that replaced it,
never the value itself. A later delivery of the person's old records is recognised by
hashing the identifiers it carries and is anonymised on arrival with the same
pseudonyms, so deduplication (a re-sent message, a newer version of an order) works as
it did before the erasure and the aggregates keep their counts.

`raw.erasure_requests_applied` records which requests were carried out, when, and how
many identifiers and records they touched (an audit trail without personal data).
`raw.erasure_key_check` holds the fingerprint of the key the ledger was written with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

LEDGER_DDL = """
create schema if not exists raw;
create table if not exists raw.erasure_ledger (
    identifier_type varchar not null,
    identifier_hmac varchar not null,
    pseudonym varchar,
    links_contacts boolean not null,
    request_id varchar,
    recorded_at timestamptz not null
);
create table if not exists raw.erasure_requests_applied (
    request_id varchar not null,
    email_hmac varchar not null,
    applied_at timestamptz not null,
    identifiers bigint not null,
    records_anonymised bigint not null,
    rejected_records_erased bigint not null
);
create table if not exists raw.erasure_key_check (
    fingerprint varchar not null,
    created_at timestamptz not null
);
"""


@dataclass
class LedgerEntry:
    identifier_type: str
    identifier_hmac: str
    pseudonym: str | None
    links_contacts: bool
    request_id: str | None


def ensure_ledger_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(LEDGER_DDL)


def ledger_is_empty(con: duckdb.DuckDBPyConnection) -> bool:
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'raw' and table_name = 'erasure_ledger'"
    ).fetchone()[0]
    if not exists:
        return True
    return con.execute("select count(*) = 0 from raw.erasure_ledger").fetchone()[0]


def load_ledger(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], LedgerEntry]:
    rows = con.execute(
        "select identifier_type, identifier_hmac, pseudonym, links_contacts, request_id "
        "from raw.erasure_ledger"
    ).fetchall()
    return {(row[0], row[1]): LedgerEntry(*row) for row in rows}


def save_entries(
    con: duckdb.DuckDBPyConnection, entries: list[LedgerEntry], recorded_at: dt.datetime
) -> None:
    """Insert new entries; an entry already present only ever gains `links_contacts`."""
    if not entries:
        return
    columns = list(
        zip(
            *[
                (e.identifier_type, e.identifier_hmac, e.pseudonym, e.links_contacts, e.request_id)
                for e in entries
            ],
            strict=True,
        )
    )
    con.execute(
        """
        insert into raw.erasure_ledger
        select
            unnest(?::varchar[]),
            unnest(?::varchar[]),
            unnest(?::varchar[]),
            unnest(?::boolean[]),
            unnest(?::varchar[]),
            ?
        """,
        [*[list(column) for column in columns], recorded_at],
    )


def upgrade_links(con: duckdb.DuckDBPyConnection, hmacs: list[str]) -> None:
    if hmacs:
        con.execute(
            "update raw.erasure_ledger set links_contacts = true "
            "where identifier_type = 'email' and identifier_hmac in (select unnest(?))",
            [hmacs],
        )
