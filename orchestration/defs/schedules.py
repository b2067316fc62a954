"""The daily job and its schedule: yesterday's partition, in the reporting time zone."""

from __future__ import annotations

import dagster as dg

DAILY_JOB_NAME = "daily_journey"
PUBLISH_JOB_NAME = "publish_marts"


def build_daily_job() -> dg.UnresolvedAssetJobDefinition:
    """Every asset; the daily partitions are inferred from the ingestion assets."""
    return dg.define_asset_job(
        DAILY_JOB_NAME,
        selection=dg.AssetSelection.all(),
        description=(
            "Load the landing partitions, build and test every dbt model, then publish the "
            "marts for BI."
        ),
    )


def build_publish_job() -> dg.UnresolvedAssetJobDefinition:
    """The publish step alone: `journey publish`, after a model was rebuilt by hand."""
    return dg.define_asset_job(
        PUBLISH_JOB_NAME,
        selection=dg.AssetSelection.groups("published"),
        description=(
            "Publish the warehouse's current marts to published/ again, without loading or "
            "building anything (`journey publish`)."
        ),
    )


def build_daily_schedule(job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    # Runs at 03:00 reporting time for the partition that ended at midnight (yesterday).
    return dg.build_schedule_from_partitioned_job(job, hour_of_day=3, minute_of_hour=0)
