"""`journey-dbt` (orchestration/dbt_entry.py): dbt as the pipeline runs it, whose loggers skip
formatting the events their level would not print, and print the rest exactly as dbt does,
and whose partial-parsing state holds in any warehouse folder. The pipeline's runs in this
suite all go through it; here, the rules themselves and what they rely on in dbt."""

from __future__ import annotations

import inspect
import io
import os
import re
import subprocess
from pathlib import Path

import pytest
from dbt_common.events import logger as dbt_logger
from dbt_common.events.base_types import EventLevel, msg_from_base_event
from dbt_common.events.types import Note, PrintEvent

from orchestration import dbt_entry
from orchestration.project import (
    DBT_TARGET,
    PARTIAL_PARSE_FILE,
    REPO_ROOT,
    dbt_executable,
    dbt_project,
    pipeline_dbt_executable,
    seed_partial_parsing,
)


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


def test_a_new_warehouse_starts_from_the_partial_parsing_state_of_another(tmp_path):
    # A new warehouse's target folder gets the state of target/ (the asset graph's parse);
    # here of another warehouse parsed with the same settings (those of the session may
    # differ from this process's: a fixture's), which must apply whatever the folder.
    environment = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEY_")}

    def parse(warehouse: Path) -> str:
        command = [pipeline_dbt_executable(), "parse", "--target", DBT_TARGET]
        command += ["--no-write-json", "--target-path", str(warehouse / "dbt_target")]
        command += ["--debug", "--log-level-file", "none"]
        return subprocess.run(
            command,
            cwd=REPO_ROOT,
            env={**environment, "JOURNEY_WAREHOUSE_DIR": str(warehouse)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    parse(tmp_path / "first")
    target = tmp_path / "elsewhere" / "dbt_target"
    seed_partial_parsing(target, source=tmp_path / "first" / "dbt_target")
    output = parse(tmp_path / "elsewhere")
    assert "Unable to do partial parsing" not in output, output
    assert "Partial parsing enabled, no changes found, skipping parsing" in output

    # A target folder with its own state keeps it; by default the state comes from target/.
    (target / PARTIAL_PARSE_FILE).write_bytes(b"its own")
    seed_partial_parsing(target)
    assert (target / PARTIAL_PARSE_FILE).read_bytes() == b"its own"
    seed_partial_parsing(tmp_path / "third")
    state = dbt_project.manifest_path.parent / PARTIAL_PARSE_FILE
    assert (tmp_path / "third" / PARTIAL_PARSE_FILE).read_bytes() == state.read_bytes()


def test_the_state_check_differs_from_dbts_only_by_the_warehouse_folder():
    # What it relies on in dbt-core and dbt-duckdb: dbt hashes the profile's connection
    # details, the DuckDB path among them, into the state check; no model or macro reads
    # the path (it would then be parsed with another warehouse's).
    from dbt.adapters.duckdb.credentials import DuckDBCredentials
    from dbt.parser.manifest import ManifestLoader

    original = ManifestLoader.build_manifest_state_check
    original = getattr(original, "original", original)
    source = inspect.getsource(original)
    assert "config.credentials.connection_info()" in source and "profile_hash=" in source
    assert "path" in DuckDBCredentials._connection_keys(None)  # type: ignore[arg-type]
    project_files = [
        path
        for folder in ("models", "macros", "data-tests", "seeds")
        for path in (REPO_ROOT / folder).rglob("*")
        if path.suffix in (".sql", ".yml", ".py")
    ]
    assert len(project_files) > 100
    readers = [p for p in project_files if re.search(r"target\s*\.\s*path|target\[", p.read_text())]
    assert readers == []
    assert "target.path" not in (REPO_ROOT / "dbt_project.yml").read_text()


def test_what_a_command_parses_from_leaves_out_the_run_window_only():
    environment = {
        "JOURNEY_WAREHOUSE_DIR": "/w",
        "JOURNEY_REPORTING_TZ": "UTC",
        "DBT_TARGET_PATH": "/w/dbt_target",
        "DBT_PROFILES_DIR": str(REPO_ROOT),
        "HOME": "/root",
    }
    build = ["build", "--select", "x", "--target", DBT_TARGET]
    inputs = dbt_entry.parse_inputs(build, str(REPO_ROOT), environment)
    assert inputs is not None
    window = {"JOURNEY_RUN_WINDOW_START": "2026-01-01", "JOURNEY_RUN_WINDOW_END": "2026-01-02"}
    same = [
        (build, {**environment, **window}),
        (build, {**environment, "HOME": "/elsewhere", "JOURNEY_DBT_FORK_SERVER": "/s"}),
        (["build", "--target", DBT_TARGET, "--full-refresh"], environment),
    ]
    for arguments, variables in same:
        assert dbt_entry.parse_inputs(arguments, str(REPO_ROOT), variables) == inputs
    different = [
        (build, {**environment, "JOURNEY_REPORTING_TZ": "Europe/Paris"}),
        (build, {**environment, "JOURNEY_WAREHOUSE_DIR": "/v"}),
        (build, {**environment, "DBT_TARGET_PATH": "/v/dbt_target"}),
        (["build", "--target", "dev"], environment),
    ]
    for arguments, variables in different:
        assert dbt_entry.parse_inputs(arguments, str(REPO_ROOT), variables) != inputs
    for option in ("--vars", "--profile", "--project-dir", "--profiles-dir", "--no-partial-parse"):
        assert dbt_entry.parse_inputs([*build, option, "v"], str(REPO_ROOT), environment) is None
    assert dbt_entry.parse_inputs(["build"], str(REPO_ROOT), environment) is None  # no target


def test_a_runs_dbt_build_starts_from_the_project_its_fork_server_parsed(
    pipeline, tmp_path, monkeypatch
):
    import dagster as dg

    from orchestration.dbt_cli import JourneyDbtCli

    run = pipeline.copy(tmp_path / "warehouse")
    for name, value in run.settings.environment().items():
        monkeypatch.setenv(name, value)
    resource = JourneyDbtCli(
        project_dir=dbt_project,
        dbt_executable=pipeline_dbt_executable(),
        target=DBT_TARGET,
        parse_for_run=True,
        run_target_path=str(run.settings.dbt_target_path),
        run_environment=run.settings.environment(),
    )
    build = ["build", "--select", "int_ad_spend_channels", "--exclude-resource-type", "unit_test"]
    build += ["--debug"]

    def messages(resource, arguments):
        invocation = resource.cli(arguments, target_path=run.settings.dbt_target_path)
        events = [event.raw_event["info"] for event in invocation.stream_raw_events()]
        assert invocation.is_successful()
        return [event["msg"] for event in events]

    with dg.build_resources({"dbt": resource}) as resources:
        from_server = messages(resources.dbt, build)
        # --vars changes what dbt parses: that command parses for itself.
        parsed_itself = messages(resources.dbt, [*build, "--vars", "{}"])

    parsing = [m for m in parsed_itself if "artial parsing" in m]
    assert parsing, "a command that parses says so at debug level"
    assert [m for m in from_server if "artial parsing" in m] == []
    results = [m for m in from_server if re.match(r"\d+ of \d+ (OK|PASS) ", m)]
    assert len(results) == 4, results  # the model and its three data tests
