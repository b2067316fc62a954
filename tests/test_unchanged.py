"""A model step is skipped exactly when what it is built from is what it was last built
from (orchestration/unchanged.py): raw's rows by content, the project, the settings."""

import dataclasses
import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration import unchanged
from orchestration.defs.dbt import DbtBuildConfig
from orchestration.defs.resources import Warehouse
from orchestration.settings import Settings
from tests.conftest import DAY, Landing
from tests.test_ingestion_bad_input import GOOD

ENVIRONMENT = {"JOURNEY_REPORTING_TZ": "UTC", "JOURNEY_ENGINE": "duckdb"}


def _web_records(n: int, prefix: str = "m") -> list[dict]:
    return [dict(GOOD[("web", "events")], messageId=f"{prefix}-{i}") for i in range(n)]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(landing_dir=tmp_path / "landing", warehouse_dir=tmp_path / "warehouse")


@pytest.fixture
def two_days(landing: Landing, load):
    """Web events on two landing days and CRM orders on one, loaded."""
    later = DAY + dt.timedelta(days=1)
    landing.write_jsonl("web", "events", "part-0.jsonl", _web_records(3))
    landing.write_jsonl("web", "events", "part-0.jsonl", _web_records(2, "n"), later)
    landing.write_csv("crm", "orders", "orders.csv", [GOOD[("crm", "orders")]])
    for day in (DAY, later):
        load("web", "events", day)
    load("crm", "orders")
    return later


def _recorded(con, settings, step="step", environment=ENVIRONMENT) -> unchanged.Build:
    build = unchanged.start(con, settings, step, environment)
    unchanged.finish(con, build, "run-1")
    return build


def test_a_reload_of_the_same_files_is_no_change_but_a_new_or_changed_row_is(
    landing, load, con, two_days
):
    before = unchanged.raw_digests(con)
    web = [row for row in before if row[0] == "web_events"]
    assert [(row[1], row[2]) for row in web] == [(str(DAY), 3), (str(two_days), 2)]

    load("web", "events", two_days)  # the same files again: later loaded_at, same rows
    assert unchanged.raw_digests(con) == before

    landing.write_jsonl("web", "events", "part-0.jsonl", _web_records(2, "x"), two_days)
    load("web", "events", two_days)  # as many rows, other content
    changed = unchanged.raw_digests(con)
    assert changed != before
    differing = [old[:2] for old, new in zip(before, changed, strict=True) if old != new]
    # raw.loaded_files holds the file's new digest; web events differ on that day only
    assert ["web_events", str(two_days)] in differing
    assert ["web_events", str(DAY)] not in differing

    con.execute(
        "insert into raw.web_events select dt, file, line + 100, record, now() "
        "from raw.web_events where dt = ? limit 1",
        [DAY],
    )
    assert [
        row[2] for row in unchanged.raw_digests(con) if row[:2] == ["web_events", str(DAY)]
    ] == [4]


def test_a_day_that_leaves_raw_leaves_the_digests(landing, load, con, two_days):
    before = [row for row in unchanged.raw_digests(con) if row[0] == "web_events"]
    con.execute("delete from raw.web_events where dt = ?", [two_days])
    after = [row for row in unchanged.raw_digests(con) if row[0] == "web_events"]
    assert after == before[:1] and before[0][1] == str(DAY)
    kept = con.execute(
        "select count(*) from orchestration.raw_day_digests where table_name = 'web_events'"
    ).fetchone()
    assert kept == (1,)


def test_a_step_is_skipped_only_with_the_fingerprint_it_recorded(con, settings, two_days, load):
    build = _recorded(con, settings)
    assert build.unchanged_since is None and build.fingerprint

    again = unchanged.start(con, settings, "step", ENVIRONMENT)
    assert again.unchanged_since == "run-1"
    # another step has its own record
    assert unchanged.start(con, settings, "other", ENVIRONMENT).unchanged_since is None
    # the folders are not inputs; every other JOURNEY_ setting dbt gets is
    moved = {**ENVIRONMENT, "JOURNEY_WAREHOUSE_DIR": "/elsewhere", "JOURNEY_LANDING_DIR": "/x"}
    assert unchanged.start(con, settings, "step", moved).unchanged_since == "run-1"
    lookback = {**ENVIRONMENT, "JOURNEY_WEB_LATE_DATA_LOOKBACK_DAYS": "0"}
    assert unchanged.start(con, settings, "step", lookback).unchanged_since is None
    # ... and that start dropped the record: the step builds until it records again
    assert unchanged.start(con, settings, "step", ENVIRONMENT).unchanged_since is None

    _recorded(con, settings)
    load("web", "events", two_days)  # a reload changes nothing
    assert unchanged.start(con, settings, "step", ENVIRONMENT).unchanged_since == "run-1"


def test_a_full_refresh_a_partial_build_and_spark_always_build(con, settings, two_days):
    _recorded(con, settings)
    forced = unchanged.start(con, settings, "step", ENVIRONMENT, may_skip=False)
    assert forced.unchanged_since is None
    assert con.execute("select count(*) from orchestration.asset_inputs").fetchone() == (0,)

    _recorded(con, settings)
    spark = dataclasses.replace(settings, engine="spark")
    on_spark = unchanged.start(con, spark, "step", ENVIRONMENT)
    assert on_spark == unchanged.Build("step", None)
    unchanged.finish(con, on_spark, "run-2")  # records nothing
    assert con.execute("select count(*) from orchestration.asset_inputs").fetchone() == (0,)


def test_the_project_fingerprint_follows_every_file_but_compiled_python(tmp_path: Path):
    (tmp_path / "models").mkdir()
    (tmp_path / "orchestration" / "__pycache__").mkdir(parents=True)
    model = tmp_path / "models" / "m.sql"
    model.write_text("select 1")
    (tmp_path / "orchestration" / "a.py").write_text("A = 1\n")
    names = ["models", "orchestration", "dbt_project.yml"]
    first = unchanged.project_fingerprint(tmp_path, names)

    (tmp_path / "orchestration" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / "dbt_project.yml").write_text("name: x\n")
    with_project = unchanged.project_fingerprint(tmp_path, names)
    assert with_project != first
    (tmp_path / "orchestration" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\1")
    assert unchanged.project_fingerprint(tmp_path, names) == with_project

    model.write_text("select 2")
    assert unchanged.project_fingerprint(tmp_path, names) != with_project
    model.rename(tmp_path / "models" / "n.sql")
    assert len({unchanged.project_fingerprint(tmp_path, names), with_project}) == 2


def test_a_digest_does_not_depend_on_when_rows_were_written(con: duckdb.DuckDBPyConnection):
    con.execute("create table raw.erasure_ledger_like (request_id varchar, recorded_at timestamp)")
    con.execute("insert into raw.erasure_ledger_like values ('r-1', now())")
    before = unchanged.raw_digests(con)
    con.execute("update raw.erasure_ledger_like set recorded_at = recorded_at + interval 1 day")
    assert unchanged.raw_digests(con) == before
    con.execute("update raw.erasure_ledger_like set request_id = 'r-2'")
    assert unchanged.raw_digests(con) != before


def _stand_in_step(calls: list[str]) -> dg.AssetsDefinition:
    """A model step of two assets that records its builds in `calls`, as the Python model
    steps do (orchestration/defs/clv.py)."""

    @dg.multi_asset(
        specs=[dg.AssetSpec("left", skippable=True), dg.AssetSpec("right", skippable=True)],
        can_subset=True,
    )
    def step(context: dg.AssetExecutionContext, warehouse: Warehouse, config: DbtBuildConfig):
        build = unchanged.begin(context, warehouse)
        if build.unchanged_since:
            yield from unchanged.unchanged_results(context, build)
            return
        calls.append(",".join(sorted(k.to_user_string() for k in context.selected_asset_keys)))
        unchanged.end(context, warehouse, build)
        for key in sorted(context.selected_asset_keys):
            yield dg.MaterializeResult(asset_key=key)

    return step


def test_a_step_of_a_run_skips_unless_partial_or_a_full_refresh(tmp_path: Path):
    calls: list[str] = []
    step = _stand_in_step(calls)
    resources = {"warehouse": Warehouse(warehouse_dir=str(tmp_path), landing_dir=str(tmp_path))}

    def run(selection=None, full_refresh=False) -> dg.ExecuteInProcessResult:
        config = {"ops": {"step": {"config": {"full_refresh": full_refresh}}}}
        result = dg.materialize([step], selection=selection, resources=resources, run_config=config)
        assert result.success
        return result

    def since(result) -> set:
        return {
            event.materialization.metadata.get(unchanged.SINCE_METADATA)
            for event in result.get_asset_materialization_events()
        }

    first = run()
    second = run()
    assert calls == ["left,right"]
    assert since(second) == {dg.TextMetadataValue(first.run_id)}
    assert {e.asset_key for e in second.get_asset_materialization_events()} == {
        dg.AssetKey("left"),
        dg.AssetKey("right"),
    }

    run(full_refresh=True)
    assert calls == ["left,right"] * 2
    refreshed = run()
    assert calls == ["left,right"] * 2 and since(refreshed) != {None}

    run(selection=["left"])  # a part of the step: built, and nothing recorded
    assert calls[-1] == "left"
    run()
    assert calls[-1] == "left,right" and len(calls) == 4
