"""The published copy: atomic swaps, readers that keep working, DuckDB 1.x storage, and a
description of every table and column (DuckDB comments, Parquet metadata)."""

from __future__ import annotations

import json

import duckdb
import pytest

from orchestration.health.metrics import COLUMN_TYPES
from orchestration.project import dbt_project
from orchestration.publishing import (
    PARQUET_COLUMN_DESCRIPTIONS_KEY,
    PARQUET_DESCRIPTION_KEY,
    TableDocs,
    manifest_docs,
    publish_marts,
    published_docs,
    undocumented,
)

DUCKDB_1X_STORAGE_NUMBER = 64  # the header version every DuckDB 1.x release reads


@pytest.fixture
def warehouse(tmp_path):
    con = duckdb.connect(str(tmp_path / "journey.duckdb"))
    con.execute("create schema marts")
    con.execute("create table marts.kpi_daily as select date '2026-01-01' as date, 3 as orders")
    con.execute("create view marts.fct_view as select 1 as one")
    yield con
    con.close()


def test_the_published_copy_holds_every_mart_and_parquet_files(warehouse, tmp_path):
    published = tmp_path / "published"

    tables = publish_marts(warehouse, published)

    assert tables == ["fct_view", "kpi_daily"]
    reader = duckdb.connect(str(published / "bi.duckdb"), read_only=True)
    assert reader.execute("select orders from marts.kpi_daily").fetchall() == [(3,)]
    assert reader.execute("select * from marts.fct_view").fetchall() == [(1,)]
    reader.close()
    assert sorted(p.name for p in (published / "parquet").iterdir()) == [
        "fct_view.parquet",
        "kpi_daily.parquet",
    ]
    assert duckdb.sql(
        f"select orders from '{published / 'parquet' / 'kpi_daily.parquet'}'"
    ).fetchall() == [(3,)]
    assert not [p for p in published.rglob(".*") if p.is_file()], "no staging files left"


def test_a_reader_holding_the_copy_open_keeps_working_while_a_new_one_is_published(
    warehouse, tmp_path
):
    published = tmp_path / "published"
    publish_marts(warehouse, published)
    reader = duckdb.connect(str(published / "bi.duckdb"), read_only=True)
    assert reader.execute("select orders from marts.kpi_daily").fetchone() == (3,)

    warehouse.execute("update marts.kpi_daily set orders = 4")
    publish_marts(warehouse, published)

    assert reader.execute("select orders from marts.kpi_daily").fetchone() == (3,)
    reader.close()
    fresh = duckdb.connect(str(published / "bi.duckdb"), read_only=True)
    assert fresh.execute("select orders from marts.kpi_daily").fetchone() == (4,)
    fresh.close()


def test_the_published_file_uses_storage_that_duckdb_1x_clients_open(warehouse, tmp_path):
    published = tmp_path / "published"
    publish_marts(warehouse, published)

    header = (published / "bi.duckdb").read_bytes()[:20]

    assert header[8:12] == b"DUCK"
    assert int.from_bytes(header[12:20], "little") == DUCKDB_1X_STORAGE_NUMBER


def test_a_mart_dropped_from_the_warehouse_disappears_from_the_published_parquet(
    warehouse, tmp_path
):
    published = tmp_path / "published"
    publish_marts(warehouse, published)

    warehouse.execute("drop view marts.fct_view")
    publish_marts(warehouse, published)

    assert [p.name for p in (published / "parquet").iterdir()] == ["kpi_daily.parquet"]


# ------------------------------------------------------------------ descriptions
DOCS = {
    "kpi_daily": TableDocs(
        "One row per day. It's the KPI table.",
        {"DATE": "The reporting day.", "orders": 'Orders "completed" that day.'},
    ),
    "fct_view": TableDocs("A view, published as a table.", {"one": "Always 1."}),
}


def _comments(path):
    reader = duckdb.connect(str(path), read_only=True)
    try:
        tables = dict(
            reader.execute(
                "select table_name, comment from duckdb_tables() where schema_name = 'marts'"
            ).fetchall()
        )
        columns = {
            (table, column): comment
            for table, column, comment in reader.execute(
                "select table_name, column_name, comment from duckdb_columns() "
                "where schema_name = 'marts'"
            ).fetchall()
        }
    finally:
        reader.close()
    return tables, columns


def _parquet_docs(path) -> tuple[str | None, dict]:
    metadata = dict(
        duckdb.sql(
            f"select decode(key), decode(value) from parquet_kv_metadata('{path}')"
        ).fetchall()
    )
    return (
        metadata.get(PARQUET_DESCRIPTION_KEY),
        json.loads(metadata[PARQUET_COLUMN_DESCRIPTIONS_KEY]),
    )


def assert_parquet_matches_comments(published) -> None:
    tables, columns = _comments(published / "bi.duckdb")
    for table, comment in tables.items():
        description, column_docs = _parquet_docs(published / "parquet" / f"{table}.parquet")
        assert description == comment, table
        expected = {c: text for (t, c), text in columns.items() if t == table and text}
        assert column_docs == expected, table


def test_every_table_and_column_carries_its_description(warehouse, tmp_path):
    published = tmp_path / "published"

    publish_marts(warehouse, published, DOCS)

    tables, columns = _comments(published / "bi.duckdb")
    assert tables == {
        "kpi_daily": "One row per day. It's the KPI table.",
        "fct_view": "A view, published as a table.",
    }
    assert columns == {
        ("kpi_daily", "date"): "The reporting day.",
        ("kpi_daily", "orders"): 'Orders "completed" that day.',
        ("fct_view", "one"): "Always 1.",
    }
    assert_parquet_matches_comments(published)
    assert undocumented(warehouse, DOCS) == []


def test_what_has_no_description_is_published_without_one_and_named(warehouse, tmp_path):
    published = tmp_path / "published"
    docs = {"kpi_daily": TableDocs("", {"orders": "Orders."})}

    publish_marts(warehouse, published, docs)

    tables, columns = _comments(published / "bi.duckdb")
    assert tables == {"kpi_daily": None, "fct_view": None}
    assert columns[("kpi_daily", "orders")] == "Orders."
    assert columns[("kpi_daily", "date")] is None
    assert _parquet_docs(published / "parquet" / "kpi_daily.parquet") == (
        None,
        {"orders": "Orders."},
    )
    assert undocumented(warehouse, docs) == [
        "marts.fct_view",
        "marts.fct_view.one",
        "marts.kpi_daily",
        "marts.kpi_daily.date",
    ]


def test_comments_are_kept_in_the_duckdb_1x_storage(warehouse, tmp_path):
    published = tmp_path / "published"
    publish_marts(warehouse, published, DOCS)

    header = (published / "bi.duckdb").read_bytes()[:20]

    assert int.from_bytes(header[12:20], "little") == DUCKDB_1X_STORAGE_NUMBER
    assert _comments(published / "bi.duckdb")[0]["kpi_daily"] == DOCS["kpi_daily"].description


def test_the_manifest_describes_every_mart_and_its_columns():
    manifest = json.loads(dbt_project.manifest_path.read_text())

    docs = manifest_docs(manifest)

    marts = {
        node["alias"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == "marts"
    }
    assert marts and marts <= set(docs)
    missing = [
        f"{table}.{column}" if column else table
        for table, table_docs in docs.items()
        for column in ["", *table_docs.columns]
        if not (table_docs.column(column) if column else table_docs.description)
    ]
    assert missing == [], "add a description to the dbt YAML"


def test_the_python_written_run_health_mart_is_described_column_by_column():
    docs = published_docs()["fct_run_health"]

    assert docs.description
    assert [column for column in COLUMN_TYPES if not docs.column(column)] == []


def test_the_published_file_and_parquet_explain_every_table_and_column(pipeline):
    published = pipeline.settings.published_dir

    tables, columns = _comments(published / "bi.duckdb")

    assert tables and not [table for table, comment in tables.items() if not comment]
    assert not [f"{t}.{c}" for (t, c), comment in columns.items() if not comment]
    assert_parquet_matches_comments(published)


def test_each_audience_is_published_as_a_csv_equal_to_the_mart(pipeline):
    """published/audiences/<audience>.csv: the hand-off to marketing automation, one per
    audience (empty ones with their header only), rows equal to fct_audience_members."""
    audiences_dir = pipeline.settings.published_dir / "audiences"
    with duckdb.connect(str(pipeline.settings.published_dir / "bi.duckdb"), read_only=True) as bi:
        audiences = [
            a for (a,) in bi.execute("select audience from marts.dim_audiences").fetchall()
        ]
        expected = {
            audience: sorted(
                bi.execute(
                    "select crm_contact_id, email_sha256, "
                    "strftime(qualified_at, '%Y-%m-%dT%H:%M:%SZ') "
                    "from marts.fct_audience_members where audience = ?",
                    [audience],
                ).fetchall(),
                key=str,
            )
            for audience in audiences
        }
    assert audiences
    assert sorted(path.stem for path in audiences_dir.glob("*.csv")) == sorted(audiences)
    with duckdb.connect() as con:
        for audience, rows in expected.items():
            path = audiences_dir / f"{audience}.csv"
            header = path.read_text().splitlines()[0]
            assert header == "crm_contact_id,email_sha256,qualified_at"
            published = con.execute(
                f"select * from read_csv('{path}', header = true, all_varchar = true)"
            ).fetchall()
            assert sorted(published, key=str) == rows
