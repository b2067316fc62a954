"""The `journey` command stops on a misconfiguration with one line that says what to do and
exit code 2, before any work; a run that cannot start because another holds the warehouse
stops at once with exit code 1, naming the holder."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestration.cli import main
from orchestration.project import REPO_ROOT


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("JOURNEY_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("JOURNEY_LANDING_DIR", str(tmp_path / "landing"))
    return tmp_path


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_a_missing_landing_folder_says_which_variable_to_set(env, capsys):
    assert main(["run"]) == 2
    err = _one_line_error(capsys)
    assert "does not exist" in err and "JOURNEY_LANDING_DIR" in err


def test_an_empty_landing_folder_says_what_is_expected(env, capsys):
    (env / "landing").mkdir()
    assert main(["run"]) == 2
    assert "dt=YYYY-MM-DD" in _one_line_error(capsys)


def test_a_bad_date_says_the_expected_format(env, capsys):
    assert main(["run", "--from", "2026-13-01"]) == 2
    assert "use YYYY-MM-DD" in _one_line_error(capsys)


def test_a_reversed_range_says_to_swap_the_dates(env, capsys):
    assert main(["run", "--from", "2026-02-02", "--to", "2026-02-01"]) == 2
    assert "swap them" in _one_line_error(capsys)


def test_a_range_outside_the_landing_days_names_the_days_present(env, landing, capsys):
    landing.root = env / "landing"
    landing.write_jsonl("web", "events", "part-0.jsonl", ["{}"])
    assert main(["run", "--from", "2025-01-01", "--to", "2025-01-31"]) == 2
    assert "2026-03-10" in _one_line_error(capsys)


def test_an_unknown_reporting_time_zone_is_refused(env, monkeypatch, capsys):
    monkeypatch.setenv("JOURNEY_REPORTING_TZ", "Mars/Olympus")
    assert main(["run"]) == 2
    assert "IANA time zone" in _one_line_error(capsys)


def test_an_unknown_engine_is_refused(env, monkeypatch, capsys):
    monkeypatch.setenv("JOURNEY_ENGINE", "flink")
    assert main(["run"]) == 2
    err = _one_line_error(capsys)
    assert "JOURNEY_ENGINE='flink'" in err and "duckdb, spark" in err


def test_a_spark_remote_that_is_not_spark_connect_is_refused(env, monkeypatch, capsys):
    monkeypatch.setenv("JOURNEY_ENGINE", "spark")
    monkeypatch.setenv("JOURNEY_SPARK_REMOTE", "spark://cluster:7077")
    assert main(["run"]) == 2
    assert "sc://host:port" in _one_line_error(capsys)


@pytest.mark.parametrize("size", ["4 GB", "4GB8", "0g", "lots"])
def test_a_spark_driver_memory_that_is_not_a_size_is_refused(env, monkeypatch, capsys, size):
    monkeypatch.setenv("JOURNEY_ENGINE", "spark")
    monkeypatch.setenv("JOURNEY_SPARK_DRIVER_MEMORY", size)
    assert main(["run"]) == 2
    err = _one_line_error(capsys)
    assert f"JOURNEY_SPARK_DRIVER_MEMORY={size!r}" in err and "such as 8g" in err


def test_spark_without_java_says_what_to_install(env, monkeypatch, capsys):
    monkeypatch.setenv("JOURNEY_ENGINE", "spark")
    monkeypatch.setenv("PATH", str(env))  # no java on it
    (env / "landing" / "web" / "events" / "dt=2026-01-01").mkdir(parents=True)
    assert main(["run"]) == 2
    err = _one_line_error(capsys)
    assert "Java 17 or 21" in err and "JOURNEY_SPARK_REMOTE" in err


def test_generate_writes_the_same_bytes_for_the_same_arguments(tmp_path, capsys):
    args = ["--customers", "50", "--days", "2", "--start", "2026-01-01", "--seed", "3"]
    assert main(["generate", "--out", str(tmp_path / "a"), *args]) == 0
    assert main(["generate", "--out", str(tmp_path / "b"), *args]) == 0
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.*"))
    assert files_a == files_b
    assert all(
        (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files_a
    )


def test_a_warehouse_path_that_is_a_file_is_refused(env, capsys):
    (env / "warehouse").write_text("not a folder")
    assert main(["run"]) == 2
    err = _one_line_error(capsys)
    assert "JOURNEY_WAREHOUSE_DIR" in err and "is a file" in err


def test_a_warehouse_folder_that_cannot_be_written_is_refused(env, monkeypatch, capsys):
    # procfs accepts no new files, even from root (who may write to a chmod 555 folder).
    monkeypatch.setenv("JOURNEY_WAREHOUSE_DIR", "/proc/1")
    assert main(["run"]) == 2
    err = _one_line_error(capsys)
    assert "JOURNEY_WAREHOUSE_DIR" in err and "not writable" in err


def test_a_landing_path_that_is_a_file_is_refused(env, capsys):
    (env / "landing").write_text("not a folder")
    assert main(["run"]) == 2
    err = _one_line_error(capsys)
    assert "JOURNEY_LANDING_DIR" in err and "is a file" in err


def test_a_landing_folder_with_no_known_source_names_what_it_found(env, capsys):
    (env / "landing" / "clickstream" / "events" / "dt=2026-01-01").mkdir(parents=True)
    assert main(["run"]) == 2
    err = _one_line_error(capsys)
    assert "no known source" in err and "clickstream" in err and "web" in err


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("JOURNEY_DUCKDB_MEMORY_LIMIT", "lots"),
        ("JOURNEY_DUCKDB_THREADS", "two"),
        ("JOURNEY_DUCKDB_THREADS", "0"),
        ("JOURNEY_DBT_THREADS", "-1"),
        ("JOURNEY_WEB_LATE_DATA_LOOKBACK_DAYS", "a week"),
        ("JOURNEY_EMAIL_LATE_DATA_LOOKBACK_DAYS", "-2"),
        ("JOURNEY_HEALTH_MAX_REJECTED_SHARE_WARN", "many"),
    ],
)
def test_a_malformed_setting_is_named_before_any_work(env, monkeypatch, capsys, name, value):
    monkeypatch.setenv(name, value)
    started = time.monotonic()
    assert main(["run"]) == 2
    assert name in _one_line_error(capsys)
    assert time.monotonic() - started < 10  # refused up front, not after a run's work
    assert not (env / "warehouse" / "journey.duckdb").exists()


def test_a_second_run_on_a_warehouse_in_use_stops_at_once_naming_the_holder(env, capsys):
    warehouse = env / "warehouse"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from orchestration.runlock import warehouse_lock\n"
            "with warehouse_lock(Path(sys.argv[1]), 'journey run (the first one)'):\n"
            "    print('held', flush=True); time.sleep(60)",
            str(warehouse),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main(["run"]) == 1
        err = _one_line_error(capsys)
        assert "in use by journey run (the first one)" in err and f"pid {holder.pid}" in err
    finally:
        holder.kill()
        holder.wait()


def test_publish_without_a_warehouse_says_to_run_first(env, capsys):
    assert main(["publish"]) == 2
    assert "run `journey run` first" in _one_line_error(capsys)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _group_members(group: int) -> list[str]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(text.split(")", 1)[0])
    return members


def test_ui_stopped_with_sigterm_leaves_no_process_and_no_listener(env):
    port = _free_port()
    ui = subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "ui", "--port", str(port)],
        cwd=REPO_ROOT,
        env={**os.environ, "DAGSTER_HOME": str(env / "dagster_home")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, as from a terminal
    )
    try:
        deadline = time.monotonic() + 300
        while not _listening(port) and time.monotonic() < deadline and ui.poll() is None:
            time.sleep(1)
        assert _listening(port), "the UI never answered"
        assert len(_group_members(ui.pid)) >= 3  # journey, the webserver, the daemon, ...
        ui.send_signal(signal.SIGTERM)
        assert ui.wait(timeout=90) == 0
        assert _group_members(ui.pid) == []
        assert not _listening(port)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(ui.pid, signal.SIGKILL)
