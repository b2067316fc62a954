"""Hand BI tools a consistent, read-only copy of the marts.

`published/bi.duckdb` and `published/parquet/<table>.parquet` are each written to a new
file and renamed into place, so a reader never sees a half-written file, and a BI tool
that holds the old copy open keeps reading it while the new one appears.
"""

import os
import uuid
from pathlib import Path

import duckdb

PUBLISHED_SCHEMA = "marts"
# DuckDB 1.x clients (most BI drivers) cannot open storage written by DuckDB 2.x defaults.
BI_STORAGE_VERSION = "v1.0.0"


def _sql_string(value: str | Path) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def mart_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        """
        select table_name from information_schema.tables
        where table_catalog = current_database() and table_schema = ?
        order by table_name
        """,
        [PUBLISHED_SCHEMA],
    ).fetchall()
    return [name for (name,) in rows]


def remove_unfinished_copies(published_dir: Path) -> list[Path]:
    """Delete the staged files of a publish that was killed before its swap."""
    leftovers = [
        *published_dir.glob(".bi-*.duckdb*"),
        *(published_dir / "parquet").glob(".*.parquet"),
    ]
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers


def publish_marts(con: duckdb.DuckDBPyConnection, published_dir: Path) -> list[str]:
    """Copy every table and view of `marts` into the published files; returns the tables."""
    parquet_dir = published_dir / "parquet"
    parquet_dir.mkdir(parents=True, exist_ok=True)
    remove_unfinished_copies(published_dir)
    tables = mart_tables(con)
    token = uuid.uuid4().hex
    staging_db = published_dir / f".bi-{token}.duckdb"
    con.execute(
        f"attach {_sql_string(staging_db)} as publish_target "
        f"(storage_version '{BI_STORAGE_VERSION}')"
    )
    try:
        con.execute(f"create schema publish_target.{PUBLISHED_SCHEMA}")
        for table in tables:
            con.execute(
                f'create table publish_target.{PUBLISHED_SCHEMA}."{table}" as '
                f'select * from {PUBLISHED_SCHEMA}."{table}"'
            )
    finally:
        con.execute("detach publish_target")
    staged_parquet = []
    for table in tables:
        staged = parquet_dir / f".{table}-{token}.parquet"
        con.execute(
            f'copy (select * from {PUBLISHED_SCHEMA}."{table}") to {_sql_string(staged)} '
            "(format parquet)"
        )
        staged_parquet.append((staged, parquet_dir / f"{table}.parquet"))
    os.replace(staging_db, published_dir / "bi.duckdb")
    for staged, final in staged_parquet:
        os.replace(staged, final)
    current = {f"{table}.parquet" for table in tables}
    for stale in parquet_dir.glob("*.parquet"):
        if stale.name not in current:
            stale.unlink()
    return tables
