"""Every dbt model, seed and snapshot as a Dagster asset; dbt tests become asset checks."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration.defs.ingestion import WAREHOUSE_POOL
from orchestration.defs.resources import Warehouse
from orchestration.project import dbt_project


class JourneyTranslator(DagsterDbtTranslator):
    """Groups assets by layer folder and points dbt sources at the ingestion assets."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        is_source = dbt_resource_props["resource_type"] == "source"
        if is_source and dbt_resource_props.get("schema") == "raw":
            return dg.AssetKey(["raw", dbt_resource_props["identifier"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "seeds"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=JourneyTranslator(),
    pool=WAREHOUSE_POOL,
)
def journey_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse
):
    """`dbt build` of the selected models: seeds, models and their tests, in DAG order."""
    settings = warehouse.settings()
    settings.export()
    invocation = dbt.cli(
        ["build"], context=context, target_path=settings.warehouse_dir / "dbt_target"
    )
    yield from invocation.stream()
