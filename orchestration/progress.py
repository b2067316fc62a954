"""What `journey run` shows while it works: one line per step, and the full log in a file.

A Dagster logger (`journey`) receives every event of a run. It writes all of them, as plain
text, to the run's log file under `<warehouse>/logs/`, and prints one line per finished
step to the terminal: what the step did (records loaded, models built, checks passed) and
how long it took. `--verbose` streams the whole log to the terminal as well. dbt's own
node-by-node output goes to the log file too (the CLI redirects it there).
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

import dagster as dg
from dagster._core.log_manager import LOG_RECORD_METADATA_ATTR

from orchestration.unchanged import SINCE_METADATA

LOGGER_NAME = "journey"
PLAIN_FORMAT = "%(asctime)s %(levelname)-7s %(message)s"


@dataclass
class StepProgress:
    started: float
    materialized: set[str] = field(default_factory=set)
    records_loaded: int = 0
    records_rejected: int = 0
    checks_passed: int = 0
    checks_warned: int = 0
    checks_failed: int = 0
    unchanged_since: str = ""
    notes: list[str] = field(default_factory=list)


def _label(step_key: str) -> str:
    """A step's name as a person reads it: `raw__web_events` -> `load web/events`."""
    if step_key.startswith("raw__"):
        source, _, entity = step_key.removeprefix("raw__").partition("_")
        return f"load {source}/{entity}"
    names = {
        "journey_dbt_incremental": "dbt: incremental staging and sessions",
        "journey_dbt_models": "dbt: models and tests",
        "journey_dbt_measurement_marts": "dbt: attribution, CLV and the marts built on them",
        "measurement__markov_removal_effects": "Markov attribution (Python)",
        "clv_model": "CLV models (Python)",
        "measurement__experiment_statistics": "experiment statistics (Python)",
    }
    return names.get(step_key, step_key.replace("__", "."))


class ProgressHandler(logging.Handler):
    """Prints one line per finished step to `stream`."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(level=logging.DEBUG)
        self.stream = stream
        self.steps: dict[str, StepProgress] = {}

    def _print(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def emit(self, record: logging.LogRecord) -> None:
        meta: dict[str, Any] | None = getattr(record, LOG_RECORD_METADATA_ATTR, None)
        event = (meta or {}).get("dagster_event")
        if event is None or not event.step_key:
            return
        step = event.step_key
        kind = event.event_type_value
        if kind == "STEP_START":
            self.steps[step] = StepProgress(started=time.monotonic())
            return
        progress = self.steps.setdefault(step, StepProgress(started=time.monotonic()))
        if kind == "ASSET_MATERIALIZATION":
            progress.materialized.add(event.asset_key.to_user_string())
            # A raw asset reports the totals of its whole window on each partition's
            # materialisation: take them once.
            metadata = event.event_specific_data.materialization.metadata
            if SINCE_METADATA in metadata:
                progress.unchanged_since = str(metadata[SINCE_METADATA].value)
            if "records_loaded" in metadata:
                progress.records_loaded = int(metadata["records_loaded"].value)
                progress.records_rejected = int(metadata["records_rejected"].value)
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if evaluation.passed:
                progress.checks_passed += 1
            elif evaluation.severity == dg.AssetCheckSeverity.WARN:
                progress.checks_warned += 1
            else:
                progress.checks_failed += 1
        elif kind == "STEP_FAILURE" or (kind == "STEP_SUCCESS" and progress.materialized):
            # A step that only evaluated checks (the loader's reconciliation, freshness) is
            # not a line of its own: the summary counts every check.
            self._print(self._line(step, progress, failed=kind == "STEP_FAILURE"))

    def _line(self, step: str, progress: StepProgress, failed: bool) -> str:
        parts = []
        if step.startswith("raw__"):
            parts.append(
                f"{progress.records_loaded:,} records loaded, "
                f"{progress.records_rejected:,} rejected"
            )
        elif progress.unchanged_since:
            parts.append(
                f"{len(progress.materialized)} asset(s) unchanged since run "
                f"{progress.unchanged_since[:8]}"
            )
        elif progress.materialized:
            parts.append(f"{len(progress.materialized)} asset(s)")
        checks = progress.checks_passed + progress.checks_warned + progress.checks_failed
        if checks:
            parts.append(
                f"{checks} check(s): {progress.checks_passed} passed, "
                f"{progress.checks_warned} warned, {progress.checks_failed} failed"
            )
        seconds = time.monotonic() - progress.started
        status = "FAILED" if failed else "done"
        detail = f" ({'; '.join(parts)})" if parts else ""
        return f"  {status:<6} {_label(step):<48} {seconds:6.1f}s{detail}"


@dg.logger(
    config_schema={
        "log_path": dg.Field(str, description="The run's log file (appended to)."),
        "progress": dg.Field(bool, default_value=True, description="One line per step."),
        "verbose": dg.Field(bool, default_value=False, description="Stream the whole log."),
    },
    description="The run's log file, one progress line per step and, with --verbose, all of it.",
)
def journey_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    config = init_context.logger_config
    logger = logging.Logger(LOGGER_NAME, level=logging.DEBUG)
    file_handler = logging.FileHandler(config["log_path"], encoding="utf-8")
    file_handler.setFormatter(logging.Formatter(PLAIN_FORMAT))
    logger.addHandler(file_handler)
    terminal = sys.__stdout__
    if config["verbose"]:
        stream_handler = logging.StreamHandler(terminal)
        stream_handler.setFormatter(logging.Formatter(PLAIN_FORMAT))
        logger.addHandler(stream_handler)
    elif config["progress"]:
        logger.addHandler(ProgressHandler(terminal))
    return logger
