"""Where things are: the repository root and the dbt project, computed once."""

import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtProject

REPO_ROOT = Path(__file__).resolve().parent.parent

dbt_project = DbtProject(project_dir=REPO_ROOT, profiles_dir=REPO_ROOT)
dbt_project.prepare_if_dev()


# The dbt target of the pipeline (profiles.yml): journey.duckdb. The default target, dev,
# is an analytics engineer's copy.
DBT_TARGET = "prod"
# The target of JOURNEY_ENGINE=spark: the same models on Apache Spark (orchestration/spark.py).
SPARK_DBT_TARGET = "spark"

# What the manifest is parsed from: when none of it changed, the manifest is current.
PROJECT_INPUTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "data-tests")


def manifest_is_current() -> bool:
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return False
    built = manifest.stat().st_mtime
    for name in PROJECT_INPUTS:
        path = REPO_ROOT / name
        paths = path.rglob("*") if path.is_dir() else [path]
        if any(p.stat().st_mtime > built for p in paths if p.exists()):
            return False
    return True


def prepare_manifest() -> Path:
    """`dbt parse`: writes target/manifest.json, which the dbt assets are built from.

    Skipped when the manifest is newer than every file of the dbt project (the graph
    cannot have changed); each `dbt build` parses again for its own compilation."""
    from orchestration.dbt_cli import JourneyDbtCli

    if manifest_is_current():
        return dbt_project.manifest_path

    dbt = JourneyDbtCli(project_dir=dbt_project, dbt_executable=pipeline_dbt_executable())
    # Parsed for the pipeline's target: the semantic manifest names its relations' database
    # (journey, not dev), which MetricFlow queries.
    dbt.cli(
        ["parse", "--quiet", "--target", DBT_TARGET],
        target_path=Path("target"),
        raise_on_error=True,
    ).wait()
    return dbt_project.manifest_path


def dbt_executable() -> str:
    """The dbt installed beside this Python (works without an activated virtualenv)."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def pipeline_dbt_executable() -> str:
    """The pipeline's dbt: `journey-dbt` beside this Python, dbt with its logging made
    cheaper (orchestration/dbt_entry.py), installed with the project."""
    return str(Path(sys.executable).with_name("journey-dbt"))
