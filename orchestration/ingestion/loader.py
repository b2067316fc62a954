"""Load landing files into the DuckDB `raw` schema.

One landing partition (`<landing>/<source>/<entity>/dt=YYYY-MM-DD/`) is loaded as a
unit and replaces what an earlier load of that partition wrote, so reruns and
re-deliveries are idempotent. Python only opens, decompresses and splits each file
(C-level operations); every record is parsed and validated by DuckDB.

Speed: DuckDB statements cost milliseconds each whatever their size, so the records
of every file of one or more partitions go through the checks in one SQL pass, and
each partition costs a fixed handful of statements rather than a handful per file.
Which file is a duplicate of which is decided in Python first, exactly as loading the
files one by one in order would decide it.

Nothing under the landing folder vanishes (sources.md, Layout). Whatever is not a data
file directly inside a `<source>/<entity>/dt=YYYY-MM-DD/` folder gets a row in
`raw.loaded_files` with `file_status` `skipped` (not part of the layout: a `dt=` name that
is not a real date, a subfolder, a hidden or marker file, an unknown folder) or `refused`
(a symbolic link leading out of the landing folder, never followed) and its reason in
`file_error`, with no records. Inside a `dt=` folder such a row carries that day and is
replaced with the partition; anywhere else it belongs to no partition (`dt` null) and
every load rewrites the rows of its scope from the folder as it is now (an entity's
folder; a source's folder, by the source's first entity; the landing folder's top, by
the first entity of all). A symbolic link that stays inside the landing folder is
followed. A file with an unexpected extension is read as before: `rejected` whole.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import os
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
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
# Partitions are checked together until their decompressed text reaches this size; a
# bigger day is checked alone. Bounds the memory of one SQL pass.
BATCH_TEXT_BYTES = 256 * 1024 * 1024

RAW_DDL = """
create schema if not exists raw;
create table if not exists raw.loaded_files (
    source varchar not null,
    entity varchar not null,
    dt date,
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


# `file_status` of what is not read: outside the layout, or a link leading out of landing.
SKIPPED = "skipped"
REFUSED = "refused"
DT_NAME = re.compile(r"dt=[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class FileResult:
    source: str
    entity: str
    dt: dt.date | None
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
    # Warehouses made before skipped entries were recorded have `dt` not null: what
    # belongs to no partition (a `dt=latest` folder) needs it null.
    (nullable,) = con.execute(
        """
        select is_nullable from duckdb_columns()
        where database_name = current_database() and schema_name = 'raw'
            and table_name = 'loaded_files' and column_name = 'dt'
        """
    ).fetchone()
    if not nullable:
        con.execute("alter table raw.loaded_files alter column dt drop not null")


def partition_dir(landing: Path, spec: EntitySpec, day: dt.date) -> Path:
    return landing / spec.source / spec.entity / f"dt={day.isoformat()}"


# -- what is under the landing folder -------------------------------------------------


@dataclass(frozen=True)
class Stray:
    """Something under the landing folder that is not read, and why."""

    source: str
    entity: str
    day: dt.date | None
    file: str  # relative to the landing folder; a folder ends with '/'
    status: str  # SKIPPED or REFUSED
    reason: str


def _real_root(landing: Path) -> Path:
    return Path(os.path.realpath(landing))


def _leads_out(path: Path, root: Path) -> Path | None:
    """Where `path` really is, if a symbolic link on its way leads out of `root` (real)."""
    target = Path(os.path.realpath(path))
    return None if target.is_relative_to(root) else target


def _is_hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def _holding(folder: Path) -> str:
    """How many files a folder holds (symbolic links not followed)."""
    count = sum(len(files) for _, _, files in os.walk(folder))
    return f"its {count} file(s) are not loaded" if count else "it is empty"


def _dt_problem(name: str) -> str | None:
    """Why a `dt=...` name is not a landing day, or None when it is a real YYYY-MM-DD."""
    value = name.removeprefix("dt=")
    if DT_NAME.fullmatch(name):
        try:
            dt.date.fromisoformat(value)
        except ValueError as exc:
            return f"'{name}' is not a real date ({exc})"
        return None
    try:
        # Python also reads other ISO 8601 forms (20260106): a hint, never a landing day.
        meant = dt.date.fromisoformat(value)
    except ValueError:
        return f"'{name}' is not a dt=YYYY-MM-DD date"
    return f"'{name}' is not written dt=YYYY-MM-DD (did you mean dt={meant.isoformat()}?)"


def _refusal(target: Path, note: str = "") -> str:
    return (
        f"symbolic link leading out of the landing folder (to {target}): "
        f"refused, never followed{note}"
    )


def _stray(
    landing: Path, path: Path, key: tuple[str, str, dt.date | None], why: str, note: str = ""
) -> Stray:
    """The row of an entry that is not read. `why` says how it is outside the layout;
    `note` is added to a refusal (a link leading out is refused whatever its name)."""
    rel = path.relative_to(landing).as_posix()
    if path.is_symlink():
        target = _leads_out(path, _real_root(landing))
        if target is not None:
            return Stray(*key, rel, REFUSED, _refusal(target, note))
        if not path.exists():
            reason = f"broken symbolic link (to {os.path.realpath(path)}): nothing to read"
            return Stray(*key, rel, SKIPPED, reason)
    folder = path.is_dir()
    if folder and not path.is_symlink():
        rel += "/"
    if _is_hidden(path.name):
        kind = "folder" if folder else "file"
        reason = f"hidden or marker {kind} (name starts with '{path.name[0]}'): not read"
        return Stray(*key, rel, SKIPPED, reason)
    if folder:
        return Stray(*key, rel, SKIPPED, f"{why}; {_holding(path)}")
    if not path.is_file():
        return Stray(*key, rel, SKIPPED, "not a regular file or folder: not read")
    return Stray(*key, rel, SKIPPED, f"{why}; not loaded")


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


def _unlisted(landing: Path, folder: Path, key: tuple[str, str, dt.date | None]) -> Stray | None:
    """A folder that cannot be listed (no permission): recorded, since nothing in it is."""
    try:
        with os.scandir(folder) as entries:
            next(entries, None)
    except OSError as exc:
        rel = folder.relative_to(landing).as_posix() + "/"
        return Stray(*key, rel, SKIPPED, f"folder cannot be listed ({exc.strerror}): not read")
    return None


@dataclass
class _EntityScan:
    days: dict[dt.date, Path] = field(default_factory=dict)
    strays: list[Stray] = field(default_factory=list)  # of no partition (dt null)


def _scan_entity(landing: Path, spec: EntitySpec) -> _EntityScan:
    """The entity's `dt=` folders to load, and what else is in its folder."""
    scan = _EntityScan()
    folder = landing / spec.source / spec.entity
    key = (spec.source, spec.entity, None)
    if not os.path.lexists(folder):
        return scan
    root = _real_root(landing)
    target = _leads_out(folder, root)
    if target is not None:
        rel = folder.relative_to(landing).as_posix()
        refusal = _refusal(target, "; nothing in it is loaded")
        scan.strays.append(Stray(*key, rel, REFUSED, refusal))
        return scan
    if not folder.is_dir():
        scan.strays.append(
            _stray(landing, folder, key, "a file where the entity's folder should be")
        )
        return scan
    if unlisted := _unlisted(landing, folder, key):
        scan.strays.append(unlisted)
        return scan
    for path in _entries(folder):
        name = path.name
        note = ""
        if name.startswith("dt="):
            problem = _dt_problem(name)
            note = f"; {name} is not a landing day"
            if problem is None:
                inside = not path.is_symlink() or _leads_out(path, root) is None
                if inside and path.is_dir():
                    scan.days[dt.date.fromisoformat(name.removeprefix("dt="))] = path
                    continue
                why = f"'{name}' is a file, not a folder: not a landing day"
            else:
                why = f"{problem}: not a landing day"
        elif path.is_dir():
            why = f"folder '{name}' is not named dt=YYYY-MM-DD: not a landing day"
        else:
            why = f"not in a dt= folder (files go in {spec.source}/{spec.entity}/dt=YYYY-MM-DD/)"
        scan.strays.append(_stray(landing, path, key, why, note))
    return scan


def _scan_day(landing: Path, spec: EntitySpec, day: dt.date) -> tuple[list[Path], list[Stray]]:
    """The data files of one `dt=` folder, and what else is in it."""
    folder = partition_dir(landing, spec, day)
    root = _real_root(landing)
    # The entity's scan records a day folder that leads out of landing or is no folder.
    if not folder.is_dir() or _leads_out(folder, root) is not None:
        return [], []
    if unlisted := _unlisted(landing, folder, (spec.source, spec.entity, day)):
        return [], [unlisted]
    files, strays = [], []
    for path in _entries(folder):
        inside = not path.is_symlink() or _leads_out(path, root) is None
        if inside and path.is_file() and not _is_hidden(path.name):
            files.append(path)
            continue
        why = (
            "a subfolder of a dt= folder is not read (files go directly in "
            f"{spec.source}/{spec.entity}/dt=YYYY-MM-DD/)"
        )
        strays.append(_stray(landing, path, (spec.source, spec.entity, day), why))
    return files, strays


def _scan_source(landing: Path, source: str) -> list[Stray]:
    """What is in a source's folder besides its entities' folders."""
    folder = landing / source
    if not folder.is_dir() or _leads_out(folder, _real_root(landing)) is not None:
        return []  # each entity's scan records a source folder that leads out
    entities = sorted(s.entity for s in ENTITY_SPECS if s.source == source)
    strays = []
    for path in _entries(folder):
        if path.name in entities:
            continue
        why = (
            f"unknown entity folder: {source} has {', '.join(entities)}"
            if path.is_dir()
            else f"not in an entity's dt= folder (files go in {source}/<entity>/dt=YYYY-MM-DD/)"
        )
        strays.append(_stray(landing, path, (source, path.name, None), why))
    return strays


def _scan_top(landing: Path) -> list[Stray]:
    """Unknown sources at the top of the landing folder. Hidden and `_` names there (the
    sample generator's `_manifest.json`) belong to no source and are left alone."""
    sources = sorted({s.source for s in ENTITY_SPECS})
    strays = []
    for path in _entries(landing):
        if path.name in sources or _is_hidden(path.name):
            continue
        why = (
            f"unknown source folder: the sources are {', '.join(sources)}"
            if path.is_dir()
            else "not in a source's folder (files go in <source>/<entity>/dt=YYYY-MM-DD/)"
        )
        strays.append(_stray(landing, path, (path.name, "", None), why))
    return strays


def _first_of_source(spec: EntitySpec) -> bool:
    return next(s for s in ENTITY_SPECS if s.source == spec.source) == spec


def _undated_scopes(spec: EntitySpec) -> list[tuple[str, list]]:
    """The rows of no partition (dt null) that a load of `spec` rewrites: SQL conditions on
    raw.loaded_files with their parameters. The entity's own folder; for the source's first
    entity, the rest of the source's folder; for the first entity of all, the landing
    folder's top."""
    scopes: list[tuple[str, list]] = [("source = ? and entity = ?", [spec.source, spec.entity])]
    same_source = [s.entity for s in ENTITY_SPECS if s.source == spec.source]
    if _first_of_source(spec):
        scopes.append(
            ("source = ? and entity not in (select unnest(?))", [spec.source, same_source])
        )
    if spec == ENTITY_SPECS[0]:
        sources = sorted({s.source for s in ENTITY_SPECS})
        scopes.append(("source not in (select unnest(?))", [sources]))
    return scopes


def _undated_strays(landing: Path, spec: EntitySpec) -> list[Stray]:
    strays = list(_scan_entity(landing, spec).strays)
    if _first_of_source(spec):
        strays += _scan_source(landing, spec.source)
    if spec == ENTITY_SPECS[0]:
        strays += _scan_top(landing)
    return strays


def landing_days(landing: Path, spec: EntitySpec | None = None) -> list[dt.date]:
    """Every `dt=` day present under the landing folder (for one entity, or any).

    Only a folder named `dt=YYYY-MM-DD` with a real date counts, and only when it does not
    lead out of the landing folder (`dt=20260106` or `dt=latest` are no landing days)."""
    days = set()
    for each in [spec] if spec else ENTITY_SPECS:
        days.update(_scan_entity(landing, each).days)
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


def _jsonl_batch(text: str, file_no: int) -> pa.Table:
    lines = text.split("\n")
    numbers = [i for i, line in enumerate(lines, start=1) if line.strip()]
    raw = [lines[i - 1].rstrip("\r") for i in numbers]
    return pa.table(
        {
            "file_no": pa.array([file_no] * len(numbers), pa.int32()),
            "line": pa.array(numbers, pa.int64()),
            "raw_text": pa.array(raw, pa.string()),
        }
    )


def _csv_batch(text: str, spec: EntitySpec, file_no: int) -> tuple[pa.Table, tuple[str, ...]]:
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
        "file_no": pa.array([file_no] * len(lines), pa.int32()),
        "line": pa.array(lines, pa.int64()),
        "raw_text": pa.array(raw_texts, pa.string()),
        "row_error": pa.array(errors, pa.string()),
    }
    data.update({f"c{i}": pa.array(values, pa.string()) for i, values in enumerate(columns)})
    return pa.table(data), tuple(header)


def _record_sql(spec: EntitySpec, header: tuple[str, ...] | None, relation: str) -> str:
    """SQL over `relation` giving (file_no, line, raw_text, valid_json, parse_error)."""
    if spec.format == "jsonl":
        return f"""
            select
                file_no,
                line,
                raw_text,
                case when json_valid(raw_text) then raw_text end as valid_json,
                case
                    when not json_valid(raw_text) then 'not valid JSON'
                end as parse_error
            from {relation}
        """
    pairs = ", ".join(
        "'" + name.replace("'", "''") + f"', nullif(c{i}, '')"
        for i, name in enumerate(header or ())
    )
    return f"""
        select
            file_no,
            line,
            raw_text,
            case when row_error is null then cast(json_object({pairs}) as varchar) end
                as valid_json,
            row_error as parse_error
        from {relation}
    """


def _checked_sql(spec: EntitySpec, groups: list[tuple[tuple[str, ...] | None, str]]) -> str:
    """One pass over every record of a batch: (file_no, line, raw_text, record, reason).

    `groups` are (CSV header or None, relation) pairs: CSV files with different headers
    are registered as separate relations. `batch_files` gives each file_no its day.
    `raw_text` is kept only for rejected records and `record` only for valid ones.
    """
    rules = field_rules(spec)
    reasons = ", ".join(f"case when {predicate} then {reason} end" for reason, predicate in rules)
    records = "\n union all \n".join(
        _record_sql(spec, header, relation) for header, relation in groups
    )
    return f"""
        with records as ({records}),
        typed as (
            select
                records.file_no,
                batch_files.dt,
                line,
                raw_text,
                parse_error,
                cast(valid_json as json) as record,
                case
                    when parse_error is null and json_type(cast(valid_json as json)) <> 'OBJECT'
                        then 'not a JSON object'
                end as shape_error
            from records
            inner join batch_files on records.file_no = batch_files.file_no
        ),
        fields as (
            select
                *,
                {", ".join(extracted_columns(spec, "record"))}
            from typed
        ),
        reasoned as (
            select
                file_no,
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
        )
        select
            file_no,
            line,
            case when reason is not null then raw_text end as raw_text,
            case when reason is null then record end as record,
            reason
        from reasoned
    """


@dataclass
class _FileEntry:
    """One landing file of a batch, in load order, and what becomes of it."""

    day: dt.date
    file: str
    file_bytes: int | None
    status: str
    error: str | None = None
    duplicate_of: str | None = None
    sha: str | None = None
    records_read: int = 0
    records_rejected: int = 0


@dataclass
class _Batch:
    """Partitions replaced in one transaction, with the records to check in one pass."""

    days: list[dt.date] = field(default_factory=list)
    entries: list[_FileEntry] = field(default_factory=list)
    # CSV header (None for JSON lines) -> the record tables of files with that header
    records: dict[tuple[str, ...] | None, list[pa.Table]] = field(default_factory=dict)
    text_bytes: int = 0


class _KnownFiles:
    """raw.loaded_files of one entity as a sequential load would see it, file by file."""

    def __init__(self, con: duckdb.DuckDBPyConnection, spec: EntitySpec) -> None:
        self.by_day: dict[dt.date, dict[str, tuple[str, str | None]]] = {}
        self.loaded_by_sha: dict[str, set[tuple[dt.date, str]]] = {}
        rows = con.execute(
            """
            select dt, file, file_status, content_sha256 from raw.loaded_files
            where source = ? and entity = ? and dt is not null
            """,
            [spec.source, spec.entity],
        ).fetchall()
        for day, file, status, sha in rows:
            self.add(day, file, status, sha)

    def add(self, day: dt.date, file: str, status: str, sha: str | None) -> None:
        self.by_day.setdefault(day, {})[file] = (status, sha)
        if status == "loaded" and sha is not None:
            self.loaded_by_sha.setdefault(sha, set()).add((day, file))

    def loaded_on(self, day: dt.date) -> set[str]:
        return {f for f, (status, _) in self.by_day.get(day, {}).items() if status == "loaded"}

    def forget_day(self, day: dt.date) -> None:
        for file, (status, sha) in self.by_day.pop(day, {}).items():
            if status == "loaded" and sha is not None:
                self.loaded_by_sha[sha].discard((day, file))

    def duplicate_of(self, sha: str, file: str) -> str | None:
        """The first loaded file (by day, then name) with this content, other than `file`."""
        same = [key for key in self.loaded_by_sha.get(sha, ()) if key[1] != file]
        return min(same)[1] if same else None


def _landing_files(landing: Path, spec: EntitySpec, day: dt.date, loaded_before: set[str]):
    """The data files of a day in load order with their sizes, and what else is there."""
    files, strays = _scan_day(landing, spec, day)
    # Files loaded before keep their place ahead of new ones, and older files go before
    # newer ones, so that a copy delivered later is the one recognised as the duplicate.
    stats = {p: p.stat() for p in files}
    files.sort(
        key=lambda p: (
            p.relative_to(landing).as_posix() not in loaded_before,
            stats[p].st_mtime_ns,
            p.name,
        )
    )
    return [(p, stats[p].st_size) for p in files], strays


def _plan_strays(day: dt.date, strays: list[Stray], batch: _Batch) -> None:
    """What is in a day's folder besides its data files: recorded with the day, unread."""
    for stray in strays:
        batch.entries.append(_FileEntry(day, stray.file, None, stray.status, stray.reason))


def _plan_day(
    landing: Path, spec: EntitySpec, day: dt.date, known: _KnownFiles, batch: _Batch
) -> None:
    """Read one partition's files into `batch`, deciding each file's fate in load order."""
    files, strays = _landing_files(landing, spec, day, known.loaded_on(day))
    known.forget_day(day)
    batch.days.append(day)
    wanted = JSONL_EXTENSIONS if spec.format == "jsonl" else CSV_EXTENSIONS
    for path, size in files:
        entry = _FileEntry(day, path.relative_to(landing).as_posix(), size, "loaded")
        batch.entries.append(entry)
        file_no = len(batch.entries) - 1
        try:
            if not path.name.endswith(wanted):
                raise FileRejected(
                    f"unexpected file type for {spec.source}/{spec.entity}: expected "
                    + " or ".join(wanted)
                )
            text, content = _read_text(path)
            if spec.format == "jsonl":
                table, header = _jsonl_batch(text, file_no), None
            else:
                table, header = _csv_batch(text, spec, file_no)
        except FileRejected as exc:
            entry.status, entry.error = "rejected", str(exc)
            known.add(day, entry.file, entry.status, None)
            continue
        entry.sha = hashlib.sha256(content).hexdigest()
        # A file with no records (a header-only delta) is never anyone's duplicate.
        if table.num_rows:
            entry.duplicate_of = known.duplicate_of(entry.sha, entry.file)
        if entry.duplicate_of is not None:
            entry.status = "duplicate"
        else:
            batch.records.setdefault(header, []).append(table)
            batch.text_bytes += len(content)
        known.add(day, entry.file, entry.status, entry.sha)
    _plan_strays(day, strays, batch)


def _write_batch(
    con: duckdb.DuckDBPyConnection, spec: EntitySpec, batch: _Batch, loaded_at: dt.datetime
) -> None:
    """Replace the batch's partitions in one transaction."""
    files = pa.table(
        {
            "file_no": pa.array(range(len(batch.entries)), pa.int32()),
            "dt": pa.array([e.day for e in batch.entries], pa.date32()),
            "file": pa.array([e.file for e in batch.entries], pa.string()),
        }
    )
    groups = []
    for number, (header, tables) in enumerate(batch.records.items()):
        relation = f"batch_records_{number}"
        groups.append((header, relation, pa.concat_tables(tables)))
    con.execute("begin transaction")
    try:
        con.execute(f"delete from raw.{spec.table} where dt in (select unnest(?))", [batch.days])
        for table in ("loaded_files", "rejected_records"):
            con.execute(
                f"delete from raw.{table} where source = ? and entity = ? "
                "and dt in (select unnest(?))",
                [spec.source, spec.entity, batch.days],
            )
        if groups:
            _check_records(con, spec, files, groups, loaded_at)
            counts = con.execute(
                "select file_no, count(*), count(reason) from checked group by file_no"
            ).fetchall()
            for file_no, read, rejected in counts:
                entry = batch.entries[file_no]
                entry.records_read, entry.records_rejected = read, rejected
            con.execute("drop table checked")
        _record_files(con, spec, batch.entries, loaded_at)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _check_records(con, spec, files, groups, loaded_at) -> None:
    """Check every record of the batch into the temp table `checked`, then insert it."""
    con.register("batch_files", files)
    for _, relation, table in groups:
        con.register(relation, table)
    try:
        sql = _checked_sql(spec, [(header, relation) for header, relation, _ in groups])
        con.execute(f"create or replace temp table checked as {sql}")
    finally:
        for _, relation, _ in groups:
            con.unregister(relation)
    try:
        con.execute(
            f"""
            insert into raw.{spec.table}
            select batch_files.dt, batch_files.file, line, record, ?
            from checked
            inner join batch_files on checked.file_no = batch_files.file_no
            where reason is null
            order by checked.file_no, line
            """,
            [loaded_at],
        )
        con.execute(
            """
            insert into raw.rejected_records
            select ?, ?, batch_files.dt, batch_files.file, line, reason, raw_text, ?
            from checked
            inner join batch_files on checked.file_no = batch_files.file_no
            where reason is not null
            order by checked.file_no, line
            """,
            [spec.source, spec.entity, loaded_at],
        )
    finally:
        con.unregister("batch_files")


def _record_files(con, spec: EntitySpec, entries: list[_FileEntry], loaded_at) -> None:
    """raw.loaded_files for every file, and raw.rejected_records for whole-file rejections."""
    if not entries:
        return
    rows = pa.table(
        {
            "dt": pa.array([e.day for e in entries], pa.date32()),
            "file": pa.array([e.file for e in entries], pa.string()),
            "records_read": pa.array([e.records_read for e in entries], pa.int64()),
            "records_rejected": pa.array([e.records_rejected for e in entries], pa.int64()),
            "file_status": pa.array([e.status for e in entries], pa.string()),
            "file_error": pa.array([e.error for e in entries], pa.string()),
            "duplicate_of": pa.array([e.duplicate_of for e in entries], pa.string()),
            "content_sha256": pa.array([e.sha for e in entries], pa.string()),
            "file_bytes": pa.array([e.file_bytes for e in entries], pa.int64()),
            "position": pa.array(range(len(entries)), pa.int64()),
        }
    )
    con.register("batch_loaded_files", rows)
    try:
        con.execute(
            """
            insert into raw.loaded_files
            select
                ?, ?, dt, file, records_read, records_read - records_rejected,
                records_rejected, ?, file_status, file_error, duplicate_of, content_sha256,
                file_bytes
            from batch_loaded_files
            order by position
            """,
            [spec.source, spec.entity, loaded_at],
        )
        con.execute(
            """
            insert into raw.rejected_records
            select ?, ?, dt, file, null, file_error, null, ?
            from batch_loaded_files
            where file_status = 'rejected'
            order by position
            """,
            [spec.source, spec.entity, loaded_at],
        )
    finally:
        con.unregister("batch_loaded_files")


def _write_undated(
    con: duckdb.DuckDBPyConnection, spec: EntitySpec, strays: list[Stray], loaded_at
) -> None:
    """Replace the rows of no partition (dt null) in the scopes of `spec` with `strays`:
    keyed by path, so a rerun rewrites the same rows and a folder cleared away loses its."""
    rows = pa.table(
        {
            "source": pa.array([s.source for s in strays], pa.string()),
            "entity": pa.array([s.entity for s in strays], pa.string()),
            "file": pa.array([s.file for s in strays], pa.string()),
            "file_status": pa.array([s.status for s in strays], pa.string()),
            "file_error": pa.array([s.reason for s in strays], pa.string()),
            "position": pa.array(range(len(strays)), pa.int64()),
        }
    )
    con.register("batch_strays", rows)
    con.execute("begin transaction")
    try:
        for condition, params in _undated_scopes(spec):
            con.execute(f"delete from raw.loaded_files where dt is null and {condition}", params)
        con.execute(
            """
            insert into raw.loaded_files
            select
                source, entity, null, file, 0, 0, 0, ?, file_status, file_error, null, null,
                null
            from batch_strays
            order by position
            """,
            [loaded_at],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.unregister("batch_strays")


def next_loaded_at(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> dt.datetime:
    """Now, or just after the latest `loaded_at` already in `tables` if the clock went back.

    Incremental models find changed rows by a later `loaded_at`, so every write must move
    it forward, whatever the machine's clock does.
    """
    now = dt.datetime.now(dt.UTC)
    latest = [
        con.execute(f"select max(loaded_at) from raw.{table}").fetchone()[0] for table in tables
    ]
    latest = [value for value in latest if value is not None]
    if latest and max(latest) >= now:
        return max(latest) + dt.timedelta(microseconds=1)
    return now


def load_partitions(
    con: duckdb.DuckDBPyConnection, landing: Path, spec: EntitySpec, days: Iterable[dt.date]
) -> list[FileResult]:
    """Replace everything loaded for one entity on each day with the files in its folder.

    The same as loading the days one by one in the order given (each day is replaced
    atomically), but several days share one transaction and one pass of the checks,
    up to BATCH_TEXT_BYTES of text. Then the rows of no partition in the entity's scope
    (`_undated_scopes`) are rewritten from the folders as they are, whatever the days.
    Results come per file of each day, then for those rows (`dt` None).
    """
    ensure_raw_schema(con)
    loaded_at = next_loaded_at(con, [spec.table])
    known = _KnownFiles(con, spec)
    results: list[FileResult] = []
    batch = _Batch()

    def flush() -> None:
        nonlocal batch
        if batch.days:
            _write_batch(con, spec, batch, loaded_at)
            results.extend(
                FileResult(
                    spec.source,
                    spec.entity,
                    e.day,
                    e.file,
                    e.status,
                    e.records_read,
                    e.records_read - e.records_rejected,
                    e.records_rejected,
                    e.error,
                )
                for e in batch.entries
            )
        batch = _Batch()

    for day in days:
        if batch.text_bytes >= BATCH_TEXT_BYTES:
            flush()
        _plan_day(landing, spec, day, known, batch)
    flush()
    strays = _undated_strays(landing, spec)
    _write_undated(con, spec, strays, loaded_at)
    results.extend(
        FileResult(s.source, s.entity, None, s.file, s.status, 0, 0, 0, s.reason) for s in strays
    )
    return results


def load_partition(
    con: duckdb.DuckDBPyConnection, landing: Path, spec: EntitySpec, day: dt.date
) -> list[FileResult]:
    """Replace everything loaded for one entity and day with the files in its folder."""
    return load_partitions(con, landing, spec, [day])


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
