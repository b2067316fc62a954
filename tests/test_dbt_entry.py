"""`journey-dbt` (orchestration/dbt_entry.py): dbt as the pipeline runs it, whose loggers skip
formatting the events their level would not print, and print the rest exactly as dbt does.
The pipeline's runs in this suite all go through it; here, the rule itself and what it
relies on in dbt-common."""

from __future__ import annotations

import inspect
import io
from pathlib import Path

import pytest
from dbt_common.events import logger as dbt_logger
from dbt_common.events.base_types import EventLevel, msg_from_base_event
from dbt_common.events.types import Note, PrintEvent

from orchestration import dbt_entry
from orchestration.project import dbt_executable, pipeline_dbt_executable


def _lines(level: EventLevel, events: list[tuple[object, EventLevel]], monkeypatch, patched):
    """What a JSON logger at `level` prints for `events`, and how many it formatted."""
    monkeypatch.setattr(dbt_logger._Logger, "write_line", ORIGINAL_WRITE_LINE)
    if patched:
        dbt_entry.drop_events_below_level()
    stream = io.StringIO()
    config = dbt_logger.LoggerConfig(
        name=f"journey-test-{level.value}-{patched}",
        level=level,
        line_format=dbt_logger.LineFormat.Json,
        output_stream=stream,
    )
    logger = dbt_logger._JsonLogger(config)
    formatted = []
    original_create_line = logger.create_line

    def create_line(msg):
        formatted.append(msg.info.name)
        return original_create_line(msg)

    logger.create_line = create_line
    for event, event_level in events:
        logger.write_line(msg_from_base_event(event, level=event_level))
    lines = [line.split('"ts":')[0] for line in stream.getvalue().splitlines()]
    return lines, formatted


ORIGINAL_WRITE_LINE = dbt_logger._Logger.write_line
EVENTS = [
    (Note(msg="a debug line"), EventLevel.DEBUG),
    (Note(msg="an info line"), EventLevel.INFO),
    (Note(msg="a test-level line"), EventLevel.TEST),
    (Note(msg="a warning"), EventLevel.WARN),
    (PrintEvent(msg="printed"), EventLevel.INFO),
    (Note(msg="an error"), EventLevel.ERROR),
]


@pytest.mark.parametrize("level", [EventLevel.DEBUG, EventLevel.INFO, EventLevel.ERROR])
def test_a_logger_prints_the_same_lines_and_formats_only_those(level, monkeypatch):
    plain, plain_formatted = _lines(level, EVENTS, monkeypatch, patched=False)
    ours, ours_formatted = _lines(level, EVENTS, monkeypatch, patched=True)
    assert ours == plain
    assert len(plain_formatted) == len(EVENTS), "dbt formats every event"
    assert len(ours_formatted) == len(ours), "only what is printed is formatted"
    if level == EventLevel.INFO:
        assert [line for line in ours if "debug line" in line or "test-level" in line] == []
        assert len(ours) == 4  # info, warning, print, error


def test_what_it_relies_on_in_dbt_common_is_still_there():
    # An upgrade that changes these would make the rule wrong or silently useless.
    source = inspect.getsource(ORIGINAL_WRITE_LINE)
    assert "line = self.create_line(msg)" in source
    assert "_is_print_event(msg)" in source and 'level = "error"' in source
    assert dbt_logger._log_level_map[EventLevel.TEST] == dbt_logger._log_level_map[EventLevel.DEBUG]


def test_the_pipeline_runs_journey_dbt_installed_with_the_project():
    # Every `journey run` of the suite goes through it; here, that it is what it says.
    script = Path(pipeline_dbt_executable())
    assert script.name == "journey-dbt" and script.is_file(), "installed with the project"
    assert "from orchestration.dbt_entry import main" in script.read_text()
    assert script.with_name("dbt") == Path(dbt_executable())
