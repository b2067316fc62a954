"""Is every source's landing partition there, and on time? Judged on the landing folder.

Two rules per landing entity (`<source>/<entity>`), both on `dt=` folders:
- missing: a day of the run's window has no `dt=` folder for the entity;
- late: the entity's newest `dt=` day trails the newest `dt=` day of any required entity
  by more than the source's allowed lag (`max_lag_days`, default 1 day).
A source whose lag is `None` (privacy: erasure requests do not arrive daily) is never
required: it is reported, never flagged, and does not set the reference day.

The dbt source freshness declared in `models/staging/**/_*__sources.yml` (age of the newest
`loaded_at`) is re-judged here too, from the manifest, so run health can show it without
a separate `dbt source freshness` invocation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.ingestion.loader import landing_days
from orchestration.ingestion.specs import ENTITY_SPECS, EntitySpec

FRESH, LATE, MISSING, MISSING_AND_LATE, NOT_REQUIRED = (
    "fresh",
    "late",
    "missing",
    "missing_and_late",
    "not_required",
)
FRESHNESS_STATUSES = (FRESH, LATE, MISSING, MISSING_AND_LATE, NOT_REQUIRED)
PERIOD_HOURS = {"minute": 1 / 60, "hour": 1, "day": 24}


@dataclass(frozen=True)
class Window:
    """The reporting days a run covers, both ends included."""

    first: dt.date
    last: dt.date

    def days(self) -> list[dt.date]:
        return [
            self.first + dt.timedelta(days=offset)
            for offset in range((self.last - self.first).days + 1)
        ]


@dataclass(frozen=True)
class EntityFreshness:
    source: str
    entity: str
    max_lag_days: int | None
    newest_day: dt.date | None
    reference_day: dt.date | None
    expected_days: int
    missing_days: tuple[dt.date, ...]

    @property
    def required(self) -> bool:
        return self.max_lag_days is not None

    @property
    def days_behind(self) -> int | None:
        if self.reference_day is None or self.newest_day is None:
            return None
        return max((self.reference_day - self.newest_day).days, 0)

    @property
    def is_missing(self) -> bool:
        return self.required and bool(self.missing_days)

    @property
    def is_late(self) -> bool:
        if not self.required or self.reference_day is None:
            return False
        if self.newest_day is None:
            return True
        return (self.days_behind or 0) > (self.max_lag_days or 0)

    @property
    def status(self) -> str:
        if not self.required:
            return NOT_REQUIRED
        if self.is_missing and self.is_late:
            return MISSING_AND_LATE
        if self.is_missing:
            return MISSING
        return LATE if self.is_late else FRESH

    @property
    def name(self) -> str:
        return f"{self.source}/{self.entity}"

    def explain(self) -> str:
        """One line for a person: what is missing or late, or that the entity is fresh."""
        parts = []
        if self.is_missing:
            parts.append(f"missing {format_days(self.missing_days)}")
        if self.is_late:
            newest = self.newest_day.isoformat() if self.newest_day else "no landing day at all"
            parts.append(
                f"late: newest {newest}, {self.days_behind if self.newest_day else '?'} day(s) "
                f"behind {self.reference_day} (allowed {self.max_lag_days})"
            )
        if not self.required:
            parts.append("not required")
        return f"{self.name} " + ("; ".join(parts) if parts else "fresh")


def format_days(days: Iterable[dt.date], limit: int = 5) -> str:
    days = sorted(days)
    shown = ", ".join(day.isoformat() for day in days[:limit])
    return shown + (f" (+{len(days) - limit} more)" if len(days) > limit else "")


def assess_freshness(
    landing: Path,
    window: Window | None,
    max_lag_days: Mapping[str, int | None],
    specs: Iterable[EntitySpec] = ENTITY_SPECS,
) -> list[EntityFreshness]:
    """Freshness of every entity. Without a window, the expected days run from the first to
    the last landing day of any required entity."""
    specs = list(specs)
    present = {spec.table: landing_days(landing, spec) for spec in specs}
    lags = {spec.table: max_lag_days.get(spec.source, 1) for spec in specs}
    required_days = sorted(
        {day for spec in specs if lags[spec.table] is not None for day in present[spec.table]}
    )
    reference = required_days[-1] if required_days else None
    if window is not None:
        expected = window.days()
    elif required_days:
        expected = Window(required_days[0], required_days[-1]).days()
    else:
        expected = []
    results = []
    for spec in specs:
        days = set(present[spec.table])
        results.append(
            EntityFreshness(
                source=spec.source,
                entity=spec.entity,
                max_lag_days=lags[spec.table],
                newest_day=max(days) if days else None,
                reference_day=reference,
                expected_days=len(expected),
                missing_days=tuple(day for day in expected if day not in days),
            )
        )
    return results


def freshness_summary(results: Iterable[EntityFreshness]) -> list[str]:
    """`all sources fresh`, or one line per entity that is missing or late."""
    flagged = [result.explain() for result in results if result.is_missing or result.is_late]
    return flagged or ["all sources fresh"]


@dataclass(frozen=True)
class DbtFreshnessRule:
    """A dbt source's `freshness` on `loaded_at_field`: warn / error after so many hours."""

    table: str
    loaded_at_field: str
    warn_after_hours: float | None
    error_after_hours: float | None

    def judge(self, newest_loaded_at: dt.datetime | None, now: dt.datetime) -> str:
        """dbt's verdict: `pass`, `warn` or `error` (`error` when nothing was ever loaded)."""
        if newest_loaded_at is None:
            return "error" if self.error_after_hours is not None else "warn"
        if newest_loaded_at.tzinfo is None:
            newest_loaded_at = newest_loaded_at.replace(tzinfo=dt.UTC)
        age_hours = (now - newest_loaded_at).total_seconds() / 3600
        if self.error_after_hours is not None and age_hours > self.error_after_hours:
            return "error"
        if self.warn_after_hours is not None and age_hours > self.warn_after_hours:
            return "warn"
        return "pass"


def _hours(rule: Mapping[str, Any] | None) -> float | None:
    if not rule or rule.get("count") is None or rule.get("period") is None:
        return None
    return float(rule["count"]) * PERIOD_HOURS[rule["period"]]


def dbt_freshness_rules(
    manifest: Mapping[str, Any], schema: str = "raw"
) -> dict[str, DbtFreshnessRule]:
    """The freshness rules of the dbt sources in `schema`, by table name."""
    rules = {}
    for source in manifest.get("sources", {}).values():
        if source.get("schema") != schema or not source.get("loaded_at_field"):
            continue
        freshness = source.get("freshness") or {}
        warn, error = _hours(freshness.get("warn_after")), _hours(freshness.get("error_after"))
        if warn is None and error is None:
            continue
        table = source.get("identifier") or source["name"]
        rules[table] = DbtFreshnessRule(table, source["loaded_at_field"], warn, error)
    return rules
