"""Shared fixtures: every test gets its own landing folder and its own DuckDB file."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.ingestion.loader import ensure_raw_schema, landing_days, load_partition
from orchestration.ingestion.specs import spec_for
from orchestration.privacy.keys import KEY_FILE_ENV
from orchestration.runner import run_pipeline
from orchestration.sample_data import generate_landing
from orchestration.settings import Settings
from tests.support import (
    PIPELINE_CUSTOMERS,
    PIPELINE_DAYS,
    PIPELINE_SEED,
    PIPELINE_START,
    PipelineRun,
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


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineRun]:
    """One in-process run of the whole pipeline over every day of a generated landing."""
    root = tmp_path_factory.mktemp("pipeline")
    manifest = generate_landing(
        root / "landing",
        customers=PIPELINE_CUSTOMERS,
        days=PIPELINE_DAYS,
        start=PIPELINE_START,
        seed=PIPELINE_SEED,
    )
    settings = Settings(
        landing_dir=root / "landing", warehouse_dir=root / "warehouse", reporting_tz="UTC"
    )
    names = ("JOURNEY_LANDING_DIR", "JOURNEY_WAREHOUSE_DIR", KEY_FILE_ENV)
    saved = {k: os.environ.get(k) for k in names}
    settings.export()
    # One erasure key for every warehouse built from this landing folder, so that their
    # pseudonyms, and hence their marts, can be compared.
    os.environ[KEY_FILE_ENV] = str(root / "erasure_key")
    instance = dg.DagsterInstance.ephemeral()
    try:
        days = landing_days(settings.landing_dir)
        outcome = run_pipeline(settings, days[0], days[-1], instance=instance)
        yield PipelineRun(settings, manifest, outcome, instance)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
