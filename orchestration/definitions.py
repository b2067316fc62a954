"""The Dagster code location: `dagster dev -m orchestration.definitions` or `journey ui`."""

from __future__ import annotations

import warnings

import dagster as dg

from orchestration.dbt_cli import JourneyDbtCli
from orchestration.defs.attribution import markov_removal_effects
from orchestration.defs.clv import clv_model
from orchestration.defs.dbt import build_dbt_assets
from orchestration.defs.experiments import experiment_statistics
from orchestration.defs.health import (
    RUN_HEALTH_KEY,
    HealthThresholds,
    build_freshness_checks,
    build_run_health_asset,
)
from orchestration.defs.ingestion import build_ingestion
from orchestration.defs.partitions import daily_partitions
from orchestration.defs.publishing import build_publishing_asset
from orchestration.defs.resources import Warehouse
from orchestration.defs.schedules import (
    build_daily_job,
    build_daily_schedule,
    build_publish_job,
)
from orchestration.progress import journey_logger
from orchestration.project import dbt_project, pipeline_dbt_executable
from orchestration.settings import Settings

# Single-run backfills (one run over a range of days) are the documented way to run
# partitioned dbt assets; the parameter is labelled beta.
warnings.filterwarnings("ignore", category=dg.BetaWarning)


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    partitions_def = daily_partitions(settings)
    ingestion_assets, reconciliation_checks = build_ingestion(partitions_def)
    dbt_assets = build_dbt_assets(partitions_def)
    python_models = [markov_removal_effects, clv_model, experiment_statistics]
    modelled = [key for assets in (*dbt_assets, *python_models) for key in assets.keys]
    daily_job = build_daily_job()
    return dg.Definitions(
        assets=[
            *ingestion_assets,
            *dbt_assets,
            *python_models,
            build_run_health_asset(modelled),
            build_publishing_asset([*modelled, RUN_HEALTH_KEY]),
        ],
        asset_checks=[*reconciliation_checks, *build_freshness_checks()],
        jobs=[daily_job, build_publish_job()],
        schedules=[build_daily_schedule(daily_job)],
        resources={
            "warehouse": Warehouse.from_settings(settings),
            "health_thresholds": HealthThresholds(),
            "dbt": JourneyDbtCli(
                project_dir=dbt_project,
                dbt_executable=pipeline_dbt_executable(),
                target=settings.dbt_target,
                # The run's fork server parses the project once for the run's commands
                # (on DuckDB; Spark's commands parse their own).
                parse_for_run=settings.engine == "duckdb",
                run_target_path=str(settings.dbt_target_path),
                run_environment=settings.environment(),
            ),
        },
        executor=dg.in_process_executor,
        loggers={"console": dg.colored_console_logger, "journey": journey_logger},
    )


@dg.definitions
def defs() -> dg.Definitions:
    """Built when Dagster loads the code location, not when this module is imported: the
    partitions span the landing folder's days, which building reads."""
    return build_definitions()
