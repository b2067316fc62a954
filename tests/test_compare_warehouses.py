"""journey_tools.compare_warehouses, which holds a Spark run to the DuckDB run
(tests/test_spark_engine.py): each kind of difference it must report, and what it must
not (run times, doubles beyond 9 decimals, an engine's integer width when asked)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from journey_tools.compare_warehouses import compare, main

TABLES = """
create schema marts;
create table marts.fct_orders (order_id varchar, revenue double, n bigint);
insert into marts.fct_orders values ('a', 1.5, 1), ('b', 2.25, 2), ('b', 2.25, 2);
create table marts.fct_run_health (run_id varchar, measured_at timestamp, files bigint);
insert into marts.fct_run_health values ('run-1', '2026-12-06 10:00:00', 3);
"""


def _warehouse(path: Path, *changes: str) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute(TABLES)
        for change in changes:
            con.execute(change)
    return path


@pytest.fixture
def left(tmp_path: Path) -> Path:
    return _warehouse(tmp_path / "left.duckdb")


def test_the_same_tables_compare_equal_whatever_run_wrote_them(left, tmp_path):
    right = _warehouse(
        tmp_path / "right.duckdb",
        "update marts.fct_run_health set run_id = 'run-2', measured_at = now()::timestamp",
        "update marts.fct_orders set revenue = revenue + 1e-11",  # beyond 9 decimals
    )
    assert compare(left, right) == []


ORDERS, HEALTH = '"marts"."fct_orders"', '"marts"."fct_run_health"'


@pytest.mark.parametrize(
    ("change", "table", "reason"),
    [
        ("update marts.fct_orders set revenue = 9 where order_id = 'a'", ORDERS, "1 only left, 1"),
        ("delete from marts.fct_orders where rowid = 2", ORDERS, "1 only left, 0 right"),
        ("update marts.fct_run_health set files = 4", HEALTH, "1 only left, 1 right"),
        ("alter table marts.fct_orders drop column n", ORDERS, "columns differ: [('n', 'BIGINT')]"),
        ("alter table marts.fct_orders alter n type integer", ORDERS, "columns differ"),
    ],
)
def test_each_difference_is_reported(left, tmp_path, change, table, reason):
    right = _warehouse(tmp_path / "right.duckdb", change)
    differences = compare(left, right)
    assert [d.table for d in differences] == [table]
    assert reason in differences[0].reason


def test_a_table_on_one_side_only_is_reported(left, tmp_path):
    right = _warehouse(tmp_path / "right.duckdb", "create table marts.extra (x int)")
    assert [(d.table, d.reason) for d in compare(left, right)] == [
        ('"marts"."extra"', f"only in {right}")
    ]


def test_other_types_compare_by_value_when_asked(left, tmp_path):
    right = _warehouse(tmp_path / "right.duckdb", "alter table marts.fct_orders alter n type int")
    assert compare(left, right, same_types=False) == []


def test_the_command_exits_1_on_a_difference(left, tmp_path, capsys):
    right = _warehouse(tmp_path / "right.duckdb", "update marts.fct_orders set n = 5")
    assert main([str(left), str(left)]) == 0
    assert main([str(left), str(right)]) == 1
    assert '"marts"."fct_orders": rows differ' in capsys.readouterr().out
