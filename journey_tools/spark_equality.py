"""The dbt project built on Apache Spark from a DuckDB warehouse's inputs, every model
compared with DuckDB's (issue #21: the same models on both engines).

    uv run --frozen python -m journey_tools.spark_equality --warehouse DIR [--out DIR]

It takes the tables that the pipeline writes outside dbt (the schemas `raw`, loaded from
the landing files, and `measurement`, the Python models' output) from `DIR/journey.duckdb`,
copies them to a local Spark Connect server started as `journey run` starts one
(orchestration/spark.py; its Parquet tables in `OUT/spark/`, its log in `OUT/logs/`), builds
every seed and model with `dbt build --target spark` (profiles.yml: dbt-spark's `session`
method as a client of that server, dbt in this process) and compares each model's rows with
the same model in `journey.duckdb`: equal as multisets, doubles to 9 decimal places, values
cast to DuckDB's column types. It writes `OUT/spark_equality.json` (per model: built,
error, equal, rows on each side) and prints a summary. OUT defaults to a folder beside the
warehouse; it is emptied first.

It compares the dbt layer only: loading the landing files and the Python models stay on
DuckDB's side (the next steps of #21: docs/portability.md).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from orchestration.project import REPO_ROOT, SPARK_DBT_TARGET
from orchestration.spark import connect, push_tables, spark_server

# The schemas the pipeline writes outside dbt (dbt declares them as sources).
INPUT_SCHEMAS = ("raw", "measurement")
FLOAT_DECIMALS = 9


@dataclass
class ModelResult:
    model: str
    relation: str
    status: str  # "equal", "different", "error", "skipped"
    message: str = ""
    duckdb_rows: int | None = None
    spark_rows: int | None = None
    only_in_duckdb: int | None = None
    only_in_spark: int | None = None


def run(
    warehouse: Path,
    out: Path,
    select: str | None = None,
    isolated: bool = False,
    threads: int = 4,
) -> list[ModelResult]:
    """Builds the models (`select`: a dbt selection; all by default) on Spark and compares
    them, `threads` models at a time (dbt's threads: Spark runs their jobs side by side).
    `isolated`: every model of journey.duckdb that is not selected is registered in
    Spark too, so that each selected model is built from DuckDB's rows of its parents, and
    compared on its own SQL alone."""
    from dbt.cli.main import dbtRunner

    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)  # pyspark's echo

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    common = ["--project-dir", str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT)]
    common += ["--target", SPARK_DBT_TARGET, "--target-path", str(out / "dbt_target")]
    common += ["--log-path", str(out / "logs"), "--no-use-colors"]
    runner = dbtRunner()
    duckdb_path = warehouse / "journey.duckdb"
    # A local Spark Connect server as `journey run` starts one (its tables in out/spark/, its
    # log in out/logs/), which dbt in this process reaches through SPARK_REMOTE.
    with spark_server(out) as address, duckdb.connect(str(duckdb_path), read_only=True) as con:
        os.environ["SPARK_REMOTE"] = address
        spark = connect(address)
        schemas = INPUT_SCHEMAS
        if isolated:
            schemas += tuple(_dbt_schemas(con))
        push_tables(spark, con, _relations(con, schemas))
        runner.invoke(["seed", *common])
        args = ["run", *common, "--threads", str(threads)]
        if select:
            args += ["--select", select]
        if isolated:
            results = _build_each(runner, common, select, spark, con)
        else:
            results = runner.invoke(args).result or []
        compared = []
        for node_result in results:
            node = node_result.node
            relation = f"{node.schema}.{node.alias}"
            result = ModelResult(node.name, relation, "error")
            if str(node_result.status) != "success":
                result.status = "skipped" if str(node_result.status) == "skipped" else "error"
                result.message = _first_line(node_result.message)
            else:
                _compare(con, spark, result)
            compared.append(result)
    (out / "spark_equality.json").write_text(
        json.dumps([asdict(r) for r in compared], indent=2) + "\n"
    )
    return compared


def _build_each(runner, common: list[str], select: str | None, spark, con) -> list:
    """One dbt command per model: dbt skips the children of a model that fails."""
    listed = runner.invoke(
        [
            *("ls", *common, "--resource-type", "model", "--output", "name", "--quiet"),
            *(["--select", select] if select else []),
        ]
    )
    results = []
    for name in listed.result or []:
        # From scratch (an incremental model too), and on failure DuckDB's table back in its
        # place for the models after it (dbt dropped it before building).
        built = runner.invoke(["run", *common, "--full-refresh", "--select", name]).result
        results += built or []
        for node_result in built or []:
            if str(node_result.status) != "success":
                relation = f"{node_result.node.schema}.{node_result.node.alias}"
                if spark.catalog.tableExists(relation):
                    kind = spark.catalog.getTable(relation).tableType
                    spark.sql(f"drop {'view' if kind == 'VIEW' else 'table'} {relation}")
                push_tables(spark, con, [relation])
    return results


def _dbt_schemas(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        schema
        for (schema,) in con.execute(
            "select distinct table_schema from information_schema.tables "
            "where table_catalog = current_database() order by all"
        ).fetchall()
        if schema not in INPUT_SCHEMAS and schema != "main"
    ]


def _relations(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> list[str]:
    """Each table and view of `schemas`, as schema.name."""
    return [
        relation
        for (relation,) in con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ? and table_catalog = current_database() order by all",
            [list(schemas)],
        ).fetchall()
    ]


def _compare(con: duckdb.DuckDBPyConnection, spark, result: ModelResult) -> None:
    schema, name = result.relation.split(".")
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name],
    ).fetchall()
    if not columns:
        result.status, result.message = "error", "not in journey.duckdb"
        return
    try:
        spark_table = spark.table(result.relation).toArrow()
    except Exception as error:  # the model built but cannot be read back
        result.status, result.message = "error", _first_line(str(error))
        return
    missing = {c for c, _ in columns} - set(spark_table.column_names)
    if missing:
        result.status = "different"
        result.message = f"columns missing on Spark: {sorted(missing)}"
        return
    con.register("spark_side", spark_table)
    try:
        left = _normalised(columns, f'"{schema}"."{name}"')
        right = _normalised(columns, "spark_side")
        count = f'select count(*) from "{schema}"."{name}"'
        result.duckdb_rows = con.execute(count).fetchall()[0][0]
        result.spark_rows = spark_table.num_rows
        result.only_in_duckdb = con.execute(
            f"select count(*) from ({left} except all {right})"
        ).fetchall()[0][0]
        result.only_in_spark = con.execute(
            f"select count(*) from ({right} except all {left})"
        ).fetchall()[0][0]
    except duckdb.Error as error:
        result.status, result.message = "different", _first_line(str(error))
        return
    finally:
        con.unregister("spark_side")
    equal = result.only_in_duckdb == 0 and result.only_in_spark == 0
    result.status = "equal" if equal else "different"


def _normalised(columns: list[tuple[str, str]], relation: str) -> str:
    """Every column cast to DuckDB's type of it (doubles rounded), in DuckDB's order."""
    expressions = []
    for column, data_type in columns:
        value = f'cast("{column}" as {data_type})'
        if data_type in ("DOUBLE", "FLOAT", "REAL"):
            value = f"round({value}, {FLOAT_DECIMALS})"
        expressions.append(f'{value} as "{column}"')
    return f"select {', '.join(expressions)} from {relation}"


def _first_line(message: str | None) -> str:
    """The line of a dbt or Spark error that says what is wrong (Spark's error class)."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    mismatches = [line for line in lines if line.endswith("mismatch |")]
    if mismatches:  # a failed contract: its table's rows
        return "contract: " + "; ".join(" ".join(m.strip("| ").split()) for m in mismatches)
    for line in lines:
        if line.startswith("[") or "Exception" in line:
            return line[:300]
    return (lines or [""])[-1][:300]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--select")
    parser.add_argument(
        "--isolated", action="store_true", help="build each model from DuckDB's parents"
    )
    options = parser.parse_args(argv)
    warehouse = options.warehouse.resolve()
    out = (options.out or warehouse.parent / "spark-equality").resolve()
    started = time.monotonic()
    results = run(warehouse, out, options.select, options.isolated)
    by_status: dict[str, list[str]] = {}
    for result in results:
        by_status.setdefault(result.status, []).append(result.model)
    for result in results:
        if result.status != "equal":
            counts = ""
            if result.only_in_duckdb is not None:
                counts = (
                    f" (only in DuckDB {result.only_in_duckdb}, only on Spark "
                    f"{result.only_in_spark})"
                )
            print(f"{result.status:9} {result.model}: {result.message}{counts}")
    summary = ", ".join(f"{len(models)} {status}" for status, models in sorted(by_status.items()))
    print(
        f"{len(results)} models on Spark: {summary} ({time.monotonic() - started:.0f} s); "
        f"{out / 'spark_equality.json'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
