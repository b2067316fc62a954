"""The warehouse resource: a locked DuckDB file is retried with backoff, then reported; a
Spark run's server starts when a step first needs it and stops with the run."""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager

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
