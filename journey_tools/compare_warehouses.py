"""Two DuckDB files compared table by table: the same tables, the same columns with the same
types, and the same rows (as multisets; doubles to 9 decimal places). Issue #21 uses it to
hold a JOURNEY_ENGINE=spark run to the DuckDB run of the same landing:

    uv run --frozen python -m journey_tools.compare_warehouses \\
        warehouse/published/bi.duckdb spark-warehouse/published/bi.duckdb [--schemas marts]

It prints one line per table that differs and exits 1 when any does.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

FLOAT_DECIMALS = 9
FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")
# Columns whose values record when a step ran, not a result of the data: everywhere, or in
# the one table named (table.column). A message's fingerprint includes its loaded_at.
RUN_TIME_COLUMNS = (
    "loaded_at",
    "model_fitted_at",
    "run_id",
    "run_started_at",
    "measured_at",
    "fct_run_health.newest_loaded_at",
    "erasure_key_check.created_at",
    "erasure_ledger.recorded_at",
    "erasure_requests_applied.applied_at",
    "int_sessions_aggregated.messages_fingerprint",
)


@dataclass(frozen=True)
class TableDifference:
    table: str
    reason: str


def compare(
    left: Path,
    right: Path,
    schemas: tuple[str, ...] | None = None,
    ignore_tables: tuple[str, ...] = (),
    same_types: bool = True,
) -> list[TableDifference]:
    """Every difference between the tables of `schemas` (all but `main` by default) in
    the two files; `ignore_tables` (schema.table) are left out. `same_types=False` compares
    the values of columns of the same names cast to the left file's types (two engines'
    working tables, where Spark's `int` is DuckDB's `bigint`)."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"attach '{left}' as lhs (read_only)")
    con.execute(f"attach '{right}' as rhs (read_only)")
    left_columns = _columns(con, "lhs", schemas, ignore_tables)
    right_columns = _columns(con, "rhs", schemas, ignore_tables)
    differences = [
        TableDifference(table, f"only in {name}")
        for name, only in (
            (str(left), set(left_columns) - set(right_columns)),
            (str(right), set(right_columns) - set(left_columns)),
        )
        for table in sorted(only)
    ]
    for table in sorted(set(left_columns) & set(right_columns)):
        left_names, right_names = (
            columns[table] if same_types else [name for name, _ in columns[table]]
            for columns in (left_columns, right_columns)
        )
        if left_names != right_names:
            changed = sorted(set(left_names) ^ set(right_names))
            differences.append(TableDifference(table, f"columns differ: {changed}"))
            continue
        selected = _normalised(table, left_columns[table])
        only_left, only_right = (
            con.execute(
                f"select count(*) from (select {selected} from {a}.{table} "
                f"except all select {selected} from {b}.{table})"
            ).fetchone()[0]
            for a, b in (("lhs", "rhs"), ("rhs", "lhs"))
        )
        if only_left or only_right:
            differences.append(
                TableDifference(table, f"rows differ: {only_left} only left, {only_right} right")
            )
    con.close()
    return differences


def _columns(
    con: duckdb.DuckDBPyConnection,
    catalog: str,
    schemas: tuple[str, ...] | None,
    ignore_tables: tuple[str, ...],
) -> dict[str, list[tuple[str, str]]]:
    rows = con.execute(
        "select table_schema, table_name, column_name, data_type from information_schema.columns "
        "where table_catalog = ? and table_schema <> 'main' order by all",
        [catalog],
    ).fetchall()
    columns: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, data_type in rows:
        name = f'"{schema}"."{table}"'
        if (schemas and schema not in schemas) or f"{schema}.{table}" in ignore_tables:
            continue
        columns.setdefault(name, []).append((column, data_type))
    return {table: sorted(cols) for table, cols in columns.items()}


def _normalised(table: str, columns: list[tuple[str, str]]) -> str:
    name = table.split(".")[-1].strip('"')
    expressions = []
    for column, data_type in columns:
        value = f'cast("{column}" as {data_type})'
        if column in RUN_TIME_COLUMNS or f"{name}.{column}" in RUN_TIME_COLUMNS:
            value = "null"
        elif data_type in FLOAT_TYPES:
            value = f"round({value}, {FLOAT_DECIMALS})"
        expressions.append(f'{value} as "{column}"')
    return ", ".join(expressions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("left", type=Path)
    parser.add_argument("right", type=Path)
    parser.add_argument("--schemas", nargs="*")
    options = parser.parse_args(argv)
    differences = compare(
        options.left, options.right, tuple(options.schemas) if options.schemas else None
    )
    for difference in differences:
        print(f"{difference.table}: {difference.reason}")
    print(f"{len(differences)} table(s) differ")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
