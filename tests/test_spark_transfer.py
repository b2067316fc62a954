"""Tables crossing between DuckDB and Spark (orchestration/spark.py).

To Spark (`push_tables`): sent in pieces that a Spark driver holds without running out of
memory, written as one table of every row, timestamps as UTC, an empty table with its
columns. Back (`pull_tables`): a table whose Parquet files are on this machine read by
DuckDB from its files (Spark's INT96 timestamps as the same wall clock), anything else
(a view, a partitioned table, files elsewhere) as Arrow through Spark.

Against stand-ins for the Spark Connect session that record what they are sent and answer
what `pull_tables` asks: the real server does both in the Spark run of
tests/test_spark_engine.py (one piece a table at that size).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration import spark


class RecordingSpark:
    """Just enough of a Spark Connect session: every piece written, with its mode."""

    def __init__(self):
        self.statements: list[str] = []
        self.writes: list[tuple[str, str, pa.Table | None, object]] = []

    def sql(self, statement: str):
        self.statements.append(statement)

    def createDataFrame(self, data, schema=None):
        return _Frame(self, data, schema)

    def saved(self, relation: str, mode: str, rows: pa.Table | None, partition_by) -> None:
        pass


class _Frame:
    def __init__(self, session: RecordingSpark, data, schema):
        self.session, self.data, self.schema, self.mode_ = session, data, schema, None
        self.partition_by: tuple[str, ...] = ()

    @property
    def write(self):
        return self

    def mode(self, mode: str):
        self.mode_ = mode
        return self

    def format(self, name: str):
        assert name == "parquet"
        return self

    def partitionBy(self, *columns: str):
        self.partition_by = columns
        return self

    def saveAsTable(self, relation: str):
        rows = self.data if isinstance(self.data, pa.Table) else None
        self.session.writes.append((relation, self.mode_, rows, self.schema))
        self.session.saved(relation, self.mode_, rows, self.partition_by)


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute("create schema raw")
    con.execute(
        "create table raw.web_events as select i as id, repeat('x', 100) as payload, "
        "timestamp '2026-01-01 00:00:00' + to_seconds(i) as event_at from range(5000) r(i)"
    )
    con.execute("create table raw.nothing (id integer, event_at timestamp)")
    yield con
    con.close()


def test_a_table_goes_in_pieces_that_together_are_every_row_once(con, monkeypatch):
    monkeypatch.setattr(spark, "PUSH_CHUNK_BYTES", 64 * 1024)
    session = RecordingSpark()
    assert spark.push_tables(session, con, ["raw.web_events"]) == ["raw.web_events (whole)"]
    assert session.statements == ["create database if not exists raw"]
    pieces = [write for write in session.writes if write[0] == "raw.web_events"]
    assert len(pieces) > 5, "a 600 KB table in 64 KB pieces"
    assert [mode for _, mode, _, _ in pieces] == ["overwrite"] + ["append"] * (len(pieces) - 1)
    assert all(rows.nbytes <= 2 * 64 * 1024 for _, _, rows, _ in pieces)
    sent = pa.concat_tables([rows for _, _, rows, _ in pieces])
    assert sent.column("id").to_pylist() == list(range(5000))
    assert sent.schema.field("event_at").type == pa.timestamp("us", tz="UTC")
    assert sent.column("event_at")[61].as_py() == dt.datetime(2026, 1, 1, 0, 1, 1, tzinfo=dt.UTC)


def test_a_small_table_goes_whole_and_an_empty_one_with_its_columns(con):
    session = RecordingSpark()
    spark.push_tables(session, con, ["raw.web_events", "raw.nothing"])
    (whole,) = [write for write in session.writes if write[0] == "raw.web_events"]
    assert whole[1] == "overwrite" and whole[2].num_rows == 5000
    (empty,) = [write for write in session.writes if write[0] == "raw.nothing"]
    _, mode, rows, schema = empty
    assert mode == "overwrite" and rows is None
    assert [field.name for field in schema.fields] == ["id", "event_at"]
    assert schema["event_at"].dataType.typeName() == "timestamp"


class DaySpark(RecordingSpark):
    """A stand-in holding each table's rows and partition columns, which answers what
    `push_tables` asks of a table kept by day (does it exist, its columns, each day's rows
    and latest loaded_at) and carries out its writes and partition drops."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, tuple[pa.Table, tuple[str, ...]]] = {}
        self.catalog = self

    def saved(self, relation, mode, rows, partition_by):
        if mode == "overwrite":
            self.tables[relation] = (rows, partition_by)
        else:
            held, columns = self.tables[relation]
            assert columns == partition_by, "appended with other partitioning"
            self.tables[relation] = (
                pa.concat_tables([held, rows.select(held.column_names)]),
                columns,
            )

    def tableExists(self, relation: str) -> bool:
        return relation in self.tables

    def listColumns(self, relation: str):
        rows, partition_by = self.tables[relation]
        return [_Column(name, name in partition_by) for name in rows.column_names]

    def sql(self, statement: str):
        super().sql(statement)
        held = self.tables.get(statement.split()[2]) if statement.startswith("alter") else None
        if held:
            days = {dt.date.fromisoformat(day) for day in re.findall(r"dt = '([^']+)'", statement)}
            rows, columns = held
            keep = [day not in days for day in rows.column("dt").to_pylist()]
            self.tables[statement.split()[2]] = (rows.filter(pa.array(keep)), columns)
        if statement.startswith("select cast(dt as string)"):
            relation = statement.split(" from ")[1].split()[0]
            with duckdb.connect() as con:
                rows = self.tables[relation][0]
                return _Rows(
                    con.execute(
                        "select dt::varchar, count(*), epoch_us(max(loaded_at)) from rows "
                        "group by all"
                    ).fetchall()
                )
        if statement.startswith("describe table extended"):
            return _Rows([])  # not on this machine: nothing to remember
        return None


@dataclasses.dataclass
class _Column:
    name: str
    isPartition: bool


@pytest.fixture
def raw():
    """A raw table of the loader's form: a landing day's records, each write moving
    loaded_at forward."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute("create schema raw")
    con.execute(
        "create table raw.web_events as select date '2026-01-01' + (i % 3)::int as dt, "
        "'f' || (i % 3) || '.jsonl' as file, i // 3 + 1 as line, '{}' as record, "
        "timestamp '2026-01-05 06:00:00' as loaded_at from range(30) r(i)"
    )
    yield con
    con.close()


def _held(session: DaySpark, relation: str) -> list[tuple]:
    rows = session.tables[relation][0].to_pylist()
    return sorted((row["dt"], row["line"], row["record"]) for row in rows)


def _in_duckdb(con) -> list[tuple]:
    return sorted(con.execute("select dt, line, record from raw.web_events").fetchall())


def test_a_raw_table_is_kept_by_day_and_only_the_days_that_changed_go(raw):
    session = DaySpark()
    by_day = ["raw.web_events"]
    assert spark.push_tables(session, raw, by_day, by_day=by_day) == [
        "raw.web_events (whole: 3 days)"
    ]
    assert session.tables["raw.web_events"][1] == ("dt",)
    assert _held(session, "raw.web_events") == _in_duckdb(raw)

    # Nothing changed: nothing goes.
    session.writes.clear()
    assert spark.push_tables(session, raw, by_day, by_day=by_day) == [
        "raw.web_events (0 of 3 days sent, 0 dropped)"
    ]
    assert session.writes == []

    # A day reloaded (the same number of rows, loaded later), a record erased (rewritten,
    # loaded later), a day gone (all of its records rejected on a reload), a new day.
    raw.execute(
        "update raw.web_events set loaded_at = timestamp '2026-01-06 06:00:00' "
        "where dt = date '2026-01-02'"
    )
    raw.execute(
        "update raw.web_events set record = '{\"erased\": true}', "
        "loaded_at = timestamp '2026-01-06 07:00:00' where dt = date '2026-01-01' and line = 4"
    )
    raw.execute("delete from raw.web_events where dt = date '2026-01-03'")
    raw.execute(
        "insert into raw.web_events select date '2026-01-04', 'f4.jsonl', i + 1, '{}', "
        "timestamp '2026-01-06 07:00:00' from range(5) r(i)"
    )
    session.writes.clear()
    assert spark.push_tables(session, raw, by_day, by_day=by_day) == [
        "raw.web_events (3 of 3 days sent, 1 dropped)"
    ]
    sent = pa.concat_tables([rows for _, _, rows, _ in session.writes])
    assert sorted(set(sent.column("dt").to_pylist())) == [
        dt.date(2026, 1, 1),
        dt.date(2026, 1, 2),
        dt.date(2026, 1, 4),
    ]
    assert [mode for _, mode, _, _ in session.writes] == ["append"] * len(session.writes)
    assert _held(session, "raw.web_events") == _in_duckdb(raw)


def test_a_raw_table_held_in_another_form_goes_whole_again(raw):
    """A table Spark holds unpartitioned (an earlier version's, a cluster's) or with other
    columns is replaced by one partitioned by day."""
    session = DaySpark()
    spark.push_tables(session, raw, ["raw.web_events"])  # whole, unpartitioned
    assert session.tables["raw.web_events"][1] == ()
    assert spark.push_tables(session, raw, ["raw.web_events"], by_day=["raw.web_events"]) == [
        "raw.web_events (whole: 3 days)"
    ]
    assert session.tables["raw.web_events"][1] == ("dt",)
    raw.execute("alter table raw.web_events add column source varchar")
    assert spark.push_tables(session, raw, ["raw.web_events"], by_day=["raw.web_events"]) == [
        "raw.web_events (whole: 3 days)"
    ]
    assert "source" in session.tables["raw.web_events"][0].column_names


class ServingSpark:
    """Just enough of a Spark Connect session to read tables back: each relation's
    `describe table extended` rows, and its rows as Arrow (recorded when asked)."""

    def __init__(self, tables: dict[str, tuple[list[tuple[str, str]], pa.Table]]):
        self.tables = tables
        self.sent_as_arrow: list[str] = []

    def sql(self, statement: str):
        relation = statement.removeprefix("describe table extended ")
        return _Rows(self.tables[relation][0])

    def table(self, relation: str):
        return _Table(self, relation)


class _Rows:
    def __init__(self, rows):
        self.rows = rows

    def collect(self):
        return self.rows


class _Table:
    def __init__(self, session: ServingSpark, relation: str):
        self.session, self.relation = session, relation

    def toArrow(self):
        self.session.sent_as_arrow.append(self.relation)
        return self.session.tables[self.relation][1]

    @property
    def schema(self):
        return _Schema(self.relation)


class _Schema:
    def __init__(self, relation: str):
        self.relation = relation

    def json(self) -> str:
        return f'{{"type": "struct", "fields": [], "of": "{self.relation}"}}'


def _spark_rows(n: int) -> pa.Table:
    """Rows as Spark holds them: timestamps as UTC instants."""
    return pa.table(
        {
            "id": pa.array(range(n), pa.int32()),
            "seen_at": pa.array(
                [dt.datetime(2026, 3, 29, 1, 30, i % 60, tzinfo=dt.UTC) for i in range(n)],
                pa.timestamp("us", tz="UTC"),
            ),
            "amount": pa.array([i / 4 for i in range(n)], pa.float64()),
        }
    )


def _spark_table_folder(folder: Path, rows: pa.Table, pieces: int) -> Path:
    """A table folder as Spark writes it: part files (timestamps as INT96), `_SUCCESS`,
    checksum files."""
    folder.mkdir(parents=True)
    size = -(-rows.num_rows // pieces) or 1
    for piece in range(pieces):
        part = folder / f"part-{piece:05d}-c000.snappy.parquet"
        pq.write_table(rows.slice(piece * size, size), part, use_deprecated_int96_timestamps=True)
        (folder / f".{part.name}.crc").write_bytes(b"crc")
    (folder / "_SUCCESS").write_bytes(b"")
    return folder


def _table_details(location: str, provider: str = "parquet") -> list[tuple[str, str]]:
    return [("id", "int"), ("", ""), ("Provider", provider), ("Location", location)]


def test_a_table_on_this_machine_is_read_from_its_files_not_through_spark(tmp_path):
    rows = _spark_rows(1000)
    folder = _spark_table_folder(tmp_path / "marts.db" / "fct_x", rows, pieces=3)
    empty = _spark_table_folder(tmp_path / "marts.db" / "fct_empty", rows.slice(0, 0), 1)
    session = ServingSpark(
        {
            "marts.fct_x": (_table_details(folder.as_uri()), rows),
            "marts.fct_empty": (_table_details(f"file:{empty}"), rows.slice(0, 0)),
        }
    )
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create view marts.fct_x as select 1 as id")  # a DuckDB run's view
    assert spark.pull_tables(session, con, ["marts.fct_x", "marts.fct_empty"]) == [
        "marts.fct_x",
        "marts.fct_empty",
    ]
    assert session.sent_as_arrow == []
    assert con.execute(
        "select table_name, table_type from information_schema.tables order by 1"
    ).fetchall() == [("fct_empty", "BASE TABLE"), ("fct_x", "BASE TABLE")]
    types = con.execute(
        "select data_type from information_schema.columns where table_name = "
        "'fct_x' order by ordinal_position"
    ).fetchall()
    assert types == [("INTEGER",), ("TIMESTAMP",), ("DOUBLE",)]
    assert con.execute("select count(*), sum(id), sum(amount) from marts.fct_x").fetchone() == (
        1000,
        sum(range(1000)),
        sum(range(1000)) / 4,
    )
    assert con.execute("select seen_at from marts.fct_x where id = 61").fetchone() == (
        dt.datetime(2026, 3, 29, 1, 30, 1),
    )
    assert con.execute("select count(*) from marts.fct_empty").fetchone() == (0,)


@pytest.mark.parametrize(
    "details",
    [
        pytest.param([("id", "int"), ("Type", "VIEW")], id="a view"),
        pytest.param(_table_details("s3a://bucket/tables/marts.db/fct_x"), id="object storage"),
        pytest.param(_table_details("PARTITIONED"), id="partitioned"),
        pytest.param(_table_details("MISSING"), id="not on this machine"),
        pytest.param(_table_details("HERE", provider="delta"), id="not plain parquet"),
    ],
)
def test_anything_else_comes_back_through_spark(tmp_path, details):
    rows = _spark_rows(10)
    here = _spark_table_folder(tmp_path / "here", rows, pieces=1)
    partitioned = tmp_path / "partitioned"
    _spark_table_folder(partitioned / "day=2026-03-29", rows, pieces=1)
    places = {"PARTITIONED": partitioned.as_uri(), "MISSING": (tmp_path / "gone").as_uri()}
    places["HERE"] = here.as_uri()
    details = [(name, places.get(value, value)) for name, value in details]
    session = ServingSpark({"marts.fct_x": (details, rows)})
    con = duckdb.connect()
    spark.pull_tables(session, con, ["marts.fct_x"])
    assert session.sent_as_arrow == ["marts.fct_x"]
    assert con.execute("select count(*) from marts.fct_x").fetchone() == (10,)
    assert con.execute("select seen_at from marts.fct_x where id = 1").fetchone() == (
        dt.datetime(2026, 3, 29, 1, 30, 1),
    )


def test_a_partitioned_table_is_read_from_its_partition_folders_and_kept_for_the_next_run(
    tmp_path,
):
    """An incremental base model on Spark: partitioned by landing day, a folder per day.
    DuckDB reads every day's files, the day from the folder names as a date, last as Spark
    orders it; the table's schema is written beside it, so that the next run's server
    registers it again (register_kept_tables)."""
    rows = _spark_rows(30)
    folder = tmp_path / "staging.db" / "base_web__events"
    for day in (1, 2, 3):
        _spark_table_folder(folder / f"landing_dt=2026-03-0{day}", rows.slice(day * 10 - 10, 10), 2)
    details = [
        ("id", "int"),
        ("seen_at", "timestamp"),
        ("amount", "double"),
        ("landing_dt", "date"),
        ("# Partition Information", "", ""),
        ("# col_name", "data_type", "comment"),
        ("landing_dt", "date", None),
        ("", "", ""),
        ("# Detailed Table Information", "", ""),
        ("Provider", "parquet"),
        ("Location", folder.as_uri()),
    ]
    session = ServingSpark({"staging.base_web__events": (details, rows)})
    con = duckdb.connect()
    spark.pull_tables(session, con, ["staging.base_web__events"])
    assert session.sent_as_arrow == []
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_name = 'base_web__events' order by ordinal_position"
    ).fetchall()
    assert columns == [
        ("id", "INTEGER"),
        ("seen_at", "TIMESTAMP"),
        ("amount", "DOUBLE"),
        ("landing_dt", "DATE"),
    ]
    assert con.execute(
        "select landing_dt, count(*), min(id) from staging.base_web__events group by all order by 1"
    ).fetchall() == [
        (dt.date(2026, 3, 1), 10, 0),
        (dt.date(2026, 3, 2), 10, 10),
        (dt.date(2026, 3, 3), 10, 20),
    ]
    record = json.loads((folder / spark.TABLE_RECORD).read_text())
    assert record == {
        "table": "staging.base_web__events",
        "schema": {"type": "struct", "fields": [], "of": "staging.base_web__events"},
        "partition_columns": ["landing_dt"],
    }


def test_a_partition_column_duckdb_cannot_type_from_a_folder_name_comes_through_spark(tmp_path):
    rows = _spark_rows(10)
    folder = tmp_path / "marts.db" / "fct_x"
    _spark_table_folder(folder / "amount=0.25", rows, 1)
    details = [
        ("id", "int"),
        ("# Partition Information", "", ""),
        ("# col_name", "data_type", "comment"),
        ("amount", "decimal(18,2)", None),
        ("Provider", "parquet"),
        ("Location", folder.as_uri()),
    ]
    session = ServingSpark({"marts.fct_x": (details, rows)})
    spark.pull_tables(session, duckdb.connect(), ["marts.fct_x"])
    assert session.sent_as_arrow == ["marts.fct_x"]
    assert not (folder / spark.TABLE_RECORD).exists()


class RegisteringSpark:
    """Just enough of a Spark Connect session to register kept tables: each statement and
    table written recorded, every new table's folder under `tables`."""

    def __init__(self, tables: Path, refused: str = ""):
        self.tables, self.refused = tables, refused
        self.statements: list[str] = []
        self.saved: list[tuple[str, tuple[str, ...], list[str]]] = []

    def sql(self, statement: str):
        self.statements.append(statement)
        relation = statement.removeprefix("describe table extended ")
        schema, _, name = relation.partition(".")
        return _Rows([("Location", (self.tables / f"{schema}.db" / name).as_uri())])

    def createDataFrame(self, data, schema):
        assert data == []
        return _EmptyFrame(self, schema)


class _EmptyFrame:
    def __init__(self, session: RegisteringSpark, schema):
        self.session, self.schema, self.columns = session, schema, ()

    @property
    def write(self):
        return self

    def mode(self, mode: str):
        assert mode == "overwrite"
        return self

    def format(self, name: str):
        assert name == "parquet"
        return self

    def partitionBy(self, *columns: str):
        self.columns = columns
        return self

    def saveAsTable(self, relation: str):
        if relation == self.session.refused:
            raise RuntimeError(f"[TABLE_OR_VIEW_ALREADY_EXISTS] {relation}\nmore lines")
        self.session.saved.append((relation, self.columns, self.schema.fieldNames()))


def test_kept_tables_are_registered_again_and_an_unreadable_record_is_rebuilt(tmp_path):
    """The next run's server registers each partitioned table the last run kept, its
    partition folders moved into the new table. A table whose record is unreadable (a disk
    that filled, a hand edit) does not stop the run: it is left out, so dbt builds it from
    raw, and the reason is returned for the server's log."""
    kept = tmp_path / "kept"
    good = kept / "staging.db" / "base_web__events"
    for day in ("2026-03-01", "2026-03-02"):
        (good / f"landing_dt={day}").mkdir(parents=True)
        (good / f"landing_dt={day}" / "part-00000.parquet").write_bytes(b"rows")
    schema = {
        "type": "struct",
        "fields": [
            {"name": "id", "type": "integer", "nullable": True, "metadata": {}},
            {"name": "landing_dt", "type": "date", "nullable": True, "metadata": {}},
        ],
    }
    record = {"table": "staging.base_web__events", "schema": schema}
    (good / spark.TABLE_RECORD).write_text(
        json.dumps({**record, "partition_columns": ["landing_dt"]})
    )
    broken = kept / "staging.db" / "base_email__events"
    (broken / "landing_dt=2026-03-01").mkdir(parents=True)
    (broken / spark.TABLE_RECORD).write_text('{"table": "staging.base_email__events", "sch')

    refused = kept / "staging.db" / "base_ads__spend"
    refused.mkdir(parents=True)
    (refused / spark.TABLE_RECORD).write_text(
        json.dumps({**record, "table": "staging.base_ads__spend", "partition_columns": ["dt"]})
    )

    session = RegisteringSpark(tmp_path / "tables", refused="staging.base_ads__spend")
    registered, left_out = spark.register_kept_tables(session, kept)

    assert registered == ["staging.base_web__events"]
    assert session.saved == [("staging.base_web__events", ("landing_dt",), ["id", "landing_dt"])]
    table = tmp_path / "tables" / "staging.db" / "base_web__events"
    assert sorted(p.name for p in table.iterdir()) == [
        "landing_dt=2026-03-01",
        "landing_dt=2026-03-02",
    ]
    assert (table / "landing_dt=2026-03-02" / "part-00000.parquet").read_bytes() == b"rows"
    assert "alter table staging.base_web__events recover partitions" in session.statements
    assert not any("base_email__events" in statement for statement in session.statements)
    # Spark refused one: whatever was made of it is dropped, and the run builds it.
    assert "drop table if exists staging.base_ads__spend" in session.statements
    assert left_out == [
        "staging.base_ads__spend: not registered again "
        "([TABLE_OR_VIEW_ALREADY_EXISTS] staging.base_ads__spend)",
        left_out[1],
    ]
    assert left_out[1].startswith(f"staging.db/base_email__events: its {spark.TABLE_RECORD}")
