"""The dbt resource's two shortcuts (orchestration/dbt_cli.py) stay true to dagster-dbt."""

from __future__ import annotations

import inspect
from functools import cached_property

from dagster_dbt import DbtCliResource

from orchestration.dbt_cli import JourneyDbtCli
from orchestration.project import DBT_TARGET, dbt_executable, dbt_project


def test_the_version_is_the_one_the_dbt_executable_reports():
    ours = JourneyDbtCli(project_dir=dbt_project, dbt_executable=dbt_executable())
    theirs = DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())

    assert ours._cli_version == theirs._cli_version  # theirs runs `dbt --version`
    assert ours._cli_version.major == 1  # dbt Core: dagster-dbt's path that builds an adapter


def test_the_methods_replaced_still_exist_in_dagster_dbt_as_they_were():
    # An upgrade of dagster-dbt that renames them would silently bring the costs back.
    assert isinstance(inspect.getattr_static(DbtCliResource, "_cli_version"), cached_property)
    parameters = inspect.signature(DbtCliResource._initialize_dbt_core_adapter).parameters
    assert list(parameters) == ["self", "args"]
    source = inspect.getsource(DbtCliResource.cli)
    assert "adapter = self._initialize_dbt_core_adapter(args)" in source
    assert "if self._cli_version.major < 2" in source


def test_a_dbt_command_runs_without_an_adapter_in_this_process():
    dbt = JourneyDbtCli(project_dir=dbt_project, dbt_executable=dbt_executable(), target=DBT_TARGET)
    invocation = dbt.cli(["ls", "--resource-type", "seed", "--quiet", "--output", "name"])

    assert invocation.adapter is None
    assert invocation.wait().is_successful()
