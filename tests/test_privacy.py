"""Erasure requests (sources.md, privacy/erasure_requests) and the published copy's privacy.

After the run that loads a request, no table and no published file holds the person's
email, name, phone or ip, nor a key that joins back to them; the aggregates keep their
counts; a later delivery of their old records, or a rerun, does not bring them back.
The published copy holds no email, name, phone or ip of anyone.

The first tests carry out requests on hand-written records loaded by the real loader;
the last ones run the Dagster pipeline on generated data.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from journey_tools.sample_data import generate_landing
from orchestration.definitions import build_definitions
from orchestration.ingestion.loader import (
    ensure_raw_schema,
    landing_days,
    load_partitions,
    reconciliation_failures,
)
from orchestration.ingestion.specs import ENTITY_SPECS, spec_for
from orchestration.privacy import (
    ErasureKey,
    ErasureKeyError,
    apply_erasure_requests,
    apply_ledger_to_partitions,
)
from orchestration.privacy.keys import KEY_FILE_ENV, KEY_FILE_NAME
from orchestration.privacy.rules import ERASED_REJECTED_RECORD, PSEUDONYM_PREFIX
from orchestration.settings import Settings
from tests.conftest import DAY

NEXT_DAY = DAY + dt.timedelta(days=1)
LAST_DAY = DAY + dt.timedelta(days=2)

# --------------------------------------------------------------- hand-written records

ANN = {
    "emails": ["ann@example.com", "ann.lee@old-mail.example.net"],
    "contact_ids": ["c-1", "c-2"],
    "devices": ["a-1", "a-2"],
    "orders": ["o-1", "o-2"],
    "messages": ["m-1", "m-2", "m-3", "m-5", "m-6"],
    "email_events": ["e-1", "msg-1"],
    "names": ["Ann", "Lee"],
    "phone": "+49 151 2345678",
    "ips": ["10.1.1.1", "10.2.2.2"],
}
BOB = ["c-3", "bob@example.com", "a-9", "o-3", "Bob", "Stone", "10.9.9.9", "undefined"]


def _contact(contact_id, email, first, last, merged_into="", updated="2026-03-10T10:00:00Z"):
    return {
        "contact_id": contact_id,
        "email": email,
        "first_name": first,
        "last_name": last,
        "phone": ANN["phone"] if first == "Ann" else "",
        "country": "DE",
        "lifecycle_stage": "lead",
        "original_source": "ORGANIC_SEARCH",
        "marketing_opt_in": "true",
        "merged_into_contact_id": merged_into,
        "created_at": "2026-03-01T10:00:00Z",
        "updated_at": updated,
        "favourite_colour": "teal",  # schema drift: not in the contract
    }


def _order(order_id, contact_id, email):
    return {
        "order_id": order_id,
        "contact_id": contact_id,
        "email": email,
        "ordered_at": "2026-03-10T09:00:00Z",
        "status": "completed",
        "currency": "EUR",
        "subtotal": "100.00",
        "discount": "0.00",
        "shipping": "0.00",
        "tax": "19.00",
        "total": "119.00",
        "discount_code": "",
        "items_count": "1",
        "updated_at": "2026-03-10T09:00:00Z",
    }


def _message(message_id, anonymous_id, user_id=None, ip=None, **extra):
    message = {
        "messageId": message_id,
        "type": "page",
        "anonymousId": anonymous_id,
        "userId": user_id,
        "timestamp": "2026-03-10T08:00:00Z",
        "context": {"page": {"url": "https://shop.example/p/1"}, "ip": ip},
    }
    message.update(extra)
    return message


WEB = [
    _message("m-1", "a-1", "c-2", "10.1.1.1"),
    # the same device before logging in, on a link that carried her address
    _message(
        "m-2",
        "a-1",
        None,
        "10.1.1.1",
        properties={"url": "https://shop.example/p/1?email=Ann%40Example.com&x=1"},
    ),
    _message(
        "m-3",
        "a-2",
        None,
        "10.1.1.1",
        type="identify",
        traits={"email": "ANN@example.com", "first_name": "Ann", "last_name": "Lee"},
    ),
    _message("m-4", "a-9", "c-3", "10.9.9.9"),  # Bob
    _message("m-5", "undefined", "c-1"),  # a placeholder anonymousId: nobody's device
    _message(
        "m-6",
        "a-1",
        "c-2",
        None,
        type="track",
        event="Order Completed",
        properties={"order_id": "o-1", "revenue": 119.0},
    ),
]
EMAIL_EVENTS = [
    {
        "sg_event_id": "e-1",
        "sg_message_id": "msg-1",
        "email": " Ann@Example.com ",
        "timestamp": 1773130000,
        "event": "open",
        "ip": "10.2.2.2",
    },
    {
        "sg_event_id": "e-2",
        "sg_message_id": "msg-2",
        "email": "bob@example.com",
        "timestamp": 1773130000,
        "event": "open",
    },
]
# A message without messageId is rejected, with Ann's device id in its text.
REJECTED_LINE = json.dumps({"type": "page", "anonymousId": "a-1", "timestamp": "2026-03-10"})


def _load_everything(load, day=DAY):
    for spec in ENTITY_SPECS:
        load(spec.source, spec.entity, day)


@pytest.fixture
def key_file(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    return tmp_path / KEY_FILE_NAME


@pytest.fixture
def ann_and_bob(landing, load):
    landing.write_csv(
        "crm",
        "contacts",
        "contacts.csv",
        [
            _contact("c-1", "ann@example.com", "Ann", "Lee"),
            _contact("c-2", "ANN.LEE@old-mail.example.net", "Ann", "Lee", merged_into="c-1"),
            _contact("c-3", "bob@example.com", "Bob", "Stone"),
        ],
    )
    landing.write_csv(
        "crm",
        "orders",
        "orders.csv",
        [
            _order("o-1", "c-1", "ann@example.com"),
            _order("o-2", "", " ann.lee@old-mail.example.net "),  # a guest order
            _order("o-3", "c-3", "bob@example.com"),
        ],
    )
    landing.write_jsonl("web", "events", "events.jsonl", [*WEB, REJECTED_LINE])
    landing.write_jsonl("email", "events", "events.jsonl", EMAIL_EVENTS)
    landing.write_csv(
        "privacy",
        "erasure_requests",
        "requests.csv",
        [{"request_id": "r-1", "email": " ANN@example.com ", "requested_at": "2026-03-10T12:00Z"}],
    )
    _load_everything(load)


def _raw_texts(con: duckdb.DuckDBPyConnection) -> str:
    """Every record and rejected text in raw, one per line."""
    texts = []
    for spec in ENTITY_SPECS:
        texts += [
            t
            for (t,) in con.execute(
                f"select cast(record as varchar) from raw.{spec.table}"
            ).fetchall()
        ]
    texts += [
        t or "" for (t,) in con.execute("select raw_record from raw.rejected_records").fetchall()
    ]
    for table in ("erasure_ledger", "erasure_requests_applied", "erasure_key_check"):
        texts += [str(row) for row in con.execute(f"select * from raw.{table}").fetchall()]
    return "\n".join(texts)


def _tokens_found(text: str, values) -> set[str]:
    found = set()
    for value in values:
        pattern = r"(?<![\w.@%+-])" + re.escape(value) + r"(?![\w@-]|\.\w)"
        if re.search(pattern, text, re.IGNORECASE):
            found.add(value)
    return found


def _ann_values() -> list[str]:
    return [
        *ANN["emails"],
        "ann%40example.com",
        *ANN["contact_ids"],
        *ANN["devices"],
        *ANN["orders"],
        *ANN["messages"],
        *ANN["email_events"],
        *ANN["names"],
        ANN["phone"],
        *ANN["ips"],
    ]


def _record(con, table: str, line: int, day: dt.date = DAY) -> dict:
    rows = con.execute(
        f"select cast(record as varchar) from raw.{table} where dt = ? and line = ?", [day, line]
    ).fetchall()
    assert len(rows) == 1, (table, day, line, rows)
    return json.loads(rows[0][0])


def test_a_request_erases_the_person_across_merges_devices_orders_and_rejected_records(
    ann_and_bob, con, tmp_path, key_file
):
    rejected_before = con.execute("select count(*) from raw.rejected_records").fetchone()[0]

    summary = apply_erasure_requests(con, tmp_path)

    assert summary.requests_applied == ["r-1"]
    text = _raw_texts(con)
    assert _tokens_found(text, _ann_values()) == set()
    assert _tokens_found(text, BOB) == set(BOB), "nobody else is touched"
    # Her rejected record keeps its file, line and reason; the counts still reconcile.
    assert con.execute("select count(*) from raw.rejected_records").fetchone()[0] == rejected_before
    assert con.execute(
        "select raw_record, reason from raw.rejected_records where source = 'web'"
    ).fetchall() == [(ERASED_REJECTED_RECORD, "missing messageId")]
    for spec in ENTITY_SPECS:
        assert reconciliation_failures(con, spec) == []
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_erasure_renames_each_identifier_once_so_every_link_and_count_survives(
    ann_and_bob, con, tmp_path, key_file
):
    apply_erasure_requests(con, tmp_path)

    # CSV records are on lines 2.. (after the header), web messages on lines 1..
    c1, c2 = _record(con, "crm_contacts", 2), _record(con, "crm_contacts", 3)
    o1, o2 = _record(con, "crm_orders", 2), _record(con, "crm_orders", 3)
    m1, m2, m5, m6 = (_record(con, "web_events", line) for line in (1, 2, 5, 6))

    assert c2["merged_into_contact_id"] == c1["contact_id"]  # the merge still holds
    assert c1["contact_id"].startswith(PSEUDONYM_PREFIX)
    assert o1["contact_id"] == c1["contact_id"]
    assert m1["userId"] == c2["contact_id"] == m6["userId"]
    assert m1["anonymousId"] == m2["anonymousId"] == m6["anonymousId"]  # one device
    assert m6["properties"]["order_id"] == o1["order_id"]  # the web order is the CRM order
    assert m6["properties"]["revenue"] == 119.0
    assert o2["email"] == c2["email"]  # the guest order still resolves to her
    assert m5["userId"] == c1["contact_id"]  # a placeholder device stays a placeholder
    # Her personal fields and the columns outside the contract are gone; facts stay.
    assert c1["first_name"] is c1["last_name"] is c1["phone"] is None
    assert "favourite_colour" not in c1
    assert (c1["country"], c1["marketing_opt_in"]) == ("DE", "true")
    assert m1["context"]["ip"] is None
    assert c1["email"].endswith("@erased.person")
    request = _record(con, "privacy_erasure_requests", 2)
    assert request["email"] == c1["email"] and request["request_id"] == "r-1"
    # The ledger keeps keyed hashes, not values.
    hashes = con.execute("select identifier_hmac from raw.erasure_ledger").fetchall()
    key = ErasureKey.load(tmp_path, create=False)
    assert (key.hmac("ann@example.com"),) in hashes
    assert all(re.fullmatch("[0-9a-f]{64}", h) for (h,) in hashes)


def test_a_later_delivery_of_their_old_records_is_anonymised_on_arrival(
    ann_and_bob, landing, load, con, tmp_path, key_file
):
    apply_erasure_requests(con, tmp_path)
    first_m1, first_m2 = _record(con, "web_events", 1), _record(con, "web_events", 2)
    # Her old records again, a day later: a retried message, an old contact version, a
    # guest order, and the malformed line.
    landing.write_jsonl(
        "web", "events", "again.jsonl", [WEB[0], WEB[1], REJECTED_LINE], day=NEXT_DAY
    )
    landing.write_csv(
        "crm",
        "contacts",
        "again.csv",
        [_contact("c-2", "ann.lee@old-mail.example.net", "Ann", "Lee", merged_into="c-1")],
        day=NEXT_DAY,
    )
    landing.write_csv(
        "crm",
        "orders",
        "again.csv",
        [_order("o-2", "", "ann.lee@old-mail.example.net")],
        day=NEXT_DAY,
    )
    landing.write_jsonl("email", "events", "again.jsonl", EMAIL_EVENTS[:1], day=NEXT_DAY)
    for source, entity in [
        ("web", "events"),
        ("crm", "contacts"),
        ("crm", "orders"),
        ("email", "events"),
    ]:
        load(source, entity, NEXT_DAY)
        apply_ledger_to_partitions(con, tmp_path, spec_for(source, entity), [NEXT_DAY])

    assert _tokens_found(_raw_texts(con), _ann_values()) == set()
    # Rewritten exactly as the request's pass wrote them: staging still deduplicates.
    assert _record(con, "web_events", 1, NEXT_DAY) == first_m1
    assert _record(con, "web_events", 2, NEXT_DAY) == first_m2
    assert first_m2["properties"]["url"].startswith("https://shop.example/p/1?email=erased-")
    assert (
        con.execute(
            "select count(*) from raw.rejected_records where raw_record = ?",
            [ERASED_REJECTED_RECORD],
        ).fetchone()[0]
        == 2
    )


def test_a_new_device_of_an_erased_person_is_followed_back_to_earlier_days(
    ann_and_bob, landing, load, con, tmp_path, key_file
):
    apply_erasure_requests(con, tmp_path)
    # Day 2: anonymous browsing on a new device; day 3: the device logs in as Ann.
    landing.write_jsonl("web", "events", "new.jsonl", [_message("m-7", "a-3")], day=NEXT_DAY)
    landing.write_jsonl("web", "events", "new.jsonl", [_message("m-8", "a-3", "c-1")], day=LAST_DAY)
    web = spec_for("web", "events")
    load("web", "events", NEXT_DAY)
    assert not apply_ledger_to_partitions(con, tmp_path, web, [NEXT_DAY]).records_anonymised
    load("web", "events", LAST_DAY)

    summary = apply_ledger_to_partitions(con, tmp_path, web, [LAST_DAY])

    assert summary.widened_to_all_days
    assert _tokens_found(_raw_texts(con), ["a-3", "c-1", "m-7", "m-8"]) == set()
    earlier = _record(con, "web_events", 1, NEXT_DAY)
    later = _record(con, "web_events", 1, LAST_DAY)
    assert earlier["anonymousId"] == later["anonymousId"]


def test_a_rerun_of_the_request_changes_nothing_and_a_lost_key_stops_the_run(
    ann_and_bob, landing, load, con, tmp_path, key_file
):
    apply_erasure_requests(con, tmp_path)
    before = _raw_texts(con)
    load("privacy", "erasure_requests", DAY)  # the request file loaded again

    again = apply_erasure_requests(con, tmp_path)

    assert again.requests_applied == [] and _raw_texts(con) == before
    key_file.unlink()
    load("web", "events", DAY)
    with pytest.raises(ErasureKeyError, match="missing"):
        apply_ledger_to_partitions(con, tmp_path, spec_for("web", "events"), [DAY])
    key_file.write_text("00" * 32)
    with pytest.raises(ErasureKeyError, match="does not match"):
        apply_ledger_to_partitions(con, tmp_path, spec_for("web", "events"), [DAY])


def test_requests_loaded_together_are_carried_out_in_one_pass_each_with_its_audit_row(
    ann_and_bob, landing, load, con, tmp_path, key_file
):
    landing.write_csv(
        "privacy",
        "erasure_requests",
        "requests.csv",
        [
            {"request_id": "r-1", "email": "ann@example.com", "requested_at": "2026-03-10T12:00Z"},
            {"request_id": "r-2", "email": "BOB@example.com", "requested_at": "2026-03-10T13:00Z"},
        ],
    )
    load("privacy", "erasure_requests", DAY)

    summary = apply_erasure_requests(con, tmp_path)

    assert sorted(summary.requests_applied) == ["r-1", "r-2"]
    assert _tokens_found(_raw_texts(con), [*_ann_values(), *BOB[:-1]]) == set()
    audit = dict(
        con.execute("select request_id, identifiers from raw.erasure_requests_applied").fetchall()
    )
    assert audit["r-1"] > audit["r-2"] > 0  # Ann has more identifiers than Bob
    attributed = con.execute(
        "select request_id, count(*) from raw.erasure_ledger group by 1 order by 1"
    ).fetchall()
    assert [request_id for request_id, _ in attributed] == ["r-1", "r-2"]


def test_a_request_for_someone_not_loaded_yet_erases_them_when_they_arrive(
    landing, load, con, tmp_path, key_file
):
    landing.write_csv(
        "privacy",
        "erasure_requests",
        "requests.csv",
        [{"request_id": "r-9", "email": "ann@example.com", "requested_at": "2026-03-10T12:00Z"}],
    )
    load("privacy", "erasure_requests", DAY)
    assert apply_erasure_requests(con, tmp_path).requests_applied == ["r-9"]
    landing.write_csv(
        "crm",
        "contacts",
        "contacts.csv",
        [_contact("c-1", "Ann@Example.com", "Ann", "Lee")],
        day=NEXT_DAY,
    )
    landing.write_jsonl("web", "events", "events.jsonl", [WEB[0], WEB[4]], day=NEXT_DAY)

    for source, entity in [("crm", "contacts"), ("web", "events")]:
        load(source, entity, NEXT_DAY)
        apply_ledger_to_partitions(con, tmp_path, spec_for(source, entity), [NEXT_DAY])

    assert _tokens_found(_raw_texts(con), ["ann@example.com", "c-1", "Ann", "Lee"]) == set()


def test_the_sql_hmac_is_hmac_sha256():
    key = ErasureKey(bytes(range(32)))
    con = duckdb.connect()
    con.execute(key.sql_macro("keyed"))
    for value in ["ann@example.com", "", "Łukasz", "x" * 200]:
        assert con.execute("select keyed(?)", [value]).fetchone()[0] == key.hmac(value)


# ------------------------------------------------------------- the pipeline, end to end

START = dt.date(2026, 2, 1)
DAYS = 5
CUSTOMERS = 60
SEED = 7
JOB = "privacy_test_job"


@dataclass
class Person:
    """What the warehouse held about the person before the request (all lower-case)."""

    customer_id: str
    request_email: str
    values: set[str] = field(default_factory=set)  # emails, ids, ips, phones, hashes
    names: set[tuple[str, str]] = field(default_factory=set)
    contact_ids: set[str] = field(default_factory=set)
    devices: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    order_ids: set[str] = field(default_factory=set)


@dataclass
class Runs:
    settings: Settings
    person: Person
    baseline_kpis: list
    baseline_counts: dict
    opt_in_mismatches: list
    opt_in_values: set
    landing_pii: dict
    baseline_traces: list[str]
    after_request: dict = field(default_factory=dict)
    after_redelivery: dict = field(default_factory=dict)
    redelivered: dict = field(default_factory=dict)


def _run(settings: Settings, instance, first: dt.date, last: dt.date, selection) -> None:
    """The pipeline's own assets, in-process, over a partition range.

    dbt data tests (asset checks) and unit tests are left out to keep this test fast
    (test_pipeline.py runs them); what matters here is what the assets write.
    """
    defs = build_definitions(settings)
    chosen = selection.resolve(defs.resolve_asset_graph())
    selection = selection.without_checks()
    for assets in defs.assets or []:
        # Python assets that check themselves cannot run without their own checks.
        if (
            isinstance(assets, dg.AssetsDefinition)
            and assets.check_keys
            and not assets.can_subset
            and set(assets.keys) <= chosen
        ):
            selection = selection | dg.AssetSelection.checks(*assets.check_keys)
    defs = dg.Definitions.merge(
        defs, dg.Definitions(jobs=[dg.define_asset_job(JOB, selection=selection)])
    )
    result = defs.resolve_job_def(JOB).execute_in_process(
        instance=instance,
        tags={
            ASSET_PARTITION_RANGE_START_TAG: first.isoformat(),
            ASSET_PARTITION_RANGE_END_TAG: last.isoformat(),
        },
        raise_on_error=False,
    )
    failures = [str(e.step_failure_data.error) for e in result.all_events if e.is_step_failure]
    assert result.success, failures[:1]


def _relations(con: duckdb.DuckDBPyConnection, catalog: str) -> list[tuple[str, str, list[str]]]:
    rows = con.execute(
        """
        select table_schema, table_name, list(column_name order by ordinal_position)
        from information_schema.columns
        where table_catalog = ?
        group by all
        order by all
        """,
        [catalog],
    ).fetchall()
    return [(schema, table, columns) for schema, table, columns in rows]


def _row_text(columns: list[str]) -> str:
    casts = ", ".join(f"coalesce(cast(\"{c}\" as varchar), '')" for c in columns)
    return f"lower(concat_ws(' | ', {casts}))"


_EDGE = "[^a-z0-9._%+@-]"


def _re2_escape(value: str) -> str:
    """Escape for DuckDB's RE2, which rejects Python's escaped spaces."""
    return re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", value)


def _alternation(values) -> str:
    return "|".join(_re2_escape(v.lower()) for v in sorted(values, key=len, reverse=True))


def _traces(con: duckdb.DuckDBPyConnection, catalog: str, person: Person) -> list[str]:
    """Every table or view of the catalog whose rows mention the person."""
    values = f"(?:^|{_EDGE})({_alternation(person.values)})(?:$|{_EDGE})"
    hits = []
    for schema, table, columns in _relations(con, catalog):
        relation = f'{catalog}."{schema}"."{table}"'
        text = _row_text(columns)
        for (found,) in con.execute(
            f"select regexp_extract({text}, ?, 1) from {relation} "
            f"where regexp_matches({text}, ?) limit 3",
            [values, values],
        ).fetchall():
            hits.append(f"{schema}.{table}: {found}")
        for first, last in person.names:
            names = [f"(?:^|{_EDGE}){_re2_escape(name)}(?:$|{_EDGE})" for name in (first, last)]
            both = con.execute(
                f"select count(*) from {relation} "
                f"where regexp_matches({text}, ?) and regexp_matches({text}, ?)",
                names,
            ).fetchone()[0]
            if both:
                hits.append(f"{schema}.{table}: name {first} {last}")
    return hits


def _anyones_pii(con: duckdb.DuckDBPyConnection, catalog: str, pii: dict) -> list[str]:
    """Cells that are a landing name or phone, or hold an email address or an IPv4."""
    email = r"[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)+"
    ip = r"(^|[^0-9.])[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}($|[^0-9.])"
    con.execute("create or replace temp table landing_names (value varchar)")
    con.execute("insert into landing_names select unnest(?)", [sorted(pii["names"])])
    con.execute("create or replace temp table landing_phones (value varchar)")
    con.execute("insert into landing_phones select unnest(?)", [sorted(pii["phones"])])
    hits = []
    for schema, table, columns in _relations(con, catalog):
        cells = ", ".join(f'cast("{c}" as varchar)' for c in columns)
        rows = con.execute(
            f"""
            select distinct cell from (
                select lower(trim(unnest([{cells}]))) as cell from {catalog}."{schema}"."{table}"
            )
            where
                cell in (select value from landing_names)
                or cell in (select value from landing_phones)
                or regexp_matches(cell, ?)
                or regexp_matches(cell, ?)
            limit 3
            """,
            [email, ip],
        ).fetchall()
        hits += [f"{schema}.{table}: {cell}" for (cell,) in rows]
    return hits


def _published_catalogs(con: duckdb.DuckDBPyConnection, published: Path) -> list[str]:
    """Attach bi.duckdb, and a schema of views over the Parquet files."""
    con.execute(f"attach '{published / 'bi.duckdb'}' as bi (read_only)")
    con.execute("attach ':memory:' as parquet")
    con.execute("create schema parquet.files")
    for path in sorted((published / "parquet").glob("*.parquet")):
        con.execute(
            f"create view parquet.files.\"{path.stem}\" as select * from read_parquet('{path}')"
        )
    return ["bi", "parquet"]


def _state(settings: Settings, person: Person, control: Person, landing_pii: dict) -> dict:
    con = duckdb.connect()
    try:
        con.execute(f"attach '{settings.warehouse_path}' as journey (read_only)")
        catalogs = _published_catalogs(con, settings.published_dir)
        return {
            "warehouse_traces": _traces(con, "journey", person),
            "published_traces": [t for c in catalogs for t in _traces(con, c, person)],
            "control_published_traces": [t for c in catalogs for t in _traces(con, c, control)],
            "published_pii": [t for c in catalogs for t in _anyones_pii(con, c, landing_pii)],
            "kpis": _kpis(con, "journey"),
            "counts": _counts(con, "journey"),
            "published_tables": len(_relations(con, "bi")),
        }
    finally:
        con.close()


def _kpis(con, catalog: str) -> list:
    return con.execute(f"select * from {catalog}.marts.kpi_daily order by all").fetchall()


COUNTED_MARTS = ("dim_customers", "fct_sessions", "fct_orders", "fct_touchpoints")


def _counts(con, catalog: str) -> dict:
    return {
        table: con.execute(f"select count(*) from {catalog}.marts.{table}").fetchone()[0]
        for table in COUNTED_MARTS
    }


def _control(con: duckdb.DuckDBPyConnection, erased: Person) -> Person:
    """Another buyer, not erased: what the scans must still find."""
    (customer_id,) = con.execute(
        "select customer_id from marts.dim_customers "
        "where orders_count > 0 and crm_contact_id is not null and customer_id <> ? "
        "order by customer_id limit 1",
        [erased.customer_id],
    ).fetchone()
    orders = con.execute(
        "select order_id from marts.fct_orders where customer_id = ?", [customer_id]
    ).fetchall()
    return Person(customer_id, "", values={customer_id.lower(), *(o.lower() for (o,) in orders)})


def _scan_warehouse(settings: Settings, person: Person) -> list[str]:
    con = duckdb.connect()
    try:
        con.execute(f"attach '{settings.warehouse_path}' as journey (read_only)")
        return _traces(con, "journey", person)
    finally:
        con.close()


def _choose_buyer(landing: Path) -> str:
    """A contact with orders and logged-in web visits, never merged into another."""
    con = duckdb.connect()
    try:
        ensure_raw_schema(con)
        for spec in ENTITY_SPECS:
            load_partitions(con, landing, spec, landing_days(landing, spec))
        row = con.execute(
            """
            select trim(record->>'contact_id') as contact_id
            from raw.crm_contacts
            group by 1
            having
                bool_and(record->>'merged_into_contact_id' is null)
                and bool_and(record->>'email' like '%@%.%')
                and contact_id in (select trim(record->>'contact_id') from raw.crm_orders)
                and contact_id in (select trim(record->>'userId') from raw.web_events)
            order by 1
            limit 1
            """
        ).fetchone()
    finally:
        con.close()
    assert row, "the generated landing holds a contact with orders and web visits"
    return row[0]


def _add_duplicate(landing: Path, contact_id: str, day: dt.date) -> None:
    """The buyer's duplicate contact, merged into them, and a guest order with its email."""
    contacts = spec_for("crm", "contacts").csv_columns
    orders = spec_for("crm", "orders").csv_columns
    at = f"{day.isoformat()}T06:00:00Z"
    duplicate = {
        "contact_id": f"{contact_id}-DUP",
        "email": f"Dup.Address.{contact_id}@Example.org",
        "first_name": "Zebedee",
        "last_name": "Quillfeather",
        "phone": "+44 7700 900123",
        "country": "GB",
        "lifecycle_stage": "lead",
        "marketing_opt_in": "false",
        "merged_into_contact_id": contact_id,
        "created_at": at,
        "updated_at": at,
    }
    guest_order = {
        "order_id": f"ORD-GUEST-{contact_id}",
        "email": f" dup.address.{contact_id}@example.org ",
        "ordered_at": at,
        "status": "completed",
        "currency": "EUR",
        "total": "42.00",
        "updated_at": at,
    }
    for entity, columns, row in [
        ("contacts", contacts, duplicate),
        ("orders", orders, guest_order),
    ]:
        folder = landing / "crm" / entity / f"dt={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        lines = [",".join(columns), ",".join(row.get(column, "") for column in columns)]
        (folder / "zz-duplicate.csv").write_text("\n".join(lines) + "\n")


def _find_person(con: duckdb.DuckDBPyConnection, contact_id: str) -> Person:
    """Everything the baseline warehouse holds of the buyer, found through the marts."""
    customer_id, surviving, email = con.execute(
        """
        select customers.customer_id, customers.crm_contact_id, contacts.email
        from intermediate.int_crm_contacts_merged as merged
        inner join marts.dim_customers as customers
            on merged.surviving_crm_contact_id = customers.crm_contact_id
        inner join staging.stg_crm__contacts as contacts
            on customers.crm_contact_id = contacts.crm_contact_id
        where merged.crm_contact_id = ?
        """,
        [contact_id],
    ).fetchone()
    person = Person(customer_id=customer_id, request_email=email)

    def column(sql: str, params=()) -> set[str]:
        return {str(v).strip().lower() for (v,) in con.execute(sql, params).fetchall() if v}

    person.contact_ids = column(
        "select crm_contact_id from intermediate.int_crm_contacts_merged "
        "where surviving_crm_contact_id = ?",
        [surviving],
    )
    contacts = "select unnest(?::varchar[])"
    person.devices = column(
        "select anonymous_id from marts.fct_sessions where customer_id = ?", [customer_id]
    )
    person.order_ids = column(
        "select order_id from marts.fct_orders where customer_id = ?", [customer_id]
    )
    person.emails = (
        column(
            f"select lower(trim(record->>'email')) from raw.crm_contacts "
            f"where lower(trim(record->>'contact_id')) in ({contacts})",
            [sorted(person.contact_ids)],
        )
        | column(
            "select lower(trim(record->>'email')) from raw.crm_orders "
            "where lower(trim(record->>'order_id')) in (select unnest(?::varchar[]))",
            [sorted(person.order_ids)],
        )
        | column(
            "select email from intermediate.int_email_addresses_resolved where customer_id = ?",
            [customer_id],
        )
    )
    ips = column(
        "select record->'context'->>'ip' from raw.web_events "
        "where lower(trim(record->>'anonymousId')) in (select unnest(?::varchar[]))",
        [sorted(person.devices)],
    ) | column(
        "select record->>'ip' from raw.email_events "
        "where lower(trim(record->>'email')) in (select unnest(?::varchar[]))",
        [sorted(person.emails)],
    )
    messages = column(
        "select record->>'messageId' from raw.web_events "
        "where lower(trim(record->>'anonymousId')) in (select unnest(?::varchar[])) "
        "or lower(trim(record->>'userId')) in (select unnest(?::varchar[]))",
        [sorted(person.devices), sorted(person.contact_ids)],
    )
    phones = column(
        f"select record->>'phone' from raw.crm_contacts "
        f"where lower(trim(record->>'contact_id')) in ({contacts})",
        [sorted(person.contact_ids)],
    )
    person.names = {
        (first.strip().lower(), last.strip().lower())
        for first, last in con.execute(
            f"select record->>'first_name', record->>'last_name' from raw.crm_contacts "
            f"where lower(trim(record->>'contact_id')) in ({contacts})",
            [sorted(person.contact_ids)],
        ).fetchall()
        if first and last
    }
    hashes = column(
        "select email_sha256 from marts.dim_customers where customer_id = ?", [customer_id]
    ) | {
        h
        for (h,) in con.execute(
            "select sha256(unnest(?::varchar[]))", [sorted(person.emails)]
        ).fetchall()
    }
    person.values = (
        {customer_id.lower()}
        | person.contact_ids
        | person.devices
        | person.order_ids
        | person.emails
        | ips
        | messages
        | phones
        | hashes
    )
    assert person.devices and len(person.order_ids) > 1 and len(person.contact_ids) > 1 and ips
    assert "zebedee" in {first for first, _ in person.names}
    return person


def _landing_pii(con: duckdb.DuckDBPyConnection) -> dict:
    names = con.execute(
        """
        select distinct lower(trim(value)) from (
            select unnest([record->>'first_name', record->>'last_name']) as value
            from raw.crm_contacts
            union all
            select unnest([record->'traits'->>'first_name', record->'traits'->>'last_name'])
            from raw.web_events
        )
        where nullif(trim(value), '') is not null
        """
    ).fetchall()
    phones = con.execute(
        "select distinct lower(trim(record->>'phone')) from raw.crm_contacts "
        "where nullif(trim(record->>'phone'), '') is not null"
    ).fetchall()
    return {"names": {n for (n,) in names}, "phones": {p for (p,) in phones}}


def _redeliver(landing: Path, person: Person, day: dt.date) -> dict[str, int]:
    """Copy every landing line of the person's into new files of a later day."""
    pattern = re.compile(
        "(?:^|[^A-Za-z0-9._%+@-])("
        + "|".join(
            re.escape(v)
            for v in person.contact_ids | person.devices | person.emails | person.order_ids
        )
        + ")(?:$|[^A-Za-z0-9._%+@-])",
        re.IGNORECASE,
    )
    copied: dict[str, int] = {}
    for spec in ENTITY_SPECS:
        if spec.source in ("privacy", "ads"):
            continue
        header, lines = None, []
        for path in sorted((landing / spec.source / spec.entity).glob("dt=*/*")):
            data = path.read_bytes()
            try:
                text = (gzip.decompress(data) if path.name.endswith(".gz") else data).decode()
            except (OSError, EOFError, UnicodeDecodeError):
                continue
            rows = text.splitlines()
            if spec.format == "csv" and rows:
                if header is None:
                    header = rows[0]
                if rows[0] != header:
                    continue
                rows = rows[1:]
            lines += [row for row in rows if pattern.search(row)]
        if not lines:
            continue
        folder = landing / spec.source / spec.entity / f"dt={day.isoformat()}"
        folder.mkdir(parents=True)
        extension = "jsonl" if spec.format == "jsonl" else "csv"
        if spec.table == "web_events":  # and a malformed line: no messageId
            lines.append(json.dumps({"type": "page", "anonymousId": sorted(person.devices)[0]}))
        body = "\n".join(([header] if header else []) + lines) + "\n"
        (folder / f"redelivered.{extension}").write_text(body)
        copied[spec.table] = len(lines)
    return copied


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    root = tmp_path_factory.mktemp("privacy")
    landing = root / "landing"
    generate_landing(landing, customers=CUSTOMERS, days=DAYS, start=START, seed=SEED)
    shutil.rmtree(landing / "privacy")  # the baseline: the same data without any request
    buyer = _choose_buyer(landing)
    _add_duplicate(landing, buyer, START)
    settings = Settings(landing_dir=landing, warehouse_dir=root / "warehouse", reporting_tz="UTC")
    first, last = START, START + dt.timedelta(days=DAYS - 1)
    later = last + dt.timedelta(days=1)
    instance = dg.DagsterInstance.ephemeral()
    with pytest.MonkeyPatch.context() as env:
        for name in ("JOURNEY_LANDING_DIR", "JOURNEY_WAREHOUSE_DIR", "JOURNEY_REPORTING_TZ"):
            env.setenv(name, os.environ.get(name, ""))
        env.delenv(KEY_FILE_ENV, raising=False)
        env.setenv("DBT_EXCLUDE_RESOURCE_TYPES", "unit_test")
        settings.export()
        # The baseline needs the journey marts only (not the measurement marts, nor the
        # published copy): the raw assets and the dbt models upstream of these marts.
        baseline = (
            dg.AssetSelection.assets(
                *(dg.AssetKey(["marts", table]) for table in (*COUNTED_MARTS, "kpi_daily"))
            )
            .upstream()
            .required_multi_asset_neighbors()
        )
        _run(settings, instance, first, last, baseline)
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
        try:
            person = _find_person(con, buyer)
            control = _control(con, person)
            landing_pii = _landing_pii(con)
            baseline_kpis = _kpis(con, "journey")
            baseline_counts = _counts(con, "journey")
            opt_in_mismatches = con.execute(
                """
                select customers.customer_id
                from marts.dim_customers as customers
                inner join staging.stg_crm__contacts as contacts
                    on customers.crm_contact_id = contacts.crm_contact_id
                where customers.marketing_opt_in is distinct from contacts.is_marketing_opt_in
                """
            ).fetchall()
            opt_in_values = {
                v
                for (v,) in con.execute(
                    "select distinct marketing_opt_in from marts.dim_customers "
                    "where crm_contact_id is not null"
                ).fetchall()
            }
        finally:
            con.close()

        baseline_traces = _scan_warehouse(settings, person)
        requests = landing / "privacy" / "erasure_requests" / f"dt={last.isoformat()}"
        requests.mkdir(parents=True)
        (requests / "requests.csv").write_text(
            "request_id,email,requested_at\n"
            f"ER-TEST-1,  {person.request_email.upper()} ,{last.isoformat()}T12:00:00Z\n"
        )
        _run(settings, instance, last, last, dg.AssetSelection.all())
        result = Runs(
            settings,
            person,
            baseline_kpis,
            baseline_counts,
            opt_in_mismatches,
            opt_in_values,
            landing_pii,
            baseline_traces,
        )
        result.after_request = _state(settings, person, control, landing_pii)

        # Their old records delivered again a day later, then every day loaded again.
        result.redelivered = _redeliver(landing, person, later)
        _run(settings, instance, first, later, dg.AssetSelection.groups("raw"))
        con = duckdb.connect()
        try:
            con.execute(f"attach '{settings.warehouse_path}' as journey (read_only)")
            con.execute("use journey")  # for reconciliation_failures
            result.after_redelivery = {"warehouse_traces": _traces(con, "journey", person)}
            result.after_redelivery["redelivered_rows"] = con.execute(
                "select count(*) from journey.raw.web_events where dt = ?", [later]
            ).fetchone()[0]
            result.after_redelivery["reconciliation"] = {
                spec.table: reconciliation_failures(con, spec) for spec in ENTITY_SPECS
            }
        finally:
            con.close()
        yield result


def test_the_scans_find_what_is_there(runs):
    # The scans below must be able to fail: before the request the person is in every
    # layer, and after it the published files still hold another buyer.
    layers = {trace.split(".")[0] for trace in runs.baseline_traces}
    assert {"raw", "staging", "intermediate", "marts"} <= layers
    assert any("name zebedee" in trace for trace in runs.baseline_traces)
    published = {trace.split(":")[0] for trace in runs.after_request["control_published_traces"]}
    assert {"marts.dim_customers", "marts.fct_orders", "files.fct_orders"} <= published
    assert len(runs.person.values) > 10


def test_after_the_run_that_loads_the_request_no_table_holds_the_person(runs):
    assert runs.after_request["warehouse_traces"] == []


def test_after_the_run_that_loads_the_request_no_published_file_holds_the_person(runs):
    assert runs.after_request["published_tables"] > 0
    assert runs.after_request["published_traces"] == []


def test_the_aggregates_keep_their_counts_and_revenue(runs):
    assert runs.after_request["kpis"] == runs.baseline_kpis
    assert runs.after_request["counts"] == runs.baseline_counts
    assert sum(row[1] for row in runs.baseline_kpis) > 0  # sessions


def test_a_later_delivery_of_their_old_records_and_a_rerun_bring_nothing_back(runs):
    assert {"web_events", "crm_contacts", "crm_orders"} <= set(runs.redelivered)
    assert runs.after_redelivery["redelivered_rows"] > 0
    assert runs.after_redelivery["warehouse_traces"] == []
    assert all(not f for f in runs.after_redelivery["reconciliation"].values())


def test_the_published_copy_holds_no_email_name_phone_or_ip_of_anyone(runs):
    assert len(runs.landing_pii["names"]) > 10 and runs.landing_pii["phones"]
    assert runs.after_request["published_pii"] == []


def test_marketing_opt_in_is_carried_to_dim_customers(runs):
    assert runs.opt_in_mismatches == []
    assert runs.opt_in_values == {True, False}
