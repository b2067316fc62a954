"""The warehouse resource: one place that knows the paths and opens DuckDB."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Generator, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from orchestration.runlock import warehouse_lock
from orchestration.settings import (
    DEFAULT_DUCKDB_MEMORY_LIMIT,
    DEFAULT_LANDING_DIR,
    DEFAULT_REPORTING_TZ,
    DEFAULT_SPARK_DRIVER_MEMORY,
    DEFAULT_WAREHOUSE_DIR,
    Settings,
)

LOCK_RETRY_SECONDS = (0.5, 1, 2, 4, 8, 15, 30)


def apply_duckdb_settings(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """SET every setting of `settings.duckdb_settings()` on `con` (DuckDB casts the text)."""
    for name, value in settings.duckdb_settings().items():
        quoted = "'" + value.replace("'", "''") + "'"
        con.execute(f"set {name} = {quoted}")


# The fields of Settings: the resource has one of each, of the same name (its configuration
# in Dagster's UI; tests/test_resources.py holds the two to the same names and defaults).
SETTINGS = dataclasses.fields(Settings)


class Warehouse(dg.ConfigurableResource):
    """The settings of the operations contract, as this resource's configuration.

    The definitions fill it from `Settings.from_env()` (`Warehouse.from_settings`); a field
    left empty takes the contract's default, never the environment.
    """

    landing_dir: str = ""
    warehouse_dir: str = ""
    reporting_tz: str = DEFAULT_REPORTING_TZ
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT
    duckdb_threads: str = ""
    duckdb_temp_dir: str = ""
    engine: str = "duckdb"
    spark_remote: str = ""
    spark_driver_memory: str = DEFAULT_SPARK_DRIVER_MEMORY
    # JOURNEY_ENGINE=spark: the run's Spark Connect address once a step asked for it, and
    # what stops its server at the run's end.
    _spark_address: str = PrivateAttr(default="")
    _run_stack: ExitStack | None = PrivateAttr(default=None)

    @classmethod
    def from_settings(cls, settings: Settings) -> Warehouse:
        return cls(**{field.name: str(getattr(settings, field.name)) for field in SETTINGS})

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Generator:
        """A run holds the warehouse's run lock from start to end, so runs never interleave:
        one launched while another writes (the schedule during a `journey run`) waits for it.
        A `journey run` took the lock already; it is re-entrant within the process."""
        run = context.dagster_run
        description = f"Dagster run {run.run_id}" if run else "a Dagster run"
        settings = self.settings()
        with warehouse_lock(settings.warehouse_dir, description, wait=True), ExitStack() as stack:
            self._run_stack = stack
            try:
                yield self
            finally:
                self._run_stack = None
                self._spark_address = ""

    @property
    def spark_address(self) -> str:
        """The run's Spark Connect address (JOURNEY_ENGINE=spark; orchestration/spark.py):
        the first step that asks starts the run's Spark Connect server (or takes
        JOURNEY_SPARK_REMOTE's), which the dbt commands and this process then share until
        the run ends; a run whose steps never ask (publishing alone) starts none."""
        if self._spark_address:
            return self._spark_address
        settings = self.settings()
        if settings.engine != "spark":
            raise RuntimeError(f"no Spark in this run: JOURNEY_ENGINE is {settings.engine}")
        if self._run_stack is None:
            raise RuntimeError("the Spark server exists only while a run executes")
        from orchestration.spark import spark_server

        server = spark_server(
            settings.warehouse_dir, settings.spark_remote, settings.spark_driver_memory
        )
        self._spark_address = self._run_stack.enter_context(server)
        return self._spark_address

    def settings(self) -> Settings:
        values = {field.name: getattr(self, field.name) for field in SETTINGS}
        values["landing_dir"] = Path(self.landing_dir or DEFAULT_LANDING_DIR).resolve()
        values["warehouse_dir"] = Path(self.warehouse_dir or DEFAULT_WAREHOUSE_DIR).resolve()
        return Settings(**values)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the working warehouse for writing, retrying while another process holds it.

        The connection has the time zone UTC and the resource's DuckDB settings.
        """
        settings = self.settings()
        path = settings.warehouse_path
        path.parent.mkdir(parents=True, exist_ok=True)
        con = open_with_retry(path)
        try:
            apply_duckdb_settings(con, settings)
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
