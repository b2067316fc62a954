"""The incremental web models equal a full build after a change only their own change
detection can find: the late-data lookback is 0, and the runs pass no window. And the run
window reaches the SQL when dbt compiles it, without making dbt parse anything again.

A retried message has two copies, on two landing days; the first-received one is kept.
That day is then reloaded without it, so the kept copy moves to the other day while the
device's message count stays the same.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import duckdb

from orchestration.project import DBT_TARGET, REPO_ROOT, dbt_executable, pipeline_dbt_executable
from tests.support import PIPELINE_DAYS, PIPELINE_START

WEB_CHAIN = "+int_sessions_aggregated"
INCREMENTAL_TABLES = (
    "staging.stg_web__events",
    "intermediate.int_web_events_sessionized",
    "intermediate.int_sessions_aggregated",
)


def _dbt_run(warehouse_dir: Path, *args: str) -> None:
    """A plain `dbt run` of the web chain: no run window (JOURNEY_RUN_WINDOW_START/END
    unset), so only the models' own change detection finds what changed."""
    target = ["--target", DBT_TARGET, "--target-path", str(warehouse_dir / "dbt_target")]
    result = subprocess.run(
        [dbt_executable(), "run", "--select", WEB_CHAIN, *args, *target],
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "JOURNEY_WAREHOUSE_DIR": str(warehouse_dir),
            "JOURNEY_WEB_LATE_DATA_LOOKBACK_DAYS": "0",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]


def _copy_warehouse(source: Path, target_dir: Path) -> Path:
    target_dir.mkdir(parents=True)
    for name in ("journey.duckdb", "journey.duckdb.wal"):
        if (source.parent / name).exists():
            shutil.copy2(source.parent / name, target_dir / name)
    return target_dir / "journey.duckdb"


def _reload_day(con: duckdb.DuckDBPyConnection, day: dt.date) -> None:
    """What the loader does to a day it loads again: every row gets a new loaded_at."""
    con.execute(
        "update raw.web_events set loaded_at = now() + interval 1 second where dt = ?", [day]
    )


def test_a_message_whose_kept_copy_moves_to_another_day_is_sessionised_again(pipeline, tmp_path):
    incremental = _copy_warehouse(pipeline.settings.warehouse_path, tmp_path / "incremental")

    con = duckdb.connect(str(incremental))
    # A message that is its device's only message that day, from a device seen on at least
    # three days, and a later day of that device for its retry: its latest loaded_at and its
    # number of messages then stay the same when the kept copy moves.
    message = con.execute(
        """
        with messages as (
            select
                dt,
                file,
                line,
                record ->> '$.messageId' as message_id,
                record ->> '$.anonymousId' as anonymous_id,
                count(*) over (partition by record ->> '$.anonymousId', dt) as that_day
            from raw.web_events
            where record ->> '$.anonymousId' is not null
        ),
        devices as (
            select anonymous_id, list(distinct dt order by dt) as days
            from messages
            group by anonymous_id
            having count(distinct dt) >= 3
        )
        select
            messages.dt,
            messages.file,
            messages.line,
            messages.message_id,
            list_filter(devices.days, lambda d: d > messages.dt)[1] as retry_day
        from messages
        inner join devices on messages.anonymous_id = devices.anonymous_id
        where
            messages.that_day = 1
            and len(list_filter(devices.days, lambda d: d > messages.dt)) > 0
            and messages.dt > ?
        order by messages.dt, messages.message_id
        limit 1
        """,
        [PIPELINE_START],
    ).fetchone()
    assert message, "the generated landing has a device seen on several days"
    day, file, line, message_id, retry_day = message
    first_day = day

    # The retry, received later, lands in a reload of a later day.
    con.execute(
        """
        insert into raw.web_events
        select
            ?,
            'web/events/dt=' || ? || '/retry.jsonl',
            1,
            cast(json_merge_patch(record, '{"receivedAt": "2030-01-01T00:00:00Z"}') as json),
            loaded_at
        from raw.web_events
        where dt = ? and file = ? and line = ?
        """,
        [retry_day, str(retry_day), day, file, line],
    )
    _reload_day(con, retry_day)
    con.close()
    _dbt_run(incremental.parent)

    # The first day is reloaded without the message: its retry becomes the kept copy.
    con = duckdb.connect(str(incremental))
    con.execute(
        "delete from raw.web_events where dt = ? and file = ? and line = ?", [day, file, line]
    )
    _reload_day(con, first_day)
    con.close()
    _dbt_run(incremental.parent)

    full = _copy_warehouse(incremental, tmp_path / "full")
    _dbt_run(full.parent, "--full-refresh")

    con = duckdb.connect(str(incremental), read_only=True)
    con.execute(f"attach '{full}' as full_build (read_only)")
    kept = con.execute(
        "select landing_dt from staging.stg_web__events where message_id = ?", [message_id]
    ).fetchone()
    assert kept == (retry_day,)
    for table in INCREMENTAL_TABLES:
        only_incremental, only_full = (
            con.execute(
                f"select count(*) from (select * from {a} except all select * from {b})"
            ).fetchone()[0]
            for a, b in ((table, f"full_build.{table}"), (f"full_build.{table}", table))
        )
        assert (only_incremental, only_full) == (0, 0), table
    con.close()


def test_the_run_window_is_read_when_dbt_compiles_and_changes_no_parse(pipeline, tmp_path):
    # The window changes from one dbt command of a run to the next (set for the incremental
    # group only); dbt parses a file again when an environment variable it read while parsing
    # changes, so the window is read only when the SQL is compiled (macro run_window_is_set).
    warehouse = _copy_warehouse(pipeline.settings.warehouse_path, tmp_path / "w").parent
    target = warehouse / "dbt_target"
    view = "int_web_devices_to_recompute"
    compiled = target / "compiled" / "journey" / "models" / "intermediate" / "web" / f"{view}.sql"
    day = PIPELINE_START + dt.timedelta(days=PIPELINE_DAYS - 1)
    windows = [
        {"JOURNEY_RUN_WINDOW_START": "", "JOURNEY_RUN_WINDOW_END": ""},
        {
            "JOURNEY_RUN_WINDOW_START": str(day),
            "JOURNEY_RUN_WINDOW_END": str(day + dt.timedelta(days=1)),
        },
        {"JOURNEY_RUN_WINDOW_START": "", "JOURNEY_RUN_WINDOW_END": ""},
    ]
    for number, window in enumerate(windows):
        command = [pipeline_dbt_executable(), "compile", "--select", view, "--debug"]
        command += ["--log-level-file", "none", "--no-write-json"]
        command += ["--target", DBT_TARGET, "--target-path", str(target)]
        result = subprocess.run(
            command,
            cwd=REPO_ROOT,
            env={**os.environ, "JOURNEY_WAREHOUSE_DIR": str(warehouse), **window},
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-4000:]
        sql = compiled.read_text()
        if window["JOURNEY_RUN_WINDOW_START"]:
            assert f"cast('{day}' as date)" in sql
            assert "cast(null as date)" not in sql
        else:
            assert f"cast('{day}' as date)" not in sql
            assert "cast(null as date)" in sql
        if number > 0:
            assert "Partial parsing enabled, no changes found, skipping parsing" in result.stdout
