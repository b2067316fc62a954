"""The thresholds of the run-health checks and of the freshness checks, and how they judge.

Every threshold is a setting: the resource `HealthThresholds` (Dagster UI → Resources, or
the launchpad) overrides the environment, which overrides the defaults below. A value
`off` switches a threshold off. See docs/operations.md.

A share is judged on its own denominator (records read, sessions, web events), never on
an absolute count of bad records: from `min_volume_warn` (20) up it can warn, from
`min_volume` (100) up it can also fail the run, and below that it is too few to judge. A
check whose subject does not exist in the data (no sessions at all, a site that never
identifies its visitors) is not applicable: it passes and says why.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

Bound = Literal["max", "min"]
Verdict = Literal["pass", "warn", "error"]
# judged: the verdict is the threshold's; warn_only: judged, but too few to fail the run;
# too_few: below the smallest volume judged; not_applicable: nothing the check is about.
JudgementStatus = Literal["judged", "warn_only", "too_few", "not_applicable"]

ENV_PREFIX = "JOURNEY_HEALTH_"
FRESHNESS_LAG_ENV = "JOURNEY_FRESHNESS_MAX_LAG_DAYS"
FRESHNESS_SEVERITY_ENV = "JOURNEY_FRESHNESS_SEVERITY"
OFF = ("off", "none", "never")

# metric -> (bound, warn, error): a `max` metric fails above its threshold, a `min` metric
# below it. `None` means that level is never reached.
DEFAULT_THRESHOLDS: dict[str, tuple[Bound, float | None, float | None]] = {
    # share of the records read from landing files that were quarantined
    "rejected_share": ("max", 0.05, 0.20),
    # share of sessions whose person is identified (dim_customers.is_identified)
    "stitch_rate": ("min", 0.10, 0.02),
    # share of sessions in the channel Unassigned
    "unassigned_session_share": ("max", 0.10, 0.30),
    # share of web events that arrived in a landing day after their reporting day
    "late_event_share": ("max", 0.10, None),
}
# A share can fail the run (ERROR) only when its denominator (records read, sessions, web
# events) is at least `min_volume`; from `min_volume_warn` up it is judged but warns at
# most (8 rejected tickets of 30 are worth a look, not worth holding back every mart);
# below both it is not judged (3 rejected records of 4 say nothing about a source).
DEFAULT_MIN_VOLUME = 100
DEFAULT_MIN_VOLUME_WARN = 20
# Days a source's newest landing day may trail the newest landing day of any source.
# `None`: never required (erasure requests do not arrive every day).
DEFAULT_MAX_LAG_DAYS: dict[str, int | None] = {
    "web": 1,
    "email": 1,
    "crm": 1,
    "ads": 1,
    "privacy": None,
}
DEFAULT_FRESHNESS_SEVERITY = "WARN"


def env_name(metric: str, level: Literal["warn", "error"]) -> str:
    """`stitch_rate`, `warn` -> `JOURNEY_HEALTH_MIN_STITCH_RATE_WARN`."""
    bound = DEFAULT_THRESHOLDS[metric][0]
    return f"{ENV_PREFIX}{bound.upper()}_{metric.upper()}_{level.upper()}"


def setting_name(metric: str, level: Literal["warn", "error"]) -> str:
    """`stitch_rate`, `warn` -> `min_stitch_rate_warn` (the resource's field)."""
    return env_name(metric, level).removeprefix(ENV_PREFIX).lower()


@dataclass(frozen=True)
class Judgement:
    """A check's verdict on one share, with why it was or was not judged."""

    verdict: Verdict
    status: JudgementStatus
    value: float | None
    reason: str = ""

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"


class ThresholdError(ValueError):
    """A threshold setting that cannot be read, worded as an instruction."""


@dataclass(frozen=True)
class Threshold:
    metric: str
    bound: Bound
    warn: float | None
    error: float | None

    def judge(self, value: float | None) -> Verdict:
        """`error` beyond the error threshold, else `warn` beyond the warning one, else pass.

        An unknown value (nothing to measure) passes."""
        if value is None:
            return "pass"
        for level, limit in (("error", self.error), ("warn", self.warn)):
            if limit is None:
                continue
            if (self.bound == "max" and value > limit) or (self.bound == "min" and value < limit):
                return level  # type: ignore[return-value]
        return "pass"

    def describe(self) -> str:
        sign = ">" if self.bound == "max" else "<"
        parts = [
            f"{level} if {sign} {limit:g}"
            for level, limit in (("warn", self.warn), ("error", self.error))
            if limit is not None
        ]
        return ", ".join(parts) or "off"


@dataclass(frozen=True)
class HealthSettings:
    thresholds: dict[str, Threshold]
    min_volume: int = DEFAULT_MIN_VOLUME
    min_volume_warn: int = DEFAULT_MIN_VOLUME_WARN
    max_lag_days: dict[str, int | None] = field(default_factory=lambda: dict(DEFAULT_MAX_LAG_DAYS))
    freshness_severity: Literal["WARN", "ERROR"] = DEFAULT_FRESHNESS_SEVERITY

    @classmethod
    def defaults(cls) -> HealthSettings:
        return cls(
            thresholds={
                metric: Threshold(metric, bound, warn, error)
                for metric, (bound, warn, error) in DEFAULT_THRESHOLDS.items()
            }
        )

    @classmethod
    def resolve(
        cls,
        overrides: Mapping[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> HealthSettings:
        """Defaults, then the environment, then `overrides` (the resource's non-empty fields).

        Keys of `overrides` are the resource's field names (`max_rejected_share_warn`,
        `min_volume`, `min_volume_warn`, `freshness_max_lag_days`, `freshness_severity`)."""
        environ = os.environ if environ is None else environ
        overrides = {key: value for key, value in (overrides or {}).items() if value.strip()}

        def lookup(setting: str, env: str) -> str | None:
            if setting in overrides:
                return overrides[setting]
            value = environ.get(env, "")
            return value if value.strip() else None

        settings = cls.defaults()
        thresholds = {}
        for metric, threshold in settings.thresholds.items():
            levels = {}
            for level in ("warn", "error"):
                raw = lookup(setting_name(metric, level), env_name(metric, level))
                default = getattr(threshold, level)
                levels[level] = default if raw is None else _share(raw, env_name(metric, level))
            thresholds[metric] = replace(threshold, **levels)
        min_volume = lookup("min_volume", f"{ENV_PREFIX}MIN_VOLUME")
        min_volume_warn = lookup("min_volume_warn", f"{ENV_PREFIX}MIN_VOLUME_WARN")
        lags = lookup("freshness_max_lag_days", FRESHNESS_LAG_ENV)
        severity = lookup("freshness_severity", FRESHNESS_SEVERITY_ENV)
        return cls(
            thresholds=thresholds,
            min_volume=settings.min_volume
            if min_volume is None
            else _count(min_volume, f"{ENV_PREFIX}MIN_VOLUME"),
            min_volume_warn=settings.min_volume_warn
            if min_volume_warn is None
            else _count(min_volume_warn, f"{ENV_PREFIX}MIN_VOLUME_WARN"),
            max_lag_days=settings.max_lag_days if lags is None else parse_max_lag_days(lags),
            freshness_severity=settings.freshness_severity
            if severity is None
            else _severity(severity),
        )

    @property
    def smallest_volume_judged(self) -> int:
        """The fewest records (sessions, web events) a share is judged on: the lower of the
        two volumes, and at least 1 (nothing to divide is never judged)."""
        return max(1, min(self.min_volume_warn, self.min_volume))

    def judge(
        self,
        metric: str,
        part: int | None,
        whole: int | None,
        *,
        not_applicable: str | None = None,
    ) -> Judgement:
        """Judge the share `part / whole` of `metric` on its own denominator.

        `not_applicable` (the reason) when the data has nothing the check is about: it
        passes. Below the smallest volume judged it passes as too few; below `min_volume`
        an error is lowered to a warning: a small count is a hint, not enough to hold back
        publishing."""
        whole = whole or 0
        value = (part or 0) / whole if whole else None
        if not_applicable:
            return Judgement("pass", "not_applicable", value, not_applicable)
        floor = self.smallest_volume_judged
        if whole < floor:
            return Judgement("pass", "too_few", value, f"too few to judge (< {floor})")
        verdict = self.thresholds[metric].judge(value)
        if whole < self.min_volume:
            if verdict != "error":
                return Judgement(verdict, "warn_only", value)
            reason = f"past the error level, but fewer than {self.min_volume} to fail the run"
            return Judgement("warn", "warn_only", value, reason)
        return Judgement(verdict, "judged", value)


def _share(raw: str, name: str) -> float | None:
    text = raw.strip().lower()
    if text in OFF:
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise ThresholdError(f"{name}={raw!r}: give a share from 0 to 1, or 'off'") from exc
    if not 0 <= value <= 1:
        raise ThresholdError(f"{name}={raw!r}: give a share from 0 to 1, or 'off'")
    return value


def _count(raw: str, name: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError as exc:
        raise ThresholdError(f"{name}={raw!r}: give a whole number of records") from exc
    if value < 0:
        raise ThresholdError(f"{name}={raw!r}: give a whole number of records")
    return value


def _severity(raw: str) -> Literal["WARN", "ERROR"]:
    text = raw.strip().upper()
    if text not in ("WARN", "ERROR"):
        raise ThresholdError(f"{FRESHNESS_SEVERITY_ENV}={raw!r}: give WARN or ERROR")
    return text  # type: ignore[return-value]


def parse_max_lag_days(raw: str) -> dict[str, int | None]:
    """`"ads=2,privacy=never"` over the defaults: days of lag allowed per source."""
    lags = dict(DEFAULT_MAX_LAG_DAYS)
    for item in raw.split(","):
        if not item.strip():
            continue
        source, sep, value = item.partition("=")
        source, value = source.strip(), value.strip().lower()
        if not sep or not source:
            raise ThresholdError(
                f"{FRESHNESS_LAG_ENV}={raw!r}: write source=days pairs, e.g. 'ads=2,privacy=never'"
            )
        if value in OFF:
            lags[source] = None
            continue
        try:
            days = int(value)
        except ValueError as exc:
            raise ThresholdError(
                f"{FRESHNESS_LAG_ENV}={raw!r}: {source}'s lag must be whole days or 'never'"
            ) from exc
        if days < 0:
            raise ThresholdError(f"{FRESHNESS_LAG_ENV}={raw!r}: {source}'s lag must be >= 0")
        lags[source] = days
    return lags
