"""The dbt fork server (orchestration/dbt_fork_server.py): a dbt command run through it is a
process of its own with the client's command line, environment, folder, standard streams
and exit code; signals and the end of the run reach it as they reach a subprocess; and a
run's dbt commands go through it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import dagster as dg
import pytest

from orchestration import dbt_fork_server
from orchestration.dbt_cli import JourneyDbtCli
from orchestration.processes import process_is_alive
from orchestration.project import DBT_TARGET, dbt_project, pipeline_dbt_executable

pytestmark = pytest.mark.skipif(not dbt_fork_server.available(), reason="Linux only")

PROBE = "tests.fork_server_probe:probe"
CLIENT = (
    "import sys; from orchestration.dbt_fork_server import run_on_server; "
    "code = run_on_server(sys.argv[1]); sys.exit(99 if code is None else code)"
)
REPO = Path(__file__).resolve().parent.parent


def _client(address: str, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CLIENT, address, *args], **kwargs)


def _gone(pid: int, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not process_is_alive(pid):  # a zombie (ended, not waited for) counts as gone
            return True
        time.sleep(0.05)
    return False


def _wait_for(path: Path, seconds: float = 60) -> None:
    """Until the command has written `path` (a file exists empty before it is written)."""
    deadline = time.monotonic() + seconds
    while not _written(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _written(path), "the command did not start"


def _wait_until_it_connects(pid: int, seconds: float = 60) -> None:
    """Until the client has opened its socket to the server, which it does once its
    handlers for SIGINT and SIGTERM are in place (Linux: /proc/<pid>/fd)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
            if any(link.startswith("socket:") for link in links):
                return
        time.sleep(0.01)
    raise AssertionError("the client never opened its socket")


def _written(path: Path) -> bool:
    return path.exists() and path.read_text().strip() != ""


def test_the_command_has_the_clients_arguments_environment_folder_streams_and_exit_code(
    tmp_path,
):
    with dbt_fork_server.fork_server(PROBE) as address:
        client = _client(
            address,
            "report",
            cwd=tmp_path,
            env={
                **os.environ,
                "PROBE_VARIABLE": "from the client",
                "PYTHONWARNINGS": "ignore:a warning the client:UserWarning",
            },
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        out, err = client.communicate("the client's input", timeout=60)

    assert client.returncode == 3, err
    assert err == "to stderr\n"  # and not the warning: the client's filters apply
    report = json.loads(out)
    assert report["cwd"] == str(tmp_path)
    assert report["variable"] == "from the client"
    assert report["argv"] == ["-c", address, "report"]
    assert report["stdin"] == "the client's input"
    assert report["pid"] != client.pid
    assert report["server_address_passed_on"] is False


def test_a_command_ends_with_its_atexit_handlers_and_everything_it_wrote(tmp_path):
    # A forked command ends without Python's teardown (dbt_fork_server._exit): its atexit
    # handlers still run (logging's shutdown flushes and closes its files) and its output
    # reaches the client.
    log = tmp_path / "probe.log"
    with dbt_fork_server.fork_server(PROBE) as address:
        client = _client(address, "atexit", str(log), stdout=subprocess.PIPE, text=True)
        out, _ = client.communicate(timeout=60)

    assert client.returncode == 0
    assert out == "written, at exit\n"
    assert log.read_text() == "logged\n"


def test_sigint_to_the_client_reaches_the_command(tmp_path):
    pid_file = tmp_path / "pid"
    with dbt_fork_server.fork_server(PROBE) as address:
        client = _client(
            address, "wait", str(pid_file), stdout=subprocess.PIPE, text=True, cwd=REPO
        )
        _wait_for(pid_file)
        client.send_signal(signal.SIGINT)  # what dagster-dbt does to interrupt dbt
        out, _ = client.communicate(timeout=30)

    assert client.returncode == 7
    assert out == "interrupted\n"


def test_an_interrupt_before_the_command_started_still_stops_it(tmp_path):
    """dagster-dbt may interrupt while the server still imports dbt: the client keeps the
    signal and passes it on once the command has started."""
    pid_file = tmp_path / "pid"
    with dbt_fork_server.fork_server(PROBE) as address:
        client = _client(address, "wait", str(pid_file), cwd=REPO)
        # Connected, its handlers in place (a loaded machine takes more than half a second
        # to start it); the server is still importing dbt.
        _wait_until_it_connects(client.pid)
        assert not pid_file.exists()
        client.send_signal(signal.SIGINT)
        client.wait(timeout=60)
        command = int(pid_file.read_text()) if pid_file.exists() else None

    assert client.returncode in (7, 130)  # interrupted in its loop, or before it
    assert command is None or _gone(command)


def test_a_client_killed_alone_takes_its_command_with_it(tmp_path):
    """Killed without its process group (not as a run is), the command would run on with
    nobody waiting for it, holding the warehouse: the server ends it."""
    pid_file = tmp_path / "pid"
    with dbt_fork_server.fork_server(PROBE) as address:
        client = _client(address, "wait", str(pid_file), cwd=REPO)
        _wait_for(pid_file)
        command = int(pid_file.read_text())
        client.kill()
        client.wait()

        assert _gone(command), "the command outlived its client"


DRIVER = textwrap.dedent(
    """
    import os, subprocess, sys, time
    from pathlib import Path
    from orchestration import dbt_fork_server

    pid_file, mode = Path(sys.argv[1]), sys.argv[2]
    with dbt_fork_server.fork_server("tests.fork_server_probe:probe") as address:
        print(address, flush=True)
        if mode == "parent gone":
            os._exit(0)
        client = subprocess.Popen(
            [sys.executable, "-c", sys.argv[3], address, "wait", str(pid_file)]
        )
        client.wait()
    """
)


def _server_pid(address: str) -> int | None:
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                command = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if address.encode() in command and b"orchestration.dbt_fork_server" in command:
                return int(proc.name)
    return None


def _children(pid: int) -> list[int]:
    children = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(proc.name))
    return children


def test_killing_the_runs_process_group_kills_the_command(tmp_path):
    """As `journey run` is killed (tests/test_operations.py): the server and the processes it
    forks are in the run's process group."""
    pid_file = tmp_path / "pid"
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(pid_file), "run", CLIENT],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    address = driver.stdout.readline().strip()
    _wait_for(pid_file)
    command = int(pid_file.read_text())
    server = _server_pid(address)
    assert server is not None

    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()

    assert _gone(command), "the command outlived the run's process group"
    assert _gone(server), "the server outlived the run's process group"


def test_the_server_stops_when_the_process_that_started_it_is_gone(tmp_path):
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(tmp_path / "pid"), "parent gone"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    address = driver.stdout.readline().strip()
    server = _server_pid(address)
    driver.wait()

    assert server is not None
    assert _gone(server), "the server outlived the process that started it"


def test_journey_dbt_runs_dbt_itself_when_the_server_cannot_be_reached(tmp_path):
    env = {**os.environ, dbt_fork_server.ADDRESS_ENV: str(tmp_path / "no-such-socket")}
    result = subprocess.run(
        [pipeline_dbt_executable(), "--help"], env=env, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: journey-dbt [OPTIONS] [COMMAND]")


def test_a_runs_dbt_commands_go_through_its_server_with_the_same_output(monkeypatch):
    from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

    seen: list[str | None] = []
    original = DbtCliInvocation.run.__func__

    def run(cls, *args, **kwargs):
        address = kwargs["env"].get(dbt_fork_server.ADDRESS_ENV)
        seen.append(address if address and Path(address).exists() else None)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(DbtCliInvocation, "run", classmethod(run))
    # Not --quiet: dbt's first event ("Running with dbt=…") comes while it still has the
    # project to read, so the forked process is there to be seen.
    command = ["ls", "--resource-type", "seed", "--output", "name"]
    resource = JourneyDbtCli(
        project_dir=dbt_project, dbt_executable=pipeline_dbt_executable(), target=DBT_TARGET
    )
    plain = list(resource.cli(command).stream_raw_events())
    forked, forked_by_server = [], []
    with dg.build_resources({"dbt": resource}) as resources:
        for event in resources.dbt.cli(command).stream_raw_events():
            if not forked:  # dbt is running: is it a process the server forked?
                server = _server_pid(seen[1])
                forked_by_server.append(server is not None and _children(server) != [])
            forked.append(event)

    assert seen[0] is None and seen[1] is not None
    assert forked_by_server == [True], "the command did not run in a process the server forked"
    assert not Path(seen[1]).exists(), "the server's socket is removed with the resource"
    listed = [
        [e.raw_event["info"]["msg"] for e in run if e.raw_event["info"]["name"] == "PrintEvent"]
        for run in (plain, forked)
    ]
    assert listed[1] == listed[0] and len(listed[0]) == 9  # the seeds


def test_a_server_removes_the_socket_folders_of_runs_that_ended_without_teardown():
    # A run killed with its process group (SIGKILL) leaves its server's folder behind.
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    temporary = Path(tempfile.gettempdir())
    left = temporary / f"{dbt_fork_server.FOLDER_PREFIX}{int(ended.stdout)}-test"
    running = temporary / f"{dbt_fork_server.FOLDER_PREFIX}{os.getpid()}-test"
    other = temporary / f"{dbt_fork_server.FOLDER_PREFIX}test-not-a-run"
    for folder in (left, running, other):
        folder.mkdir(exist_ok=True)
    try:
        with dbt_fork_server.fork_server(PROBE) as address:
            assert Path(address).parent.name.startswith(
                f"{dbt_fork_server.FOLDER_PREFIX}{os.getpid()}-"
            )
        assert not left.exists()
        assert running.exists() and other.exists()
    finally:
        for folder in (left, running, other):
            shutil.rmtree(folder, ignore_errors=True)
