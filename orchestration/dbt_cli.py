"""dagster-dbt's dbt resource, without three start-up costs this project does not use.

Before each dbt command, `DbtCliResource.cli()` asks the dbt executable for its version (a
`dbt --version` subprocess: about 4 s, once per run) and builds a dbt adapter in this
process (about 2 s, then 1 s per command), which it needs only to fetch column metadata
from the warehouse (`fetch_column_metadata`), which the project does not call. Here the
version is the installed dbt-core's (the executable is the one beside this Python, see
`dbt_executable`) and no adapter is built: about 8 s less per `journey run`.

Both are private methods of dagster-dbt, pinned exactly in pyproject.toml;
tests/test_dbt_cli.py fails if an upgrade renames them or the versions disagree.

And during a run (between Dagster's setup and teardown of the resource), each dbt command
is forked from a server that imported dbt once for the run (orchestration/dbt_fork_server.py)
instead of a new Python importing dbt again: about 2.5 s of CPU less per command, on Linux.
dagster-dbt starts the dbt executable with this process's environment, so the server's
address reaches `journey-dbt` there, for the duration of each `cli()` call. With
`parse_for_run` (the pipeline's resource on DuckDB, orchestration/definitions.py), the
server also parses the project once, as the run's commands would, before it forks any: each
`dbt build` of the run then starts from that manifest (orchestration/dbt_entry.py).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource
from packaging import version
from pydantic import Field, PrivateAttr

from orchestration import dbt_fork_server
from orchestration.dbt_entry import PREPARSE


class JourneyDbtCli(DbtCliResource):
    parse_for_run: bool = False
    """Whether the run's fork server parses the project once for the run's dbt commands
    (orchestration/dbt_entry.py, `preparse`), with `run_target_path` and `run_environment`."""
    run_target_path: str | None = None
    """The dbt target folder of the run's commands (Settings.dbt_target_path)."""
    run_environment: dict[str, str] = Field(default_factory=dict)
    """The settings as dbt reads them (Settings.environment), as the run's commands get them."""

    _fork_server: contextlib.ExitStack | None = PrivateAttr(default=None)
    _fork_server_address: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        super().setup_for_execution(context)
        stack = contextlib.ExitStack()
        prepare = (PREPARSE, json.dumps(self.parse_spec())) if self.parse_for_run else None
        self._fork_server_address = stack.enter_context(
            dbt_fork_server.fork_server(prepare=prepare)
        )
        self._fork_server = stack

    def parse_spec(self) -> dict:
        """`dbt parse` with what dagster-dbt gives the run's commands that decides what they
        parse: the folder, the target, the target and profiles folders, the settings."""
        environment = dict(self.run_environment)
        if self.run_target_path:
            environment["DBT_TARGET_PATH"] = self.run_target_path
        if self.profiles_dir:
            environment["DBT_PROFILES_DIR"] = self.profiles_dir
        arguments = ["parse", "--no-write-json", "--log-level", "none", "--log-level-file", "none"]
        arguments += ["--target", self.target] if self.target else []
        return {"argv": arguments, "cwd": self.project_dir, "env": environment}

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._fork_server is not None:
            self._fork_server.close()
        self._fork_server = self._fork_server_address = None
        super().teardown_after_execution(context)

    def cli(self, args: Sequence[str], **kwargs: Any):  # type: ignore[override]
        """dagster-dbt's `cli()`; during a run, through the run's dbt fork server."""
        address = self._fork_server_address
        if address is None:
            return super().cli(args, **kwargs)
        saved = os.environ.get(dbt_fork_server.ADDRESS_ENV)
        os.environ[dbt_fork_server.ADDRESS_ENV] = address
        try:
            return super().cli(args, **kwargs)
        finally:
            if saved is None:
                os.environ.pop(dbt_fork_server.ADDRESS_ENV, None)
            else:
                os.environ[dbt_fork_server.ADDRESS_ENV] = saved

    @cached_property
    def _cli_version(self) -> version.Version:
        from dbt.version import __version__

        return version.parse(__version__)

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        """No adapter: dagster-dbt passes None on, as it does for dbt Fusion."""
        return None
