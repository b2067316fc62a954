"""The publish step: after every model and test passed, swap in the BI copy."""

import dagster as dg

from orchestration.defs.dbt import journey_dbt_models
from orchestration.defs.ingestion import WAREHOUSE_POOL
from orchestration.defs.resources import Warehouse
from orchestration.publishing import publish_marts


@dg.asset(
    key=dg.AssetKey(["published", "bi_duckdb"]),
    group_name="published",
    deps=journey_dbt_models.keys,
    pool=WAREHOUSE_POOL,
    kinds={"duckdb", "parquet"},
    description=(
        "The read-only copy for BI tools: published/bi.duckdb (schema marts, readable by "
        "DuckDB 1.x clients) and published/parquet/<table>.parquet, swapped in atomically "
        "after every successful run."
    ),
)
def published_marts(context: dg.AssetExecutionContext, warehouse: Warehouse):
    settings = warehouse.settings()
    with warehouse.connect() as con:
        tables = publish_marts(con, settings.published_dir)
    context.log.info(f"published {len(tables)} tables to {settings.published_dir}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(settings.published_dir / "bi.duckdb")),
            "tables": dg.MetadataValue.json(tables),
        }
    )
