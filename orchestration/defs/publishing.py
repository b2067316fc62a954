"""The publish step: after every model and test passed, swap in the BI copy."""

from collections.abc import Iterable

import dagster as dg

from orchestration.defs.ingestion import WAREHOUSE_POOL
from orchestration.defs.resources import Warehouse
from orchestration.publishing import publish_marts, published_docs, undocumented
from orchestration.report import build_report


def build_publishing_asset(upstream: Iterable[dg.AssetKey]) -> dg.AssetsDefinition:
    """The publish step, after every asset in `upstream` (every dbt model and Python model)."""

    @dg.asset(
        key=dg.AssetKey(["published", "bi_duckdb"]),
        group_name="published",
        deps=list(upstream),
        pool=WAREHOUSE_POOL,
        kinds={"duckdb", "parquet"},
        # Markdown: in backticks, `<table>` is shown rather than taken for an HTML tag.
        description=(
            "The read-only copy for BI tools: `published/bi.duckdb` (schema `marts`, readable "
            "by DuckDB 1.x clients) and `published/parquet/<table>.parquet`, swapped in "
            "atomically after every successful run. Every table and column carries its dbt "
            "description (a DuckDB comment; Parquet key-value metadata). Then the journey "
            "report, `published/report/index.html`, is rebuilt from the new copy."
        ),
    )
    def published_marts(context: dg.AssetExecutionContext, warehouse: Warehouse):
        settings = warehouse.settings()
        context.log.info(f"publishing marts to {settings.published_dir}")
        docs = published_docs()
        with warehouse.connect() as con:
            missing = undocumented(con, docs)
            tables = publish_marts(con, settings.published_dir, docs)
        if missing:
            context.log.warning(
                f"published without a description ({len(missing)}; add them to the dbt "
                f"YAML): {', '.join(missing[:20])}" + (" ..." if len(missing) > 20 else "")
            )
        context.log.info(f"published {len(tables)} tables to {settings.published_dir}")
        # The report reads only the published copy, as a BI tool does.
        report = build_report(settings.published_dir)
        context.log.info(f"wrote the journey report {report}")
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(settings.published_dir / "bi.duckdb")),
                "report": dg.MetadataValue.path(str(report)),
                "tables": dg.MetadataValue.json(tables),
                "undocumented": dg.MetadataValue.json(missing),
            }
        )

    return published_marts
