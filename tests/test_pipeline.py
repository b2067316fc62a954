"""The whole pipeline in-process on generated data: load, dbt build, checks, publish."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.defs.health import dbt_test_counts
from orchestration.ingestion.specs import ENTITY_SPECS
from orchestration.project import DBT_TARGET, PROJECT_INPUTS, REPO_ROOT, dbt_executable
from orchestration.runner import run_pipeline
from tests.support import PIPELINE_DAYS, PIPELINE_START, snapshot, snapshot_file


def test_the_run_succeeds_with_every_asset_check_passing(pipeline):
    assert pipeline.outcome.success, pipeline.outcome.failure
    assert pipeline.outcome.checks_failed == []
    assert pipeline.outcome.checks_passed > 50


def test_every_landing_file_is_accounted_for_and_reconciles(pipeline):
    with pipeline.connect() as con:
        files = {
            row[0]: row[1:]
            for row in con.execute(
                "select file, records_read, records_loaded, records_rejected, file_status "
                "from raw.loaded_files"
            ).fetchall()
        }
    expected = {f["file"]: f["records"] for f in pipeline.manifest["files"]}
    broken = {f["file"] for f in pipeline.manifest["broken_files"]}
    copies = {(f["file"], f["copy_of"]) for f in pipeline.manifest["duplicate_files"]}
    assert copies, "the generator re-delivers a file"
    assert set(files) == set(expected)
    for copy, original in copies:
        statuses = {files[copy][3], files[original][3]}
        assert statuses == {"loaded", "duplicate"}, (copy, original)
    duplicates = {file for file, values in files.items() if values[3] == "duplicate"}
    assert len(duplicates) == len(copies)
    for file, (read, loaded, rejected, status) in files.items():
        assert read == loaded + rejected, file
        if file in broken:
            assert status == "rejected", file
        elif file not in duplicates:
            assert (status, read) == ("loaded", expected[file]), file


def test_every_planted_malformed_record_is_rejected_at_its_file_and_line(pipeline):
    with pipeline.connect() as con:
        rejected = {
            (file, line): reason
            for file, line, reason in con.execute(
                "select file, line, reason from raw.rejected_records where line is not null"
            ).fetchall()
        }
    planted = {(p["file"], p["line"]): p["kind"] for p in pipeline.manifest["planted_rejections"]}
    missing = {key: kind for key, kind in planted.items() if key not in rejected}
    assert not missing
    assert all(rejected[key] for key in planted)
    unexpected = set(rejected) - set(planted)
    assert not unexpected, "only planted records are rejected"


def test_every_contract_entity_has_a_raw_table_and_a_staging_model_with_rows(pipeline):
    with pipeline.connect() as con:
        staging = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'staging'"
            ).fetchall()
        }
        for spec in ENTITY_SPECS:
            assert con.execute(f"select count(*) from raw.{spec.table}").fetchone()[0] > 0
            model = f"stg_{spec.source}__{spec.entity}"
            assert model in staging
            assert con.execute(f"select count(*) from staging.{model}").fetchone()[0] > 0


def test_staging_deduplicates_retried_web_messages(pipeline):
    with pipeline.connect() as con:
        raw_messages, distinct_messages = con.execute(
            "select count(*), count(distinct record->>'$.messageId') from raw.web_events"
        ).fetchone()
        staged = con.execute("select count(*) from staging.stg_web__events").fetchone()[0]
    assert raw_messages > distinct_messages, "the generator plants retried messages"
    assert staged == distinct_messages


def test_a_bi_tool_reads_every_published_mart_read_only(pipeline):
    published = pipeline.settings.published_dir / "bi.duckdb"
    with pipeline.connect() as con:
        marts = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
    bi = duckdb.connect(str(published), read_only=True)
    try:
        tables = {
            name
            for (name,) in bi.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
        assert tables == marts
        for table in tables:
            bi.execute(f"select * from marts.{table} limit 5").fetchall()
    finally:
        bi.close()
    for table in marts:
        assert (pipeline.settings.published_dir / "parquet" / f"{table}.parquet").exists()


def test_rerunning_past_partitions_changes_no_raw_staging_or_mart_row(
    pipeline, monkeypatch, tmp_path
):
    """A rerun of days already loaded (on a copy of the reference warehouse), while a BI
    reader holds the published copy open: every raw, staging and mart row stays as it was.
    With a late-data lookback the rerun also re-parses the days before its window."""
    monkeypatch.setenv("JOURNEY_WEB_LATE_DATA_LOOKBACK_DAYS", "2")
    monkeypatch.setenv("JOURNEY_EMAIL_LATE_DATA_LOOKBACK_DAYS", "2")
    rerun = pipeline.copy(tmp_path / "warehouse")
    # the run exports its settings; monkeypatch puts the shared ones back afterwards
    monkeypatch.setenv("JOURNEY_WAREHOUSE_DIR", str(rerun.settings.warehouse_dir))
    with rerun.connect() as con:
        before = snapshot(con, ("raw", "staging", "marts"))
    reader = duckdb.connect(str(rerun.settings.published_dir / "bi.duckdb"), read_only=True)

    outcome = run_pipeline(
        rerun.settings,
        PIPELINE_START + dt.timedelta(days=2),
        PIPELINE_START + dt.timedelta(days=4),
        instance=dg.DagsterInstance.ephemeral(),
    )

    assert outcome.success, outcome.failure
    # Built, not skipped: the lookback is a setting the reference run did not have.
    assert outcome.unchanged == {}
    reader.execute("select count(*) from information_schema.tables").fetchall()
    reader.close()
    with rerun.connect() as con:
        assert snapshot(con, ("raw", "staging", "marts")) == before


MODEL_STEPS = {
    "journey_dbt_incremental",
    "journey_dbt_models",
    "journey_dbt_measurement_marts",
    "clv_model",
    "measurement__markov_removal_effects",
    "measurement__experiment_statistics",
}


def test_a_rerun_that_changes_nothing_builds_no_model_and_publishes_the_same_marts(
    pipeline, monkeypatch, tmp_path
):
    """The last day run again on a copy of the reference warehouse: its files are loaded
    again (the same rows), then every model step finds raw, the project and the settings
    as the reference run left them and builds nothing (issue #18's no-op run): no dbt test
    runs, and the marts, the Python models' tables and the published copy stay as they were."""
    rerun = pipeline.copy(tmp_path / "warehouse")
    monkeypatch.setenv("JOURNEY_WAREHOUSE_DIR", str(rerun.settings.warehouse_dir))
    schemas = ("staging", "intermediate", "marts", "measurement")
    with rerun.connect() as con:
        before = snapshot(con, schemas)
    published = snapshot_file(rerun.settings.published_dir / "bi.duckdb", ("marts",))
    instance = dg.DagsterInstance.ephemeral()
    last = PIPELINE_START + dt.timedelta(days=PIPELINE_DAYS - 1)

    outcome = run_pipeline(rerun.settings, last, last, instance=instance)

    assert outcome.success, outcome.failure
    assert outcome.unchanged == dict.fromkeys(MODEL_STEPS, pipeline.outcome.run_id)
    assert dbt_test_counts(instance, outcome.run_id) == (0, 0, 0)
    assert outcome.checks_failed == [] and 0 < outcome.checks_passed < 50
    with rerun.connect() as con:
        assert snapshot(con, schemas) == before
        loaded = con.execute("select max(loaded_at) from raw.web_events").fetchone()[0]
    with pipeline.connect() as con:
        assert loaded > con.execute("select max(loaded_at) from raw.web_events").fetchone()[0]
    assert snapshot_file(rerun.settings.published_dir / "bi.duckdb", ("marts",)) == published


JOURNEY_MARTS = (
    "dim_customers",
    "fct_sessions",
    "fct_touchpoints",
    "fct_journey_stages",
    "fct_orders",
)


def test_the_journey_marts_are_built_and_published(pipeline):
    bi = duckdb.connect(str(pipeline.settings.published_dir / "bi.duckdb"), read_only=True)
    try:
        for mart in JOURNEY_MARTS:
            assert bi.execute(f"select count(*) from marts.{mart}").fetchone()[0] > 0, mart
    finally:
        bi.close()


def test_a_customer_can_be_followed_from_an_anonymous_visit_to_a_purchase(pipeline):
    with pipeline.connect() as con:
        followed = con.execute(
            """
            select customers.customer_id
            from marts.dim_customers as customers
            inner join marts.fct_sessions as sessions
                on customers.customer_id = sessions.customer_id
            where
                customers.orders_count > 0
                and sessions.stitch_method = 'device_single_contact'
                and sessions.started_at < customers.first_order_at
            order by customers.customer_id
            limit 1
            """
        ).fetchone()
        assert followed, "a buyer whose earlier anonymous sessions were stitched retroactively"
        [customer_id] = followed
        stages = con.execute(
            "select stage, entering_touchpoint_id from marts.fct_journey_stages "
            "where customer_id = ? order by stage_order",
            [customer_id],
        ).fetchall()
        types = {
            row[0]
            for row in con.execute(
                "select touchpoint_type from marts.fct_touchpoints where customer_id = ?",
                [customer_id],
            ).fetchall()
        }
    assert [stage for stage, _ in stages][:4] == [
        "awareness",
        "consideration",
        "decision",
        "purchase",
    ]
    assert dict(stages)["purchase"].startswith("order:")
    assert {"web_session", "order"} <= types


def test_a_repeat_purchase_is_numbered_with_the_days_since_the_previous_one(pipeline):
    with pipeline.connect() as con:
        repeats = con.execute(
            "select order_number, days_since_previous_order from marts.fct_orders "
            "where order_number > 1"
        ).fetchall()
    assert repeats
    assert all(days is not None and days >= 0 for _, days in repeats)


def test_every_dbt_unit_test_passes(pipeline, tmp_path):
    """Production runs skip dbt's unit tests (they test SQL, not data); CI runs them here,
    against (a copy of) the warehouse the pipeline built (dbt reads the column types of
    each input, and opens the file for writing)."""
    warehouse = pipeline.copy(tmp_path / "warehouse").settings.warehouse_dir
    result = subprocess.run(
        [
            dbt_executable(),
            "test",
            "--select",
            "test_type:unit",
            "--target",
            DBT_TARGET,
            "--target-path",
            str(tmp_path / "dbt_target"),
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "JOURNEY_WAREHOUSE_DIR": str(warehouse)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert "PASS=" in result.stdout and " 0 unit tests" not in result.stdout


def test_the_semantic_layer_validates_and_answers_from_the_marts(pipeline, tmp_path):
    """MetricFlow checks the semantic models against the built warehouse and computes a
    metric; the totals must equal kpi_daily's (on a copy of the warehouse: dbt's adapter
    opens the file for writing)."""
    copy = pipeline.copy(tmp_path / "warehouse")
    # MetricFlow reads the profile's default target (it takes no --target): a copy of
    # profiles.yml whose default is the pipeline's.
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    text = (REPO_ROOT / "profiles.yml").read_text()
    default = next(line for line in text.splitlines() if line.startswith("  target: "))
    (profiles / "profiles.yml").write_text(text.replace(default, f"  target: {DBT_TARGET}", 1))
    env = {
        **os.environ,
        "JOURNEY_WAREHOUSE_DIR": str(copy.settings.warehouse_dir),
        "DBT_PROFILES_DIR": str(profiles),
    }
    # MetricFlow reads <project>/target/semantic_manifest.json, whichever target last parsed
    # there (an analytics engineer's `dbt build` writes the dev target's): the project is
    # parsed here for the pipeline's target, in a folder of links to it.
    project = tmp_path / "project"
    project.mkdir()
    for name in PROJECT_INPUTS:
        (project / name).symlink_to(REPO_ROOT / name)
    parsed = subprocess.run(
        [dbt_executable(), "parse", "--quiet"], cwd=project, env=env, capture_output=True, text=True
    )
    assert parsed.returncode == 0, parsed.stdout[-4000:]
    mf = str(Path(dbt_executable()).with_name("mf"))
    validated = subprocess.run(
        [mf, "validate-configs"], cwd=project, env=env, capture_output=True, text=True
    )
    assert validated.returncode == 0, validated.stdout[-4000:] + validated.stderr[-2000:]
    assert "ERRORS: 0" in validated.stdout

    answer = tmp_path / "sessions.csv"
    queried = subprocess.run(
        [mf, "query", "--metrics", "sessions,orders", "--csv", str(answer)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert queried.returncode == 0, queried.stdout[-4000:] + queried.stderr[-2000:]
    header, values = answer.read_text().strip().splitlines()
    totals = dict(zip(header.split(","), map(float, values.split(",")), strict=True))
    with copy.connect() as con:
        sessions, orders = con.execute(
            "select sum(sessions), sum(orders) from marts.kpi_daily"
        ).fetchone()
    assert totals == {"sessions": sessions, "orders": orders}


def test_a_spend_row_dated_decades_ahead_is_rejected_and_kpi_daily_stops_at_the_last_real_day(
    pipeline,
):
    """The generator plants a spend row dated 2099-01-01: kept, it would stretch kpi_daily
    (and the CLV models' last day of data) to 2099."""
    last_landing_day = PIPELINE_START + dt.timedelta(days=PIPELINE_DAYS - 1)
    with pipeline.connect() as con:
        [reason] = con.execute(
            "select reason from raw.rejected_records "
            "where source = 'ads' and raw_record like '%2099-01-01%'"
        ).fetchone()
        last_kpi_day = con.execute("select max(date) from marts.kpi_daily").fetchone()[0]
    assert "2099-01-01 is more than 48 hours after its file's day" in reason
    assert last_kpi_day <= last_landing_day + dt.timedelta(days=2)
