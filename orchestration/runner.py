"""Run the daily job over a range of partitions in-process, and summarise what happened."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb
from dagster._core.definitions.repository_definition import SINGLETON_REPOSITORY_NAME
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    REPOSITORY_LABEL_TAG,
)

from orchestration.defs.dbt import full_refresh_run_config
from orchestration.defs.schedules import DAILY_JOB_NAME, PUBLISH_JOB_NAME
from orchestration.health.summary import run_health_lines
from orchestration.processes import process_is_alive
from orchestration.settings import Settings
from orchestration.unchanged import SINCE_METADATA

# The process id of the `journey run` that executes a run, so a later one can tell a
# run whose process died from one still in progress.
PID_TAG = "journey/pid"
# The code location `journey ui` loads (`-m orchestration.definitions`): runs tagged with
# its repository's label are listed under its jobs (Overview, Jobs), not only under Runs.
CODE_LOCATION_TAGS = {
    REPOSITORY_LABEL_TAG: f"{SINGLETON_REPOSITORY_NAME}@orchestration.definitions"
}

HEADLINE_KPIS = (
    ("sessions", "sum(sessions)", "{:,.0f}"),
    ("orders", "sum(orders)", "{:,.0f}"),
    ("net revenue", "sum(net_revenue)", "{:,.2f}"),
    ("new customers", "sum(new_customers)", "{:,.0f}"),
    ("ad spend", "sum(ad_spend)", "{:,.2f}"),
    ("blended CAC", "sum(ad_spend) / nullif(sum(new_customers), 0)", "{:,.2f}"),
    ("session conversion rate", "sum(converting_sessions) / nullif(sum(sessions), 0)", "{:.2%}"),
)


@dataclass
class RunOutcome:
    success: bool
    run_id: str
    failure: str | None = None
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)
    checks_warned: list[str] = field(default_factory=list)
    # Whether a dbt data test (not a loader or run-health check) failed or warned.
    dbt_tests_flagged: bool = False
    # The model steps not built again (orchestration/unchanged.py), each with the run that
    # built its tables from the same inputs.
    unchanged: dict[str, str] = field(default_factory=dict)


def _first_line(text: str) -> str:
    """The informative line of an error: for dbt, what dbt said rather than the wrapper."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    marker = "Errors parsed from dbt logs:"
    if marker in lines:
        parsed = lines[lines.index(marker) + 1 : lines.index(marker) + 3]
        return "dbt: " + " ".join(parsed)
    if lines and lines[0].endswith(":") and len(lines) > 1:
        return f"{lines[0]} {lines[1]}"
    return lines[0] if lines else text


def run_pipeline(
    settings: Settings,
    first: dt.date,
    last: dt.date,
    instance: dg.DagsterInstance | None = None,
    log_path: Path | None = None,
    verbose: bool = False,
    full_refresh: bool = False,
) -> RunOutcome:
    """Materialise the whole asset graph for the partitions first..last as one run
    (`full_refresh`: the dbt groups rebuild their incremental models from all of raw).

    With `log_path`, the run's whole log (Dagster's events and dbt's output) goes to that
    file and the terminal shows one line per step (all of it with `verbose`); without it,
    Dagster's console logger prints everything, as in tests."""
    from orchestration.definitions import build_definitions

    defs = build_definitions(settings)
    job = defs.resolve_job_def(DAILY_JOB_NAME)
    instance = instance or dg.DagsterInstance.get()
    recover_interrupted_runs(instance)
    # One planned event per asset and run instead of one per asset and day: a year-long
    # backfill otherwise spends minutes writing ~27 000 events before it starts. The cost:
    # the UI does not mark the partitions of a failed run as failed (the run is).
    os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "true")
    loggers, output = _run_logging(log_path, verbose)
    with output:
        result = job.execute_in_process(
            instance=instance,
            tags={
                ASSET_PARTITION_RANGE_START_TAG: first.isoformat(),
                ASSET_PARTITION_RANGE_END_TAG: last.isoformat(),
                PID_TAG: str(os.getpid()),
                **CODE_LOCATION_TAGS,
            },
            run_config={"loggers": loggers, **(full_refresh_run_config() if full_refresh else {})},
            raise_on_error=False,
        )
    return _outcome(result)


def _outcome(result: dg.ExecuteInProcessResult) -> RunOutcome:
    outcome = RunOutcome(success=result.success, run_id=result.run_id)
    for evaluation in result.get_asset_check_evaluations():
        name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        if evaluation.passed:
            outcome.checks_passed += 1
            continue
        unique_id = evaluation.metadata.get("unique_id")  # dagster-dbt's, on a dbt test's
        if unique_id is not None and str(unique_id.value).startswith("test."):
            outcome.dbt_tests_flagged = True
        if evaluation.severity == dg.AssetCheckSeverity.WARN:
            outcome.checks_warned.append(name)
        else:
            outcome.checks_failed.append(name)
    for event in result.get_asset_materialization_events():
        since = event.materialization.metadata.get(SINCE_METADATA)
        if since is not None and event.step_key:
            outcome.unchanged[event.step_key] = str(since.value)
    if not result.success:
        failures = [
            f"step {event.step_key}: {_first_line(_error_text(event.step_failure_data.error))}"
            for event in result.all_events
            if event.is_step_failure and event.step_failure_data.error is not None
        ]
        outcome.failure = failures[0] if failures else "see the Dagster log above"
    return outcome


def _run_logging(
    log_path: Path | None, verbose: bool
) -> tuple[dict, contextlib.AbstractContextManager]:
    """The run's loggers and where its printed output goes: everything on the console (no
    log file: tests), or the log file with one progress line per step on the terminal."""
    if log_path is None:
        return {"console": {"config": {"log_level": "INFO"}}}, contextlib.nullcontext()
    loggers = {"journey": {"config": {"log_path": str(log_path), "verbose": verbose}}}
    return loggers, _output_to(log_path, verbose)


@contextlib.contextmanager
def _output_to(log_path: Path, verbose: bool):
    """Send what the run prints (dbt's node-by-node output, warnings) to the log file, and
    with `verbose` to the terminal as well."""
    with open(log_path, "a", encoding="utf-8", buffering=1) as log:
        stream = _Tee(log, sys.__stdout__) if verbose else log
        with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
            yield


class _Tee:
    def __init__(self, *streams) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


def publish_only(
    settings: Settings,
    instance: dg.DagsterInstance | None = None,
    log_path: Path | None = None,
) -> RunOutcome:
    """Run the publish job alone: the warehouse's current marts go to published/ again."""
    from orchestration.definitions import build_definitions

    job = build_definitions(settings).resolve_job_def(PUBLISH_JOB_NAME)
    instance = instance or dg.DagsterInstance.get()
    recover_interrupted_runs(instance)
    loggers, output = _run_logging(log_path, verbose=False)
    with output:
        result = job.execute_in_process(
            instance=instance,
            tags={PID_TAG: str(os.getpid()), **CODE_LOCATION_TAGS},
            run_config={"loggers": loggers},
            raise_on_error=False,
        )
    return _outcome(result)


def recover_interrupted_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark runs of `journey run` whose process died (killed, machine lost) as failed.

    A killed run stays "started" in Dagster's run storage and keeps its slot in the
    warehouse pool, so the next run would wait for it forever. The warehouse itself needs
    no repair: every load, model and publish step commits atomically, and the next run
    redoes whatever did not commit."""
    recovered = []
    unfinished = instance.get_runs(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING])
    )
    for run in unfinished:
        pid = run.tags.get(PID_TAG)
        if pid is None or process_is_alive(int(pid)):
            continue
        instance.report_run_failed(run, "the process running it died; recovered by the next run")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        recovered.append(run.run_id)
    return recovered


def _error_text(error) -> str:
    """The message of a serialised error and of the errors that caused it."""
    texts = []
    while error is not None:
        texts.append(error.message)
        error = error.cause
    return "\n".join(texts)


def summarise(
    settings: Settings, outcome: RunOutcome, seconds: float, log_path: Path | None = None
) -> str:
    lines = ["", f"== journey run {'succeeded' if outcome.success else 'FAILED'} in {seconds:.0f}s"]
    if not settings.warehouse_path.exists():
        return "\n".join(lines)
    try:
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    except duckdb.Error as exc:
        # A dbt process of a failed step may still hold the file for a moment.
        lines.append(f"(no details: the warehouse could not be read: {_first_line(str(exc))})")
        if log_path is not None:
            lines.append(f"full log: {log_path}")
        return "\n".join(lines)
    try:
        lines += _load_summary(con)
        failed = len(outcome.checks_failed)
        warned = len(outcome.checks_warned)
        ran = outcome.checks_passed + warned + failed
        lines.append(
            f"tests: {ran} ran, {outcome.checks_passed} passed, {warned} warned, {failed} failed "
            "(dbt tests and the loader's checks, as Dagster asset checks)"
        )
        if outcome.unchanged:
            runs = ", ".join(sorted({run[:8] for run in outcome.unchanged.values()}))
            lines.append(
                f"models: {len(outcome.unchanged)} step(s) not built again, their dbt tests not "
                f"run again: raw, the project and the settings are as when run {runs} built "
                "them (`journey run --full-refresh` builds anyway)"
            )
        lines += [f"  failed: {name}" for name in outcome.checks_failed[:20]]
        lines += [f"  warned: {name}" for name in outcome.checks_warned[:20]]
        if outcome.dbt_tests_flagged:
            lines.append(
                "  a dbt test's rows (a not_null_<model> test's: its columns with nulls): "
                "`journey dev`, then `dbt show --select <test>`"
            )
        lines += run_health_lines(con, outcome.run_id, settings.landing_dir)
        lines += _kpi_summary(con)
    finally:
        con.close()
    bi = settings.published_dir / "bi.duckdb"
    if outcome.success and bi.exists():
        lines.append(f"published for BI: {bi} (read-only; select ... from marts.<table>)")
        lines.append(f"                  {settings.published_dir / 'parquet'}/<table>.parquet")
        report = settings.published_dir / "report" / "index.html"
        if report.exists():
            lines.append(f"report:           {report} (open it in a browser)")
    if log_path is not None:
        lines.append(f"full log: {log_path}")
    return "\n".join(lines)


def _load_summary(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Files and records per source, and what under the landing folder was not read:
    `skipped` (outside the layout: a `dt=` name that is no date, a subfolder, a hidden or
    marker file, an unknown folder) or `refused` (a link leading out of the landing folder).
    Those have no records; `files` counts the files read."""
    try:
        rows = con.execute(
            """
            select
                source,
                count(*) filter (where file_status not in ('skipped', 'refused')) as files,
                sum(records_read),
                sum(records_loaded),
                sum(records_rejected),
                count(*) filter (where file_status = 'rejected'),
                count(*) filter (where file_status = 'duplicate'),
                count(*) filter (where file_status = 'skipped'),
                count(*) filter (where file_status = 'refused')
            from raw.loaded_files
            group by source
            order by source
            """
        ).fetchall()
    except duckdb.CatalogException:
        return []
    width = max([9, *(len(row[0]) for row in rows)])
    lines = [
        f"{'source':<{width}} files   records read   loaded   rejected   "
        "files rejected / duplicate / skipped / refused",
    ]
    for source, files, read, loaded, rejected, bad_files, duplicates, skipped, refused in rows:
        lines.append(
            f"{source:<{width}} {files:>5} {read:>14,} {loaded:>8,} {rejected:>10,}   "
            f"{bad_files} / {duplicates} / {skipped} / {refused}"
        )
    skipped = sum(row[7] for row in rows)
    refused = sum(row[8] for row in rows)
    if skipped or refused:
        lines.append(
            f"landing entries not read: {skipped} skipped, {refused} refused "
            "(reasons: raw.loaded_files.file_error)"
        )
    lines.append("rejected records with their reasons: raw.rejected_records")
    return lines


def _kpi_summary(con: duckdb.DuckDBPyConnection) -> list[str]:
    try:
        columns = {
            name
            for (name,) in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'marts' and table_name = 'kpi_daily'"
            ).fetchall()
        }
        if not columns:
            return []
        values = con.execute(
            "select " + ", ".join(expr for _, expr, _ in HEADLINE_KPIS) + " from marts.kpi_daily"
        ).fetchone()
    except duckdb.Error:
        return []
    lines = ["headline KPIs (all days):"]
    for (label, _, fmt), value in zip(HEADLINE_KPIS, values, strict=True):
        lines.append(f"  {label:<24} {fmt.format(value) if value is not None else 'n/a'}")
    return lines
