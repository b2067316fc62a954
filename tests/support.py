"""Helpers shared by the tests that run the whole pipeline (fixtures are in conftest.py)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

from journey_tools.sample_data import generate_landing
from orchestration.runner import RunOutcome
from orchestration.settings import Settings

PIPELINE_START = dt.date(2026, 2, 1)
PIPELINE_DAYS = 14
PIPELINE_CUSTOMERS = 800
PIPELINE_SEED = 7
# Tables that describe runs rather than the data: they differ between runs by design (the
# run-health mart; what each model step was last built from, orchestration/unchanged.py).
RUN_SPECIFIC_TABLES = frozenset(
    {"marts.fct_run_health", "orchestration.asset_inputs", "orchestration.raw_day_digests"}
)


@dataclass
class PipelineRun:
    settings: Settings
    manifest: dict
    outcome: RunOutcome

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.settings.warehouse_path), read_only=True)

    def copy(self, warehouse_dir: Path) -> PipelineRun:
        """The same run with a copy of its warehouse folder (journey.duckdb and published/),
        for a test that writes: the shared warehouse stays read-only, so tests running in
        other processes at the same time can read it."""
        shutil.copytree(
            self.settings.warehouse_dir,
            warehouse_dir,
            ignore=shutil.ignore_patterns("logs", ".dagster", "*.lock", "*.wal"),
        )
        return replace(self, settings=replace(self.settings, warehouse_dir=warehouse_dir))


def snapshot(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> dict:
    """Every row of every table and view in the schemas (load times and run tables excluded)."""
    relations = con.execute(
        "select table_schema, table_name from information_schema.tables "
        f"where table_schema in {schemas!r} order by all"
    ).fetchall()
    tables = {}
    for schema, table in relations:
        if f"{schema}.{table}" in RUN_SPECIFIC_TABLES:
            continue
        columns = [
            (name, data_type)
            for name, data_type in con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            if name != "loaded_at"
        ]
        # Sums of doubles depend on the order DuckDB's parallel aggregation adds them in:
        # compare them to 9 decimals, everything else exactly.
        select = ", ".join(
            f'cast(round("{c}", 9) as varchar)'
            if data_type in ("DOUBLE", "FLOAT", "REAL")
            else f'cast("{c}" as varchar)'
            for c, data_type in columns
        )
        tables[f"{schema}.{table}"] = con.execute(
            f'select {select} from {schema}."{table}" order by all'
        ).fetchall()
    return tables


def snapshot_file(path: Path, schemas: tuple[str, ...]) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return snapshot(con, schemas)
    finally:
        con.close()


def journey_command(settings: Settings, *args: str) -> tuple[list[str], dict[str, str]]:
    """`journey ...` as a separate process, with the settings in its environment."""
    env = {
        **os.environ,
        "JOURNEY_LANDING_DIR": str(settings.landing_dir),
        "JOURNEY_WAREHOUSE_DIR": str(settings.warehouse_dir),
        "JOURNEY_REPORTING_TZ": settings.reporting_tz,
        "JOURNEY_ENGINE": settings.engine,
        "DAGSTER_HOME": str(settings.warehouse_dir / ".dagster"),
        "PYTHONUNBUFFERED": "1",
    }
    return [sys.executable, "-m", "orchestration.cli", *args], env


def run_journey(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    command, env = journey_command(settings, *args)
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def kill_journey_when(
    settings: Settings,
    marker: str | None,
    *args: str,
    delay: float = 0.0,
    appears: str | None = None,
) -> str:
    """Start `journey ...` and SIGKILL its whole process group (dbt included) once a line
    of its output contains `marker` (then after `delay` seconds), or once a file matching
    the glob `appears` (relative to the warehouse folder) exists; returns its output."""
    command, env = journey_command(settings, *args)
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + 900
    triggered = False
    while process.poll() is None and time.monotonic() < deadline:
        if marker is not None and any(marker in line for line in list(lines)):
            time.sleep(delay)
            triggered = True
        elif appears is not None and any(settings.warehouse_dir.glob(appears)):
            triggered = True
        if triggered:
            os.killpg(process.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    process.wait()
    reader.join(timeout=10)
    output = "".join(lines)
    assert triggered, f"the run ended before the kill point:\n{output[-3000:]}"
    assert process.returncode == -signal.SIGKILL, output[-3000:]
    return output


def generate_pipeline_landing(out: Path) -> dict:
    """The landing folder of the `pipeline` fixture (the same bytes wherever it is written)."""
    return generate_landing(
        out,
        customers=PIPELINE_CUSTOMERS,
        days=PIPELINE_DAYS,
        start=PIPELINE_START,
        seed=PIPELINE_SEED,
    )
