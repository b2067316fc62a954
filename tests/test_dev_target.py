"""An analytics engineer's loop: `journey dev` copies the warehouse, a plain `dbt build`
writes that copy (target dev) and never journey.duckdb, and `journey publish` ships the
production marts as they are now, without a run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import replace

import duckdb

from orchestration.project import REPO_ROOT, dbt_executable
from tests.support import run_journey


def _dbt(warehouse_dir, target_path, *args: str) -> str:
    """A plain dbt command in the project, as an analytics engineer types it."""
    result = subprocess.run(
        [dbt_executable(), *args, "--target-path", str(target_path)],
        cwd=REPO_ROOT,
        env={**os.environ, "JOURNEY_WAREHOUSE_DIR": str(warehouse_dir)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    return result.stdout


def _awareness_rows(path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "select count(*) from marts.kpi_funnel where stage = 'awareness'"
        ).fetchone()[0]


def test_a_mart_rebuilt_by_hand_on_the_dev_copy_then_published_without_a_run(pipeline, tmp_path):
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    shutil.copyfile(pipeline.settings.warehouse_path, warehouse / "journey.duckdb")
    settings = replace(pipeline.settings, warehouse_dir=warehouse)
    production = warehouse / "journey.duckdb"
    awareness = _awareness_rows(production)
    assert awareness > 0

    created = run_journey(settings, "dev")
    assert created.returncode == 0, created.stderr
    dev = warehouse / "dev.duckdb"
    with duckdb.connect(str(dev)) as con:
        con.execute("drop table marts.kpi_funnel")
    untouched = production.stat().st_mtime_ns

    # Plain `dbt build`: the dev target, so the dev copy gets the model back and the
    # production file is not even opened.
    _dbt(warehouse, tmp_path / "dbt_dev", "build", "--select", "kpi_funnel")
    assert _awareness_rows(dev) == awareness
    assert production.stat().st_mtime_ns == untouched

    # A model's not-null columns are one data test (macros/generic_tests/not_null_columns.sql):
    # `dbt show` on it names each column that holds nulls, with how many rows.
    with duckdb.connect(str(dev)) as con:
        con.execute(
            "update marts.dim_customers set orders_count = null where customer_id in "
            "(select customer_id from marts.dim_customers order by customer_id limit 2)"
        )
        con.execute(
            "update marts.dim_customers set lifetime_revenue = null where customer_id = "
            "(select max(customer_id) from marts.dim_customers)"
        )
    shown = _dbt(
        warehouse, tmp_path / "dbt_dev", "show", "--select", "not_null_dim_customers",
        "--output", "json", "--quiet",
    )  # fmt: skip
    rows = sorted((row["column_name"], row["null_rows"]) for row in json.loads(shown)["show"])
    assert rows == [("lifetime_revenue", 1), ("orders_count", 2)]

    # A change in production (here: rows gone) reaches BI with `journey publish` alone ...
    with duckdb.connect(str(production)) as con:
        con.execute("delete from marts.kpi_funnel where stage = 'awareness'")
    published = run_journey(settings, "publish")
    assert published.returncode == 0, published.stderr
    assert _awareness_rows(warehouse / "published" / "bi.duckdb") == 0

    # ... and so does the model rebuilt in production by hand.
    _dbt(warehouse, tmp_path / "dbt_prod", "build", "--select", "kpi_funnel", "--target", "prod")
    assert run_journey(settings, "publish").returncode == 0
    assert _awareness_rows(warehouse / "published" / "bi.duckdb") == awareness
