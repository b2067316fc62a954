"""The Dagster code location: what loads, what is scheduled, what is checked."""

from __future__ import annotations

import dataclasses

import dagster as dg
import pytest

from orchestration.definitions import build_definitions
from orchestration.defs.schedules import DAILY_JOB_NAME
from orchestration.ingestion.specs import ENTITY_SPECS
from orchestration.settings import Settings


@pytest.fixture
def defs(tmp_path, landing) -> dg.Definitions:
    landing.write_jsonl("web", "events", "part-0.jsonl", ["{}"])
    settings = Settings(
        landing_dir=landing.root, warehouse_dir=tmp_path / "wh", reporting_tz="Europe/Berlin"
    )
    return build_definitions(settings)


def test_the_definitions_load_with_one_daily_job(defs):
    job = defs.resolve_job_def(DAILY_JOB_NAME)

    assert isinstance(job.partitions_def, dg.DailyPartitionsDefinition)
    assert job.partitions_def.get_first_partition_key() == "2026-03-10"
    assert job.partitions_def.timezone == "Europe/Berlin"


def test_the_daily_schedule_runs_yesterdays_partition_at_three_in_the_reporting_zone(defs):
    [unresolved] = defs.schedules
    schedule = defs.resolve_schedule_def(unresolved.name)

    assert schedule.cron_schedule == "0 3 * * *"
    assert schedule.execution_timezone == "Europe/Berlin"
    assert schedule.job_name == DAILY_JOB_NAME


def test_every_landing_entity_has_a_daily_partitioned_raw_asset_with_a_reconciliation_check(
    defs,
):
    graph = defs.resolve_asset_graph()
    for spec in ENTITY_SPECS:
        key = dg.AssetKey(["raw", spec.table])
        node = graph.get(key)
        assert isinstance(node.partitions_def, dg.DailyPartitionsDefinition)
        assert dg.AssetCheckKey(key, "counts_reconcile") in graph.asset_check_keys


def test_dbt_tests_appear_as_asset_checks_on_the_staging_models(defs):
    graph = defs.resolve_asset_graph()
    checked_models = {key.asset_key.path[-1] for key in graph.asset_check_keys}

    staging = [key for key in graph.get_all_asset_keys() if key.path[-1].startswith("stg_")]

    assert len(staging) >= len(ENTITY_SPECS)
    assert {key.path[-1] for key in staging} <= checked_models


def test_dbt_sources_are_the_ingestion_assets_so_the_graph_is_connected(defs):
    graph = defs.resolve_asset_graph()

    for spec in ENTITY_SPECS:
        downstream = graph.get(dg.AssetKey(["raw", spec.table])).child_keys
        models = {key.path[-1] for key in downstream}
        assert any(
            model.startswith((f"stg_{spec.source}__", f"base_{spec.source}__")) for model in models
        ), spec


def test_the_publish_step_runs_after_every_dbt_model(defs):
    graph = defs.resolve_asset_graph()
    publish = graph.get(dg.AssetKey(["published", "bi_duckdb"]))
    dbt_models = {
        key for key in graph.get_all_asset_keys() if graph.get(key).group_name == "staging"
    }

    assert dbt_models <= set(publish.parent_keys)


def test_run_health_gates_publishing_and_every_raw_asset_has_a_freshness_check(defs):
    graph = defs.resolve_asset_graph()
    publish = graph.get(dg.AssetKey(["published", "bi_duckdb"]))
    assert dg.AssetKey(["marts", "fct_run_health"]) in publish.parent_keys
    check_keys = set(graph.asset_check_keys)
    for spec in ENTITY_SPECS:
        assert dg.AssetCheckKey(dg.AssetKey(["raw", spec.table]), "landing_fresh") in check_keys


def test_every_dbt_data_test_is_an_asset_check_of_the_model_it_guards(defs):
    """A singular test that reads several models names the one it guards
    (`meta: {dagster: {ref: ...}}`), so the UI shows it as a check of that model rather than
    as a loose observation."""
    import json

    from orchestration.project import dbt_project

    manifest = json.loads(dbt_project.manifest_path.read_text())
    tests = {node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "test"}
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert tests - checks == set()


def test_importing_the_code_location_reads_no_landing_folder(monkeypatch, landing):
    import importlib

    import orchestration.definitions as definitions
    import orchestration.defs.partitions as partitions

    # A landing folder that exists, whatever else ran before (building reads only one).
    landing.write_jsonl("web", "events", "part-0.jsonl", ["{}"])
    monkeypatch.setenv("JOURNEY_LANDING_DIR", str(landing.root))

    def refuse(*_args):
        raise AssertionError("the landing folder was read at import")

    monkeypatch.setattr(partitions, "landing_days", refuse)
    reloaded = importlib.reload(definitions)

    with pytest.raises(AssertionError, match="read at import"):
        reloaded.defs()  # building them (Dagster loading the location) is what reads it


def test_the_warehouse_resource_carries_the_settings_and_ignores_the_environment(
    tmp_path, landing, monkeypatch
):
    landing.write_jsonl("web", "events", "part-0.jsonl", ["{}"])
    settings = Settings(
        landing_dir=landing.root,
        warehouse_dir=tmp_path / "wh",
        reporting_tz="Europe/Berlin",
        duckdb_memory_limit="1GB",
        duckdb_threads="1",
    )
    resource = build_definitions(settings).resources["warehouse"]
    # What a run would find in the environment does not reach the steps: the resource's
    # configuration (shown in the Dagster UI) is the one way in.
    monkeypatch.setenv("JOURNEY_WAREHOUSE_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("JOURNEY_DUCKDB_MEMORY_LIMIT", "9GB")

    assert resource.settings() == settings
    assert resource.settings().duckdb_settings() == {
        "TimeZone": "UTC",
        "memory_limit": "1GB",
        "threads": "1",
    }
    with resource.connect() as con:
        limit = con.execute("select current_setting('memory_limit')").fetchone()[0]
    assert limit.replace(" ", "") in {"1GB", "953.6MiB"}


def test_the_spark_engine_reaches_the_dbt_target_and_the_warehouse(tmp_path, landing):
    """JOURNEY_ENGINE=spark builds the same assets, with dbt on the target `spark` and the
    warehouse resource (which starts the run's Spark server) told the engine and endpoint."""
    landing.write_jsonl("web", "events", "part-0.jsonl", ["{}"])
    base = Settings(landing_dir=landing.root, warehouse_dir=tmp_path / "wh")
    spark = dataclasses.replace(base, engine="spark", spark_remote="sc://spark:15002")
    on_duckdb, on_spark = build_definitions(base), build_definitions(spark)
    assert on_duckdb.resources["dbt"].target == "prod"
    assert on_spark.resources["dbt"].target == "spark"
    assert on_spark.resources["warehouse"].settings() == spark
    assert {key for a in on_spark.assets for key in a.keys} == {
        key for a in on_duckdb.assets for key in a.keys
    }


def test_each_dbt_group_sends_spark_every_asset_written_table_its_models_and_tests_read(defs):
    """On Spark, a dbt group finds there only the raw and measurement tables sent before it
    (`asset_owned_inputs`): every such source that one of its models or tests reads is
    among them, and no group is sent a table it does not read."""
    import json

    from dagster_dbt.asset_utils import DAGSTER_DBT_UNIQUE_ID_METADATA_KEY

    from orchestration.defs.dbt import ASSET_OWNED_SCHEMAS, DBT_OPS, asset_owned_inputs
    from orchestration.project import dbt_project

    manifest = json.loads(dbt_project.manifest_path.read_text())
    nodes = {**manifest["nodes"], **manifest["sources"]}
    groups = {a.op.name: a for a in defs.assets if getattr(a, "op", None) and a.op.name in DBT_OPS}
    assert set(groups) == set(DBT_OPS)
    read_by_group = {}
    for name, assets_def in groups.items():
        specs = [*assets_def.specs, *assets_def.check_specs]
        read = set()
        for spec in specs:
            unique_id = spec.metadata.get(DAGSTER_DBT_UNIQUE_ID_METADATA_KEY)
            if unique_id is None:  # a check of a source, named by its asset
                continue
            for parent in nodes[unique_id].get("depends_on", {}).get("nodes", []):
                source = manifest["sources"].get(parent)
                if source and source["schema"] in ASSET_OWNED_SCHEMAS:
                    read.add(f"{source['schema']}.{source['identifier']}")
        read_by_group[name] = read
        assert read <= set(asset_owned_inputs(assets_def)), name
    assert "raw.web_events" in read_by_group["journey_dbt_incremental"]
    assert "raw.crm_contacts" in read_by_group["journey_dbt_models"]
    assert "measurement.clv_parameters" in read_by_group["journey_dbt_measurement_marts"]
    models_group = read_by_group["journey_dbt_models"]
    assert not any(table.startswith("measurement.") for table in models_group)
