"""Every dbt model, seed and snapshot as a Dagster asset; dbt tests become asset checks.

Three groups of dbt assets:
- the incremental models and everything they are built from (the web and email staging
  models, web sessions, the seeds they read), partitioned by landing day like the raw
  tables: a run passes its partition window (half-open, `[start, end)`) to dbt in the
  environment variables JOURNEY_RUN_WINDOW_START and JOURNEY_RUN_WINDOW_END (macro
  run_window_bound; not --vars, whose every change makes dbt parse the project again).
  The base models re-parse those landing days plus any day whose raw rows changed since
  they last ran; the sessions recompute the devices whose messages changed (the views
  int_web_devices_to_recompute and int_web_devices_to_reaggregate);
- everything else, unpartitioned: rebuilt from those on every run, except
- the marts downstream of the Python models: the Python assets (Markov attribution, CLV)
  read dbt models and write the schema `measurement`, which dbt declares as sources; the
  models built on those sources form a third group, so each group is one `dbt build` whose
  tests (including relationships across groups) run once their parents exist.
"""

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from orchestration import unchanged
from orchestration.defs.ingestion import WAREHOUSE_POOL, raw_asset_key
from orchestration.defs.resources import Warehouse
from orchestration.ingestion.specs import ENTITY_SPECS
from orchestration.project import dbt_project, seed_partial_parsing
from orchestration.settings import set_environment

# The incremental models with all their ancestors, so no other group feeds this one.
INCREMENTAL_SELECTION = "+config.materialized:incremental"
# Schemas of the tables dbt reads but Dagster assets write: raw (ingestion) and
# measurement (the Python models).
ASSET_OWNED_SCHEMAS = ("raw", "measurement")
PYTHON_MODEL_SCHEMA = "measurement"
ERASURE_REQUESTS_KEY = dg.AssetKey(["raw", "privacy_erasure_requests"])
# dbt-spark's session asks for Hive support before every statement, which a running Spark
# Connect server cannot change (a static setting): pyspark warns each time, about 530 lines
# of a run's log that say nothing. Silenced in dbt's process (a PYTHONWARNINGS filter).
SPARK_SESSION_WARNING = "ignore:Failed to set spark.sql.catalogImplementation:UserWarning"


def downstream_of_python_models() -> str:
    """dbt selection of everything built on the tables the Python assets write."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    return " ".join(
        f"source:{source['source_name']}.{source['name']}+"
        for source in manifest["sources"].values()
        if source["schema"] == PYTHON_MODEL_SCHEMA
    )


class DbtBuildConfig(dg.Config):
    """Run options of a dbt group (run config, or the UI's launchpad)."""

    full_refresh: bool = False
    """Rebuild the incremental models from all of raw (after changing their SQL or columns,
    or the var session_timeout_minutes): `journey run --full-refresh`."""


class JourneyTranslator(DagsterDbtTranslator):
    """Groups assets by layer folder and points dbt sources at the assets that write them.

    Every dbt data test is an asset check: a generic test of the model or source it is
    attached to, a singular test of the one model it reads or, when it reads several, of the
    model its `meta: {dagster: {ref: ...}}` names (tests/test_definitions.py holds every
    test to this)."""

    def __init__(self) -> None:
        super().__init__(DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        is_source = dbt_resource_props["resource_type"] == "source"
        schema = dbt_resource_props.get("schema")
        if is_source and schema in ASSET_OWNED_SCHEMAS:
            return dg.AssetKey([schema, dbt_resource_props["identifier"]])
        return super().get_asset_key(dbt_resource_props)

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: Any
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props.get("config", {}).get("materialized") == "incremental":
            # Erasure requests are carried out over raw before any event is parsed.
            return spec.merge_attributes(deps=[ERASURE_REQUESTS_KEY])
        return spec

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "seeds"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


def _dbt_build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: Warehouse,
    config: DbtBuildConfig,
    run_window: dict[str, str] | None = None,
    only_buildable_tests: bool = False,
) -> Iterator:
    settings = warehouse.settings()
    # Unit tests check the SQL, not the data: CI runs them
    # (tests/test_pipeline.py::test_every_dbt_unit_test_passes),
    # production runs skip them.
    # No colour codes: dbt's output goes to the run's log file (or a test's captured output).
    # No manifest.json or run_results.json: nothing reads them (dagster-dbt reads dbt's
    # structured log), and writing them costs about 0.7 s a command. The compiled SQL
    # (dbt_target/compiled/) and the partial-parsing state are still written.
    # No dbt log file (dbt_target/dbt.log): dbt's output, warnings and errors included, is in
    # the run's log already, and the compiled SQL in dbt_target/compiled/. (Before
    # `journey-dbt`, orchestration/dbt_entry.py, dbt formatted every event for the file even
    # at level `warn`: 1.4 s of the 18.9 s of the largest group's `dbt build` at 5 000 people,
    # one day.)
    args = ["build", "--no-use-colors", "--no-write-json", "--log-level-file", "none"]
    args += ["--exclude-resource-type", "unit_test"]
    if only_buildable_tests and unchanged.whole_step(context):
        # A test that also reads a model of a later group (a seed's golden cases) runs there.
        args += ["--indirect-selection", "buildable"]
    if config.full_refresh:
        args.append("--full-refresh")
    # One target folder for every dbt invocation of the warehouse: they share dbt's
    # partial-parsing state, so only the first one after a change to the project parses it
    # all (about 13 s; a partial parse about 6 s).
    target = settings.dbt_target_path
    seed_partial_parsing(target)
    # A group whose inputs are what it was last built from is not built again
    # (orchestration/unchanged.py), outside a full refresh.
    build = unchanged.begin(context, warehouse)
    if build.unchanged_since:
        yield from unchanged.unchanged_results(context, build)
        return
    if settings.engine == "spark":
        yield from _dbt_build_on_spark(context, dbt, warehouse, args, target, run_window)
        return
    # dbt reads the settings and the run's window from its environment, which dagster-dbt
    # copies from this process's.
    with _environment({**settings.environment(), **(run_window or {})}):
        invocation = dbt.cli(args, context=context, target_path=target)
        yield from invocation.stream()
    unchanged.end(context, warehouse, build)


def _dbt_build_on_spark(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: Warehouse,
    args: list[str],
    target: Path,
    run_window: dict[str, str] | None,
) -> Iterator:
    """The group's `dbt build` on the run's Spark Connect server (JOURNEY_ENGINE=spark;
    orchestration/spark.py): first the tables Dagster assets write (raw, measurement) that
    the group reads go to Spark (of the loader's raw tables, the landing days that
    changed), then dbt builds and tests there, then every node it built
    comes back into journey.duckdb for the Python models, the run's health and publishing.

    The incremental base models overwrite the partitions of the landing days a run changes
    (the local server keeps them from run to run: orchestration/spark.py); the deduplicated
    staging models and the sessions are rebuilt whole on every Spark run (their config
    `rebuilt_whole_on_every_run`), as is every other table (docs/portability.md)."""
    from orchestration.spark import connect, pull_tables, push_tables

    settings = warehouse.settings()
    spark = connect(warehouse.spark_address)
    with warehouse.connect() as con:
        pushed = push_tables(
            spark, con, asset_owned_inputs(context.assets_def), by_day=loaded_by_day()
        )
    context.log.info(f"on Spark: {len(pushed)} tables read by this group: {'; '.join(pushed)}")
    environment = {
        **settings.environment(),
        **(run_window or {}),
        "SPARK_REMOTE": warehouse.spark_address,
        "PYTHONWARNINGS": ",".join(
            filter(None, [os.environ.get("PYTHONWARNINGS", ""), SPARK_SESSION_WARNING])
        ),
    }
    built: list[str] = []
    with _environment(environment):
        invocation = dbt.cli(args, context=context, target_path=target)
        for event in invocation.stream():
            if isinstance(event, dg.Output):
                unique_id = event.metadata.get("unique_id")
                built.append(str(getattr(unique_id, "value", unique_id)))
            yield event
    relations = _relations(built)
    with warehouse.connect() as con:
        pull_tables(spark, con, relations)
    context.log.info(f"from Spark into journey.duckdb: {len(relations)} tables")


def loaded_by_day() -> list[str]:
    """The loader's raw tables (schema.name), a landing day's rows each, which Spark keeps
    partitioned by day, sending only the days that changed (orchestration/spark.py)."""
    return [".".join(raw_asset_key(spec).path) for spec in ENTITY_SPECS]


def asset_owned_inputs(assets_def: dg.AssetsDefinition) -> list[str]:
    """The tables Dagster assets write (raw, measurement) that a dbt group reads, its
    models or its tests (schema.name): the group's upstream assets in those schemas. Each
    goes to Spark before the group only, so a run sends each table once, when it is
    current (the Python models' tables, written between two groups, only before the last)."""
    return sorted(
        ".".join(key.path)
        for key in assets_def.dependency_keys
        if len(key.path) == 2 and key.path[0] in ASSET_OWNED_SCHEMAS
    )


def _relations(unique_ids: list[str]) -> list[str]:
    """schema.name of each model and seed of `unique_ids`, in the manifest's order."""
    nodes = json.loads(dbt_project.manifest_path.read_text())["nodes"]
    built = set(unique_ids)
    return [
        f"{node['schema']}.{node['alias']}"
        for unique_id, node in nodes.items()
        if unique_id in built and node["resource_type"] in ("model", "seed")
    ]


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """The variables `values` set (an empty value unset) for the block, then restored."""
    saved = {name: os.environ.get(name, "") for name in values}
    set_environment(values)
    try:
        yield
    finally:
        set_environment(saved)


def build_dbt_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        select=INCREMENTAL_SELECTION,
        name="journey_dbt_incremental",
        dagster_dbt_translator=JourneyTranslator(),
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
    )
    def journey_dbt_incremental(
        context: dg.AssetExecutionContext,
        dbt: DbtCliResource,
        warehouse: Warehouse,
        config: DbtBuildConfig,
    ):
        """Incremental models: the run's landing days (and any changed day) re-parsed, and the
        sessions of the devices whose messages changed recomputed."""
        window = context.partition_time_window
        run_window = {
            "JOURNEY_RUN_WINDOW_START": window.start.date().isoformat(),
            "JOURNEY_RUN_WINDOW_END": window.end.date().isoformat(),
        }
        yield from _dbt_build(
            context, dbt, warehouse, config, run_window, only_buildable_tests=True
        )

    after_python = downstream_of_python_models()

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        exclude=f"{INCREMENTAL_SELECTION} {after_python}",
        name="journey_dbt_models",
        dagster_dbt_translator=JourneyTranslator(),
        pool=WAREHOUSE_POOL,
    )
    def journey_dbt_models(
        context: dg.AssetExecutionContext,
        dbt: DbtCliResource,
        warehouse: Warehouse,
        config: DbtBuildConfig,
    ):
        """`dbt build` of the selected models: seeds, models and their tests, in DAG order."""
        yield from _dbt_build(context, dbt, warehouse, config)

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        select=after_python,
        name="journey_dbt_measurement_marts",
        dagster_dbt_translator=JourneyTranslator(),
        pool=WAREHOUSE_POOL,
    )
    def journey_dbt_measurement_marts(
        context: dg.AssetExecutionContext,
        dbt: DbtCliResource,
        warehouse: Warehouse,
        config: DbtBuildConfig,
    ):
        """The marts built on the Python models' tables (attribution, CLV), and their tests."""
        yield from _dbt_build(context, dbt, warehouse, config)

    return [journey_dbt_incremental, journey_dbt_models, journey_dbt_measurement_marts]


DBT_OPS = ("journey_dbt_incremental", "journey_dbt_models", "journey_dbt_measurement_marts")


def full_refresh_run_config() -> dict:
    """The run config that makes every dbt group rebuild from scratch."""
    return {"ops": {op: {"config": {"full_refresh": True}} for op in DBT_OPS}}
