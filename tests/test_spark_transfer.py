"""Tables on their way to Spark (orchestration/spark.py, `push_tables`): sent in pieces that
a Spark driver holds without running out of memory, written as one table of every row,
timestamps as UTC, an empty table with its columns.

Against a stand-in for the Spark Connect session that records what it is sent: the real
server takes these writes in the Spark run of tests/test_spark_engine.py (one piece a table
at that size).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
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


class _Frame:
    def __init__(self, session: RecordingSpark, data, schema):
        self.session, self.data, self.schema, self.mode_ = session, data, schema, None

    @property
    def write(self):
        return self

    def mode(self, mode: str):
        self.mode_ = mode
        return self

    def format(self, name: str):
        assert name == "parquet"
        return self

    def saveAsTable(self, relation: str):
        rows = self.data if isinstance(self.data, pa.Table) else None
        self.session.writes.append((relation, self.mode_, rows, self.schema))


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
    assert spark.push_tables(session, con, ["raw.web_events"]) == ["raw.web_events"]
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
