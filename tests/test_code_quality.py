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


def _readme_layout() -> list[str]:
    """The paths of the README's Layout block, indented entries joined to their folder."""
    readme = (REPO_ROOT / "README.md").read_text()
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    paths, parent = [], ""
    for line in block.strip("\n").splitlines():
        name = line.split()[0]
        if line.startswith(" "):
            paths.append(parent + name)
        else:
            parent = name
            paths.append(name)
    return paths


def test_the_readme_layout_names_only_what_exists():
    missing = [path for path in _readme_layout() if not (REPO_ROOT / path).exists()]
    assert missing == []


def test_the_readme_layout_names_every_folder_of_the_project_and_the_package():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    top = {f"{name.split('/')[0]}/" for name in tracked if "/" in name and name[0] != "."}
    package = {
        "/".join(name.split("/")[:2]) + "/"
        for name in tracked
        if name.startswith("orchestration/") and name.count("/") >= 2
    }
    layout = _readme_layout()
    named = {path for path in layout if path.endswith("/")}
    named |= {path.split("/")[0] + "/" for path in layout}
    assert sorted((top | package) - named) == []
