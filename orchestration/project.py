"""Where things are: the repository root and the dbt project, computed once."""

import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtProject

REPO_ROOT = Path(__file__).resolve().parent.parent

dbt_project = DbtProject(project_dir=REPO_ROOT, profiles_dir=REPO_ROOT)
dbt_project.prepare_if_dev()


def prepare_manifest() -> Path:
    """`dbt parse`: writes target/manifest.json, which the dbt assets are built from."""
    from dagster_dbt import DbtCliResource

    dbt = DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())
    dbt.cli(["parse", "--quiet"], target_path=Path("target"), raise_on_error=True).wait()
    return dbt_project.manifest_path


def dbt_executable() -> str:
    """The dbt installed beside this Python (works without an activated virtualenv)."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")
