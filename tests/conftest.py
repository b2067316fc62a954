"""Shared fixtures: every test gets its own landing folder and its own DuckDB file."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import os
import pickle
import secrets
import shutil
import signal
import subprocess
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from filelock import FileLock

from orchestration.ingestion.loader import ensure_raw_schema, landing_days, load_partition
from orchestration.ingestion.specs import spec_for
from orchestration.privacy.keys import KEY_FILE_ENV
from orchestration.runner import run_pipeline
from orchestration.settings import Settings
from tests.support import (
    PipelineRun,
    generate_pipeline_landing,
)

DAY = dt.date(2026, 3, 10)


class Landing:
    """Writes landing files in the contract's layout."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, source: str, entity: str, day: dt.date = DAY) -> Path:
        folder = self.root / source / entity / f"dt={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def write_text(
        self, source: str, entity: str, name: str, text: str, day: dt.date = DAY
    ) -> Path:
        path = self.folder(source, entity, day) / name
        data = text.encode("utf-8")
        path.write_bytes(gzip.compress(data, mtime=0) if name.endswith(".gz") else data)
        return path

    def write_jsonl(
        self, source: str, entity: str, name: str, records: list, day: dt.date = DAY
    ) -> Path:
        lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
        return self.write_text(source, entity, name, "\n".join(lines) + "\n", day)

    def write_csv(
        self, source: str, entity: str, name: str, rows: list[dict], day: dt.date = DAY
    ) -> Path:
        header = list(spec_for(source, entity).csv_columns)
        for row in rows:
            header += [key for key in row if key not in header]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return self.write_text(source, entity, name, buffer.getvalue(), day)


@pytest.fixture
def landing(tmp_path: Path) -> Landing:
    return Landing(tmp_path / "landing")


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(tmp_path / "journey.duckdb"))
    connection.execute("set TimeZone = 'UTC'")
    ensure_raw_schema(connection)
    yield connection
    connection.close()


@pytest.fixture
def load(landing: Landing, con: duckdb.DuckDBPyConnection):
    def _load(source: str, entity: str, day: dt.date = DAY):
        return load_partition(con, landing.root, spec_for(source, entity), day)

    return _load


SESSION_STARTED = time.time()
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def pytest_terminal_summary(terminalreporter) -> None:
    """Names the screenshot folders this run wrote (the browser tests': CI keeps them as
    artefacts), on the controller, where xdist workers' own prints do not reach."""
    written = sorted(
        folder
        for folder in (ARTIFACTS.iterdir() if ARTIFACTS.is_dir() else [])
        if folder.is_dir() and any(f.stat().st_mtime >= SESSION_STARTED for f in folder.iterdir())
    )
    for folder in written:
        terminalreporter.write_line(f"screenshots: {folder}")


@pytest.fixture(autouse=True)
def _termination_signals_delivered(request: pytest.FixtureRequest) -> None:
    """Each test starts with SIGTERM and SIGINT handled as in a process started from a shell.
    The processes a test starts inherit its worker's ignored and blocked signals (through
    exec). A suite started as a background job (`pytest … &` in a script) has SIGINT ignored
    (POSIX shells do that to background commands), and an in-process Dagster run then ignores
    SIGTERM too (it gives SIGTERM SIGINT's handler: dagster/_utils/interrupts.py): in the
    worker that had built a run in-process, the Spark server's kill tests failed, their
    starter and server deaf to SIGTERM. A warning names the test before which it was found."""
    if threading.current_thread() is not threading.main_thread():
        return
    found = []
    if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        found.append("SIGTERM ignored")
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        found.append("SIGINT ignored")
    termination = {signal.SIGTERM, signal.SIGINT}
    blocked = signal.pthread_sigmask(signal.SIG_UNBLOCK, termination) & termination
    found += [f"{signal.Signals(signum).name} blocked" for signum in sorted(blocked)]
    if found:
        warnings.warn(f"{', '.join(found)} before {request.node.nodeid}", stacklevel=1)


def pytest_sessionstart(session: pytest.Session) -> None:
    """The dbt assets are built from target/manifest.json: parse the project once. The
    report's browser test needs headless Chromium: on a Debian machine where the suite may
    install packages (as root), Debian's `chromium` is installed once; elsewhere that test
    fails with the one line saying how to get it (tests/test_report.py)."""
    from orchestration.project import prepare_manifest

    prepare_manifest()
    _ensure_chromium()


def _ensure_chromium() -> None:
    if shutil.which("chromium") or not shutil.which("apt-get") or os.geteuid() != 0:
        return
    print("\ninstalling Debian's chromium for the report's browser test (apt-get)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        subprocess.run(command, env=env, capture_output=True, check=False)


@pytest.hookimpl(optionalhook=True)  # xdist's hook: `-p no:xdist` still works
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (pyproject.toml): one worker per core, at most four. Each worker runs
    DuckDB and dbt with every core, so more workers than cores only add contention."""
    return max(1, min(os.cpu_count() or 1, 4))


def _build_pipeline(root: Path) -> PipelineRun:
    """Generates the landing folder and runs the whole pipeline over every day of it."""
    manifest = generate_pipeline_landing(root / "landing")
    settings = _pipeline_settings(root)
    days = landing_days(settings.landing_dir)
    outcome = run_pipeline(settings, days[0], days[-1], instance=dg.DagsterInstance.ephemeral())
    return PipelineRun(settings, manifest, outcome)


def _pipeline_settings(root: Path) -> Settings:
    return Settings(
        landing_dir=root / "landing", warehouse_dir=root / "warehouse", reporting_tz="UTC"
    )


def _shared_dir(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A folder every xdist worker of this session sees (the session's own without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if worker_id != "master" else base


@pytest.fixture(scope="session")
def erasure_key_file(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[Path]:
    """One erasure key for every warehouse the session builds from the generated landing,
    so that their pseudonyms, and hence their marts, can be compared (created once, under a
    lock, before any run could create one of its own)."""
    path = _shared_dir(tmp_path_factory, worker_id) / "erasure_key"
    with FileLock(str(path) + ".lock"):
        if not path.exists():
            path.write_text(secrets.token_hex(32) + "\n")
            path.chmod(0o600)
    saved = os.environ.get(KEY_FILE_ENV)
    os.environ[KEY_FILE_ENV] = str(path)
    try:
        yield path
    finally:
        if saved is None:
            os.environ.pop(KEY_FILE_ENV, None)
        else:
            os.environ[KEY_FILE_ENV] = saved


@pytest.fixture(scope="session")
def pipeline(
    tmp_path_factory: pytest.TempPathFactory, worker_id: str, erasure_key_file: Path
) -> Iterator[PipelineRun]:
    """One run of the whole pipeline over every day of a generated landing, shared by every
    test (read-only: a test that writes works on `pipeline.copy(...)`).

    Under pytest-xdist the first worker that needs it builds it; the others wait for that
    build (a file lock beside the workers' temporary folders) and read the same files."""
    root = _shared_dir(tmp_path_factory, worker_id) / "pipeline"
    names = ("JOURNEY_LANDING_DIR", "JOURNEY_WAREHOUSE_DIR", "JOURNEY_REPORTING_TZ")
    saved = {k: os.environ.get(k) for k in names}
    _pipeline_settings(root).export()
    built = root / "pipeline.pickle"
    try:
        with FileLock(str(root) + ".lock"):
            if not built.exists():
                root.mkdir(parents=True, exist_ok=True)
                built.write_bytes(pickle.dumps(_build_pipeline(root)))
        yield pickle.loads(built.read_bytes())
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# xdist hands out whole test files (`--dist loadfile`, pyproject.toml) in this order
# (`--no-loadscope-reorder`): a module's fixtures (a run of its own, Superset, a generated
# landing) are built once, on one worker. A worker holds the next file while fewer than
# three of its tests are pending, then takes the next one free. So the longest test (the
# day-by-day runs, which need the pipeline's marts only at their end) starts at once
# beside the pipeline build, holding a short file behind it, and the other worker works
# through the other long files meanwhile (the Spark run, four minutes, among the first, so
# that the end of the suite is short files on both workers).
LONG_FIRST = (
    "test_operations.py",
    "test_pipeline.py",
    "test_spark_engine.py",
    "test_definitions.py",
    "test_privacy.py",
    "test_code_quality.py",
    "test_superset.py",
    "test_dev_target.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONG_FIRST.index(name) if name in LONG_FIRST else len(LONG_FIRST)

    items.sort(key=rank)  # stable: the order within a file is the collection order
