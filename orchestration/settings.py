"""The operations contract's settings, read from the environment when asked for."""

from __future__ import annotations

import os
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

from orchestration.project import REPO_ROOT

DEFAULT_LANDING_DIR = REPO_ROOT / "landing"
DEFAULT_WAREHOUSE_DIR = REPO_ROOT / "warehouse"


class SettingsError(ValueError):
    """A misconfiguration, worded as a one-line instruction for the person running it."""


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse_dir: Path
    reporting_tz: str

    @property
    def warehouse_path(self) -> Path:
        return self.warehouse_dir / "journey.duckdb"

    @property
    def published_dir(self) -> Path:
        return self.warehouse_dir / "published"

    @property
    def uses_default_landing(self) -> bool:
        return self.landing_dir == DEFAULT_LANDING_DIR

    @classmethod
    def from_env(cls) -> Settings:
        landing = os.environ.get("JOURNEY_LANDING_DIR") or DEFAULT_LANDING_DIR
        warehouse = os.environ.get("JOURNEY_WAREHOUSE_DIR") or DEFAULT_WAREHOUSE_DIR
        tz = os.environ.get("JOURNEY_REPORTING_TZ") or "UTC"
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(
                f"JOURNEY_REPORTING_TZ={tz!r} is not an IANA time zone; "
                "set it to a name such as 'UTC' or 'Europe/Berlin'"
            ) from exc
        return cls(
            landing_dir=Path(landing).expanduser().resolve(),
            warehouse_dir=Path(warehouse).expanduser().resolve(),
            reporting_tz=tz,
        )

    def export(self) -> None:
        """Make the resolved settings visible to dbt subprocesses (profiles.yml reads them)."""
        os.environ["JOURNEY_LANDING_DIR"] = str(self.landing_dir)
        os.environ["JOURNEY_WAREHOUSE_DIR"] = str(self.warehouse_dir)
        os.environ["JOURNEY_REPORTING_TZ"] = self.reporting_tz
