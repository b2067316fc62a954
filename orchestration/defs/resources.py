"""The warehouse resource: one place that knows the paths and opens DuckDB."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.settings import Settings

LOCK_RETRY_SECONDS = (0.5, 1, 2, 4, 8, 15, 30)


class Warehouse(dg.ConfigurableResource):
    """Paths of the landing folder and the warehouse; empty means the environment's setting."""

    landing_dir: str = ""
    warehouse_dir: str = ""

    def settings(self) -> Settings:
        settings = Settings.from_env()
        if self.landing_dir:
            settings = replace(settings, landing_dir=Path(self.landing_dir).resolve())
        if self.warehouse_dir:
            settings = replace(settings, warehouse_dir=Path(self.warehouse_dir).resolve())
        return settings

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the working warehouse for writing, retrying while another process holds it."""
        path = self.settings().warehouse_path
        path.parent.mkdir(parents=True, exist_ok=True)
        con = open_with_retry(path)
        try:
            con.execute("set TimeZone = 'UTC'")
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
