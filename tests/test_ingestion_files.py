"""Whole files: reruns, re-deliveries and broken files."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb

from orchestration.ingestion import loader
from orchestration.ingestion.loader import reconciliation_failures
from orchestration.ingestion.specs import spec_for
from tests.test_ingestion_bad_input import GOOD

RAW_QUERY = "select dt, file, line, record::varchar from raw.{table} order by all"
FILES_QUERY = (
    "select source, entity, file, records_read, records_loaded from raw.loaded_files order by all"
)


def _raw_tables(con) -> dict:
    return {
        t: con.execute(RAW_QUERY.format(table=t)).fetchall() for t in ("web_events", "crm_orders")
    }


def _web_records(n: int) -> list[dict]:
    return [dict(GOOD[("web", "events")], messageId=f"m-{i}") for i in range(n)]


def test_loading_a_partition_again_changes_nothing(landing, load, con):
    landing.write_jsonl("web", "events", "part-0.jsonl.gz", _web_records(5))
    landing.write_csv("crm", "orders", "orders.csv", [GOOD[("crm", "orders")]])
    load("web", "events")
    load("crm", "orders")
    before = {
        t: con.execute(RAW_QUERY.format(table=t)).fetchall() for t in ("web_events", "crm_orders")
    }
    files_before = con.execute(FILES_QUERY).fetchall()

    load("web", "events")
    load("crm", "orders")

    after = {
        t: con.execute(RAW_QUERY.format(table=t)).fetchall() for t in ("web_events", "crm_orders")
    }
    assert after == before
    assert len(before["web_events"]) == 5
    assert con.execute(FILES_QUERY).fetchall() == files_before


def test_a_file_redelivered_under_another_name_changes_no_raw_table(landing, load, con):
    original = landing.write_jsonl("web", "events", "part-0.jsonl", _web_records(4))
    load("web", "events")
    before = con.execute(RAW_QUERY.format(table="web_events")).fetchall()

    shutil.copy(original, original.with_name("part-0-copy.jsonl"))
    results = load("web", "events")

    assert con.execute(RAW_QUERY.format(table="web_events")).fetchall() == before
    statuses = {r.file.rsplit("/", 1)[1]: (r.status, r.records_loaded) for r in results}
    assert statuses == {"part-0.jsonl": ("loaded", 4), "part-0-copy.jsonl": ("duplicate", 0)}
    assert con.execute(
        "select duplicate_of from raw.loaded_files where file like '%copy%'"
    ).fetchone() == ("web/events/dt=2026-03-10/part-0.jsonl",)


def test_a_broken_gzip_file_is_rejected_whole_and_stops_nothing_else(landing, load, con):
    landing.write_jsonl("web", "events", "a-good.jsonl.gz", _web_records(3))
    broken = landing.folder("web", "events") / "b-broken.jsonl.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00truncated")

    results = load("web", "events")

    assert [(r.status, r.records_loaded) for r in results] == [("loaded", 3), ("rejected", 0)]
    [(line, reason)] = con.execute(
        "select line, reason from raw.rejected_records where file like '%b-broken%'"
    ).fetchall()
    assert line is None
    assert "not a valid gzip file" in reason
    assert con.execute("select count(*) from raw.web_events").fetchone() == (3,)


def test_a_file_that_is_not_utf8_is_rejected_whole(landing, load, con):
    path = landing.folder("crm", "contacts") / "latin1.csv"
    header = ",".join(spec_for("crm", "contacts").csv_columns)
    path.write_bytes((header + "\nc-1,jos\xe9@example.com\n").encode("latin-1"))

    [result] = load("crm", "contacts")

    assert result.status == "rejected"
    assert "not UTF-8" in result.error


def test_a_csv_without_the_expected_header_is_rejected_whole(landing, load, con):
    path = landing.folder("crm", "orders") / "no-header.csv"
    path.write_text("o-1,c-1,ann@example.com,2026-03-10T09:00:00Z,completed\n")

    [result] = load("crm", "orders")

    assert result.status == "rejected"
    assert "CSV header does not name the expected columns" in result.error


def test_counts_reconcile_per_file_and_the_check_sees_a_mismatch(landing, load, con):
    landing.write_jsonl("web", "events", "part-0.jsonl", [*_web_records(3), "garbage"])
    load("web", "events")
    spec = spec_for("web", "events")
    assert reconciliation_failures(con, spec) == []

    con.execute("delete from raw.web_events where line = 1")

    assert len(reconciliation_failures(con, spec)) == 1


def test_loading_days_in_one_call_equals_loading_them_one_by_one(
    landing, con, tmp_path, monkeypatch
):
    days = [dt.date(2026, 3, 9), dt.date(2026, 3, 10), dt.date(2026, 3, 11)]
    first = landing.write_jsonl("web", "events", "part-0.jsonl", [*_web_records(2), "x"], days[0])
    # day 2 brings a copy of day 1's file (a duplicate across days) and a broken file
    shutil.copy(first, landing.folder("web", "events", days[1]) / "part-0.jsonl")
    (landing.folder("web", "events", days[1]) / "part-1.jsonl.gz").write_bytes(b"not gzip")
    landing.write_jsonl("web", "events", "part-0.jsonl", _web_records(3)[2:], days[2])
    spec = spec_for("web", "events")
    tables = ("loaded_files", "rejected_records", "web_events")

    def contents(connection):
        result = {}
        for table in tables:
            columns = [
                row[0]
                for row in connection.execute(f"describe raw.{table}").fetchall()
                if row[0] != "loaded_at"
            ]
            result[table] = connection.execute(
                f"select {', '.join(columns)} from raw.{table} order by all"
            ).fetchall()
        return result

    one_by_one = duckdb.connect(str(tmp_path / "one_by_one.duckdb"))
    loader.ensure_raw_schema(one_by_one)
    for day in days:
        loader.load_partition(one_by_one, landing.root, spec, day)
    expected = contents(one_by_one)

    results = loader.load_partitions(con, landing.root, spec, days)
    assert contents(con) == expected
    assert [(r.dt, r.status, r.records_loaded, r.records_rejected) for r in results] == [
        (days[0], "loaded", 2, 1),
        (days[1], "duplicate", 0, 0),
        (days[1], "rejected", 0, 0),
        (days[2], "loaded", 1, 0),
    ]
    # again, each day its own batch (as when the days' text exceeds the batch size)
    monkeypatch.setattr(loader, "BATCH_TEXT_BYTES", 1)
    loader.load_partitions(con, landing.root, spec, days)
    assert contents(con) == expected
