"""The run-health, freshness and CLV-fit lines of `journey run`'s summary."""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.health.freshness import (
    ABSENT,
    LATE,
    MISSING,
    MISSING_AND_LATE,
    EntityFreshness,
    absent_names,
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
    the run wrote no rows (it failed earlier), freshness is judged on the landing folder.
    Then the CLV models' fit (`clv_fit_lines`)."""
    return _health_lines(con, run_id, landing) + clv_fit_lines(con)


def _health_lines(con: duckdb.DuckDBPyConnection, run_id: str, landing: Path) -> list[str]:
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
    if run.get("web_identify_events_count") == 0 and not run["stitch_rate"]:
        stitch = "stitch rate not judged (no visitor ever identified)"
    else:
        stitch = (
            f"stitch rate {_percent(run['stitch_rate'])} of {run['sessions_count'] or 0:,} sessions"
        )
    # The dbt tests are counted once, in the summary's `tests:` line.
    lines = [
        f"run health ({window}): {rejected:,} of {read:,} records quarantined "
        f"({_percent(rejected / read if read else None)}), {files_rejected} file(s) rejected",
        f"  {stitch}, Unassigned {_percent(run['unassigned_session_share'])}, late web "
        f"events {_percent(run['late_event_share'])} of {run['web_events_count'] or 0:,}",
    ]
    absent = absent_names(
        (row["source"], row["entity"], row["freshness_status"] == ABSENT) for row in rows
    )
    flagged = [row for row in rows if row["freshness_status"] in FLAGGED]
    absent_note = f"; absent (never delivered, not judged): {', '.join(absent)}" if absent else ""
    if not flagged:
        return [*lines, f"freshness: all sources fresh{absent_note}"]
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
    if absent:
        lines.append(f"freshness: absent (never delivered, not judged): {', '.join(absent)}")
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


CLV_PARAMETERS_TABLE = "marts.fct_clv_parameters"
CLV_CALIBRATION_TABLE = "marts.fct_clv_calibration"
CLV_MODEL_LABELS = {"bg_nbd": "BG/NBD", "gamma_gamma": "Gamma-Gamma"}


def clv_fit_lines(con: duckdb.DuckDBPyConnection) -> list[str]:
    """`CLV models: ...`: each model's fit status from marts.fct_clv_parameters, and for an
    unreliable one the reason (its `fit_note`) and which predictions are left empty; then
    the calibration check's `all` row. Nothing when the marts do not exist."""
    try:
        models = con.execute(
            f"select model, min(fit_status), min(fit_note) from {CLV_PARAMETERS_TABLE} "
            "group by model order by model"
        ).fetchall()
    except duckdb.Error:
        return []
    if not models:
        return ["CLV models: not fitted (no identified person with an order yet)"]
    status = {model: (fit_status, note) for model, fit_status, note in models}
    verdicts = ", ".join(
        f"{CLV_MODEL_LABELS.get(model, model)} {fit_status}"
        for model, (fit_status, _) in status.items()
    )
    lines = [f"CLV models: {verdicts}"]
    empty = {
        "bg_nbd": "probability_alive, expected_purchases_12m",
        "gamma_gamma": "expected_order_value",
    }
    for model, (fit_status, note) in status.items():
        if fit_status != "ok":
            lines.append(
                f"  {CLV_MODEL_LABELS.get(model, model)} unreliable: {note}; "
                f"{empty.get(model, 'its predictions')} and predicted_clv_12m left empty"
            )
    return lines + _clv_calibration_lines(con)


def _clv_calibration_lines(con: duckdb.DuckDBPyConnection) -> list[str]:
    try:
        row = con.execute(
            f"select customers, mean_predicted_holdout_purchases, mean_actual_holdout_purchases, "
            f"mean_absolute_error, calibration_days, holdout_days, fit_status, fit_note "
            f"from {CLV_CALIBRATION_TABLE} where frequency_in_calibration = 'all'"
        ).fetchone()
    except duckdb.Error:
        return []
    if row is None:
        return ["  calibration: none (history too short to hold a quarter out; see the run log)"]
    customers, predicted, actual, error, calibration_days, holdout_days, fit_status, note = row
    if fit_status != "ok" or predicted is None:
        return [
            f"  calibration: BG/NBD on the first {calibration_days} days is unreliable: {note}; "
            f"no predictions to compare ({customers:,} people made {actual:.3f} purchases each "
            f"in the {holdout_days} days held out)"
        ]
    return [
        f"  calibration: fitted on {calibration_days} days, the next {holdout_days} held out: "
        f"{customers:,} people predicted {predicted:.3f} purchases each, made {actual:.3f} "
        f"(mean absolute error {error:.3f})"
    ]
