"""The warehouse resource: a locked DuckDB file is retried with backoff, then reported; a
Spark run's server starts when a step first needs it and stops with the run."""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration import spark
from orchestration.defs import resources
from orchestration.settings import Settings

HOLD_LOCK = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _hold_lock(path, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_transient_lock_is_retried_until_the_file_is_free(tmp_path, monkeypatch):
    path = tmp_path / "journey.duckdb"
    duckdb.connect(str(path)).close()
    monkeypatch.setattr(resources, "LOCK_RETRY_SECONDS", (0.5, 0.5, 1, 1, 2, 2, 4))
    holder = _hold_lock(path, 1.5)
    started = time.monotonic()
    try:
        con = resources.open_with_retry(path)
        con.execute("create table written_after_the_lock as select 1 as x")
        con.close()
    finally:
        holder.wait()
    assert time.monotonic() - started >= 1.0, "the first attempts met the lock"


def test_a_persistent_lock_fails_with_a_message_that_says_what_to_do(tmp_path, monkeypatch):
    path = tmp_path / "journey.duckdb"
    duckdb.connect(str(path)).close()
    monkeypatch.setattr(resources, "LOCK_RETRY_SECONDS", (0.1, 0.2))
    holder = _hold_lock(path, 30)
    try:
        with pytest.raises(RuntimeError) as raised:
            resources.open_with_retry(path)
    finally:
        holder.kill()
        holder.wait()
    message = str(raised.value)
    assert str(path) in message
    assert "held by another process" in message and "bi.duckdb" in message


def _recording_server(events: list[str]):
    """A stand-in for orchestration.spark.spark_server that records its start and stop."""

    @contextmanager
    def spark_server(warehouse_dir, remote="", driver_memory="4g"):
        events.append(f"start in {warehouse_dir.name} with {driver_memory}")
        try:
            yield "sc://127.0.0.1:15002"
        finally:
            events.append("stop")

    return spark_server


def test_a_spark_run_starts_its_server_when_a_step_first_asks_and_stops_it_at_the_end(
    tmp_path, monkeypatch
):
    events: list[str] = []
    monkeypatch.setattr(spark, "spark_server", _recording_server(events))
    monkeypatch.setenv("JOURNEY_WAREHOUSE_DIR", str(tmp_path / "wh"))
    monkeypatch.setenv("JOURNEY_ENGINE", "spark")
    monkeypatch.setenv("JOURNEY_SPARK_DRIVER_MEMORY", "6g")
    warehouse = resources.Warehouse.from_settings(Settings.from_env())
    with dg.build_resources({"warehouse": warehouse}) as built:
        assert events == [], "no step asked (a run that only publishes): no server"
        assert built.warehouse.spark_address == "sc://127.0.0.1:15002"
        assert built.warehouse.spark_address == "sc://127.0.0.1:15002"
        assert events == ["start in wh with 6g"], "one server for the whole run"
    assert events == ["start in wh with 6g", "stop"]


def test_without_spark_a_step_that_asks_for_it_fails_saying_why(tmp_path):
    warehouse = resources.Warehouse(warehouse_dir=str(tmp_path), engine="duckdb")
    with (
        dg.build_resources({"warehouse": warehouse}) as built,
        pytest.raises(RuntimeError, match="JOURNEY_ENGINE is duckdb"),
    ):
        _ = built.warehouse.spark_address
    with pytest.raises(RuntimeError, match="only while a run executes"):
        _ = resources.Warehouse(warehouse_dir=str(tmp_path), engine="spark").spark_address


# Every setting away from its default.
EVERY_SETTING = Settings(
    landing_dir=Path("/data/landing"),
    warehouse_dir=Path("/data/wh"),
    reporting_tz="Europe/Berlin",
    duckdb_memory_limit="2GB",
    duckdb_threads="3",
    duckdb_temp_dir="/tmp/spill",
    engine="spark",
    spark_remote="sc://spark:15002",
    spark_driver_memory="8g",
)


def test_the_resource_has_every_setting_with_the_contract_s_default():
    """One field per setting, of the same name and default (the folders: empty, resolved to
    the defaults by `settings()`), and a round trip that loses nothing."""
    import dataclasses

    from orchestration.settings import ENVIRONMENT_VARIABLES

    fields = {field.name: field for field in dataclasses.fields(Settings)}
    assert set(resources.Warehouse.model_fields) == set(fields) == set(ENVIRONMENT_VARIABLES)
    for name, field in fields.items():
        default = resources.Warehouse.model_fields[name].default
        expected = "" if field.default is dataclasses.MISSING else field.default
        assert default == expected, name
    settings = EVERY_SETTING
    assert resources.Warehouse.from_settings(settings).settings() == settings
    assert settings.environment() == {
        "JOURNEY_LANDING_DIR": "/data/landing",
        "JOURNEY_WAREHOUSE_DIR": "/data/wh",
        "JOURNEY_REPORTING_TZ": "Europe/Berlin",
        "JOURNEY_DUCKDB_MEMORY_LIMIT": "2GB",
        "JOURNEY_DUCKDB_THREADS": "3",
        "JOURNEY_DUCKDB_TEMP_DIR": "/tmp/spill",
        "JOURNEY_ENGINE": "spark",
        "JOURNEY_SPARK_REMOTE": "sc://spark:15002",
        "JOURNEY_SPARK_DRIVER_MEMORY": "8g",
    }


def test_the_environment_gives_each_setting_and_blank_values_take_the_defaults(monkeypatch):
    from orchestration.settings import DEFAULT_LANDING_DIR, ENVIRONMENT_VARIABLES

    for variable in ENVIRONMENT_VARIABLES.values():
        monkeypatch.setenv(variable, "  ")
    defaults = Settings.from_env()
    assert defaults == Settings(
        landing_dir=DEFAULT_LANDING_DIR.resolve(), warehouse_dir=defaults.warehouse_dir
    )
    expected = EVERY_SETTING
    for variable, value in expected.environment().items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("JOURNEY_ENGINE", " Spark ")
    assert Settings.from_env() == expected
