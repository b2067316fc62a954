"""The local Spark Connect server ends with the process that started it, however that
process ends (orchestration/spark.py, `spark_server`): a `journey run` on Spark killed by
SIGTERM or SIGKILL (or a scheduler's timeout) leaves no JVM holding gigabytes behind.

The server here is a stand-in that listens on the port it is given and never exits by
itself; the real one is started, used and stopped by the Spark run of
tests/test_spark_engine.py (which also checks that no server outlives that run).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

# The process that starts the server: a stand-in server (listens, writes its pid, sleeps)
# in place of spark-submit, then waits to be killed.
STARTER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from orchestration import spark

    folder = Path(sys.argv[1])
    server = (
        "import os, socket, sys, time; s = socket.socket(); "
        "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); "
        "open(sys.argv[2], 'w').write(str(os.getpid())); time.sleep(600)"
    )
    def server_command(warehouse_dir, port, driver_memory):
        assert driver_memory == "3g", driver_memory
        return [sys.executable, "-c", server, str(port), str(folder / "server.pid")]

    spark.check_available = lambda: None
    spark._server_command = server_command
    with spark.spark_server(folder / "warehouse", driver_memory="3g") as address:
        print(address, flush=True)
        time.sleep(600)
    """
)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_the_server_ends_when_its_run_is_killed(tmp_path: Path, signum: int):
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(tmp_path)],
        cwd=Path(__file__).parents[1],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert starter.stdout.readline().startswith("sc://127.0.0.1:")
        server = int((tmp_path / "server.pid").read_text())
        assert _alive(server)
        starter.send_signal(signum)
        starter.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _alive(server) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(server), "the server outlived the process that started it"
    finally:
        starter.kill()
        starter.wait()
        pid_file = tmp_path / "server.pid"
        if pid_file.exists() and _alive(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, ended but not yet reaped by init, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
