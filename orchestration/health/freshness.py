"""Is every source's landing partition there, and on time? Judged on the landing folder.

Two rules per landing entity (`<source>/<entity>`), both on `dt=` folders:
- missing: a day of the run's window has no `dt=` folder for the entity;
- late: the entity's newest `dt=` day trails the newest `dt=` day of any required entity
  by more than the source's allowed lag (`max_lag_days`, default 1 day).
A source whose lag is `None` (privacy: erasure requests do not arrive daily) is never
required: it is reported, never flagged, and does not set the reference day.
A required entity that has never delivered anything (no `dt=` folder in the landing
folder, and nothing ever loaded) is absent: a site without a CRM yet, or without an email
source. It is reported as absent, never flagged as missing or late. An entity that
delivered before and stopped is still missing and late.

The dbt source freshness declared in `models/staging/**/_*__sources.yml` (age of the newest
`loaded_at`) is re-judged here too, from the manifest, so run health can show it without
a separate `dbt source freshness` invocation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.ingestion.loader import landing_days
from orchestration.ingestion.specs import ENTITY_SPECS, EntitySpec

FRESH, LATE, MISSING, MISSING_AND_LATE, NOT_REQUIRED, ABSENT = (
    "fresh",
    "late",
    "missing",
    "missing_and_late",
    "not_required",
    "absent",
)
FRESHNESS_STATUSES = (FRESH, LATE, MISSING, MISSING_AND_LATE, NOT_REQUIRED, ABSENT)
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
    # required, but never delivered: no dt= folder in the landing folder, nothing ever loaded
    absent: bool = False

    @property
    def required(self) -> bool:
        return self.max_lag_days is not None and not self.absent

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
        if self.absent:
            return ABSENT
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
        if self.absent:
            return (
                f"{self.name} absent: never delivered (no dt= folder, nothing loaded); not judged"
            )
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
    ever_loaded: Collection[str] | None = None,
) -> list[EntityFreshness]:
    """Freshness of every entity. Without a window, the expected days run from the first to
    the last landing day of any required entity.

    A required entity without any `dt=` folder is absent, unless its table is in
    `ever_loaded` (the raw tables `raw.loaded_files` has files of): then it delivered
    before, and is missing and late. Without `ever_loaded`, the landing folder alone
    decides."""
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
        absent = (
            lags[spec.table] is not None
            and not days
            and (ever_loaded is None or spec.table not in ever_loaded)
        )
        results.append(
            EntityFreshness(
                source=spec.source,
                entity=spec.entity,
                max_lag_days=lags[spec.table],
                newest_day=max(days) if days else None,
                reference_day=reference,
                expected_days=len(expected),
                missing_days=tuple(day for day in expected if day not in days),
                absent=absent,
            )
        )
    return results


def absent_names(entities: Iterable[tuple[str, str, bool]]) -> list[str]:
    """The absent ones of (source, entity, is absent): a source named once when none of its
    entities ever delivered (`crm`), else by entity (`crm/tickets`)."""
    by_source: dict[str, list[tuple[str, bool]]] = {}
    for source, entity, absent in entities:
        by_source.setdefault(source, []).append((entity, absent))
    names = []
    for source, entities_of_source in by_source.items():
        absent = [entity for entity, is_absent in entities_of_source if is_absent]
        if len(entities_of_source) > 1 and len(absent) == len(entities_of_source):
            names.append(source)
        else:
            names.extend(f"{source}/{entity}" for entity in absent)
    return names


def freshness_summary(results: Iterable[EntityFreshness]) -> list[str]:
    """`all sources fresh`, or one line per entity that is missing or late; then one line
    naming the absent entities, if any."""
    results = list(results)
    flagged = [result.explain() for result in results if result.is_missing or result.is_late]
    absent = absent_names((result.source, result.entity, result.absent) for result in results)
    if not absent:
        return flagged or ["all sources fresh"]
    absent_line = f"absent (never delivered, not judged): {', '.join(absent)}"
    return [*flagged, absent_line] if flagged else [f"all present sources fresh; {absent_line}"]


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
