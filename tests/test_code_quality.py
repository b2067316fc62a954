"""Lint gates that block CI: ruff for Python, SQLFluff (duckdb dialect) for the dbt SQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.project import REPO_ROOT

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["sqlfluff", "lint", "models", "data-tests", "--disable-progress-bar"],
    ],
    ids=["ruff-check", "ruff-format", "sqlfluff"],
)
def test_the_code_passes_its_linter(command):
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
