"""`journey-dbt`: dbt's command line as the pipeline runs it (the dbt resource's executable),
with one change to dbt's logging that changes nothing it prints.

dbt formats every event it fires (as JSON, for the structured output dagster-dbt reads)
before the logger's level decides whether to print it: about 17 events a node, most of
them at debug level, formatted and then dropped. Here an event below a logger's level is
dropped before it is formatted: the same output, and 1.5 s less of the largest group's
`dbt build` of a one-day run at 5 000 people (17.5/17.2 s to 15.9/15.8 s; dbt's per-node
time is Python, see docs/performance.md). `dbt` itself, which analytics engineers run,
is untouched.

`_Logger.write_line` is private to dbt-common (pinned through dbt-core in uv.lock);
tests/test_dbt_entry.py fails if an upgrade changes what it relies on.
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


def run_dbt() -> None:
    """dbt's command line (sys.argv), with the change above."""
    drop_events_below_level()
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
