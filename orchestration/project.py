"""Where things are: the repository root and the dbt project, computed once."""

import hashlib
import os
import shutil
import sys
from importlib import metadata
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
# And the code of journey-dbt's state check, which the partial-parsing state left beside the
# manifest records (orchestration/dbt_entry.py; `seed_partial_parsing`).
PARSING_CODE = "orchestration/dbt_entry.py"
# The libraries whose versions change what the project builds (project_fingerprint).
LIBRARIES = ("dbt-core", "dbt-duckdb", "duckdb", "dagster-dbt", "numpy", "scipy")


def manifest_is_current() -> bool:
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return False
    built = manifest.stat().st_mtime
    for name in (*PROJECT_INPUTS, PARSING_CODE):
        path = REPO_ROOT / name
        paths = path.rglob("*") if path.is_dir() else [path]
        if any(p.stat().st_mtime > built for p in paths if p.exists()):
            return False
    return True


def project_fingerprint(root: Path, names: list[str]) -> str:
    """sha256 of the files `names` (files or folders under `root`; compiled Python left
    out) and of the versions of LIBRARIES."""
    digest = hashlib.sha256()
    for path in sorted(_files([root / name for name in names])):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    for library in LIBRARIES:
        digest.update(f"{library}=={metadata.version(library)}\0".encode())
    return digest.hexdigest()


def _files(paths: list[Path]) -> list[Path]:
    found = []
    for path in paths:
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found += [
                p
                for p in path.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
            ]
    return found


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


def seed_partial_parsing(target_path: Path, source: Path | None = None) -> None:
    """A dbt target folder without partial-parsing state (a new warehouse's) starts from the
    state the asset graph's `dbt parse` left in target/: dbt checks that it applies (the same
    dbt, target, vars, project files and profile, but for the warehouse's folder:
    orchestration/dbt_entry.py) and parses only what differs, or, when it does not apply,
    the whole project as it would have anyway. About 6 s less for a new warehouse's first
    dbt command. `source`: another target folder to start from."""
    source = (source or dbt_project.manifest_path.parent) / PARTIAL_PARSE_FILE
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
