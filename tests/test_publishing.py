"""The published copy: atomic swaps, readers that keep working, DuckDB 1.x storage."""

from __future__ import annotations

import duckdb
import pytest

from orchestration.publishing import publish_marts

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
