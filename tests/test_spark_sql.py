"""Every compiled dbt model as Spark SQL: the first check of issue #21 (the same pipeline on
Apache Spark), a ratchet that pins which models are not portable yet.

What it checks, per model, on the SQL the pipeline's dbt compiled for DuckDB
(`<warehouse>/dbt_target/compiled/journey/models/...`; a model without SQL, a Python model,
has none and is left out):
  1. sqlglot translates it from DuckDB to Spark SQL without giving up on any construct
     (`unsupported_level=RAISE`), and parses the result back as Spark SQL;
  2. it holds none of the DuckDB constructs that sqlglot translates without a word but
     wrongly: functions it does not know and copies as they are, and the few rewrites that
     do not run on Spark or mean something else there (`_silent_findings`).
What it does not check: that the models' Spark SQL means what their DuckDB SQL means (NULL
ordering, date_diff, JSON scalars: docs/portability.md), nor the SQL that dbt compiles for
Spark: tests/test_spark_engine.py builds that on Spark in a whole run and compares every model.

Why a ratchet: most models are not portable yet. NOT_YET_PORTABLE names each one that fails
today with the reason, and the test fails in both directions: a model that becomes
non-portable fails it, and so does a listed model that now passes (take it off the list),
so the list only shrinks. It reads the session's `pipeline` fixture, then takes seconds.

How to fix an entry: write the construct portably, with dbt's cross-database macros
(`dbt.hash`, `dbt.listagg`, `dbt.array_construct`, `dbt.datediff`, `dbt.type_string()`
and the other `dbt.type_*`) or SQL that both engines run (`max_by` rather than `arg_max`);
where the engines need different SQL, a macro dispatched with `adapter.dispatch(...,
'journey')` and its `duckdb__` and `spark__` implementations, whose DuckDB side sqlglot
translates faithfully (the macros of macros/url_parts.sql are dispatched already). Then
remove the model from NOT_YET_PORTABLE. A construct that only DuckDB's side of a dispatched
macro can keep (hash as a fingerprint, the one-call JSON extraction) still fails here, as
the check reads DuckDB's SQL: leave the model listed, its reason naming the `spark__`
macro, until the check reads the SQL dbt compiles for Spark. docs/portability.md has the
inventory.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError

from orchestration.project import REPO_ROOT, dbt_project

# The models whose DuckDB SQL fails the check, with what fails (docs/portability.md). Each is
# the DuckDB side of a dispatched macro: its `spark__` side builds equal on Spark
# (tests/test_spark_engine.py), which is what makes the model portable.
NOT_YET_PORTABLE = {
    "base_email__events": "JSON: many paths in one call, json_type, '$[*]' (spark__json_texts ...)",
    "base_web__events": "JSON: many paths, json_type (spark__json_texts); url_decode",
    "int_crm_contacts_merged": "list_slice, cardinality (spark__list_min_from)",
    "int_email_click_sessions": "url_decode (spark__url_query_param)",
    "int_sessions_aggregated": "epoch_us; ordered array_agg (spark__sorted_distinct_list)",
    "int_web_devices_to_reaggregate": "epoch_us (spark__epoch_microseconds)",
    "int_web_devices_to_recompute": "epoch_us (spark__epoch_microseconds)",
}

# Functions sqlglot does not know (parsed as anonymous functions, copied into the Spark SQL
# as they are) that Spark has under the same name but with another meaning. Any other
# unknown function fails as one that Spark may not have at all.
SAME_NAME_OTHER_MEANING = {
    # DuckDB's hash is a 64-bit unsigned integer, Spark's a 32-bit Murmur3: sums of hashes
    # used as fingerprints collide far more often (Spark's 64-bit one is xxhash64).
    "hash": "64-bit in DuckDB, 32-bit in Spark",
    # DuckDB keeps '+' and a malformed %-escape as they are; Spark's url_decode turns '+'
    # into a space and raises on a malformed escape (Spark 4 has try_url_decode).
    "url_decode": "Spark decodes '+' as a space and raises on a malformed escape",
}


def _silent_findings(duckdb_tree: exp.Expression, spark_trees: list[exp.Expression]):
    """The constructs that sqlglot translates without an error but not into working,
    same-meaning Spark SQL, as (construct, what goes wrong, the node). Kept small: each is
    cheap to detect and occurs in the project; the rest of the inventory, and what no
    parser sees, is in docs/portability.md."""
    for tree in spark_trees:
        for function in tree.find_all(exp.Anonymous):
            name = function.name.lower()
            why = SAME_NAME_OTHER_MEANING.get(name, "unknown to sqlglot, copied unchanged")
            yield f"{name}()", why, function
    for node in duckdb_tree.walk():
        if isinstance(node, exp.JSONType):
            # Spark has no json_type; sqlglot copies the name.
            yield "json_type()", "Spark has no json_type", node
        elif isinstance(node, exp.JSONExtract | exp.JSONExtractScalar):
            if isinstance(node.expression, exp.Array):
                # DuckDB extracts many paths in one call; sqlglot writes
                # get_json_object(doc, array(...)), which Spark rejects (one path, a string).
                yield "JSON extraction of a list of paths", "Spark takes one path", node
            elif any(node.expression.find_all(exp.JSONPathWildcard)):
                # DuckDB's '$[*]' gives a list; get_json_object gives JSON text, and one
                # element without its brackets.
                yield "JSON path '$[*]'", "a list in DuckDB, JSON text in Spark", node
        elif isinstance(node, exp.Left | exp.Right) and isinstance(node.expression, exp.Neg):
            # left(s, -2) drops the last two characters in DuckDB; Spark returns ''.
            yield f"{node.key}() with a negative length", "'' in Spark", node
        elif isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
            # sqlglot writes collect_list(...) without the order by: the list's order
            # becomes whatever Spark's shuffle gives.
            yield "array_agg(... order by ...)", "sqlglot drops the order", node


def _shortened(sql: str, width: int = 90) -> str:
    sql = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", sql).split())  # no terminal underlines
    return sql if len(sql) <= width else sql[: width - 3] + "..."


def spark_findings(sql: str) -> list[str]:
    """Why the compiled model is not portable yet, one line a construct ([] when it is)."""
    try:
        spark_sql = sqlglot.transpile(
            sql, read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE
        )
        spark_trees = [
            sqlglot.parse_one(statement, read="spark", error_level=ErrorLevel.RAISE)
            for statement in spark_sql
        ]
    except SqlglotError as error:
        construct = "a construct"
        if isinstance(error, ParseError) and error.errors:
            construct = f"`{error.errors[0].get('highlight')}`"
        return [f"{construct}: sqlglot cannot write it as Spark SQL: {_shortened(str(error), 300)}"]
    duckdb_tree = sqlglot.parse_one(sql, read="duckdb")
    found: dict[tuple[str, str], list[exp.Expression]] = {}
    for construct, why, node in _silent_findings(duckdb_tree, spark_trees):
        found.setdefault((construct, why), []).append(node)
    return [
        f"{construct} ({len(nodes)}x): {why}; sqlglot writes `{_shortened(nodes[0].sql('spark'))}`"
        for (construct, why), nodes in found.items()
    ]


@pytest.fixture(scope="module")
def project_models() -> dict[str, dict]:
    """Every model of the dbt project (target/manifest.json, parsed at session start)."""
    manifest = json.loads(Path(dbt_project.manifest_path).read_text())
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }


@pytest.fixture(scope="module")
def compiled(pipeline, project_models) -> dict[str, str]:
    """The compiled SQL of every SQL model, as the pipeline's dbt wrote it."""
    root = pipeline.settings.warehouse_dir / "dbt_target" / "compiled"
    return {
        name: path.read_text()
        for name, node in project_models.items()
        if node["language"] == "sql"
        and (path := root / node["package_name"] / node["original_file_path"]).is_file()
    }


def test_every_sql_model_of_the_project_has_its_compiled_sql(project_models, compiled):
    model_files = {
        str(path.relative_to(REPO_ROOT)) for path in (REPO_ROOT / "models").rglob("*.sql")
    }
    sql_models = {
        name: node["original_file_path"]
        for name, node in project_models.items()
        if node["language"] == "sql"
    }
    assert set(sql_models.values()) == model_files, "models/ and the manifest disagree"
    missing = sorted(set(sql_models) - set(compiled))
    assert sql_models
    assert not missing, f"no compiled SQL for: {', '.join(missing)}"


def test_every_compiled_model_is_spark_sql_but_the_ones_not_yet_portable(compiled):
    findings = {name: spark_findings(sql) for name, sql in sorted(compiled.items())}
    failing = {name for name, found in findings.items() if found}
    newly_failing = sorted(failing - set(NOT_YET_PORTABLE))
    now_portable = sorted(set(NOT_YET_PORTABLE) - failing)
    messages = [
        f"{name} is not portable to Spark SQL (fix it, or add it to NOT_YET_PORTABLE):\n"
        + "\n".join(f"    {finding}" for finding in findings[name])
        for name in newly_failing
    ] + [
        f"{name} passes now: remove it from NOT_YET_PORTABLE"
        + ("" if name in compiled else " (no such SQL model)")
        for name in now_portable
    ]
    assert failing == set(NOT_YET_PORTABLE), "\n".join(messages)
