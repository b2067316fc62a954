"""`journey-dbt`: dbt's command line as the pipeline runs it (the dbt resource's executable),
with changes that change nothing dbt builds or prints.

dbt formats every event it fires (as JSON, for the structured output dagster-dbt reads)
before the logger's level decides whether to print it: about 17 events a node, most of
them at debug level, formatted and then dropped. Here an event below a logger's level is
dropped before it is formatted: the same output, and 1.5 s less of the largest group's
`dbt build` of a one-day run at 5 000 people (17.5/17.2 s to 15.9/15.8 s; dbt's per-node
time is Python, see docs/performance.md). `dbt` itself, which analytics engineers run,
is untouched.

And dbt's partial-parsing state (partial_parse.msgpack) stays valid from one warehouse
folder to another: dbt parses the whole project again (about 6 s) when the profile's
connection details differ from those the state was parsed with, and the DuckDB file's
folder is one of them, so every new warehouse paid a whole parse although nothing the
project parses reads it (no model or macro reads `target.path`; tests/test_dbt_entry.py
checks). Here the path counts by its file name (journey.duckdb, dev.duckdb), so a new
warehouse starts from the state the asset graph's `dbt parse` left in target/
(orchestration/project.py, `seed_partial_parsing`).

And in a run, the project is parsed once for all of its dbt commands: the run's dbt fork
server (orchestration/dbt_fork_server.py) calls `preparse` before it forks anything, while
the run loads its landing files, and each `dbt build` forked from it then starts from that
manifest (dbt's own programmatic way, `obj={"manifest": ...}`, as `dbtRunner(manifest=...)`
does) instead of loading the partial-parsing state, checking every project file and
linking the manifest again: about 1.5 s a command, three commands a run. Only when the
command would have parsed the same thing: the same target, project folder, target folder
and profiles folder, the same JOURNEY_* settings (the run window aside: the project reads
it only when it compiles, macro run_window_is_set) and project files unchanged since;
otherwise the command parses as before.

`_Logger.write_line` is private to dbt-common, `ManifestLoader.build_manifest_state_check`
to dbt-core (both pinned through uv.lock); tests/test_dbt_entry.py fails if an upgrade
changes what they rely on.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# What the run's fork server calls before it forks any command (dbt_fork_server.serve).
PREPARSE = "orchestration.dbt_entry:preparse"
# dbt options that change what a command parses: a command with one parses for itself.
PARSING_OPTIONS = (
    "--vars",
    "--profile",
    "--project-dir",
    "--profiles-dir",
    "--target-path",
    "--no-partial-parse",
    "--no-static-parser",
)
# Environment variables a command may change without changing what dbt parses: the run's
# window (read when the SQL is compiled) and the fork server's address.
NOT_PARSED_ENVIRONMENT = (
    "JOURNEY_RUN_WINDOW_START",
    "JOURNEY_RUN_WINDOW_END",
    "JOURNEY_DBT_FORK_SERVER",
)


def drop_events_below_level() -> None:
    """dbt-common's loggers skip formatting an event their level would not print (print
    events, which dbt sends at error level, are always passed on)."""
    from dbt_common.events import logger as dbt_logger
    from dbt_common.events.base_types import EventLevel

    original = dbt_logger._Logger.write_line
    if getattr(original, "drops_events_below_level", False):
        return
    levels = dbt_logger._log_level_map

    def write_line(self, msg) -> None:
        if not dbt_logger._is_print_event(msg) and (
            levels[EventLevel(msg.info.level)] < levels[self.level]
        ):
            return
        original(self, msg)

    write_line.drops_events_below_level = True  # type: ignore[attr-defined]
    dbt_logger._Logger.write_line = write_line


def state_check_without_warehouse_folder() -> None:
    """dbt's partial-parsing state check counts the profile's DuckDB path by its file name
    only, not the warehouse folder it is in."""
    import pprint

    from dbt.contracts.files import FileHash
    from dbt.parser.manifest import ManifestLoader

    original = ManifestLoader.build_manifest_state_check
    if getattr(original, "ignores_warehouse_folder", False):
        return

    def build_manifest_state_check(self):
        state = original(self)
        connection = sorted(
            (key, Path(value).name if key == "path" and isinstance(value, str) else value)
            for key, value in self.root_project.credentials.connection_info()
        )
        state.profile_hash = FileHash.from_contents(pprint.pformat(connection))
        return state

    build_manifest_state_check.ignores_warehouse_folder = True  # type: ignore[attr-defined]
    build_manifest_state_check.original = original  # type: ignore[attr-defined]
    ManifestLoader.build_manifest_state_check = build_manifest_state_check


@dataclass(frozen=True)
class _Parsed:
    """The project as the fork server parsed it, and what it was parsed from."""

    inputs: tuple
    manifest: Any


_parsed: _Parsed | None = None


def parse_inputs(arguments: Sequence[str], folder: str, environment: Mapping[str, str]):
    """What a dbt command (`arguments` after the program's name, run in `folder` with
    `environment`) parses the project from, or None when it passes an option that changes
    parsing or names no target."""
    from orchestration.project import PROJECT_INPUTS, REPO_ROOT, project_fingerprint

    if any(a.split("=")[0] in PARSING_OPTIONS for a in arguments):
        return None
    targets = [value for flag, value in itertools.pairwise(arguments) if flag in ("--target", "-t")]
    if len(targets) != 1:
        return None
    settings = sorted(
        (name, value)
        for name, value in environment.items()
        if name.startswith("JOURNEY_") and name not in NOT_PARSED_ENVIRONMENT
    )
    return (
        targets[0],
        os.path.realpath(folder),
        environment.get("DBT_TARGET_PATH"),
        environment.get("DBT_PROFILES_DIR"),
        tuple(settings),
        project_fingerprint(REPO_ROOT, list(PROJECT_INPUTS)),
    )


def preparse(spec: str) -> None:
    """In the run's fork server, before it forks any command: `dbt parse` as the run's
    commands would (`spec`: JSON of its arguments, folder and environment, which the dbt
    resource gives), kept in memory for the commands forked afterwards. Silent, and nothing
    kept when it fails: each command then parses, and reports what is wrong, as before."""
    global _parsed
    from orchestration.project import seed_partial_parsing

    request = json.loads(spec)
    os.chdir(request["cwd"])
    os.environ.update(request["env"])
    arguments = list(request["argv"])
    inputs = parse_inputs(arguments, os.getcwd(), os.environ)
    if inputs is None:
        return
    drop_events_below_level()
    state_check_without_warehouse_folder()
    target_path = os.environ.get("DBT_TARGET_PATH")
    if target_path:
        seed_partial_parsing(Path(target_path))
    from dbt.cli.main import dbtRunner

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        result = dbtRunner().invoke(arguments)
    if result.success and result.result is not None:
        _parsed = _Parsed(inputs, result.result)


def run_dbt() -> None:
    """dbt's command line (sys.argv), with the changes above."""
    drop_events_below_level()
    state_check_without_warehouse_folder()
    from dbt.cli.main import cli

    arguments = sys.argv[1:]
    parsed = _parsed
    context = None
    if (
        parsed is not None
        and arguments[:1] == ["build"]
        and parse_inputs(arguments, os.getcwd(), os.environ) == parsed.inputs
    ):
        context = {"manifest": parsed.manifest}
    cli(prog_name=Path(sys.argv[0]).name, obj=context)


def main() -> None:
    """`journey-dbt`: the command run by the run's dbt fork server when the dbt resource
    started one (orchestration/dbt_fork_server.py), otherwise here."""
    import os

    from orchestration import dbt_fork_server

    address = os.environ.get(dbt_fork_server.ADDRESS_ENV)
    if address:
        code = dbt_fork_server.run_on_server(address)
        if code is not None:
            sys.exit(code)
        del os.environ[dbt_fork_server.ADDRESS_ENV]
    run_dbt()
