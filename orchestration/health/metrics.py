"""Run health: what one run read, loaded and quarantined, and how sound the result looks.

`marts.fct_run_health` has one row per run and landing entity (`source`, `entity`): the
entity's files and records in the run's window (from `raw.loaded_files`), its freshness,
and the run-level metrics, which are the same on every row of a run (take `any_value` /
`max` of them when grouping by run; sum only the per-entity counts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields

import duckdb

from orchestration.health.freshness import DbtFreshnessRule, EntityFreshness, Window
from orchestration.ingestion.specs import EntitySpec

RUN_HEALTH_SCHEMA = "marts"
RUN_HEALTH_TABLE = f"{RUN_HEALTH_SCHEMA}.fct_run_health"
UNASSIGNED = "Unassigned"


@dataclass(frozen=True)
class LoadCounts:
    files: int = 0
    files_rejected: int = 0
    files_duplicate: int = 0
    records_read: int = 0
    records_loaded: int = 0
    records_rejected: int = 0

    @property
    def rejected_share(self) -> float | None:
        return share(self.records_rejected, self.records_read)


@dataclass(frozen=True)
class RunMetrics:
    """Run-level metrics over the run's window (reporting days, both ends included)."""

    sessions_count: int | None = None
    identified_sessions_count: int | None = None
    unassigned_sessions_count: int | None = None
    web_events_count: int | None = None
    late_web_events_count: int | None = None
    dbt_tests_passed: int | None = None
    dbt_tests_warned: int | None = None
    dbt_tests_failed: int | None = None
    # web events of every landing day loaded (not only the window's) that identify a
    # visitor: 0 means the site never identifies anyone, so there is no stitch rate to judge
    web_identify_events_count: int | None = None

    @property
    def stitch_rate(self) -> float | None:
        return share(self.identified_sessions_count, self.sessions_count)

    @property
    def unassigned_session_share(self) -> float | None:
        return share(self.unassigned_sessions_count, self.sessions_count)

    @property
    def late_event_share(self) -> float | None:
        return share(self.late_web_events_count, self.web_events_count)


@dataclass(frozen=True)
class RunHealthRow:
    run_id: str
    run_started_at: dt.datetime
    measured_at: dt.datetime
    partition_start: dt.date | None
    partition_end: dt.date | None
    source: str
    entity: str
    files: int
    files_rejected: int
    files_duplicate: int
    records_read: int
    records_loaded: int
    records_rejected: int
    rejected_share: float | None
    freshness_status: str
    newest_landing_day: dt.date | None
    reference_landing_day: dt.date | None
    landing_days_behind: int | None
    max_lag_days: int | None
    landing_days_expected: int
    landing_days_missing: int
    missing_landing_days: str | None
    newest_loaded_day: dt.date | None
    newest_loaded_at: dt.datetime | None
    dbt_source_freshness: str | None
    sessions_count: int | None
    identified_sessions_count: int | None
    stitch_rate: float | None
    unassigned_sessions_count: int | None
    unassigned_session_share: float | None
    web_events_count: int | None
    late_web_events_count: int | None
    late_event_share: float | None
    dbt_tests_passed: int | None
    dbt_tests_warned: int | None
    dbt_tests_failed: int | None
    web_identify_events_count: int | None


COLUMN_TYPES = {
    "run_id": "varchar not null",
    "run_started_at": "timestamp not null",
    "measured_at": "timestamp not null",
    "partition_start": "date",
    "partition_end": "date",
    "source": "varchar not null",
    "entity": "varchar not null",
    "files": "bigint not null",
    "files_rejected": "bigint not null",
    "files_duplicate": "bigint not null",
    "records_read": "bigint not null",
    "records_loaded": "bigint not null",
    "records_rejected": "bigint not null",
    "rejected_share": "double",
    "freshness_status": "varchar not null",
    "newest_landing_day": "date",
    "reference_landing_day": "date",
    "landing_days_behind": "integer",
    "max_lag_days": "integer",
    "landing_days_expected": "integer not null",
    "landing_days_missing": "integer not null",
    "missing_landing_days": "varchar",
    "newest_loaded_day": "date",
    "newest_loaded_at": "timestamp",
    "dbt_source_freshness": "varchar",
    "sessions_count": "bigint",
    "identified_sessions_count": "bigint",
    "stitch_rate": "double",
    "unassigned_sessions_count": "bigint",
    "unassigned_session_share": "double",
    "web_events_count": "bigint",
    "late_web_events_count": "bigint",
    "late_event_share": "double",
    "dbt_tests_passed": "bigint",
    "dbt_tests_warned": "bigint",
    "dbt_tests_failed": "bigint",
    # last: a table written before it existed gets it appended (write_run_health)
    "web_identify_events_count": "bigint",
}
assert list(COLUMN_TYPES) == [f.name for f in fields(RunHealthRow)]


def share(part: int | None, whole: int | None) -> float | None:
    """part / whole, or None when there is nothing to divide."""
    if part is None or not whole:
        return None
    return part / whole


def _reporting_day(column: str) -> str:
    """SQL: the reporting day (zone given as the first parameter) of a UTC timestamp."""
    return f"cast(timezone(?, timezone('UTC', {column})) as date)"


# The rows of raw.loaded_files for files the loader read (loaded, rejected or duplicate),
# not the entries it skipped or refused without reading them.
FILES_READ = "file_status not in ('skipped', 'refused')"


def load_counts(
    con: duckdb.DuckDBPyConnection, window: Window | None
) -> dict[tuple[str, str], LoadCounts]:
    """Files and records of `raw.loaded_files` per (source, entity) in the window's days:
    the files read (loaded, rejected or duplicate), not the entries skipped or refused
    without reading (a marker file, a folder that is not a date, a link leaving the
    landing folder)."""
    where, params = (
        (f"where dt between ? and ? and {FILES_READ}", [window.first, window.last])
        if window
        else (f"where {FILES_READ}", [])
    )
    rows = con.execute(
        f"""
        select
            source,
            entity,
            count(*),
            count(*) filter (where file_status = 'rejected'),
            count(*) filter (where file_status = 'duplicate'),
            coalesce(sum(records_read), 0),
            coalesce(sum(records_loaded), 0),
            coalesce(sum(records_rejected), 0)
        from raw.loaded_files
        {where}
        group by source, entity
        """,
        params,
    ).fetchall()
    return {(row[0], row[1]): LoadCounts(*row[2:]) for row in rows}


def loaded_window(con: duckdb.DuckDBPyConnection) -> Window | None:
    """First to last landing day ever loaded: the window of a run without partitions."""
    first, last = con.execute(
        f"select min(dt), max(dt) from raw.loaded_files where {FILES_READ}"
    ).fetchone()
    return Window(first, last) if first is not None else None


def loaded_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The raw tables (`crm_orders`) with any file in `raw.loaded_files`, whatever its days:
    entities that delivered something once, so none of them is absent."""
    try:
        rows = con.execute(
            f"select distinct source || '_' || entity from raw.loaded_files where {FILES_READ}"
        ).fetchall()
    except duckdb.CatalogException:
        return set()
    return {row[0] for row in rows}


def newest_loads(
    con: duckdb.DuckDBPyConnection,
    specs: Iterable[EntitySpec],
    rules: Mapping[str, DbtFreshnessRule],
) -> dict[str, tuple[dt.date | None, dt.datetime | None]]:
    """Per raw table: its newest loaded landing day and the newest value of dbt's
    `loaded_at_field` (`loaded_at`) in the table."""
    newest_day = dict(
        con.execute(
            "select source || '_' || entity, max(dt) from raw.loaded_files "
            f"where {FILES_READ} group by all"
        ).fetchall()
    )
    result = {}
    for spec in specs:
        column = rules[spec.table].loaded_at_field if spec.table in rules else "loaded_at"
        try:
            (loaded_at,) = con.execute(
                f"select cast(max(\"{column}\") at time zone 'UTC' as timestamp) "
                f"from raw.{spec.table}"
            ).fetchone()
        except duckdb.CatalogException:
            loaded_at = None
        result[spec.table] = (newest_day.get(spec.table), loaded_at)
    return result


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_catalog = current_database() and table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def session_counts(
    con: duckdb.DuckDBPyConnection, window: Window | None, reporting_tz: str
) -> tuple[int, int, int] | None:
    """(sessions, of identified people, in Unassigned) for sessions started on the window's
    reporting days; None before the marts exist."""
    if not (
        _table_exists(con, "marts", "fct_sessions") and _table_exists(con, "marts", "dim_customers")
    ):
        return None
    where, params = "", []
    if window:
        where = f"where {_reporting_day('sessions.started_at')} between ? and ?"
        params = [reporting_tz, window.first, window.last]
    return con.execute(
        f"""
        select
            count(*),
            count(*) filter (where customers.is_identified),
            count(*) filter (where sessions.channel = '{UNASSIGNED}')
        from marts.fct_sessions as sessions
        left join marts.dim_customers as customers
            on sessions.customer_id = customers.customer_id
        {where}
        """,
        params,
    ).fetchone()


def late_event_counts(
    con: duckdb.DuckDBPyConnection, window: Window | None, reporting_tz: str
) -> tuple[int, int] | None:
    """(web events, late ones) among the deduplicated web events whose landing day is in the
    window. Late: its landing day is after the reporting day of its `event_at`, so the
    daily run of that reporting day did not have it."""
    if not _table_exists(con, "staging", "stg_web__events"):
        return None
    where, params = "", [reporting_tz]
    if window:
        where, params = "where landing_dt between ? and ?", [*params, window.first, window.last]
    return con.execute(
        f"""
        select
            count(*),
            count(*) filter (where landing_dt > {_reporting_day("event_at")})
        from staging.stg_web__events
        {where}
        """,
        params,
    ).fetchone()


def identify_event_count(con: duckdb.DuckDBPyConnection) -> int | None:
    """Deduplicated web events of every landing day loaded that identify a visitor: an
    identify call, a `userId`, or an identify `traits.email`. 0: the site never identifies
    its visitors (a content site, a third-party clickstream), so no session can be stitched
    to a person and the stitch rate is not judged. None before the staging table exists.

    Every landing day, not only the window's: a site that identified visitors before and
    stopped today has lost its tracking, and that is what the stitch rate should flag."""
    if not _table_exists(con, "staging", "stg_web__events"):
        return None
    return con.execute(
        """
        select count(*)
        from staging.stg_web__events
        where message_type = 'identify' or user_id is not null or trait_email is not null
        """
    ).fetchone()[0]


def run_metrics(
    con: duckdb.DuckDBPyConnection,
    window: Window | None,
    reporting_tz: str,
    dbt_tests: tuple[int, int, int] | None = None,
) -> RunMetrics:
    sessions = session_counts(con, window, reporting_tz) or (None, None, None)
    events = late_event_counts(con, window, reporting_tz) or (None, None)
    tests = dbt_tests or (None, None, None)
    return RunMetrics(*sessions, *events, *tests, identify_event_count(con))


def build_rows(
    *,
    run_id: str,
    run_started_at: dt.datetime,
    measured_at: dt.datetime,
    window: Window | None,
    counts: Mapping[tuple[str, str], LoadCounts],
    freshness: Iterable[EntityFreshness],
    loads: Mapping[str, tuple[dt.date | None, dt.datetime | None]],
    dbt_freshness: Mapping[str, str],
    metrics: RunMetrics,
) -> list[RunHealthRow]:
    """One row per landing entity; every entity has a row, loaded or not."""
    rows = []
    for fresh in freshness:
        table = f"{fresh.source}_{fresh.entity}"
        load = counts.get((fresh.source, fresh.entity), LoadCounts())
        newest_loaded_day, newest_loaded_at = loads.get(table, (None, None))
        rows.append(
            RunHealthRow(
                run_id=run_id,
                run_started_at=run_started_at,
                measured_at=measured_at,
                partition_start=window.first if window else None,
                partition_end=window.last if window else None,
                source=fresh.source,
                entity=fresh.entity,
                files=load.files,
                files_rejected=load.files_rejected,
                files_duplicate=load.files_duplicate,
                records_read=load.records_read,
                records_loaded=load.records_loaded,
                records_rejected=load.records_rejected,
                rejected_share=load.rejected_share,
                freshness_status=fresh.status,
                newest_landing_day=fresh.newest_day,
                reference_landing_day=fresh.reference_day,
                landing_days_behind=fresh.days_behind,
                max_lag_days=fresh.max_lag_days,
                landing_days_expected=fresh.expected_days,
                landing_days_missing=len(fresh.missing_days),
                missing_landing_days=", ".join(d.isoformat() for d in fresh.missing_days) or None,
                newest_loaded_day=newest_loaded_day,
                newest_loaded_at=newest_loaded_at,
                dbt_source_freshness=dbt_freshness.get(table),
                sessions_count=metrics.sessions_count,
                identified_sessions_count=metrics.identified_sessions_count,
                stitch_rate=metrics.stitch_rate,
                unassigned_sessions_count=metrics.unassigned_sessions_count,
                unassigned_session_share=metrics.unassigned_session_share,
                web_events_count=metrics.web_events_count,
                late_web_events_count=metrics.late_web_events_count,
                late_event_share=metrics.late_event_share,
                dbt_tests_passed=metrics.dbt_tests_passed,
                dbt_tests_warned=metrics.dbt_tests_warned,
                dbt_tests_failed=metrics.dbt_tests_failed,
                web_identify_events_count=metrics.web_identify_events_count,
            )
        )
    return rows


def _add_new_columns(con: duckdb.DuckDBPyConnection) -> None:
    """Append the columns a table written by an older version lacks (nullable ones only:
    its earlier rows have no value for them)."""
    schema, table = RUN_HEALTH_TABLE.split(".")
    present = {
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns "
            "where table_catalog = current_database() and table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
    }
    for name, kind in COLUMN_TYPES.items():
        if name not in present and "not null" not in kind:
            con.execute(f"alter table {RUN_HEALTH_TABLE} add column {name} {kind}")


def write_run_health(con: duckdb.DuckDBPyConnection, rows: list[RunHealthRow]) -> None:
    """Replace the rows of the runs in `rows` in one transaction: a rerun of a run (a
    retry of the step) leaves one set of rows per run_id."""
    columns = ",\n    ".join(f"{name} {kind}" for name, kind in COLUMN_TYPES.items())
    con.execute(f"create schema if not exists {RUN_HEALTH_SCHEMA}")
    con.execute(f"create table if not exists {RUN_HEALTH_TABLE} (\n    {columns}\n)")
    _add_new_columns(con)
    run_ids = sorted({row.run_id for row in rows})
    con.execute("begin transaction")
    try:
        con.execute(f"delete from {RUN_HEALTH_TABLE} where run_id in (select unnest(?))", [run_ids])
        if rows:
            names = ", ".join(COLUMN_TYPES)
            marks = ", ".join("?" for _ in COLUMN_TYPES)
            con.executemany(
                f"insert into {RUN_HEALTH_TABLE} ({names}) values ({marks})",
                [list(asdict(row).values()) for row in rows],
            )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
