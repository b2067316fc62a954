"""`journey-dbt`: dbt's command line as the pipeline runs it (the dbt resource's executable),
with two changes that change nothing dbt builds or prints.

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

`_Logger.write_line` is private to dbt-common, `ManifestLoader.build_manifest_state_check`
to dbt-core (both pinned through uv.lock); tests/test_dbt_entry.py fails if an upgrade
changes what they rely on.
"""

from __future__ import annotations

import sys
from pathlib import Path


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


def run_dbt() -> None:
    """dbt's command line (sys.argv), with the changes above."""
    drop_events_below_level()
    state_check_without_warehouse_folder()
    from dbt.cli.main import cli

    cli(prog_name=Path(sys.argv[0]).name)


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
