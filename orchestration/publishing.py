"""Hand BI tools a consistent, read-only copy of the marts.

`published/bi.duckdb` and `published/parquet/<table>.parquet` are each written to a new
file and renamed into place, so a reader never sees a half-written file, and a BI tool
that holds the old copy open keeps reading it while the new one appears.

The copy explains itself: every table and column of `bi.duckdb` carries its description
from the dbt YAML as a DuckDB comment (`COMMENT ON`, shown by `duckdb_tables()`,
`duckdb_columns()` and BI tools), and every Parquet file carries the same descriptions
as key-value metadata: `description` (the table's) and `column_descriptions` (a JSON
object from column name to description).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

PUBLISHED_SCHEMA = "marts"
# DuckDB 1.x clients (most BI drivers) cannot open storage written by DuckDB 2.x defaults.
BI_STORAGE_VERSION = "v1.0.0"
# Parquet key-value metadata keys of the descriptions.
PARQUET_DESCRIPTION_KEY = "description"
PARQUET_COLUMN_DESCRIPTIONS_KEY = "column_descriptions"


@dataclass(frozen=True)
class TableDocs:
    """What a published table and its columns mean (column names as DuckDB reports them
    are matched case-insensitively, as DuckDB resolves them)."""

    description: str = ""
    columns: Mapping[str, str] = field(default_factory=dict)

    def column(self, name: str) -> str:
        lowered = {key.lower(): value for key, value in self.columns.items()}
        return lowered.get(name.lower(), "")


# Marts written by Python rather than dbt, which the dbt manifest does not describe unless
# a dbt source declares them: their descriptions, in the words of docs/operations.md.
# A description in the dbt manifest takes precedence over these.
PYTHON_MART_DOCS: dict[str, TableDocs] = {
    "fct_run_health": TableDocs(
        description=(
            "Run health: one row per pipeline run and landing entity (`source`, `entity`); "
            "every entity has a row, even one that loaded nothing. A rerun of the same "
            "Dagster run replaces that run's rows; a new run adds rows. The run-level "
            "columns (sessions, web events, dbt tests) repeat on every row of a run: when "
            "grouping by run, take `any_value()` of them and `sum()` only the per-entity "
            "counts. Written by the pipeline's health step (docs/operations.md)."
        ),
        columns={
            "run_id": "The Dagster run id.",
            "run_started_at": "When the Dagster run started (UTC).",
            "measured_at": "When the health step measured the run (UTC).",
            "partition_start": (
                "First reporting day of the run's window (included): the partition range "
                "of `journey run` or a backfill, or the one partition of the daily "
                "schedule; for a run without partitions, the first landing day loaded."
            ),
            "partition_end": (
                "Last reporting day of the run's window (included); for a run without "
                "partitions, the last landing day loaded."
            ),
            "source": "The landing source: web, email, crm, ads or privacy.",
            "entity": "The landing entity of the source (events, orders, spend, ...).",
            "files": "Landing files of the entity in the window's days (raw.loaded_files).",
            "files_rejected": (
                "Of those files, the ones rejected whole (not valid gzip, not UTF-8, a CSV "
                "without the expected header, ...)."
            ),
            "files_duplicate": "Of those files, the ones skipped as a re-delivery of another.",
            "records_read": "Records read from the entity's files in the window.",
            "records_loaded": "Records loaded into the raw table: records_read - records_rejected.",
            "records_rejected": (
                "Records rejected into quarantine (raw.rejected_records), each with its "
                "file, line and reason."
            ),
            "rejected_share": (
                "records_rejected / records_read; null when nothing was read. Re-aggregate "
                "as sum(records_rejected) / sum(records_read)."
            ),
            "freshness_status": (
                "Landing freshness of the entity: fresh, missing (a day of the window has "
                "no dt= folder), late (its newest dt= folder trails the newest of any "
                "required source by more than max_lag_days), missing_and_late, "
                "not_required (a source that does not deliver daily) or absent (never "
                "delivered anything)."
            ),
            "newest_landing_day": "The entity's newest dt= folder in the landing folder.",
            "reference_landing_day": "The newest dt= folder of any required source.",
            "landing_days_behind": (
                "reference_landing_day - newest_landing_day, in days (0 when up to date)."
            ),
            "max_lag_days": (
                "The gap in days the source is allowed before it is late; null when the "
                "source is never required."
            ),
            "landing_days_expected": "Days in the run's window.",
            "landing_days_missing": "Days of the window without a dt= folder for the entity.",
            "missing_landing_days": "Those days, comma-separated (YYYY-MM-DD); null when none.",
            "newest_loaded_day": "The newest landing day of the entity in raw.loaded_files.",
            "newest_loaded_at": "The newest loaded_at in the entity's raw table (UTC).",
            "dbt_source_freshness": (
                "dbt's source-freshness verdict for the raw table: pass, warn or error; "
                "null when the source declares no freshness."
            ),
            "sessions_count": (
                "Run level: sessions of fct_sessions that started on the window's reporting days."
            ),
            "identified_sessions_count": (
                "Run level: of those sessions, the ones whose person is identified "
                "(dim_customers.is_identified)."
            ),
            "stitch_rate": (
                "Run level: identified_sessions_count / sessions_count; null without "
                "sessions. Stitching is retroactive, so a day's rate can rise in later runs."
            ),
            "unassigned_sessions_count": (
                "Run level: of those sessions, the ones in the channel Unassigned."
            ),
            "unassigned_session_share": (
                "Run level: unassigned_sessions_count / sessions_count; null without sessions."
            ),
            "web_events_count": (
                "Run level: deduplicated web events (stg_web__events) whose landing day is "
                "in the window."
            ),
            "late_web_events_count": (
                "Run level: of those events, the late ones: landed after the reporting day "
                "of their event_at, so the daily run of that day did not have them."
            ),
            "late_event_share": (
                "Run level: late_web_events_count / web_events_count; null without events."
            ),
            "dbt_tests_passed": "Run level: dbt tests of this run that passed.",
            "dbt_tests_warned": "Run level: dbt tests of this run that warned.",
            "dbt_tests_failed": (
                "Run level: dbt tests of this run that failed (an ERROR-severity failure "
                "stops the run before the health step, so 0 in practice)."
            ),
            "web_identify_events_count": (
                "Run level: deduplicated web events of every landing day loaded that "
                "identify a visitor (an identify call, a userId or traits.email); 0 means "
                "the site never identifies visitors, so the stitch rate is not judged."
            ),
        },
    ),
}


def _sql_string(value: str | Path) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def manifest_docs(manifest: Mapping[str, Any]) -> dict[str, TableDocs]:
    """The descriptions the dbt manifest holds for relations in the schema `marts`:
    models, seeds and snapshots by relation name, and sources (tables written outside dbt,
    declared in a sources YAML) by identifier. `docs` blocks are already rendered into
    the manifest's descriptions."""
    docs: dict[str, TableDocs] = {}
    relations = [
        (node.get("alias") or node["name"], node)
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") in ("model", "seed", "snapshot")
    ]
    relations += [
        (source.get("identifier") or source["name"], source)
        for source in manifest.get("sources", {}).values()
    ]
    for name, node in relations:
        if node.get("schema") != PUBLISHED_SCHEMA:
            continue
        docs[name] = TableDocs(
            description=(node.get("description") or "").strip(),
            columns={
                column.get("name") or key: (column.get("description") or "").strip()
                for key, column in (node.get("columns") or {}).items()
            },
        )
    return docs


def combine_docs(*layers: Mapping[str, TableDocs]) -> dict[str, TableDocs]:
    """Later layers win, per table description and per column, where they say anything."""
    combined: dict[str, TableDocs] = {}
    for layer in layers:
        for table, docs in layer.items():
            before = combined.get(table, TableDocs())
            columns = {key.lower(): value for key, value in before.columns.items()}
            columns.update({key.lower(): value for key, value in docs.columns.items() if value})
            combined[table] = TableDocs(docs.description or before.description, columns)
    return combined


def published_docs(manifest_path: Path | None = None) -> dict[str, TableDocs]:
    """The descriptions of every published mart: the Python marts' own, overridden by the
    dbt manifest (the project's target/manifest.json unless another is given)."""
    if manifest_path is None:
        from orchestration.project import dbt_project

        manifest_path = dbt_project.manifest_path
    manifest = json.loads(Path(manifest_path).read_text()) if Path(manifest_path).exists() else {}
    return combine_docs(PYTHON_MART_DOCS, manifest_docs(manifest))


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


def mart_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    rows = con.execute(
        """
        select column_name from information_schema.columns
        where table_catalog = current_database() and table_schema = ? and table_name = ?
        order by ordinal_position
        """,
        [PUBLISHED_SCHEMA, table],
    ).fetchall()
    return [name for (name,) in rows]


def undocumented(con: duckdb.DuckDBPyConnection, docs: Mapping[str, TableDocs]) -> list[str]:
    """Every mart (`marts.kpi_daily`) and column (`marts.kpi_daily.orders`) that `docs`
    gives no description: they are published without a comment."""
    missing = []
    for table in mart_tables(con):
        table_docs = docs.get(table, TableDocs())
        if not table_docs.description:
            missing.append(f"{PUBLISHED_SCHEMA}.{table}")
        missing += [
            f"{PUBLISHED_SCHEMA}.{table}.{column}"
            for column in mart_columns(con, table)
            if not table_docs.column(column)
        ]
    return missing


def remove_unfinished_copies(published_dir: Path) -> list[Path]:
    """Delete the staged files of a publish that was killed before its swap."""
    leftovers = [
        *published_dir.glob(".bi-*.duckdb*"),
        *(published_dir / "parquet").glob(".*.parquet"),
        *(published_dir / AUDIENCES_DIR).glob(".*.csv"),
    ]
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers


def _comment_statements(catalog: str, table: str, columns: list[str], docs: TableDocs):
    relation = f"{catalog}.{PUBLISHED_SCHEMA}.{_identifier(table)}"
    if docs.description:
        yield f"comment on table {relation} is {_sql_string(docs.description)}"
    for column in columns:
        if description := docs.column(column):
            yield (
                f"comment on column {relation}.{_identifier(column)} is {_sql_string(description)}"
            )


def _parquet_metadata(columns: list[str], docs: TableDocs) -> str:
    """The COPY option `kv_metadata {...}` with the table's descriptions."""
    described = {column: docs.column(column) for column in columns if docs.column(column)}
    pairs = {PARQUET_COLUMN_DESCRIPTIONS_KEY: json.dumps(described, ensure_ascii=False)}
    if docs.description:
        pairs[PARQUET_DESCRIPTION_KEY] = docs.description
    entries = ", ".join(f"{key}: {_sql_string(value)}" for key, value in pairs.items())
    return f"kv_metadata {{{entries}}}"


# published/audiences/<audience>.csv: the hand-off to marketing automation and to ad
# platforms' customer match (docs/personalisation.md).
AUDIENCES_DIR = "audiences"
AUDIENCE_NAME = re.compile(r"[a-z0-9_]+")


def _stage_audiences(
    con: duckdb.DuckDBPyConnection, published_dir: Path, token: str, tables: list[str]
) -> list[tuple[Path, Path]]:
    """One CSV per audience of marts.dim_audiences (an empty one has its header only, so a
    synced list empties out): `crm_contact_id,email_sha256,qualified_at` (ISO 8601, UTC)."""
    if not {"dim_audiences", "fct_audience_members"} <= set(tables):
        return []
    audiences_dir = published_dir / AUDIENCES_DIR
    audiences_dir.mkdir(parents=True, exist_ok=True)
    staged_files = []
    for (audience,) in con.execute(
        f"select audience from {PUBLISHED_SCHEMA}.dim_audiences order by audience"
    ).fetchall():
        if not AUDIENCE_NAME.fullmatch(audience):
            raise ValueError(f"audience name {audience!r} is not a file name ([a-z0-9_]+)")
        staged = audiences_dir / f".{audience}-{token}.csv"
        con.execute(
            "copy (select crm_contact_id, email_sha256, "
            "strftime(qualified_at, '%Y-%m-%dT%H:%M:%SZ') as qualified_at "
            f"from {PUBLISHED_SCHEMA}.fct_audience_members "
            f"where audience = {_sql_string(audience)} order by customer_id) "
            f"to {_sql_string(staged)} (format csv, header)"
        )
        staged_files.append((staged, audiences_dir / f"{audience}.csv"))
    return staged_files


def publish_marts(
    con: duckdb.DuckDBPyConnection,
    published_dir: Path,
    docs: Mapping[str, TableDocs] | None = None,
) -> list[str]:
    """Copy every table and view of `marts` into the published files; returns the tables.

    `docs` describes the tables and columns (default: `published_docs()`, from the dbt
    manifest); anything it does not describe is published without a comment."""
    if docs is None:
        docs = published_docs()
    parquet_dir = published_dir / "parquet"
    parquet_dir.mkdir(parents=True, exist_ok=True)
    remove_unfinished_copies(published_dir)
    tables = mart_tables(con)
    columns = {table: mart_columns(con, table) for table in tables}
    token = uuid.uuid4().hex
    staging_db = published_dir / f".bi-{token}.duckdb"
    con.execute(
        f"attach {_sql_string(staging_db)} as publish_target "
        f"(storage_version '{BI_STORAGE_VERSION}')"
    )
    try:
        # One transaction: a commit per comment would cost more than copying the data.
        con.execute("begin transaction")
        try:
            con.execute(f"create schema publish_target.{PUBLISHED_SCHEMA}")
            for table in tables:
                con.execute(
                    f"create table publish_target.{PUBLISHED_SCHEMA}.{_identifier(table)} as "
                    f"select * from {PUBLISHED_SCHEMA}.{_identifier(table)}"
                )
                for statement in _comment_statements(
                    "publish_target", table, columns[table], docs.get(table, TableDocs())
                ):
                    con.execute(statement)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    finally:
        con.execute("detach publish_target")
    staged_parquet = []
    for table in tables:
        staged = parquet_dir / f".{table}-{token}.parquet"
        metadata = _parquet_metadata(columns[table], docs.get(table, TableDocs()))
        con.execute(
            f"copy (select * from {PUBLISHED_SCHEMA}.{_identifier(table)}) "
            f"to {_sql_string(staged)} (format parquet, {metadata})"
        )
        staged_parquet.append((staged, parquet_dir / f"{table}.parquet"))
    staged_audiences = _stage_audiences(con, published_dir, token, tables)
    # Every file is written before the first swap; each swap is a rename.
    os.replace(staging_db, published_dir / "bi.duckdb")
    for staged, final in [*staged_parquet, *staged_audiences]:
        os.replace(staged, final)
    current = {f"{table}.parquet" for table in tables}
    for stale in parquet_dir.glob("*.parquet"):
        if stale.name not in current:
            stale.unlink()
    current_audiences = {final.name for _, final in staged_audiences}
    for stale in (published_dir / AUDIENCES_DIR).glob("*.csv"):
        if stale.name not in current_audiences:
            stale.unlink()
    return tables
