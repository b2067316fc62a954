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

A partitioned output's materializations (one per landing day of the run: 180 for each of
the 19 partitioned assets in the README's full build, 3 400 events) are stored as one
batch: one transaction per database instead of two commits per event (`store_event_batch`,
with Dagster's batching turned on by `JourneyInstance`). With the tables' existence asked
once (Dagster asked SQLite before every asset event, through a new connection) and commits
that do not wait for the disk, storing a materialization went from about 8 ms to about 2 ms
of the run's time, tests/test_instance_storage.py comparing what is recorded with Dagster's
own instance and storage.

`journey run` and `journey ui` name both in the instance's dagster.yaml (orchestration/cli.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy
from dagster import DagsterInstance
from dagster._core.errors import DagsterInvariantViolationError
from dagster._core.events import ASSET_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SqliteEventLogStorage,
)
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlalchemy_compat import db_result
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import serialize_value
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool


def _commit_without_waiting_for_the_disk(dbapi_connection: Any, _record: Any) -> None:
    """SQLite's `synchronous=NORMAL` on each connection: in WAL mode (Dagster's) a commit no
    longer waits for the disk (an fsync per commit, two commits per asset event); the
    database stays consistent, and what a power cut can lose is the last commits of the
    run's history (the warehouse's own files are DuckDB's, not touched by this)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` that reuses one connection per shard (run or index)."""

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        self._engines: dict[str, Engine] = {}
        self._tables_present: set[str] = set()
        self._asset_key_columns_present: set[str] = set()
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
            sqlalchemy.event.listen(engine, "connect", _commit_without_waiting_for_the_disk)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            self._engines[shard] = engine
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock, self._engine(shard).connect() as conn, conn.begin():
            yield conn

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """The events Dagster batches (a partitioned output's materializations, one per
        partition of the run's range, and the run's planned events), each table's rows in
        one transaction instead of a transaction per event and database: the same rows in
        the same order as `store_event`, which still takes every other event."""
        if not events or not all(
            event.is_dagster_event and event.dagster_event_type in ASSET_EVENTS for event in events
        ):
            for event in events:
                self.store_event(event)
            return
        statements = [(event, self.prepare_insert_event(event)) for event in events]
        for run_id in dict.fromkeys(event.run_id for event in events):
            with self.run_connection(run_id) as conn:
                for event, statement in statements:
                    if event.run_id == run_id:
                        conn.execute(statement)
        with self.index_transaction() as conn:  # mirrored for cross-run asset queries
            event_ids = []
            for _event, statement in statements:
                with db_result(conn, statement) as result:
                    event_ids.append(result.inserted_primary_key[0])
            if None in event_ids:
                raise DagsterInvariantViolationError(
                    "Cannot store asset event tags for null event id."
                )
            self._store_asset_event_tags(conn, events, event_ids)
            for event, event_id in zip(events, event_ids, strict=True):
                self._store_asset_event(conn, event, event_id)

    def has_table(self, table_name: str) -> bool:
        """Dagster asks before every asset and check event whether a table of the index
        database exists, each time through a new engine and connection; a table, once
        there, stays (only a positive answer is kept)."""
        if table_name not in self._tables_present and super().has_table(table_name):
            self._tables_present.add(table_name)
        return table_name in self._tables_present

    def _has_asset_key_col_on_connection(self, conn: Connection, column_name: str) -> bool:
        """Asked (by inspecting the table) for every asset event; a column, once there, stays."""
        if column_name not in self._asset_key_columns_present and (
            super()._has_asset_key_col_on_connection(conn, column_name)
        ):
            self._asset_key_columns_present.add(column_name)
        return column_name in self._asset_key_columns_present

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


# Dagster buffers a partitioned output's materializations and a run's planned events and
# stores each buffer with `store_event_batch` only where the instance's batch size is above
# zero (0 by default, set by DAGSTER_EVENT_BATCH_SIZE). A buffer is stored when it is full
# or its last event arrives; a run's largest is a partitioned output over every landing day.
EVENT_BATCH_SIZE = 1000


class JourneyInstance(DagsterInstance):
    """Dagster's instance with event batching on (`EVENT_BATCH_SIZE`), so that the storage
    above writes the events of one partitioned output in one transaction per database."""

    # What Dagster asks of a dagster.yaml's instance_class: no settings of its own, the
    # default storages of an instance (dagster.yaml names the event log's).
    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        return {}

    @staticmethod
    def config_defaults(base_dir: str) -> Any:
        return InstanceRef.config_defaults(base_dir)

    def _get_event_batch_size(self) -> int:
        return EVENT_BATCH_SIZE
