"""The dbt project's models compiled for Apache Spark without a Spark (issue #21: the
Spark-SQL check of every model, tests/test_spark_sql.py).

    uv run --frozen python -m journey_tools.spark_compile --out DIR

`dbt compile --target spark` needs a Spark only to answer one question: does a relation
exist already? (`is_incremental()`, and two models that look for their own upstream.) This
tool answers it without asking Spark, in one process with dbt in-process (dbtRunner): it
parses the project once for the `spark` target (profiles.yml) and compiles every model twice,
into two folders of DIR:

  * `DIR/first_build/`: no relation exists, the SQL of a first build (what `journey run`
    builds on Spark today: every Spark run is a full refresh), with every data test;
  * `DIR/incremental/`: every relation exists (as a table), the SQL of an incremental run:
    each incremental model's `is_incremental()` branch (models only).

Each folder holds dbt's `compiled/journey/models/...` tree (a data test's SQL in a folder
named after its YAML file), and `DIR/parse/manifest.json` the parsed project. No connection
is opened: the connection is lazy, nothing else queries, and opening one fails (a model that
queries while compiling cannot compile without a warehouse). So it needs neither Java nor a
Spark server, only the `spark` extra's dbt-spark. DIR is emptied first.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

from orchestration.project import REPO_ROOT, SPARK_DBT_TARGET

MODES = ("first_build", "incremental")


@contextmanager
def _relations_answered(exists: bool):
    """Every relation dbt looks up is answered here: none (a first build) or one table of
    that name (an incremental run). Listing a schema returns nothing either way, so that a
    lookup can only come through `get_relation`."""
    from dbt.adapters.contracts.relation import RelationType
    from dbt.adapters.spark.connections import SparkConnectionManager
    from dbt.adapters.spark.impl import SparkAdapter

    def get_relation(self, database, schema, identifier):
        if not exists:
            return None
        return self.Relation.create(
            database=None, schema=schema, identifier=identifier, type=RelationType.Table
        )

    def list_relations_without_caching(self, schema_relation):
        return []

    def open(cls, connection):
        # A query at compile time (run_query, a statement block, dbt.date_spine) would start
        # a Spark here: the project's models must compile without one.
        raise RuntimeError(
            f"compiling {connection.name} for Spark runs a query; "
            "models must compile without a warehouse"
        )

    saved = (
        SparkAdapter.get_relation,
        SparkAdapter.list_relations_without_caching,
        SparkConnectionManager.__dict__["open"],
    )
    SparkAdapter.get_relation = get_relation
    SparkAdapter.list_relations_without_caching = list_relations_without_caching
    SparkConnectionManager.open = classmethod(open)
    try:
        yield
    finally:
        (
            SparkAdapter.get_relation,
            SparkAdapter.list_relations_without_caching,
            SparkConnectionManager.open,
        ) = saved


def compile_for_spark(out: Path) -> dict[str, Path]:
    """Compile every model for Spark into `out/<mode>/` for each of MODES; returns, per
    mode, the folder of the compiled models (`.../compiled/journey/models`)."""
    from dbt.cli.main import dbtRunner

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    common = [
        *("--project-dir", str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT)),
        *("--target", SPARK_DBT_TARGET, "--log-path", str(out / "logs"), "--quiet"),
    ]
    parsed = dbtRunner().invoke(["parse", *common, "--target-path", str(out / "parse")])
    if not parsed.success:
        raise RuntimeError(f"dbt parse --target spark failed: {parsed.exception}")
    folders = {}
    for mode in MODES:
        with _relations_answered(exists=mode == "incremental"):
            # Every data test too, once: its SQL has no incremental branch.
            select = ["resource_type:model"]
            if mode == "first_build":
                select.append("resource_type:test")
            compiled = dbtRunner(manifest=parsed.result).invoke(
                [
                    *("compile", *common, "--target-path", str(out / mode)),
                    *("--select", *select, "--indirect-selection", "empty"),
                    "--no-populate-cache",
                ]
            )
        if not compiled.success:
            raise RuntimeError(f"dbt compile --target spark ({mode}) failed: {compiled.exception}")
        folders[mode] = out / mode / "compiled" / "journey" / "models"
    return folders


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write (emptied)")
    args = parser.parse_args(argv)
    for mode, folder in compile_for_spark(args.out.resolve()).items():
        print(f"{mode}: {sum(1 for _ in folder.rglob('*.sql'))} files in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
