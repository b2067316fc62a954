"""The operations contract's settings: read from the environment in one place (from_env).

`journey` commands and the Dagster code location call `Settings.from_env()` once; the
definitions hand the values to the `warehouse` resource as its configuration (shown in the
Dagster UI), and every step reads them from there. `export()` passes them on to the dbt
processes, whose `profiles.yml` reads them with `env_var()`. Dagster's `dg.EnvVar` is not
used for them because it has no default, and every setting of the contract has one.
"""

from __future__ import annotations

import os
import re
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

from orchestration.project import DBT_TARGET, REPO_ROOT, SPARK_DBT_TARGET

DEFAULT_LANDING_DIR = REPO_ROOT / "landing"
DEFAULT_WAREHOUSE_DIR = REPO_ROOT / "warehouse"
DEFAULT_REPORTING_TZ = "UTC"
DEFAULT_DUCKDB_MEMORY_LIMIT = "4GB"
# The engines that build the dbt models (JOURNEY_ENGINE): DuckDB in this process, the
# embedded default, or Apache Spark (issue #21; orchestration/spark.py).
ENGINES = ("duckdb", "spark")
# The local Spark server's memory (JOURNEY_SPARK_DRIVER_MEMORY; in local mode the driver is
# the executors too): 2 GB ran out at 20 000 people by 180 days while the built tables still
# came back through it (docs/portability.md).
DEFAULT_SPARK_DRIVER_MEMORY = "4g"
# A JVM memory size as Spark reads it: a whole number and a unit (bytes without one).
SPARK_MEMORY_SIZE = re.compile(r"[1-9][0-9]*[kmgtp]?", re.IGNORECASE)


# Each setting of the operations contract (a field of Settings) and the environment variable
# that sets it: what from_env reads and environment() gives dbt's processes.
ENVIRONMENT_VARIABLES = {
    "landing_dir": "JOURNEY_LANDING_DIR",
    "warehouse_dir": "JOURNEY_WAREHOUSE_DIR",
    "reporting_tz": "JOURNEY_REPORTING_TZ",
    "duckdb_memory_limit": "JOURNEY_DUCKDB_MEMORY_LIMIT",
    "duckdb_threads": "JOURNEY_DUCKDB_THREADS",
    "duckdb_temp_dir": "JOURNEY_DUCKDB_TEMP_DIR",
    "engine": "JOURNEY_ENGINE",
    "spark_remote": "JOURNEY_SPARK_REMOTE",
    "spark_driver_memory": "JOURNEY_SPARK_DRIVER_MEMORY",
}


class SettingsError(ValueError):
    """A misconfiguration, worded as a one-line instruction for the person running it."""


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse_dir: Path
    reporting_tz: str = DEFAULT_REPORTING_TZ
    # DuckDB's memory limit, threads and spill folder, for dbt and the Python steps alike
    # (empty: DuckDB's default, one thread per core and journey.duckdb.tmp).
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT
    duckdb_threads: str = ""
    duckdb_temp_dir: str = ""
    # The engine that builds the dbt models, and for Spark the Spark Connect endpoint to use
    # (sc://host:port; empty: a local Spark Connect server for the run's duration, with
    # spark_driver_memory).
    engine: str = "duckdb"
    spark_remote: str = ""
    spark_driver_memory: str = DEFAULT_SPARK_DRIVER_MEMORY

    @property
    def dbt_target(self) -> str:
        """The dbt target (profiles.yml) the pipeline builds with."""
        return SPARK_DBT_TARGET if self.engine == "spark" else DBT_TARGET

    @property
    def warehouse_path(self) -> Path:
        return self.warehouse_dir / "journey.duckdb"

    @property
    def dbt_target_path(self) -> Path:
        """dbt's target folder for every dbt command of the warehouse's runs: the compiled
        SQL and the partial-parsing state they share."""
        return self.warehouse_dir / "dbt_target"

    @property
    def published_dir(self) -> Path:
        return self.warehouse_dir / "published"

    @property
    def uses_default_landing(self) -> bool:
        return self.landing_dir == DEFAULT_LANDING_DIR

    def duckdb_settings(self) -> dict[str, str]:
        """What every DuckDB connection of the pipeline SETs (profiles.yml gives dbt the same)."""
        settings = {"TimeZone": "UTC", "memory_limit": self.duckdb_memory_limit}
        if self.duckdb_threads:
            settings["threads"] = self.duckdb_threads
        if self.duckdb_temp_dir:
            settings["temp_directory"] = self.duckdb_temp_dir
        return settings

    @classmethod
    def from_env(cls) -> Settings:
        """The settings of the environment (the only place that reads JOURNEY_* for them): a
        variable unset or blank takes the setting's default."""
        values = {
            field: os.environ.get(variable, "").strip()
            for field, variable in ENVIRONMENT_VARIABLES.items()
        }
        values = {field: value for field, value in values.items() if value}
        tz = values.setdefault("reporting_tz", DEFAULT_REPORTING_TZ)
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(
                f"JOURNEY_REPORTING_TZ={tz!r} is not an IANA time zone; "
                "set it to a name such as 'UTC' or 'Europe/Berlin'"
            ) from exc
        engine = values["engine"] = values.get("engine", "duckdb").lower()
        if engine not in ENGINES:
            raise SettingsError(
                f"JOURNEY_ENGINE={engine!r} is not an engine; set it to one of "
                f"{', '.join(ENGINES)} (or leave it unset for duckdb)"
            )
        remote = values.get("spark_remote", "")
        if remote and not remote.startswith("sc://"):
            raise SettingsError(
                f"JOURNEY_SPARK_REMOTE={remote!r} is not a Spark Connect address; set it to "
                "sc://host:port (or leave it unset for a local Spark)"
            )
        driver_memory = values.get("spark_driver_memory", DEFAULT_SPARK_DRIVER_MEMORY)
        if not SPARK_MEMORY_SIZE.fullmatch(driver_memory):
            raise SettingsError(
                f"JOURNEY_SPARK_DRIVER_MEMORY={driver_memory!r} is not a Spark memory size; set "
                f"it to a whole number with a unit, such as 8g or 6144m (or leave it unset for "
                f"{DEFAULT_SPARK_DRIVER_MEMORY})"
            )
        for folder, default in (
            ("landing_dir", DEFAULT_LANDING_DIR),
            ("warehouse_dir", DEFAULT_WAREHOUSE_DIR),
        ):
            values[folder] = Path(values.get(folder, default)).expanduser().resolve()
        return cls(**values)

    def environment(self) -> dict[str, str]:
        """The settings as the environment variables dbt's profiles.yml and project read."""
        return {
            variable: str(getattr(self, field)) for field, variable in ENVIRONMENT_VARIABLES.items()
        }

    def export(self) -> None:
        """Pass the settings on to the processes this one starts (dbt, Dagster's webserver
        and daemon), which read them from their environment; nothing here reads them back."""
        set_environment(self.environment())


def set_environment(values: dict[str, str]) -> None:
    """Set each variable of `values` in this process's environment (an empty value unsets
    it), for the processes it starts."""
    for name, value in values.items():
        if value:
            os.environ[name] = value
        else:
            os.environ.pop(name, None)
