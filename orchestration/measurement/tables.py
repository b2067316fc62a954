"""The tables the Python models write to the schema `measurement`, each declared once.

A table's declaration (its name, columns with their DuckDB types, key and not-null
columns) gives the DDL that creates it, the typed insert that fills it, and the column
schema that Dagster shows for its asset. dbt reads the tables as sources (their YAML
documents and tests them; `models/marts/**/_*__sources.yml`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import dagster as dg
import duckdb

MEASUREMENT_SCHEMA = "measurement"


@dataclass(frozen=True)
class OutputTable:
    """One table a Python model writes: `columns` are (name, DuckDB type) pairs."""

    name: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...] = ()
    not_null: tuple[str, ...] = ()

    @property
    def relation(self) -> str:
        return f"{MEASUREMENT_SCHEMA}.{self.name}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def ddl(self) -> str:
        required = {*self.key, *self.not_null}
        columns = [
            f"{name} {data_type}{' not null' if name in required else ''}"
            for name, data_type in self.columns
        ]
        if self.key:
            columns.append(f"primary key ({', '.join(self.key)})")
        return ", ".join(columns)

    def column_schema(self) -> dg.TableSchema:
        """The columns as Dagster's asset metadata shows them (`dagster/column_schema`)."""
        required = {*self.key, *self.not_null}
        return dg.TableSchema(
            columns=[
                dg.TableColumn(
                    name,
                    data_type,
                    constraints=dg.TableColumnConstraints(nullable=name not in required),
                )
                for name, data_type in self.columns
            ]
        )

    def columns_of(self, rows: Sequence[Sequence]) -> dict[str, list]:
        """Rows (tuples in column order) as one list per column."""
        return {name: [row[i] for row in rows] for i, name in enumerate(self.column_names)}


def replace_tables(
    con: duckdb.DuckDBPyConnection, contents: Mapping[OutputTable, Mapping[str, Sequence]]
) -> None:
    """Replace the tables in one transaction, so readers see the old set or the new set,
    never a mix. Each table's values come as one list per column, inserted together as
    typed lists (unnested), which is fast for many rows."""
    con.execute("begin transaction")
    try:
        con.execute(f"create schema if not exists {MEASUREMENT_SCHEMA}")
        for table, values in contents.items():
            con.execute(f"create or replace table {table.relation} ({table.ddl()})")
            unnested = ", ".join(
                f"unnest(cast(? as {data_type}[])) as {name}" for name, data_type in table.columns
            )
            con.execute(
                f"insert into {table.relation} select {unnested}",
                [list(values[name]) for name in table.column_names],
            )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
