"""Whole files: reruns, re-deliveries and broken files."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import dagster as dg
import duckdb

from orchestration.defs.ingestion import build_ingestion_asset
from orchestration.defs.resources import Warehouse
from orchestration.ingestion import loader
from orchestration.ingestion.loader import reconciliation_failures
from orchestration.ingestion.specs import ENTITY_SPECS, spec_for
from orchestration.runner import _load_summary
from tests.conftest import DAY
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


# -- what is not a data file in a dt= folder: accounted for, never silently skipped ------

LAYOUT_QUERY = (
    "select dt, file, file_status, file_error, records_read, records_loaded, records_rejected "
    "from raw.loaded_files order by file"
)


def _plant_anomalies(landing, tmp_path) -> dict:
    """A good day and, around it, everything sources.md says must not vanish. Returns
    file -> (dt, status, reason fragment) for what must be recorded and not read."""
    good = landing.write_jsonl("web", "events", "part-0.jsonl", _web_records(3))
    day = landing.folder("web", "events")
    entity = day.parent
    # a dt= name that is no real date, or no YYYY-MM-DD at all: never a landing day
    for name in ("dt=2026-02-30", "dt=latest"):
        (entity / name).mkdir()
        (entity / name / "part-0.jsonl").write_text(good.read_text())
    (entity / "dt=20260106").mkdir()
    records = [dict(r, messageId=f"basic-{i}") for i, r in enumerate(_web_records(185))]
    (entity / "dt=20260106" / "part-0.jsonl").write_text(
        "\n".join(json.dumps(r) for r in records) + "\n"
    )
    # inside the good day: a subfolder, hidden and marker files, an unknown extension
    (day / "archive").mkdir()
    (day / "archive" / "part-9.jsonl").write_text(good.read_text())
    (day / ".hidden.jsonl").write_text(good.read_text())
    (day / "_SUCCESS").write_text("")
    (day / "notes.txt").write_text("exported by the nightly job\n")
    # symbolic links leading out of the landing folder: a file and a whole dt= folder
    outside = tmp_path / "outside"
    (outside / "dt=2026-03-11").mkdir(parents=True)
    secret = outside / "secret.jsonl"
    secret.write_text(json.dumps(dict(_web_records(1)[0], messageId="secret")) + "\n")
    (outside / "dt=2026-03-11" / "part-0.jsonl").write_text(secret.read_text())
    (day / "linked.jsonl").symlink_to(secret)
    (entity / "dt=2026-03-11").symlink_to(outside / "dt=2026-03-11", target_is_directory=True)
    web = "web/events"
    return {
        f"{web}/dt=2026-02-30/": (None, "skipped", "'dt=2026-02-30' is not a real date"),
        f"{web}/dt=latest/": (None, "skipped", "'dt=latest' is not a dt=YYYY-MM-DD date"),
        f"{web}/dt=20260106/": (None, "skipped", "did you mean dt=2026-01-06?"),
        f"{web}/dt=2026-03-11": (None, "refused", "symbolic link leading out of the landing"),
        f"{web}/dt=2026-03-10/archive/": (DAY, "skipped", "a subfolder of a dt= folder"),
        f"{web}/dt=2026-03-10/.hidden.jsonl": (DAY, "skipped", "hidden or marker file"),
        f"{web}/dt=2026-03-10/_SUCCESS": (DAY, "skipped", "hidden or marker file"),
        f"{web}/dt=2026-03-10/linked.jsonl": (DAY, "refused", "never followed"),
    }


def test_every_entry_outside_the_layout_is_recorded_with_its_reason(landing, con, tmp_path):
    planted = _plant_anomalies(landing, tmp_path)
    spec = spec_for("web", "events")

    assert loader.landing_days(landing.root, spec) == [DAY]
    assert loader.landing_days(landing.root) == [DAY]
    results = loader.load_partitions(con, landing.root, spec, loader.landing_days(landing.root))

    rows = {row[1]: row for row in con.execute(LAYOUT_QUERY).fetchall()}
    good, notes = "web/events/dt=2026-03-10/part-0.jsonl", "web/events/dt=2026-03-10/notes.txt"
    assert set(rows) == {*planted, good, notes}
    for file, (day, status, reason) in planted.items():
        assert rows[file][0] == day, file
        assert rows[file][2] == status, file
        assert reason in rows[file][3], (file, rows[file][3])
        assert rows[file][4:] == (0, 0, 0), file
    assert rows[good][2:] == ("loaded", None, 3, 3, 0)
    # an unknown extension is read as before: rejected whole, with its reason in both tables
    assert rows[notes][2] == "rejected"
    assert "unexpected file type" in rows[notes][3]
    assert con.execute(
        "select file, line, reason like 'unexpected file type%' from raw.rejected_records"
    ).fetchall() == [(notes, None, True)]
    # what the reasons say about folders
    assert "its 1 file(s) are not loaded" in rows["web/events/dt=20260106/"][3]
    assert "dt=2026-03-11 is not a landing day" in rows["web/events/dt=2026-03-11"][3]
    # only the good file loaded: nothing behind the links, nothing of the non-dates
    assert con.execute("select count(*), count(distinct dt) from raw.web_events").fetchone() == (
        3,
        1,
    )
    assert con.execute(
        "select count(*) from raw.web_events where record->>'messageId' in ('secret')"
        " or record->>'messageId' like 'basic-%'"
    ).fetchone() == (0,)
    assert reconciliation_failures(con, spec) == []
    assert con.execute(
        "select count(*) from raw.loaded_files "
        "where records_read <> records_loaded + records_rejected"
    ).fetchone() == (0,)
    # the loader says what it did with each
    by_file = {r.file: (r.dt, r.status) for r in results}
    assert {f: v[:2] for f, v in planted.items()} == {f: by_file[f] for f in planted}


def test_recording_what_is_not_read_is_idempotent(landing, con, tmp_path):
    _plant_anomalies(landing, tmp_path)
    spec = spec_for("web", "events")
    days = loader.landing_days(landing.root, spec)
    columns = "source, entity, dt, file, file_status, file_error, records_read"
    query = f"select {columns} from raw.loaded_files order by all"

    loader.load_partitions(con, landing.root, spec, days)
    first = con.execute(query).fetchall()
    loader.load_partitions(con, landing.root, spec, days)
    loader.load_partition(con, landing.root, spec, DAY)
    # a run whose window holds no landing day still records the undated ones, once
    loader.load_partitions(con, landing.root, spec, [])

    assert con.execute(query).fetchall() == first
    assert con.execute("select count(*) from raw.web_events").fetchone() == (3,)

    # a folder cleared away loses its row on the next load
    shutil.rmtree(landing.root / "web" / "events" / "dt=latest")
    loader.load_partitions(con, landing.root, spec, [])
    files = {row[0] for row in con.execute("select file from raw.loaded_files").fetchall()}
    assert "web/events/dt=latest/" not in files
    assert len(files) == len(first) - 1


def test_a_symlink_that_stays_inside_the_landing_folder_is_followed(landing, load, con):
    original = landing.write_jsonl("web", "events", "part-0.jsonl", _web_records(2))
    spare = landing.root / "web" / "events" / "dt=2026-03-11"
    spare.mkdir()
    (spare / "alias.jsonl").symlink_to(original)
    spec = spec_for("web", "events")

    loader.load_partitions(con, landing.root, spec, loader.landing_days(landing.root, spec))

    assert con.execute(
        "select file, file_status, duplicate_of from raw.loaded_files order by file"
    ).fetchall() == [
        ("web/events/dt=2026-03-10/part-0.jsonl", "loaded", None),
        (
            "web/events/dt=2026-03-11/alias.jsonl",
            "duplicate",
            original.relative_to(landing.root).as_posix(),
        ),
    ]


def test_unknown_source_and_entity_folders_are_recorded_by_one_load(landing, con):
    landing.write_jsonl("web", "events", "part-0.jsonl", _web_records(1))
    landing.write_csv("crm", "orders", "orders.csv", [GOOD[("crm", "orders")]])
    (landing.root / "web" / "pageviews" / "dt=2026-03-10").mkdir(parents=True)
    (landing.root / "web" / "pageviews" / "dt=2026-03-10" / "p.jsonl").write_text("{}\n")
    (landing.root / "crm" / "deals").mkdir()
    (landing.root / "clickstream").mkdir()
    (landing.root / "_manifest.json").write_text("{}")  # the generator's, at the top
    query = "select source, entity, file, file_status from raw.loaded_files where dt is null"
    expected = {
        ("web", "pageviews", "web/pageviews/", "skipped"),
        ("crm", "deals", "crm/deals/", "skipped"),
        ("clickstream", "", "clickstream/", "skipped"),
    }

    for spec in ENTITY_SPECS:
        loader.load_partitions(con, landing.root, spec, loader.landing_days(landing.root, spec))
    assert set(con.execute(query).fetchall()) == expected
    for spec in ENTITY_SPECS:  # each is recorded by one entity's load only: no duplicates
        loader.load_partitions(con, landing.root, spec, loader.landing_days(landing.root, spec))
    assert sorted(con.execute(query).fetchall()) == sorted(expected)
    reasons = dict(
        con.execute("select file, file_error from raw.loaded_files where dt is null").fetchall()
    )
    assert (
        reasons["web/pageviews/"]
        == "unknown entity folder: web has events; its 1 file(s) are not loaded"
    )
    assert reasons["clickstream/"].startswith("unknown source folder")


def test_a_source_folder_linked_from_outside_is_refused(landing, con, tmp_path):
    outside = tmp_path / "elsewhere" / "ads"
    (outside / "spend" / "dt=2026-03-10").mkdir(parents=True)
    (outside / "spend" / "dt=2026-03-10" / "spend.csv").write_text("date\n")
    landing.root.mkdir(parents=True)
    (landing.root / "ads").symlink_to(outside, target_is_directory=True)
    spec = spec_for("ads", "spend")

    assert loader.landing_days(landing.root, spec) == []
    [result] = loader.load_partitions(con, landing.root, spec, [DAY])

    assert (result.file, result.dt, result.status) == ("ads/spend", None, "refused")
    assert "leading out of the landing folder" in result.error
    assert con.execute("select count(*) from raw.ads_spend").fetchone() == (0,)


def test_an_old_warehouse_gets_a_nullable_dt_on_the_next_load(landing, tmp_path):
    old = duckdb.connect(str(tmp_path / "old.duckdb"))
    old.execute(loader.RAW_DDL.replace("    dt date,", "    dt date not null,", 1))
    old.execute(
        "insert into raw.loaded_files values ('web', 'events', '2026-03-09', 'web/events/"
        "dt=2026-03-09/a.jsonl', 1, 1, 0, now(), 'loaded', null, null, null, 1)"
    )
    (landing.root / "web" / "events" / "dt=latest").mkdir(parents=True)

    loader.ensure_raw_schema(old)
    loader.load_partitions(old, landing.root, spec_for("web", "events"), [])

    assert old.execute("select dt, file_status from raw.loaded_files order by all").fetchall() == [
        (dt.date(2026, 3, 9), "loaded"),
        (None, "skipped"),
    ]


def test_the_run_summary_counts_what_was_skipped_and_refused(landing, con, tmp_path):
    _plant_anomalies(landing, tmp_path)
    spec = spec_for("web", "events")
    loader.load_partitions(con, landing.root, spec, loader.landing_days(landing.root, spec))

    lines = _load_summary(con)

    [web] = [line for line in lines if line.startswith("web ")]
    assert web.split()[1:] == ["2", "3", "3", "0", "1", "/", "0", "/", "6", "/", "2"]
    assert "landing entries not read: 6 skipped, 2 refused" in "\n".join(lines)


def test_the_ingestion_asset_reports_what_it_did_not_read(landing, tmp_path):
    _plant_anomalies(landing, tmp_path)
    spec = spec_for("web", "events")
    asset = build_ingestion_asset(spec, dg.DailyPartitionsDefinition(start_date="2026-03-01"))
    warehouse = Warehouse(landing_dir=str(landing.root), warehouse_dir=str(tmp_path / "wh"))

    result = dg.materialize(
        [asset], resources={"warehouse": warehouse}, partition_key=DAY.isoformat()
    )

    [materialization] = result.asset_materializations_for_node(asset.node_def.name)
    metadata = {key: value.value for key, value in materialization.metadata.items()}
    assert (metadata["files"], metadata["files_skipped"], metadata["files_refused"]) == (2, 6, 2)
    assert len(metadata["files_not_read"]) == 8
