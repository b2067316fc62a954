"""The Spark engine (JOURNEY_ENGINE=spark, issue #21): a Spark Connect server that Dagster
and dbt share, and the tables that cross between Spark and DuckDB.

One Spark Connect server serves a run: a local one (Spark in local mode, started by the
run and stopped at its end, its Parquet tables in `spark/tables` in the warehouse folder;
when it starts it registers again the previous run's partitioned tables, the loader's raw
tables and the incremental base models, and drops the rest), or the one JOURNEY_SPARK_REMOTE
names (a cluster's). The server
holds the catalog, so the dbt processes (dbt-spark's `session` method, which becomes a
Spark Connect client when SPARK_REMOTE is set) and this process (its Arrow transfers) all
see the same tables, which a catalog embedded in each process would not allow.

What crosses, as Arrow over the Spark Connect protocol (so a remote cluster works the same
as the local server):
- to Spark, before each dbt group: the tables that Dagster assets write and the group reads
  as sources (`raw`: the loader's, one rule set for both engines; `measurement`: the Python
  models'); the loader's raw tables kept partitioned by landing day, of which a run sends
  the days that changed, the rest replaced whole;
- from Spark, after each dbt group: every model the group built, into journey.duckdb, where
  the Python models, the run's health and publishing read them as they do on DuckDB; so
  `published/bi.duckdb` and the Parquet files hold the Spark marts. A table whose Parquet
  files are on this machine (the local server's) DuckDB reads from its files instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration.settings import DEFAULT_SPARK_DRIVER_MEMORY

# How long a local Spark Connect server may take to start (a JVM, the catalog's first use).
START_TIMEOUT_SECONDS = 180

# The local server's JVM (spark-submit's --driver-java-options): a server lives for one run,
# a few minutes of many small statements, where Java's quick compiler alone (C1) costs less
# than its default two tiers (7 Dec, 228 data-test-like statements on 4 threads, 2 cores:
# 30 % less CPU, 25 % less time). C1-only mode reserves a 48 MB code cache by default, which
# ran out ("Out of space in CodeCache"); 256 MB is the default tiered mode's room.
LOCAL_SERVER_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m"

# The local server's log (logs/spark-connect.log): Spark's warnings and errors, and the line
# saying where it listens. At Spark's default level (INFO) a run of the suite's landing wrote
# 155 000 lines (11 MB), a line for each task and stage and a protobuf dump in each job's
# description, in which a warning could not be found by reading.
LOG4J2_PROPERTIES = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = stderr
appender.console.type = Console
appender.console.name = stderr
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.server.name = org.apache.spark.sql.connect.service.SparkConnectServer
logger.server.level = info
"""

# The size of a piece of a table sent to Spark (push_tables): what the server's driver holds
# for it at once, a few times over, as Spark's rows.
PUSH_CHUNK_BYTES = 32 * 1024 * 1024


class SparkUnavailable(RuntimeError):
    """The Spark engine cannot start here; the message says what to install or set."""


def server_configuration(warehouse_dir: Path) -> dict[str, str]:
    """The local server's Spark settings: local mode on every core, UTC, Parquet tables under
    warehouse_dir/spark/tables, no web UI. The catalog is Spark's in-memory one: the tables a
    run keeps for the next (the partitioned incremental models) are registered again when the
    next server starts (register_kept_tables), every other one is rebuilt (Derby's catalog,
    the embedded one that outlives the server, made a run about 14 % slower)."""
    spark_dir = warehouse_dir / "spark"
    return {
        "spark.sql.catalogImplementation": "in-memory",
        "spark.sql.warehouse.dir": str(spark_dir / "tables"),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "4",
        # DuckDB's `timestamp` (no time zone) in Parquet as Spark's `timestamp`, as the
        # models make it (the session time zone is UTC), not as `timestamp_ntz`.
        "spark.sql.parquet.inferTimestampNTZ.enabled": "false",
        "spark.ui.enabled": "false",
        "spark.connect.grpc.binding.address": "127.0.0.1",
    }


def check_available() -> None:
    """Raise SparkUnavailable, in one line, when Spark cannot run on this machine."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise SparkUnavailable(
            "JOURNEY_ENGINE=spark needs the extra `spark` (uv sync --extra spark, or the "
            "repository's dev group, which includes it)"
        ) from exc
    if not shutil.which("java"):
        raise SparkUnavailable(
            "JOURNEY_ENGINE=spark needs Java 17 or 21 on PATH (Debian: apt-get install "
            "openjdk-17-jre-headless), or JOURNEY_SPARK_REMOTE=sc://host:port of a Spark "
            "Connect server"
        )


@contextlib.contextmanager
def spark_server(
    warehouse_dir: Path, remote: str = "", driver_memory: str = DEFAULT_SPARK_DRIVER_MEMORY
) -> Iterator[str]:
    """The Spark Connect address for a run: `remote` as it is, or a local server with
    `driver_memory` (its heap, a JVM size such as 4g) started now (its log in
    warehouse_dir/logs/spark-connect.log) and stopped on exit."""
    if remote:
        yield remote
        return
    check_available()
    spark_dir = warehouse_dir / "spark"
    # The previous run's tables: the partitioned ones (raw, the incremental base models) are
    # registered again below, the rest rebuilt by the run.
    kept = spark_dir / "kept"
    shutil.rmtree(kept, ignore_errors=True)
    if (spark_dir / "tables").exists():
        (spark_dir / "tables").rename(kept)
    spark_dir.mkdir(parents=True, exist_ok=True)
    (spark_dir / "log4j2.properties").write_text(LOG4J2_PROPERTIES)
    log_dir = warehouse_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    command = _server_command(warehouse_dir, port, driver_memory)
    log_path = log_dir / "spark-connect.log"
    with open(log_path, "ab") as log:
        log.write(f"journey: starting the local server: {shlex.join(command)}\n".encode())
        log.flush()
        # Its own process group: a Ctrl-C reaches the run first, which then stops it. And it
        # ends with the thread that starts it (a run's main thread) however that ends
        # (SIGTERM, SIGKILL, a crash): a killed run leaves no server holding gigabytes.
        server = subprocess.Popen(
            command,
            cwd=spark_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_ends_with(os.getpid()),
        )
    try:
        _wait_until_listening(server, port, log_path)
        address = f"sc://127.0.0.1:{port}"
        if kept.exists():
            registered, left_out = register_kept_tables(connect(address), kept)
            shutil.rmtree(kept, ignore_errors=True)
            with open(log_path, "a") as log:
                log.write(f"journey: kept from the last run: {', '.join(registered) or 'none'}\n")
                for line in left_out:
                    log.write(f"journey: rebuilt from scratch: {line}\n")
        yield address
    finally:
        try:
            _close_clients()
        finally:
            _stop(server)


def _server_command(warehouse_dir: Path, port: int, driver_memory: str) -> list[str]:
    import pyspark

    command = [str(Path(pyspark.__file__).parent / "bin" / "spark-submit")]
    command += ["--class", "org.apache.spark.sql.connect.service.SparkConnectServer"]
    command += ["--name", "journey", "--master", "local[*]", "--driver-memory", driver_memory]
    log_configuration = (warehouse_dir / "spark" / "log4j2.properties").as_uri()
    java_options = f"{LOCAL_SERVER_JAVA_OPTIONS} -Dlog4j2.configurationFile={log_configuration}"
    command += ["--driver-java-options", java_options]
    settings = {**server_configuration(warehouse_dir), "spark.connect.grpc.binding.port": port}
    for name, value in settings.items():
        command += ["--conf", f"{name}={value}"]
    command.append("spark-internal")
    return command


def _ends_with(parent: int) -> Callable[[], None] | None:
    """For Popen's preexec_fn (Linux): the child gets SIGTERM when `parent`, the thread that
    starts it, ends (prctl PR_SET_PDEATHSIG, kept through spark-submit's `exec` of Java, so
    the JVM's shutdown hooks run). Elsewhere nothing: `_stop` is then the only way out."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork
    set_parent_death_signal = 1  # PR_SET_PDEATHSIG

    def preexec() -> None:
        prctl(set_parent_death_signal, signal.SIGTERM)
        if os.getppid() != parent:  # it ended before the signal was asked for
            os._exit(1)

    return preexec


def _close_clients() -> None:
    """This process's Spark Connect session released while its server still answers."""
    with contextlib.suppress(Exception):
        from pyspark.sql.connect.session import SparkSession as ConnectSession

        session = ConnectSession.getActiveSession() or ConnectSession._get_default_session()
        if session is not None:
            session.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_listening(server: subprocess.Popen, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:]
            raise SparkUnavailable(
                f"the local Spark Connect server stopped at start ({' '.join(tail)[:300]}); "
                f"see {log_path}"
            )
        with socket.socket() as probe:
            probe.settimeout(1)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    _stop(server)
    raise SparkUnavailable(
        f"the local Spark Connect server did not start in {START_TIMEOUT_SECONDS} s; see {log_path}"
    )


def _stop(server: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (Spark's shutdown hooks run), SIGKILL after a
    minute."""
    with contextlib.suppress(ProcessLookupError):  # it ended on its own meanwhile
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    server.wait()


def connect(remote: str):
    """A Spark Connect session on `remote` (sc://host:port)."""
    from pyspark.sql import SparkSession

    return SparkSession.builder.remote(remote).getOrCreate()


def push_tables(
    spark, con: duckdb.DuckDBPyConnection, relations: Iterable[str], by_day: Iterable[str] = ()
) -> list[str]:
    """Each DuckDB table or view (schema.name) made current in Spark, as a Parquet table of
    the same name (DuckDB's `timestamp` as UTC); returns a line per table saying what went.

    A table of `by_day` (the loader's raw tables: a landing day's rows, `dt`, each write
    moving `loaded_at` forward) is kept in Spark partitioned by `dt` and only the days that
    differ go: a day whose rows are not what Spark holds (its count or latest `loaded_at`
    differs: rows loaded, reloaded, erased or rewritten) replaces Spark's partition, and a
    day DuckDB no longer holds is dropped; the local server keeps such tables from run to
    run (register_kept_tables). Any other table is replaced whole."""
    relations, by_day = list(relations), set(by_day)
    for schema in sorted({relation.split(".")[0] for relation in relations}):
        spark.sql(f"create database if not exists {schema}")
    pushed = []
    for relation in relations:
        if relation in by_day:
            pushed.append(_push_changed_days(spark, con, relation))
        else:
            _send(spark, con, relation, "")
            pushed.append(f"{relation} (whole)")
    return pushed


# The day column of the loader's raw tables, and the column each write moves forward.
DAY_COLUMN, LOADED_AT_COLUMN = "dt", "loaded_at"


def _push_changed_days(spark, con: duckdb.DuckDBPyConnection, relation: str) -> str:
    schema, name = relation.split(".")
    days = {
        day: (rows, last)
        for day, rows, last in con.execute(
            f"select {DAY_COLUMN}::varchar, count(*), epoch_us(max({LOADED_AT_COLUMN})) "
            f'from "{schema}"."{name}" group by all'
        ).fetchall()
    }
    columns = [row[0] for row in con.execute(f'describe "{schema}"."{name}"').fetchall()]
    held = _days_held(spark, relation, columns)
    if held is None:  # none yet, or not as this table is now: sent whole
        _send(spark, con, relation, "", partition_by=DAY_COLUMN)
        sent = f"{relation} (whole: {len(days)} days)"
    else:
        changed = sorted(day for day, state in days.items() if held.get(day) != state)
        gone = sorted(set(held) - set(days))
        if changed or gone:
            partitions = ", ".join(f"partition ({DAY_COLUMN} = '{day}')" for day in changed + gone)
            spark.sql(f"alter table {relation} drop if exists {partitions}")
        if changed:
            days_list = ", ".join(f"'{day}'" for day in changed)
            _send(
                spark,
                con,
                relation,
                f"where {DAY_COLUMN} in ({days_list})",
                partition_by=DAY_COLUMN,
                append=True,
            )
        sent = f"{relation} ({len(changed)} of {len(days)} days sent, {len(gone)} dropped)"
    table = _local_table(spark, relation)
    if table and table.partition_types:
        _remember(spark, relation, table)
    return sent


def _days_held(spark, relation: str, columns: list[str]) -> dict[str, tuple[int, int]] | None:
    """Per day, the rows and latest `loaded_at` (microseconds) of the Spark table `relation`:
    none when there is no such table, or it is not partitioned by day alone, or its columns
    are not `columns`."""
    if not spark.catalog.tableExists(relation):
        return None
    held_columns = spark.catalog.listColumns(relation)
    if [c.name for c in held_columns if c.isPartition] != [DAY_COLUMN] or sorted(
        c.name for c in held_columns
    ) != sorted(columns):
        return None
    rows = spark.sql(
        f"select cast({DAY_COLUMN} as string), count(*), unix_micros(max({LOADED_AT_COLUMN})) "
        f"from {relation} group by {DAY_COLUMN}"
    ).collect()
    return {day: (count, last) for day, count, last in rows}


def _send(
    spark,
    con: duckdb.DuckDBPyConnection,
    relation: str,
    where: str,
    partition_by: str = "",
    append: bool = False,
) -> None:
    """The rows of the DuckDB relation (`where` them) written to the Spark table `relation`:
    replacing it, or appended to it."""
    schema, name = relation.split(".")
    rows = _timestamps_as_utc(
        con.sql(f'select * from "{schema}"."{name}" {where}').to_arrow_table()
    )
    partitioning = (partition_by,) if partition_by else ()
    if not rows.num_rows:
        if append:
            return
        from pyspark.sql.pandas.types import from_arrow_schema

        # Spark infers no schema from no rows
        frame = spark.createDataFrame([], from_arrow_schema(rows.schema))
        frame.write.mode("overwrite").format("parquet").partitionBy(*partitioning).saveAsTable(
            relation
        )
        return
    # In pieces of about PUSH_CHUNK_BYTES: each piece is a local relation that the server
    # holds in its driver's memory at once (a whole raw table of web events ran a 2 GB
    # driver out of heap at 20 000 people by 180 days). Appended by column name.
    per_chunk = max(1, PUSH_CHUNK_BYTES * rows.num_rows // max(rows.nbytes, 1))
    for offset in range(0, rows.num_rows, per_chunk):
        frame = spark.createDataFrame(rows.slice(offset, per_chunk))
        mode = "overwrite" if offset == 0 and not append else "append"
        frame.write.mode(mode).format("parquet").partitionBy(*partitioning).saveAsTable(relation)


def pull_tables(spark, con: duckdb.DuckDBPyConnection, relations: Iterable[str]) -> list[str]:
    """Each Spark relation (schema.name) replaced in journey.duckdb by its rows on Spark, as a
    table of the same name (Spark's timestamps, UTC, as DuckDB's `timestamp`).

    A table whose Parquet files this machine can read (the local server's, or a cluster's on
    a shared file system) is read by DuckDB from its files, streaming: no row passes through
    Spark's driver or this process's memory. Anything else (a view, a partitioned table,
    files on object storage) comes back as Arrow over Spark Connect, whole."""
    pulled = []
    for relation in relations:
        schema, name = relation.split(".")
        table = _local_table(spark, relation)
        files = table.files if table else []
        con.execute(f'create schema if not exists "{schema}"')
        if files and table.partition_types:
            # The partition columns from the folder names, last, as Spark orders them.
            types = ", ".join(f"'{c}': '{t}'" for c, t in table.partition_types.items())
            source = f"read_parquet($files, hive_partitioning = true, hive_types = {{{types}}})"
            _remember(spark, relation, table)
        elif files:
            source = "read_parquet($files)"
        else:
            con.register("spark_rows", _timestamps_as_naive(spark.table(relation).toArrow()))
            source = "spark_rows"
        try:
            is_view = con.execute(
                "select count(*) from duckdb_views() where database_name = current_database() "
                "and schema_name = ? and view_name = ?",
                [schema, name],
            ).fetchone()[0]
            if is_view:  # a DuckDB run's view of the model
                con.execute(f'drop view "{schema}"."{name}"')
            con.execute(
                f'create or replace table "{schema}"."{name}" as select * from {source}',
                {"files": files} if files else None,
            )
        finally:
            if not files:
                con.unregister("spark_rows")
        pulled.append(relation)
    return pulled


# Spark's partition column types that DuckDB reads from folder names (`landing_dt=2026-01-31`).
DUCKDB_PARTITION_TYPES = {"date": "DATE", "string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT"}
# Beside a partitioned table's files: its schema, for the next run's server (register_kept_tables).
TABLE_RECORD = "_journey_table.json"


@dataclasses.dataclass
class LocalTable:
    """A Spark table whose Parquet files are all in its folder on this machine's file system:
    its files (in `name=value` folders when partitioned, one level per partition column) and
    its partition columns with their DuckDB types."""

    folder: Path
    files: list[str]
    partition_types: dict[str, str]


def _remember(spark, relation: str, table: LocalTable) -> None:
    """A partitioned table's schema written beside its files, so that the next run's local
    server registers it again (register_kept_tables); Spark's readers skip `_` files."""
    record = {
        "table": relation,
        "schema": json.loads(spark.table(relation).schema.json()),
        "partition_columns": list(table.partition_types),
    }
    # Written whole or not at all: a run killed meanwhile leaves the last record or none.
    written = table.folder / f"{TABLE_RECORD}.writing"
    written.write_text(json.dumps(record, indent=1))
    written.replace(table.folder / TABLE_RECORD)


def _local_table(spark, relation: str) -> LocalTable | None:
    """The Spark table `relation` when its Parquet files are all in its folder on this
    machine's file system (unpartitioned, or partitioned by columns of a type DuckDB reads
    from folder names), else none. Spark writes a file even for a table of no rows, and its
    `timestamp` as Parquet INT96, which DuckDB reads as a `timestamp` of the same wall clock
    (the session time zone is UTC)."""
    details = [tuple(row) for row in spark.sql(f"describe table extended {relation}").collect()]
    provider = next((row[1] for row in details if row[0] == "Provider"), "")
    folder = _local_folder(details)
    if provider.lower() != "parquet" or folder is None or not folder.is_dir():
        return None
    partition_types = {}
    headings = [row[0] for row in details]
    if "# Partition Information" in headings:
        # `# Partition Information`, `# col_name`, then a row per column until a blank one.
        for column, data_type, *_ in details[headings.index("# Partition Information") + 2 :]:
            if not column or column.startswith("#"):
                break
            if data_type not in DUCKDB_PARTITION_TYPES:
                return None
            partition_types[column] = DUCKDB_PARTITION_TYPES[data_type]
    pattern = "*/" * len(partition_types) + "*.parquet"
    files = sorted(str(file) for file in folder.glob(pattern))
    if not partition_types and any(entry.is_dir() for entry in folder.iterdir()):
        return None  # partitioned, though the catalog does not say so
    if partition_types and not files:
        return None  # no partition yet: no file says what the columns are
    return LocalTable(folder, files, partition_types)


def _local_folder(details) -> Path | None:
    """The folder of a table on this machine's file system, from its `describe table
    extended` rows; none when its files are elsewhere (object storage)."""
    location = next((row[1] for row in details if row[0] == "Location"), "")
    url = urllib.parse.urlparse(location)
    if not location or url.scheme not in ("file", ""):
        return None
    return Path(urllib.request.url2pathname(url.path))


def register_kept_tables(spark, kept: Path) -> tuple[list[str], list[str]]:
    """The partitioned tables of a previous run's local server (`kept`, its tables folder),
    each with a schema record (_remember), registered again in this server's
    catalog with their partitions: a managed table of the same schema, its partition folders
    moved into the new table's folder. The incremental models then overwrite only the
    partitions a run changes. A table without a record (a run killed before it was read back),
    or whose record cannot be read or registered, is left out, so the run builds it from
    scratch (from raw, which DuckDB holds: nothing is lost). Returns the tables registered and
    a line for each one left out, with why."""
    from pyspark.sql.types import StructType

    registered, left_out = [], []
    for record_path in sorted(kept.glob(f"*/*/{TABLE_RECORD}")):
        table_folder = f"{record_path.parent.parent.name}/{record_path.parent.name}"
        try:
            record = json.loads(record_path.read_text())
            relation, columns = record["table"], list(record["partition_columns"])
            schema = StructType.fromJson(record["schema"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            left_out.append(f"{table_folder}: its {TABLE_RECORD} cannot be read ({exc!r})")
            continue
        try:
            spark.sql(f"create database if not exists {relation.split('.')[0]}")
            empty = spark.createDataFrame([], schema)
            writer = empty.write.mode("overwrite").format("parquet").partitionBy(*columns)
            writer.saveAsTable(relation)
            folder = _local_folder(spark.sql(f"describe table extended {relation}").collect())
            folder.mkdir(parents=True, exist_ok=True)
            for partition in record_path.parent.glob(f"{columns[0]}=*"):
                partition.rename(folder / partition.name)
            spark.sql(f"alter table {relation} recover partitions")
        except Exception as exc:  # Spark's or the file system's: the table is rebuilt
            with contextlib.suppress(Exception):
                spark.sql(f"drop table if exists {relation}")
            left_out.append(
                f"{relation}: not registered again ({(str(exc).splitlines() or [repr(exc)])[0]})"
            )
            continue
        registered.append(relation)
    return registered, left_out


def _timestamps_as_utc(table: pa.Table) -> pa.Table:
    """DuckDB's `timestamp` (UTC wall clock, no zone) as UTC instants: Spark's `timestamp`,
    not `timestamp_ntz`."""
    return _cast_timestamps(table, "UTC")


def _timestamps_as_naive(table: pa.Table) -> pa.Table:
    return _cast_timestamps(table, None)


def _cast_timestamps(table: pa.Table, tz: str | None) -> pa.Table:
    fields = [
        field.with_type(pa.timestamp("us", tz=tz))
        if pa.types.is_timestamp(field.type) and field.type.tz != tz
        else field
        for field in table.schema
    ]
    schema = pa.schema(fields)
    return table if schema == table.schema else table.cast(schema)
