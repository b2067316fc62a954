"""A run that changes nothing rebuilds nothing (issue #18): what each model step was built
from, and whether a run would build it from the same again.

Every dbt table and every Python model's table is a function of three things: the rows in
`raw` (what the loader and the erasure pass wrote), the project (the dbt models, macros,
seeds and tests, this package's code, the versions of dbt and DuckDB) and the settings dbt
and the steps read (`JOURNEY_*`, but the folders' paths and the run's window). A step of
the model layers (a dbt group, a Python model) records a fingerprint of the three when it
has built successfully, in `orchestration.asset_inputs`, and drops that record before it
builds; when a run finds the fingerprint it would record already there, the step's tables
are what it would build: it reports its assets materialised, unchanged since the run that
built them, and builds nothing (its dbt tests are not run again: Dagster shows them
skipped). A rerun of a day whose files are already loaded reloads them (the same rows), then
skips every model step, and publishes the same marts.

The rows of `raw` are fingerprinted by content, not by when they were written: a reload
writes the same rows with a later `loaded_at`, which must not count as a change. A table's
digest is kept per landing day (`orchestration.raw_day_digests`), with the day's row count
and latest `loaded_at`: every write to a day moves that forward, so only the days a run
wrote are hashed again.

Only the DuckDB engine skips: on Spark a step's tables live on the run's Spark server,
which starts without them, so every Spark run builds every step (and drops the records).
`journey run --full-refresh` builds every step too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping
from functools import lru_cache
from graphlib import TopologicalSorter
from typing import TYPE_CHECKING

import dagster as dg
import duckdb

from orchestration.privacy.keys import KEY_FILE_ENV
from orchestration.project import PROJECT_INPUTS, REPO_ROOT, project_fingerprint
from orchestration.settings import Settings

if TYPE_CHECKING:
    from orchestration.defs.resources import Warehouse

SCHEMA = "orchestration"
# The metadata key of a materialization that built nothing: the run that built the tables.
SINCE_METADATA = "unchanged_since_run"
RAW_SCHEMA = "raw"
# Columns that say when a step wrote a row, not what the row holds.
WRITE_TIME_COLUMNS = ("loaded_at", "applied_at", "recorded_at", "created_at")
# Settings that do not change what is built: where the folders and the erasure key are (the
# key's fingerprint is in raw.erasure_key_check), and the run's window (a rerun of any window
# gives the same tables: the operations contract).
NOT_INPUTS = (
    KEY_FILE_ENV,
    "JOURNEY_LANDING_DIR",
    "JOURNEY_WAREHOUSE_DIR",
    "JOURNEY_DUCKDB_TEMP_DIR",
    "JOURNEY_RUN_WINDOW_START",
    "JOURNEY_RUN_WINDOW_END",
)
# What builds the tables besides the project's dbt files: this package, and the libraries
# that run the SQL and the fits (project.LIBRARIES).
CODE_PACKAGE = "orchestration"

DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {SCHEMA}.asset_inputs (
    asset varchar primary key,
    inputs_fingerprint varchar not null,
    run_id varchar not null,
    built_at timestamptz not null
);
create table if not exists {SCHEMA}.raw_day_digests (
    table_name varchar not null,
    dt date,
    row_count bigint not null,
    last_loaded_at timestamptz,
    digest varchar not null
);
"""


@dataclasses.dataclass(frozen=True)
class Build:
    """A model step about to run: its name, the fingerprint of what it would build from
    (None when it may not skip), and the run that built it from the same (None: build)."""

    step: str
    fingerprint: str | None
    unchanged_since: str | None = None


def begin(context: dg.AssetExecutionContext, warehouse: Warehouse) -> Build:
    """`start` for a step of a run: the step is its op; it may skip only when the run
    materialises all its assets and is not a full refresh (`journey run --full-refresh`
    builds every step)."""
    settings = warehouse.settings()
    whole = whole_step(context)
    ops = (context.run.run_config or {}).get("ops") or {}
    refresh = any((op or {}).get("config", {}).get("full_refresh") for op in ops.values())
    with warehouse.connect() as con:
        return start(
            con,
            settings,
            context.op_execution_context.op.name,
            dbt_environment(settings),
            may_skip=whole and not refresh,
        )


def end(context: dg.AssetExecutionContext, warehouse: Warehouse, build: Build) -> None:
    """`finish` for a step of a run that built all its assets."""
    if whole_step(context):
        with warehouse.connect() as con:
            finish(con, build, context.run_id)


def whole_step(context: dg.AssetExecutionContext) -> bool:
    """Whether the step materialises every asset it has (not a selection of some, from the
    UI or a subset job, where Dagster's `assets_def.keys` are the selected ones too)."""
    return set(context.selected_asset_keys) == set(
        context.assets_def.node_keys_by_output_name.values()
    )


def unchanged_results(context: dg.AssetExecutionContext, build: Build) -> list:
    """The step's assets reported materialised, unchanged since the run that built them from
    the same raw rows, project and settings (their checks are not run: Dagster shows them
    skipped)."""
    context.log.info(
        f"{build.step}: raw, the project and the settings are as when run "
        f"{build.unchanged_since} built these tables: not built again"
    )
    # In dependency order, as Dagster requires of a multi-asset's results.
    selected = context.selected_asset_keys
    deps = context.assets_def.asset_deps
    order = TopologicalSorter({key: deps.get(key, set()) & selected for key in selected})
    return [
        dg.MaterializeResult(asset_key=key, metadata={SINCE_METADATA: build.unchanged_since})
        for key in order.static_order()
    ]


def start(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    step: str,
    environment: Mapping[str, str],
    may_skip: bool = True,
) -> Build:
    """Whether `step` may be skipped: its fingerprint now, and the run that recorded the same
    one. Otherwise its record is dropped, so that a build that fails or is killed leaves
    none. `may_skip` False (a full refresh, a part of the step's assets): build, and record
    only if the caller still says so (finish)."""
    con.execute(DDL)
    if settings.engine != "duckdb":
        _forget(con, step)
        return Build(step, None)
    fingerprint = inputs_fingerprint(con, environment)
    if may_skip:
        row = con.execute(
            f"select run_id from {SCHEMA}.asset_inputs where asset = ? and inputs_fingerprint = ?",
            [step, fingerprint],
        ).fetchone()
        if row is not None:
            return Build(step, fingerprint, unchanged_since=row[0])
    _forget(con, step)
    return Build(step, fingerprint)


def finish(con: duckdb.DuckDBPyConnection, build: Build, run_id: str) -> None:
    """Record that `build` succeeded in run `run_id` (nothing on Spark, where a step has no
    fingerprint)."""
    if build.fingerprint is None:
        return
    con.execute(
        f"insert or replace into {SCHEMA}.asset_inputs values (?, ?, ?, now())",
        [build.step, build.fingerprint, run_id],
    )


def _forget(con: duckdb.DuckDBPyConnection, step: str) -> None:
    con.execute(f"delete from {SCHEMA}.asset_inputs where asset = ?", [step])


def inputs_fingerprint(con: duckdb.DuckDBPyConnection, environment: Mapping[str, str]) -> str:
    """sha256 of the project's code, the settings in `environment` (the variables dbt's
    process gets) and the content of every table in `raw`."""
    settings = sorted(
        (name, value)
        for name, value in environment.items()
        if name.startswith("JOURNEY_") and name not in NOT_INPUTS and value
    )
    parts = {"code": code_fingerprint(), "settings": settings, "raw": raw_digests(con)}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """sha256 of every file the dbt project is parsed from, of this package's Python files,
    and of the versions of the libraries that build the tables (computed once a process)."""
    return project_fingerprint(REPO_ROOT, [*PROJECT_INPUTS, CODE_PACKAGE])


def raw_digests(con: duckdb.DuckDBPyConnection) -> list[list]:
    """Per table of `raw` (and per landing day of those that have `dt` and `loaded_at`):
    its row count and a digest of its rows' content, without the columns that say when a
    row was written. Days are hashed again only when their rows or latest `loaded_at`
    changed since their digest was kept."""
    con.execute(DDL)
    columns: dict[str, list[str]] = {}
    for table, column in con.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = ? order by table_name, ordinal_position",
        [RAW_SCHEMA],
    ).fetchall():
        columns.setdefault(table, []).append(column)
    digests: list[list] = []
    for table, names in sorted(columns.items()):
        content = [_quote(n) for n in names if n not in WRITE_TIME_COLUMNS]
        if "dt" in names and "loaded_at" in names:
            digests += _day_digests(con, table, content)
        else:
            count, digest = con.execute(
                f"select count(*), coalesce(sum(hash({', '.join(content)})::hugeint), 0)::varchar "
                f"from {RAW_SCHEMA}.{_quote(table)}"
            ).fetchone()
            digests.append([table, None, count, digest])
    return digests


def _day_digests(con: duckdb.DuckDBPyConnection, table: str, content: list[str]) -> list[list]:
    """The day digests of one raw table, refreshing those of the days written since."""
    relation = f"{RAW_SCHEMA}.{_quote(table)}"
    kept = f"{SCHEMA}.raw_day_digests"
    matches = """
        kept.table_name = $table
        and kept.dt is not distinct from days.dt
        and kept.row_count = days.row_count
        and kept.last_loaded_at is not distinct from days.last_loaded_at
    """
    con.execute(
        f"""
        create or replace temp table raw_days as
        select dt, count(*) as row_count, max(loaded_at) as last_loaded_at
        from {relation}
        group by dt
        """
    )
    con.execute(
        f"""
        delete from {kept} as kept
        where kept.table_name = $table
            and not exists (select 1 from raw_days as days where {matches})
        """,
        {"table": table},
    )
    hashed = ", ".join(f"rows_.{name}" for name in content)
    con.execute(
        f"""
        insert into {kept}
        select
            $table, days.dt, days.row_count, days.last_loaded_at,
            coalesce(sum(hash({hashed})::hugeint), 0)::varchar
        from raw_days as days
        inner join {relation} as rows_ on rows_.dt is not distinct from days.dt
        where not exists (select 1 from {kept} as kept where {matches})
        group by days.dt, days.row_count, days.last_loaded_at
        """,
        {"table": table},
    )
    con.execute("drop table raw_days")
    return [
        [table, None if day is None else str(day), count, digest]
        for day, count, digest in con.execute(
            f"select dt, row_count, digest from {kept} where table_name = ? "
            "order by dt nulls first",
            [table],
        ).fetchall()
    ]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def dbt_environment(settings: Settings, run_window: Mapping[str, str] | None = None) -> dict:
    """The variables a dbt command of the run gets: this process's `JOURNEY_*` (the
    late-data lookbacks and other knobs the models read) with the settings over them."""
    inherited = {k: v for k, v in os.environ.items() if k.startswith("JOURNEY_")}
    return {**inherited, **settings.environment(), **(run_window or {})}
