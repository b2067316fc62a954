"""Dagster's SQLite event log, with one open connection per database instead of one per
statement.

Dagster's `SqliteEventLogStorage` creates a SQLAlchemy engine, opens a connection, commits
and closes it for every write (NullPool), two or three times per event (the run's
database, then the index database for asset and check events). Closing the last
connection to a WAL database checkpoints it; a one-day run stores about 1 900 events, and
took 6.4 s longer (60.8 s instead of 54.4 s) than with this subclass, which keeps one engine and
one connection per database for the life of the process: the same tables, the same
transactions (each write still commits at once, so the UI and other processes see it), and
the same serialisation of threads (`_db_lock`).

It also writes the rows of a planned check in one statement: Dagster 1.13 plans every
check of a partition-range run with the run's whole partition range, one row per check
and partition (510 checks x 180 days = 91 800 rows for the README's full build), and
serialised the same event once per row, in a multi-row insert that SQLAlchemy compiled
anew each time (planning took 31 s of that build).

`journey run` and `journey ui` name it in the instance's dagster.yaml (orchestration/cli.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SqliteEventLogStorage,
)
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import serialize_value
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` that reuses one connection per shard (run or index)."""

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        self._engines: dict[str, Engine] = {}
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                # One connection, used by one thread at a time (under _db_lock).
                poolclass=StaticPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            self._engines[shard] = engine
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock, self._engine(shard).connect() as conn, conn.begin():
            yield conn

    def _store_asset_check_evaluation_planned(
        self, event: EventLogEntry, event_id: int | None
    ) -> None:
        """The rows Dagster's own method writes (one per partition of the check's run), with
        the event serialised once and inserted by one compiled statement."""
        planned = event.dagster_event.event_specific_data  # AssetCheckEvaluationPlanned
        subset = planned.partitions_subset
        partition_keys = subset.get_partition_keys() if subset else [None]
        common = {
            "asset_key": planned.asset_key.to_string(),
            "check_name": planned.check_name,
            "run_id": event.run_id,
            "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
            "evaluation_event": serialize_value(event),
            "evaluation_event_timestamp": self._event_insert_timestamp(event),
            "evaluation_event_storage_id": event_id,
        }
        rows = [{**common, "partition": key} for key in partition_keys]
        if rows:  # an empty list would execute the insert once, without values
            with self.index_connection() as conn:
                conn.execute(AssetCheckExecutionsTable.insert(), rows)

    def _dispose_engines(self) -> None:
        with self._db_lock:
            engines, self._engines = self._engines, {}
        for engine in engines.values():
            engine.dispose()

    def wipe(self) -> None:
        self._dispose_engines()  # before the files are deleted
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()
