"""The warehouse resource: one place that knows the paths and opens DuckDB."""

from __future__ import annotations

import os
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.runlock import warehouse_lock
from orchestration.settings import Settings

LOCK_RETRY_SECONDS = (0.5, 1, 2, 4, 8, 15, 30)
DEFAULT_MEMORY_LIMIT = "4GB"


def duckdb_settings() -> dict[str, str]:
    """DuckDB settings from the environment, the same ones profiles.yml gives dbt.

    JOURNEY_DUCKDB_MEMORY_LIMIT (default 4GB), JOURNEY_DUCKDB_THREADS (default: DuckDB's,
    one per core) and JOURNEY_DUCKDB_TEMP_DIR (where DuckDB spills; default: DuckDB's,
    `journey.duckdb.tmp` beside the warehouse).
    """
    settings = {
        "TimeZone": "UTC",
        "memory_limit": os.environ.get("JOURNEY_DUCKDB_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT,
    }
    if threads := os.environ.get("JOURNEY_DUCKDB_THREADS"):
        settings["threads"] = threads
    if temp_dir := os.environ.get("JOURNEY_DUCKDB_TEMP_DIR"):
        settings["temp_directory"] = temp_dir
    return settings


def apply_duckdb_settings(con: duckdb.DuckDBPyConnection) -> None:
    """SET every setting of duckdb_settings() on `con` (DuckDB casts the text)."""
    for name, value in duckdb_settings().items():
        quoted = "'" + value.replace("'", "''") + "'"
        con.execute(f"set {name} = {quoted}")


class Warehouse(dg.ConfigurableResource):
    """Paths of the landing folder and the warehouse; empty means the environment's setting."""

    landing_dir: str = ""
    warehouse_dir: str = ""

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Generator:
        """A run holds the warehouse's run lock from start to end, so runs never interleave:
        one launched while another writes (the schedule during a `journey run`) waits for it.
        A `journey run` took the lock already; it is re-entrant within the process."""
        run = context.dagster_run
        description = f"Dagster run {run.run_id}" if run else "a Dagster run"
        with warehouse_lock(self.settings().warehouse_dir, description, wait=True):
            yield self

    def settings(self) -> Settings:
        settings = Settings.from_env()
        if self.landing_dir:
            settings = replace(settings, landing_dir=Path(self.landing_dir).resolve())
        if self.warehouse_dir:
            settings = replace(settings, warehouse_dir=Path(self.warehouse_dir).resolve())
        return settings

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the working warehouse for writing, retrying while another process holds it.

        The connection has the time zone UTC and the DuckDB settings of duckdb_settings().
        """
        path = self.settings().warehouse_path
        path.parent.mkdir(parents=True, exist_ok=True)
        con = open_with_retry(path)
        try:
            apply_duckdb_settings(con)
            yield con
        finally:
            con.close()


def open_with_retry(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    for delay in (*LOCK_RETRY_SECONDS, None):
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or delay is None:
                raise RuntimeError(
                    f"{path} is held by another process ({exc}); close the program that "
                    "opened it (BI tools must read published/bi.duckdb instead) and run again"
                ) from exc
            time.sleep(delay)
    raise AssertionError("unreachable")
