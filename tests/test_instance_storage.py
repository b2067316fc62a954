"""The Dagster instance `journey run` keeps in the warehouse folder: its dagster.yaml and its
event log (orchestration/instance_storage.py, one open connection per SQLite database)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import dagster as dg
import pytest
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from orchestration.cli import _prepare_dagster_home
from orchestration.instance_storage import PooledSqliteEventLogStorage
from orchestration.settings import Settings


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return Settings(landing_dir=tmp_path / "landing", warehouse_dir=tmp_path / "warehouse")


@dg.asset(check_specs=[dg.AssetCheckSpec("positive", asset="numbers")])
def numbers():
    yield dg.MaterializeResult(metadata={"rows": 3})
    yield dg.AssetCheckResult(check_name="positive", passed=True)


@dg.asset(deps=[numbers])
def doubled() -> None:
    return None


def test_a_run_s_events_are_stored_and_seen_by_another_process(settings, monkeypatch):
    home = _prepare_dagster_home(settings)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        result = dg.materialize([numbers, doubled], instance=instance)
        assert result.success
        # The same instance reads its own writes, across the run's and the index database.
        assert instance.get_latest_materialization_event(dg.AssetKey("doubled")) is not None
        own_count = len(instance.all_logs(result.run_id))
        assert own_count > 10

        # Another process (the UI, the next run) sees every committed event while this
        # process still holds its connections open.
        seen = subprocess.run(
            [
                sys.executable,
                "-c",
                textwrap.dedent(
                    f"""
                    import dagster as dg
                    with dg.DagsterInstance.get() as instance:
                        run = instance.get_run_by_id({result.run_id!r})
                        check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
                            [dg.AssetCheckKey(dg.AssetKey("numbers"), "positive")]
                        )
                        print(run.status.value, len(instance.all_logs(run.run_id)), len(check))
                    """
                ),
            ],
            env={**os.environ, "DAGSTER_HOME": str(home)},
            capture_output=True,
            text=True,
            check=True,
        )
        assert seen.stdout.split() == ["SUCCESS", str(own_count), "1"]

        # A second run in the same process writes to a new run database beside the first.
        again = dg.materialize([numbers], instance=instance)
        assert again.success and again.run_id != result.run_id
        assert len(instance.get_runs()) == 2


def test_journey_keeps_its_own_dagster_yaml_current_and_leaves_a_replaced_one_alone(settings):
    home = settings.warehouse_dir / ".dagster"
    home.mkdir(parents=True)
    config = home / "dagster.yaml"
    # A file an earlier version wrote is upgraded.
    config.write_text(
        "# One run at a time and one warehouse writer at a time (DuckDB has one writer).\n"
        "concurrency:\n  runs:\n    max_concurrent_runs: 1\n"
    )
    _prepare_dagster_home(settings)
    assert "PooledSqliteEventLogStorage" in config.read_text()
    assert str(home / "history" / "runs") in config.read_text()

    # Someone's own instance configuration (their storage, their settings) is theirs.
    own = "storage:\n  postgres:\n    postgres_url: postgresql://somewhere/dagster\n"
    config.write_text(own)
    _prepare_dagster_home(settings)
    assert config.read_text() == own


DAYS = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-11")


@dg.asset(
    partitions_def=DAYS,
    check_specs=[dg.AssetCheckSpec(name, asset="daily") for name in ("rows", "keys")],
)
def daily():
    yield dg.MaterializeResult()
    yield dg.AssetCheckResult(check_name="rows", passed=True)
    yield dg.AssetCheckResult(check_name="keys", passed=False)


def _check_rows(home, storage_yaml: str, storage: type) -> list[tuple]:
    """Runs `daily` over its ten partitions in one run (as `journey run` does) and returns
    what the instance recorded of its checks: per check and partition, the status and the
    planned event's check."""
    from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
    from dagster._serdes import deserialize_value

    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(storage_yaml)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.event_log_storage) is storage
        keys = DAYS.get_partition_keys()
        job = dg.Definitions(assets=[daily]).resolve_implicit_global_asset_job_def()
        job.execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": keys[0],
                "dagster/asset_partition_range_end": keys[-1],
            },
            raise_on_error=False,
        )
        table = AssetCheckExecutionsTable
        with instance.event_log_storage.index_connection() as conn:
            rows = conn.execute(
                table.select().with_only_columns(
                    table.c.check_name,
                    table.c.partition,
                    table.c.execution_status,
                    table.c.evaluation_event,
                )
            ).fetchall()
    recorded = [
        (name, partition, status, deserialize_value(event).dagster_event.event_type_value)
        for name, partition, status, event in rows
    ]
    return sorted(recorded, key=lambda row: tuple(str(value) for value in row))


def test_a_partition_range_run_records_its_checks_as_dagster_s_own_storage_does(tmp_path):
    pooled = _check_rows(
        tmp_path / "pooled",
        "event_log_storage:\n  module: orchestration.instance_storage\n"
        "  class: PooledSqliteEventLogStorage\n"
        f"  config:\n    base_dir: {tmp_path / 'pooled' / 'history' / 'runs'}\n",
        PooledSqliteEventLogStorage,
    )
    dagster_s = _check_rows(tmp_path / "dagster", "", SqliteEventLogStorage)
    # One row per check and partition of the run (and Dagster's rows without a partition).
    per_partition = [row for row in pooled if row[1] is not None]
    assert len(per_partition) == 2 * 10
    assert {row[1] for row in per_partition} == set(DAYS.get_partition_keys())
    assert pooled == dagster_s


def _materialization_rows(home) -> dict[str, list]:
    """Runs `daily` over its ten partitions in one run and returns what the instance
    recorded of its materializations: the index database's asset events, their tags, and
    what Dagster answers from them."""
    from dagster._core.storage.event_log.schema import AssetEventTagsTable, SqlEventLogStorageTable

    with dg.DagsterInstance.from_config(str(home)) as instance:
        keys = DAYS.get_partition_keys()
        job = dg.Definitions(assets=[daily]).resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": keys[0],
                "dagster/asset_partition_range_end": keys[-1],
            },
            raise_on_error=False,
        )
        events, tags = SqlEventLogStorageTable, AssetEventTagsTable
        with instance.event_log_storage.index_connection() as conn:
            index_events = conn.execute(
                events.select().with_only_columns(
                    events.c.dagster_event_type, events.c.asset_key, events.c.partition
                )
            ).fetchall()
            event_tags = conn.execute(
                tags.select().with_only_columns(tags.c.asset_key, tags.c.key, tags.c.value)
            ).fetchall()
        run_events = [
            record.dagster_event.partition  # type: ignore[union-attr]
            for record in instance.all_logs(result.run_id)
            if record.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
        ]
        return {
            "type": [type(instance).__name__],
            "index events": sorted(map(tuple, index_events), key=str),
            # A data version without a code version is made from the run's id.
            "tags": sorted(
                (asset, key, "<the run's>" if key == "dagster/data_version" else value)
                for asset, key, value in event_tags
            ),
            "run events": run_events,
            "materialized partitions": sorted(
                instance.get_materialized_partitions(dg.AssetKey("daily"))
            ),
            "latest": [
                instance.get_latest_materialization_event(
                    dg.AssetKey("daily")
                ).dagster_event.partition  # type: ignore[union-attr]
            ],
        }


def test_a_partitioned_output_s_materializations_are_stored_in_one_batch(settings, monkeypatch):
    """journey's instance (dagster.yaml: JourneyInstance with batching on, the pooled event
    log) stores a range run's ten materializations of one output in one call, one
    transaction per database, and records exactly what Dagster's own instance and storage
    record."""
    batches: list[int] = []
    store_event_batch = PooledSqliteEventLogStorage.store_event_batch

    def counted(self, events):
        batches.append(len(events))
        store_event_batch(self, events)

    monkeypatch.setattr(PooledSqliteEventLogStorage, "store_event_batch", counted)
    journey_s = _materialization_rows(_prepare_dagster_home(settings))
    assert journey_s["type"] == ["JourneyInstance"]
    assert 10 in batches, batches  # the output's ten materializations at once

    dagster_home = settings.warehouse_dir / "dagster-s-own"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("")
    dagster_s = _materialization_rows(dagster_home)
    assert dagster_s.pop("type") == ["DagsterInstance"]
    journey_s.pop("type")
    assert len(journey_s["run events"]) == 10
    assert journey_s["materialized partitions"] == DAYS.get_partition_keys()
    assert journey_s == dagster_s
