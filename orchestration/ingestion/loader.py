"""Load landing files into the DuckDB `raw` schema.

One landing partition (`<landing>/<source>/<entity>/dt=YYYY-MM-DD/`) is loaded as a
unit and replaces what an earlier load of that partition wrote, so reruns and
re-deliveries are idempotent. Python only opens, decompresses and splits each file
(C-level operations); every record is parsed and validated by DuckDB in one pass.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration.ingestion.specs import (
    ENTITY_SPECS,
    EntitySpec,
    extracted_columns,
    field_rules,
)

JSONL_EXTENSIONS = (".jsonl", ".jsonl.gz")
CSV_EXTENSIONS = (".csv", ".csv.gz")

RAW_DDL = """
create schema if not exists raw;
create table if not exists raw.loaded_files (
    source varchar not null,
    entity varchar not null,
    dt date not null,
    file varchar not null,
    records_read bigint not null,
    records_loaded bigint not null,
    records_rejected bigint not null,
    loaded_at timestamptz not null,
    file_status varchar not null,
    file_error varchar,
    duplicate_of varchar,
    content_sha256 varchar,
    file_bytes bigint
);
create table if not exists raw.rejected_records (
    source varchar not null,
    entity varchar not null,
    dt date not null,
    file varchar not null,
    line bigint,
    reason varchar not null,
    raw_record varchar,
    loaded_at timestamptz not null
);
"""

ENTITY_TABLE_DDL = """
create table if not exists raw.{table} (
    dt date not null,
    file varchar not null,
    line bigint not null,
    record json not null,
    loaded_at timestamptz not null
);
"""


@dataclass(frozen=True)
class FileResult:
    source: str
    entity: str
    dt: dt.date
    file: str
    status: str
    records_read: int
    records_loaded: int
    records_rejected: int
    error: str | None = None


class FileRejected(Exception):
    """A whole-file problem: the file is recorded as rejected and nothing else stops."""


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(RAW_DDL)
    for spec in ENTITY_SPECS:
        con.execute(ENTITY_TABLE_DDL.format(table=spec.table))


def partition_dir(landing: Path, spec: EntitySpec, day: dt.date) -> Path:
    return landing / spec.source / spec.entity / f"dt={day.isoformat()}"


def landing_days(landing: Path, spec: EntitySpec | None = None) -> list[dt.date]:
    """Every `dt=` day present under the landing folder (for one entity, or any)."""
    patterns = [f"{s.source}/{s.entity}/dt=*" for s in ([spec] if spec else ENTITY_SPECS)]
    days = set()
    for pattern in patterns:
        for folder in landing.glob(pattern):
            try:
                days.add(dt.date.fromisoformat(folder.name.removeprefix("dt=")))
            except ValueError:
                continue
    return sorted(days)


def _read_text(path: Path) -> tuple[str, bytes]:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise FileRejected(f"not a valid gzip file ({exc})") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileRejected(f"not UTF-8: invalid byte at offset {exc.start}") from exc
    return text.removeprefix("\ufeff"), data


def _jsonl_batch(text: str) -> pa.Table:
    lines = text.split("\n")
    numbers = [i for i, line in enumerate(lines, start=1) if line.strip()]
    raw = [lines[i - 1].rstrip("\r") for i in numbers]
    return pa.table({"line": pa.array(numbers, pa.int64()), "raw_text": pa.array(raw, pa.string())})


def _csv_batch(text: str, spec: EntitySpec) -> tuple[pa.Table, list[str]]:
    """Split a CSV file into records; rows with a wrong field count are kept for rejection."""
    physical = text.splitlines(keepends=True)
    reader = csv.reader(physical, strict=False)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration as exc:
        raise FileRejected("empty file: no CSV header") from exc
    missing = [name for name in spec.csv_columns if name not in header]
    if missing:
        raise FileRejected(
            "CSV header does not name the expected columns; missing: " + ", ".join(missing)
        )
    width = len(header)
    lines, raw_texts, errors = [], [], []
    columns: list[list[str | None]] = [[] for _ in header]
    start = reader.line_num + 1
    for row in reader:
        end = reader.line_num
        if row:
            lines.append(start)
            raw_texts.append("".join(physical[start - 1 : end]).rstrip("\r\n"))
            if len(row) == width:
                errors.append(None)
                for values, value in zip(columns, row, strict=True):
                    values.append(value)
            else:
                errors.append(f"CSV row has {len(row)} fields, the header has {width}")
                for values in columns:
                    values.append(None)
        start = end + 1
    data = {
        "line": pa.array(lines, pa.int64()),
        "raw_text": pa.array(raw_texts, pa.string()),
        "row_error": pa.array(errors, pa.string()),
    }
    data.update({f"c{i}": pa.array(values, pa.string()) for i, values in enumerate(columns)})
    return pa.table(data), header


def _record_sql(spec: EntitySpec, header: list[str] | None) -> str:
    """SQL over `batch` giving (line, raw_text, record, parse_error)."""
    if spec.format == "jsonl":
        return """
            select
                line,
                raw_text,
                case when json_valid(raw_text) then raw_text end as valid_json,
                case
                    when not json_valid(raw_text) then 'not valid JSON'
                end as parse_error
            from batch
        """
    pairs = ", ".join(
        "'" + name.replace("'", "''") + f"', nullif(c{i}, '')"
        for i, name in enumerate(header or [])
    )
    return f"""
        select
            line,
            raw_text,
            case when row_error is null then cast(json_object({pairs}) as varchar) end
                as valid_json,
            row_error as parse_error
        from batch
    """


def _checked_sql(spec: EntitySpec, header: list[str] | None, day: dt.date) -> str:
    rules = field_rules(spec)
    reasons = ", ".join(f"case when {predicate} then {reason} end" for reason, predicate in rules)
    return f"""
        with records as ({_record_sql(spec, header)}),
        typed as (
            select
                line,
                raw_text,
                parse_error,
                cast(valid_json as json) as record,
                case
                    when parse_error is null and json_type(cast(valid_json as json)) <> 'OBJECT'
                        then 'not a JSON object'
                end as shape_error
            from records
        ),
        fields as (
            select
                *,
                date '{day.isoformat()}' as dt,
                {", ".join(extracted_columns(spec))}
            from typed
        )
        select
            line,
            raw_text,
            case when parse_error is null and shape_error is null then record end as record,
            coalesce(
                parse_error,
                shape_error,
                nullif(
                    array_to_string(
                        list_filter([{reasons}], lambda reason: reason is not null), '; '
                    ),
                    ''
                )
            ) as reason
        from fields
    """


def _content_duplicate_of(
    con: duckdb.DuckDBPyConnection, spec: EntitySpec, sha: str, file: str
) -> str | None:
    row = con.execute(
        """
        select file from raw.loaded_files
        where source = ? and entity = ? and content_sha256 = ? and file <> ?
            and file_status = 'loaded'
        order by dt, file
        limit 1
        """,
        [spec.source, spec.entity, sha, file],
    ).fetchone()
    return row[0] if row else None


def load_file(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    spec: EntitySpec,
    day: dt.date,
    path: Path,
    loaded_at: dt.datetime,
) -> FileResult:
    """Load one landing file; the caller has already cleared the partition."""
    rel = path.relative_to(landing).as_posix()
    name = path.name
    meta = [spec.source, spec.entity, day, rel]

    def record_file(status, read, loaded, rejected, error=None, duplicate_of=None, sha=None):
        con.execute(
            "insert into raw.loaded_files values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                *meta,
                read,
                loaded,
                rejected,
                loaded_at,
                status,
                error,
                duplicate_of,
                sha,
                path.stat().st_size,
            ],
        )
        return FileResult(*meta, status, read, loaded, rejected, error)

    def reject_whole_file(reason: str) -> FileResult:
        con.execute(
            "insert into raw.rejected_records values (?, ?, ?, ?, null, ?, null, ?)",
            [*meta, reason, loaded_at],
        )
        return record_file("rejected", 0, 0, 0, error=reason)

    wanted = JSONL_EXTENSIONS if spec.format == "jsonl" else CSV_EXTENSIONS
    if not name.endswith(wanted):
        return reject_whole_file(
            f"unexpected file type for {spec.source}/{spec.entity}: expected " + " or ".join(wanted)
        )
    try:
        text, content = _read_text(path)
        header = None
        if spec.format == "jsonl":
            batch = _jsonl_batch(text)
        else:
            batch, header = _csv_batch(text, spec)
    except FileRejected as exc:
        return reject_whole_file(str(exc))

    sha = hashlib.sha256(content).hexdigest()
    # A file with no records (a header-only delta) is never anyone's duplicate.
    duplicate_of = _content_duplicate_of(con, spec, sha, rel) if batch.num_rows else None
    if duplicate_of is not None:
        return record_file("duplicate", 0, 0, 0, duplicate_of=duplicate_of, sha=sha)

    con.register("batch", batch)
    try:
        con.execute(f"create or replace temp table checked as {_checked_sql(spec, header, day)}")
    finally:
        con.unregister("batch")
    con.execute(
        f"""
        insert into raw.{spec.table}
        select ?, ?, line, record, ? from checked where reason is null order by line
        """,
        [day, rel, loaded_at],
    )
    con.execute(
        """
        insert into raw.rejected_records
        select ?, ?, ?, ?, line, reason, raw_text, ? from checked where reason is not null
        order by line
        """,
        [*meta, loaded_at],
    )
    read, rejected = con.execute(
        "select count(*), count(*) filter (where reason is not null) from checked"
    ).fetchone()
    con.execute("drop table checked")
    return record_file("loaded", read, read - rejected, rejected, sha=sha)


def load_partition(
    con: duckdb.DuckDBPyConnection, landing: Path, spec: EntitySpec, day: dt.date
) -> list[FileResult]:
    """Replace everything loaded for one entity and day with the files in its folder."""
    loaded_at = dt.datetime.now(dt.UTC)
    folder = partition_dir(landing, spec, day)
    files = (
        sorted(p for p in folder.glob("*") if p.is_file() and not p.name.startswith((".", "_")))
        if folder.is_dir()
        else []
    )
    # Files loaded before keep their place ahead of new ones, and older files go before
    # newer ones, so that a copy delivered later is the one recognised as the duplicate.
    loaded_before = {
        file
        for (file,) in con.execute(
            """
            select file from raw.loaded_files
            where source = ? and entity = ? and dt = ? and file_status = 'loaded'
            """,
            [spec.source, spec.entity, day],
        ).fetchall()
    }
    files.sort(
        key=lambda p: (
            p.relative_to(landing).as_posix() not in loaded_before,
            p.stat().st_mtime_ns,
            p.name,
        )
    )
    con.execute("begin transaction")
    try:
        con.execute(f"delete from raw.{spec.table} where dt = ?", [day])
        for table in ("loaded_files", "rejected_records"):
            con.execute(
                f"delete from raw.{table} where source = ? and entity = ? and dt = ?",
                [spec.source, spec.entity, day],
            )
        results = [load_file(con, landing, spec, day, path, loaded_at) for path in files]
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return results


def reconciliation_failures(con: duckdb.DuckDBPyConnection, spec: EntitySpec) -> list[tuple]:
    """Files whose counts do not reconcile with themselves or with the raw tables."""
    return con.execute(
        f"""
        with loaded as (
            select file, count(*) as n from raw.{spec.table} group by file
        ),
        rejected as (
            select file, count(*) as n from raw.rejected_records
            where source = ? and entity = ? and line is not null
            group by file
        )
        select
            files.file,
            files.records_read,
            files.records_loaded,
            files.records_rejected,
            coalesce(loaded.n, 0) as rows_in_raw,
            coalesce(rejected.n, 0) as rows_in_rejected
        from raw.loaded_files as files
        left join loaded on files.file = loaded.file
        left join rejected on files.file = rejected.file
        where files.source = ? and files.entity = ?
            and (
                files.records_read <> files.records_loaded + files.records_rejected
                or files.records_loaded <> coalesce(loaded.n, 0)
                or files.records_rejected <> coalesce(rejected.n, 0)
            )
        order by files.file
        """,
        [spec.source, spec.entity, spec.source, spec.entity],
    ).fetchall()
