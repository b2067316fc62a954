"""The daily partitions: one per landing `dt=` day, in the reporting time zone."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from orchestration.ingestion.loader import landing_days
from orchestration.settings import Settings

FALLBACK_HISTORY_DAYS = 30


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """Partitions from the first landing day to the last one (at least through today)."""
    today = dt.date.today()
    days = landing_days(settings.landing_dir) if settings.landing_dir.is_dir() else []
    first = days[0] if days else today - dt.timedelta(days=FALLBACK_HISTORY_DAYS)
    last = max(days[-1], today) if days else today
    return dg.DailyPartitionsDefinition(
        start_date=first.isoformat(),
        timezone=settings.reporting_tz,
        end_offset=(last - today).days + 1,
    )
