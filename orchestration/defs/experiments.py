"""Experiment statistics: the A/B test read-out's tests, computed in Python between two dbt layers.

`intermediate.int_experiment_variations` (dbt) -> this asset ->
`measurement.experiment_statistics` (the dbt source `experiment_statistics`) ->
`kpi_experiments`.
"""

from pathlib import Path

import dagster as dg
import yaml

from orchestration import unchanged
from orchestration.defs.ingestion import WAREHOUSE_POOL
from orchestration.defs.resources import Warehouse
from orchestration.measurement.experiments import (
    STATISTICS,
    run_experiments,
)
from orchestration.measurement.tables import MEASUREMENT_SCHEMA
from orchestration.project import REPO_ROOT

VARIATIONS_KEY = dg.AssetKey(["intermediate", "int_experiment_variations"])
SRM_THRESHOLD_VAR = "experiment_srm_threshold"


def srm_threshold(project_file: Path = REPO_ROOT / "dbt_project.yml") -> float:
    """The dbt var `experiment_srm_threshold` (kpi_experiments' is_significant rule)."""
    project = yaml.safe_load(project_file.read_text(encoding="utf-8")) or {}
    value = (project.get("vars") or {}).get(SRM_THRESHOLD_VAR)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(
            f"{project_file}: vars.{SRM_THRESHOLD_VAR} must be a number from 0 to 1, not {value!r}"
        )
    return float(value)


@dg.asset(
    key=dg.AssetKey([MEASUREMENT_SCHEMA, STATISTICS.name]),
    group_name="experiments",
    metadata={"dagster/column_schema": STATISTICS.column_schema()},
    deps=[VARIATIONS_KEY],
    pool=WAREHOUSE_POOL,
    kinds={"duckdb", "python", "scipy"},
    description=(
        "Per experiment x variation, from the counts of intermediate.int_experiment_variations: "
        "the 95 % normal interval of the conversion-rate difference to the control (unpooled "
        "standard error), the two-proportion z-test p-value (pooled standard error), Welch's "
        "t-test p-value of revenue per exposed person, and the experiment's sample-ratio-"
        "mismatch chi-square p-value against an equal split. Replaced atomically; "
        "kpi_experiments reads it as the dbt source experiment_statistics."
    ),
)
def experiment_statistics(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    build = unchanged.begin(context, warehouse)
    if build.unchanged_since:
        return unchanged.unchanged_results(context, build)[0]
    threshold = srm_threshold()
    with warehouse.connect() as con:
        statistics = run_experiments(con)
    unchanged.end(context, warehouse, build)
    experiments = sorted({row.experiment_id for row in statistics})
    mismatched = sorted(
        {
            row.experiment_id
            for row in statistics
            if row.srm_p_value is not None and row.srm_p_value < threshold
        }
    )
    if mismatched:
        context.log.warning(
            f"sample-ratio mismatch (SRM p < {threshold:g}), the read-out cannot be trusted: "
            + ", ".join(mismatched)
        )
    return dg.MaterializeResult(
        metadata={
            "experiments": len(experiments),
            "variations": len(statistics),
            "sample_ratio_mismatches": dg.MetadataValue.json(mismatched),
            "dagster/row_count": len(statistics),
        }
    )
