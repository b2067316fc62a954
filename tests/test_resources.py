"""The warehouse resource: a locked DuckDB file is retried with backoff, then reported."""

from __future__ import annotations

import subprocess
import sys
import time

import duckdb
import pytest

from orchestration.defs import resources

HOLD_LOCK = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _hold_lock(path, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_transient_lock_is_retried_until_the_file_is_free(tmp_path, monkeypatch):
    path = tmp_path / "journey.duckdb"
    duckdb.connect(str(path)).close()
    monkeypatch.setattr(resources, "LOCK_RETRY_SECONDS", (0.5, 0.5, 1, 1, 2, 2, 4))
    holder = _hold_lock(path, 1.5)
    started = time.monotonic()
    try:
        con = resources.open_with_retry(path)
        con.execute("create table written_after_the_lock as select 1 as x")
        con.close()
    finally:
        holder.wait()
    assert time.monotonic() - started >= 1.0, "the first attempts met the lock"


def test_a_persistent_lock_fails_with_a_message_that_says_what_to_do(tmp_path, monkeypatch):
    path = tmp_path / "journey.duckdb"
    duckdb.connect(str(path)).close()
    monkeypatch.setattr(resources, "LOCK_RETRY_SECONDS", (0.1, 0.2))
    holder = _hold_lock(path, 30)
    try:
        with pytest.raises(RuntimeError) as raised:
            resources.open_with_retry(path)
    finally:
        holder.kill()
        holder.wait()
    message = str(raised.value)
    assert str(path) in message
    assert "held by another process" in message and "bi.duckdb" in message
