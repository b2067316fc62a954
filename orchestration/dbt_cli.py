"""dagster-dbt's dbt resource, without two start-up costs this project does not use.

Before each dbt command, `DbtCliResource.cli()` asks the dbt executable for its version (a
`dbt --version` subprocess: about 4 s, once per run) and builds a dbt adapter in this
process (about 2 s, then 1 s per command), which it needs only to fetch column metadata
from the warehouse (`fetch_column_metadata`), which the project does not call. Here the
version is the installed dbt-core's (the executable is the one beside this Python, see
`dbt_executable`) and no adapter is built: about 8 s less per `journey run`.

Both are private methods of dagster-dbt, pinned exactly in pyproject.toml;
tests/test_dbt_cli.py fails if an upgrade renames them or the versions disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from dagster_dbt import DbtCliResource
from packaging import version


class JourneyDbtCli(DbtCliResource):
    @cached_property
    def _cli_version(self) -> version.Version:
        from dbt.version import __version__

        return version.parse(__version__)

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        """No adapter: dagster-dbt passes None on, as it does for dbt Fusion."""
        return None
