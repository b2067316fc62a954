"""Checks run before any work: a misconfiguration stops with one line that says what to do.

Every check raises `SettingsError` with a message that names the setting and the fix; the
command line turns it into that one line and exit code 2.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import duckdb

from orchestration.settings import Settings, SettingsError

# Settings read as whole numbers, with their smallest allowed value.
WHOLE_NUMBER_SETTINGS = {
    "JOURNEY_DUCKDB_THREADS": 1,
    "JOURNEY_DBT_THREADS": 1,
    "JOURNEY_WEB_LATE_DATA_LOOKBACK_DAYS": 0,
    "JOURNEY_EMAIL_LATE_DATA_LOOKBACK_DAYS": 0,
}


def check_warehouse_dir(warehouse_dir: Path) -> None:
    """The warehouse folder exists (or can be created) and is writable."""
    setting = f"JOURNEY_WAREHOUSE_DIR={warehouse_dir}"
    if warehouse_dir.exists() and not warehouse_dir.is_dir():
        raise SettingsError(
            f"{setting} is a file, not a folder: point JOURNEY_WAREHOUSE_DIR at a folder "
            "(it is created if missing)"
        )
    try:
        warehouse_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError(
            f"{setting} cannot be created ({exc.strerror}): choose a folder you can write to"
        ) from None
    if not os.access(warehouse_dir, os.W_OK | os.X_OK):
        raise SettingsError(
            f"{setting} is not writable: make it writable, or point JOURNEY_WAREHOUSE_DIR at "
            "a folder you can write to"
        )
    database = warehouse_dir / "journey.duckdb"
    if database.exists() and (database.is_dir() or not os.access(database, os.R_OK | os.W_OK)):
        raise SettingsError(
            f"{database} is not a writable file: remove it or fix its permissions "
            "(the pipeline is its only writer)"
        )


def check_landing_dir(landing_dir: Path) -> None:
    """An existing landing folder can be read (a missing one is reported by the caller)."""
    if landing_dir.exists() and not landing_dir.is_dir():
        raise SettingsError(
            f"JOURNEY_LANDING_DIR={landing_dir} is a file, not a folder: point it at the "
            "landing folder laid out as <source>/<entity>/dt=YYYY-MM-DD/"
        )
    if landing_dir.is_dir() and not os.access(landing_dir, os.R_OK | os.X_OK):
        raise SettingsError(
            f"JOURNEY_LANDING_DIR={landing_dir} cannot be read: give the user running "
            "journey read access to it"
        )


def check_duckdb_values(settings: Settings) -> None:
    """Memory limit and temp folder are what DuckDB accepts (asked of DuckDB itself)."""
    memory = settings.duckdb_memory_limit
    if memory:
        with duckdb.connect(":memory:") as con:
            try:
                con.execute("set memory_limit = ?", [memory])
            except duckdb.Error:
                raise SettingsError(
                    f"JOURNEY_DUCKDB_MEMORY_LIMIT={memory!r} is not a memory size: use a "
                    "number with a unit, such as 4GB or 800MB"
                ) from None
    temp_dir = settings.duckdb_temp_dir
    if temp_dir and Path(temp_dir).exists() and not Path(temp_dir).is_dir():
        raise SettingsError(
            f"JOURNEY_DUCKDB_TEMP_DIR={temp_dir} is a file: point it at a folder for DuckDB "
            "to spill to"
        )


def check_whole_numbers(environ: Mapping[str, str]) -> None:
    for name, minimum in WHOLE_NUMBER_SETTINGS.items():
        raw = environ.get(name, "").strip()
        if not raw:
            continue
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise SettingsError(
                f"{name}={raw!r} is not a whole number of at least {minimum}: set it to "
                f"one (or unset it for the default)"
            )


def check_health_thresholds(environ: Mapping[str, str]) -> None:
    from orchestration.health.thresholds import HealthSettings

    try:
        HealthSettings.resolve(environ=environ)
    except SettingsError:
        raise
    except ValueError as exc:
        raise SettingsError(str(exc)) from None


def check_engine(settings: Settings) -> None:
    """JOURNEY_ENGINE=spark without a remote server needs pyspark and a Java here."""
    if settings.engine != "spark" or settings.spark_remote:
        return
    from orchestration.spark import SparkUnavailable, check_available

    try:
        check_available()
    except SparkUnavailable as exc:
        raise SettingsError(str(exc)) from None


def check_all(settings: Settings, environ: Mapping[str, str] | None = None) -> None:
    """Every check of this module, in the order a person would fix them."""
    environ = os.environ if environ is None else environ
    check_warehouse_dir(settings.warehouse_dir)
    check_landing_dir(settings.landing_dir)
    check_duckdb_values(settings)
    check_whole_numbers(environ)
    check_health_thresholds(environ)
    check_engine(settings)
