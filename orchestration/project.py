"""Where things are: the repository root and the dbt project, computed once."""

import hashlib
import os
import shutil
import sys
from collections.abc import Iterator
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

# What the manifest is parsed from: when none of it changed, the manifest is current. And
# journey-dbt's state check, which the partial-parsing state left beside it records
# (orchestration/dbt_entry.py; `seed_partial_parsing`).
PROJECT_INPUTS = (
    "dbt_project.yml",
    "profiles.yml",
    "models",
    "macros",
    "seeds",
    "data-tests",
    "orchestration/dbt_entry.py",
)


def project_files() -> Iterator[Path]:
    """Every file the manifest is parsed from (PROJECT_INPUTS)."""
    for name in PROJECT_INPUTS:
        path = REPO_ROOT / name
        if path.is_dir():
            yield from (p for p in path.rglob("*") if p.is_file())
        elif path.exists():
            yield path


def manifest_is_current() -> bool:
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return False
    built = manifest.stat().st_mtime
    return not any(p.stat().st_mtime > built for p in project_files())


def project_fingerprint() -> str:
    """The project's files as they are now (each one's path, size and modification time):
    equal fingerprints, the same files (a few milliseconds)."""
    digest = hashlib.sha256()
    for path in sorted(project_files()):
        status = path.stat()
        digest.update(f"{path}\0{status.st_size}\0{status.st_mtime_ns}\n".encode())
    return digest.hexdigest()


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


PARTIAL_PARSE_FILE = "partial_parse.msgpack"


def seed_partial_parsing(target_path: Path) -> None:
    """A dbt target folder without partial-parsing state (a new warehouse's) starts from the
    state the asset graph's `dbt parse` left in target/: dbt checks that it applies (the same
    dbt, target, vars, project files and profile, but for the warehouse's folder:
    orchestration/dbt_entry.py) and parses only what differs, or, when it does not apply,
    the whole project as it would have anyway. About 6 s less for a new warehouse's first
    dbt command."""
    source = dbt_project.manifest_path.parent / PARTIAL_PARSE_FILE
    destination = target_path / PARTIAL_PARSE_FILE
    if destination.exists() or not source.exists():
        return
    target_path.mkdir(parents=True, exist_ok=True)
    # Copied under another name, then renamed: dbt never reads half a file.
    partial = target_path / f".{PARTIAL_PARSE_FILE}.{os.getpid()}"
    shutil.copyfile(source, partial)
    partial.replace(destination)


def dbt_executable() -> str:
    """The dbt installed beside this Python (works without an activated virtualenv)."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def pipeline_dbt_executable() -> str:
    """The pipeline's dbt: `journey-dbt` beside this Python, dbt with its logging made
    cheaper (orchestration/dbt_entry.py), installed with the project."""
    return str(Path(sys.executable).with_name("journey-dbt"))
