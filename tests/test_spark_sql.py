"""Every model and data test as dbt compiles it for Apache Spark is Spark SQL: the check of
issue #21 that runs in seconds, without Java and without the pipeline.

journey_tools/spark_compile.py compiles the project with `--target spark` without a Spark
(it answers dbt's "does this relation exist?" itself): every model twice, as a first build
(no relation exists: what a Spark run builds today) and as an incremental run (every
relation exists: each `is_incremental()` branch), and every data test once. Here, each
compiled file must
  1. parse as Spark SQL with sqlglot (`error_level=RAISE`: no construct it gives up on);
  2. call only functions that Spark has with the meaning the project wants: a function
     sqlglot does not know is copied as it is, so it must be one of SPARK_ONLY_FUNCTIONS
     (Spark functions the project's `spark__` macros and dbt-spark use on purpose), and not
     one that exists on both engines with another meaning (SAME_NAME_OTHER_MEANING);
  3. hold none of the few DuckDB constructs that sqlglot's Spark parser accepts though Spark
     rejects them or reads them otherwise (`_duckdb_only_constructs`).
A DuckDB-only construct written straight into a model, or a macro called without its
`spark__` side, fails it by name and file. What it cannot see: whether the Spark SQL means
what the DuckDB SQL means (NULL ordering, JSON scalars, date arithmetic): the Spark run of
tests/test_spark_engine.py builds and tests every model on Spark and compares every table.

How to fix a failure: write the construct with dbt's cross-database macros (`dbt.hash`,
`dbt.listagg`, `dbt.datediff`, `dbt.type_string()` and the other `dbt.type_*`) or SQL both
engines run (`max_by` rather than `arg_max`); where the engines need different SQL, a macro
dispatched with `adapter.dispatch(..., 'journey')` and its `duckdb__` and `spark__` sides
(macros/portable/, docs/portability.md). A Spark function sqlglot does not know goes into
SPARK_ONLY_FUNCTIONS with where it comes from.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError
from sqlglot.tokens import TokenType

from orchestration.project import REPO_ROOT

# Spark functions that sqlglot does not know (it copies them as they are), each used on
# purpose, with where it comes from.
SPARK_ONLY_FUNCTIONS = {
    "assert_true": "dbt-spark's assert_not_null, inside dbt.datediff's Spark side",
    "cardinality": "the length of an array, the same on both engines (int_crm_contacts_merged)",
    "conv": "spark__hex_to_bigint (macros/web/web_session_messages.sql)",
    "is_variant_null": "spark__json_texts (macros/portable/json.sql)",
    "schema_of_variant": "spark__json_texts",
    "timestamp_seconds": "spark__epoch_to_utc_timestamp (macros/to_utc_timestamp.sql)",
    "try_parse_json": "spark__json_texts",
    "url_decode": "spark__url_query_param, after escaping '+' and stray '%' (url_parts.sql)",
    "variant_get": "spark__json_texts",
}

# Functions that Spark has under the same name as DuckDB but with another meaning.
SAME_NAME_OTHER_MEANING = {
    # DuckDB's hash is a 64-bit unsigned integer, Spark's a 32-bit Murmur3: fingerprints
    # and keys collide far more often (Spark's 64-bit one is xxhash64; keys: dbt.hash).
    "hash": "64-bit in DuckDB, 32-bit in Spark",
}


# The types of Spark SQL, as sqlglot's Spark parser names them (its `timestamp` is TIMESTAMPTZ:
# Spark's timestamp is a point in time shown in the session's zone).
T = exp.DataType.Type
SPARK_TYPES = {
    T.BOOLEAN, T.TINYINT, T.SMALLINT, T.INT, T.BIGINT, T.FLOAT, T.DOUBLE, T.DECIMAL,
    T.TEXT, T.CHAR, T.VARCHAR, T.BINARY, T.VARBINARY, T.DATE, T.TIMESTAMP, T.TIMESTAMPTZ,
    T.TIMESTAMPLTZ, T.TIMESTAMPNTZ, T.INTERVAL, T.ARRAY, T.MAP, T.STRUCT, T.VARIANT,
}  # fmt: skip


def _duckdb_only_constructs(tree: exp.Expression):
    """DuckDB constructs that sqlglot's Spark parser accepts but Spark does not run as
    DuckDB does, as (construct, why, node)."""
    for node in tree.walk():
        if isinstance(node, exp.JSONType):
            yield "json_type()", "Spark has no json_type", node
        elif isinstance(node, exp.Left | exp.Right) and isinstance(node.expression, exp.Neg):
            # left(s, -2) drops the last two characters in DuckDB; Spark returns ''.
            yield f"{node.key}() with a negative length", "'' in Spark", node
        elif isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
            # Spark's collect_list has no order: the list comes in the shuffle's order.
            yield "array_agg(... order by ...)", "Spark does not order the list", node
        elif isinstance(node, exp.DataType) and node.this not in SPARK_TYPES:
            yield f"type {node.this.name.lower()}", "a type Spark does not have", node


def _types_without_length(sql: str):
    """`varchar` or `char` without a length (DuckDB's text; sqlglot reads it as Spark's
    string, Spark rejects it): in the tokens, as the parsed tree no longer tells."""
    tokens = sqlglot.tokenize(sql, read="spark")
    for token, following in zip(tokens, [*tokens[1:], None], strict=True):
        if token.token_type in (TokenType.VARCHAR, TokenType.CHAR) and (
            following is None or following.token_type != TokenType.L_PAREN
        ):
            yield f"{token.text.lower()} without a length", "Spark needs one (or string)"


def _shortened(sql: str, width: int = 90) -> str:
    sql = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", sql).split())  # no terminal underlines
    return sql if len(sql) <= width else sql[: width - 3] + "..."


def spark_findings(sql: str) -> list[str]:
    """Why the compiled SQL is not Spark SQL, one line a construct ([] when it is)."""
    try:
        trees = sqlglot.parse(sql, read="spark", error_level=ErrorLevel.RAISE)
    except SqlglotError as error:
        construct = "a construct"
        if isinstance(error, ParseError) and error.errors:
            construct = f"`{error.errors[0].get('highlight')}`"
        return [f"{construct}: not Spark SQL: {_shortened(str(error), 300)}"]
    found: dict[tuple[str, str], list[str]] = {}  # construct and why: the SQL of each
    for tree in trees:
        if tree is None:
            continue
        for function in tree.find_all(exp.Anonymous):
            name = function.name.lower()
            if name in SAME_NAME_OTHER_MEANING:
                why = SAME_NAME_OTHER_MEANING[name]
            elif name not in SPARK_ONLY_FUNCTIONS:
                why = "unknown to sqlglot and not one of SPARK_ONLY_FUNCTIONS"
            else:
                continue
            found.setdefault((f"{name}()", why), []).append(function.sql("spark"))
        for construct, why, node in _duckdb_only_constructs(tree):
            found.setdefault((construct, why), []).append(node.sql("spark"))
    for construct, why in _types_without_length(sql):
        found.setdefault((construct, why), []).append(construct)
    return [
        f"{construct} ({len(examples)}x): {why}; `{_shortened(examples[0])}`"
        for (construct, why), examples in found.items()
    ]


@pytest.fixture(scope="module")
def spark_compile(tmp_path_factory) -> Path:
    """The project compiled for Spark (journey_tools/spark_compile.py), in a subprocess so
    that its stand-ins for Spark stay out of this process."""
    out = tmp_path_factory.mktemp("spark_compile")
    result = subprocess.run(
        [sys.executable, "-m", "journey_tools.spark_compile", "--out", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return out


@pytest.fixture(scope="module")
def compiled(spark_compile) -> dict[str, dict[str, str]]:
    """Per mode, the compiled SQL of each file, by its path under compiled/journey/."""
    return {
        mode: {
            str(path.relative_to(root)): path.read_text() for path in sorted(root.rglob("*.sql"))
        }
        for mode in ("first_build", "incremental")
        if (root := spark_compile / mode / "compiled" / "journey").is_dir()
    }


@pytest.fixture(scope="module")
def nodes(spark_compile) -> dict[str, dict]:
    """The parsed project's models and data tests, by unique id."""
    manifest = json.loads((spark_compile / "parse" / "manifest.json").read_text())
    return {
        unique_id: node
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] in ("model", "test")
    }


def _compiled_path(node: dict) -> str:
    """Where dbt writes a node's compiled SQL under compiled/<package>/: a generic data
    test's in a folder named after the YAML file that declares it."""
    if node.get("test_metadata"):
        return f"{node['original_file_path']}/{node['path']}"
    return node["original_file_path"]


def test_every_model_compiles_in_both_modes_and_every_data_test_once(compiled, nodes):
    model_files = {
        str(path.relative_to(REPO_ROOT)) for path in (REPO_ROOT / "models").rglob("*.sql")
    }
    models = {n["original_file_path"] for n in nodes.values() if n["resource_type"] == "model"}
    assert models == model_files, "models/ and the manifest disagree"
    data_tests = {_compiled_path(n) for n in nodes.values() if n["resource_type"] == "test"}
    assert len(data_tests) > 250
    assert set(compiled["first_build"]) == models | data_tests
    assert set(compiled["incremental"]) == models


def test_the_incremental_mode_compiles_each_incremental_branch(compiled, nodes):
    """The two modes differ exactly in the models that ask whether a relation exists: every
    incremental model that Spark builds incrementally (its `is_incremental()` branch) and the
    two models that look for their own upstream; so each branch of the project's SQL that
    Spark runs is checked. The models rebuilt whole on every Spark run
    (`full_refresh=rebuilt_whole_on_every_run()`) never take their incremental branch there."""
    rebuilt_whole = {
        node["original_file_path"]
        for node in nodes.values()
        if node["resource_type"] == "model" and node["config"].get("full_refresh") is True
    }
    asks = {
        node["original_file_path"]
        for node in nodes.values()
        if node["resource_type"] == "model"
        and ("is_incremental()" in node["raw_code"] or "adapter.get_relation(" in node["raw_code"])
    } - rebuilt_whole
    incremental = {
        node["original_file_path"]
        for node in nodes.values()
        if node["resource_type"] == "model" and node["config"]["materialized"] == "incremental"
    }
    assert {path.rsplit("/", 1)[-1] for path in incremental - rebuilt_whole} == {
        "base_web__events.sql",
        "base_email__events.sql",
    }
    assert len(rebuilt_whole) == 4 and rebuilt_whole <= incremental
    assert incremental - rebuilt_whole <= asks
    differ = {
        path
        for path, sql in compiled["incremental"].items()
        if sql != compiled["first_build"][path]
    }
    assert differ == asks


def test_every_compiled_model_and_data_test_is_spark_sql(compiled):
    failures = {
        f"{mode}/{path}": found
        for mode, files in compiled.items()
        for path, sql in files.items()
        if (found := spark_findings(sql))
    }
    assert sum(len(files) for files in compiled.values()) > 400
    assert not failures, "\n".join(
        f"{path} is not Spark SQL:\n" + "\n".join(f"    {finding}" for finding in found)
        for path, found in sorted(failures.items())
    )


@pytest.mark.parametrize(
    ("sql", "construct"),
    [
        ("select hash(email) as key from t", "hash()"),  # 32-bit on Spark
        ("select list_slice(xs, 1, 2) from t", "list_slice()"),  # DuckDB's list functions
        ("select epoch_us(ts) from t", "epoch_us()"),
        ("select json_type(doc) from t", "json_type()"),
        ("select left(s, -2) from t", "left() with a negative length"),
        ("select array_agg(x order by y) from t group by z", "array_agg(... order by ...)"),
        ("select cast(x as hugeint) from t", "type int128"),
        ("select cast(x as varchar) from t", "varchar without a length"),
        ("select cast(x as json) from t", "type json"),
        ("select x from t where", "not Spark SQL"),  # cut short
        ("select {'a': 1} as s", "not Spark SQL"),  # DuckDB's struct literal
    ],
)
def test_the_check_names_a_duckdb_construct(sql, construct):
    findings = spark_findings(sql)
    assert len(findings) == 1 and construct in findings[0], findings


@pytest.mark.parametrize(
    "sql",
    [
        "select variant_get(try_parse_json(doc), '$.a', 'string') from t",
        "select md5(email), sha2(email, 256), collect_list(x) from t group by y",
        "select cast(a as varchar(20)), cast(b as string), cast(c as decimal(18, 2)) from t",
        "select explode(sequence(date'2020-01-01', date'2020-02-01', interval 1 day))",
        "select cast(conv(h, 16, 10) as bigint), timestamp_seconds(s) from t",
        "select a from t qualify row_number() over (partition by b order by c nulls last) = 1",
    ],
)
def test_the_check_passes_spark_sql_the_project_writes(sql):
    assert spark_findings(sql) == []
