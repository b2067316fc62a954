"""The run-health and freshness lines of `journey run`'s summary."""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.health.freshness import (
    LATE,
    MISSING,
    MISSING_AND_LATE,
    EntityFreshness,
    assess_freshness,
    freshness_summary,
)
from orchestration.health.metrics import RUN_HEALTH_TABLE
from orchestration.health.thresholds import HealthSettings

FLAGGED = (MISSING, LATE, MISSING_AND_LATE)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def run_health_lines(con: duckdb.DuckDBPyConnection, run_id: str, landing: Path) -> list[str]:
    """`run health: ...` and `freshness: ...` for the run, from marts.fct_run_health; when
    the run wrote no rows (it failed earlier), freshness is judged on the landing folder."""
    try:
        cursor = con.execute(
            f"select * from {RUN_HEALTH_TABLE} where run_id = ? order by source, entity", [run_id]
        )
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    except duckdb.Error:
        rows = []
    if not rows:
        return _landing_freshness_lines(landing)
    run = rows[0]
    read = sum(row["records_read"] for row in rows)
    rejected = sum(row["records_rejected"] for row in rows)
    files_rejected = sum(row["files_rejected"] for row in rows)
    window = (
        f"{run['partition_start']}..{run['partition_end']}"
        if run["partition_start"]
        else "all days"
    )
    lines = [
        f"run health ({window}): {rejected:,} of {read:,} records quarantined "
        f"({_percent(rejected / read if read else None)}), {files_rejected} file(s) rejected",
        f"  stitch rate {_percent(run['stitch_rate'])} of {run['sessions_count'] or 0:,} "
        f"sessions, Unassigned {_percent(run['unassigned_session_share'])}, late web events "
        f"{_percent(run['late_event_share'])} of {run['web_events_count'] or 0:,}; dbt tests "
        f"{run['dbt_tests_passed'] or 0} passed, {run['dbt_tests_warned'] or 0} warned, "
        f"{run['dbt_tests_failed'] or 0} failed",
    ]
    flagged = [row for row in rows if row["freshness_status"] in FLAGGED]
    if not flagged:
        return [*lines, "freshness: all sources fresh"]
    for row in flagged:
        parts = []
        if row["freshness_status"] in (MISSING, MISSING_AND_LATE):
            days = (row["missing_landing_days"] or "").split(", ")
            shown = ", ".join(days[:5]) + (f" (+{len(days) - 5} more)" if len(days) > 5 else "")
            parts.append(f"missing {shown}")
        if row["freshness_status"] in (LATE, MISSING_AND_LATE):
            behind = row["landing_days_behind"]
            parts.append(
                f"late: newest {row['newest_landing_day'] or 'none'}, "
                f"{'?' if behind is None else behind} day(s) behind "
                f"{row['reference_landing_day']} (allowed {row['max_lag_days']})"
            )
        lines.append(f"freshness: {row['source']}/{row['entity']} " + "; ".join(parts))
    return lines


def _landing_freshness_lines(landing: Path) -> list[str]:
    if not landing.is_dir():
        return []
    try:
        settings = HealthSettings.resolve()
    except ValueError:
        settings = HealthSettings.defaults()
    results: list[EntityFreshness] = assess_freshness(landing, None, settings.max_lag_days)
    return [f"freshness (landing folder, every day): {line}" for line in freshness_summary(results)]
