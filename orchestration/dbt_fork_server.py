"""dbt's start-up paid once a run: a server that imports dbt, then forks a process for each
dbt command of the run (issue #18, fixed cost).

A dbt command used to start a new Python that imported dbt-core, its adapters and their
dependencies before doing anything: about 2.5 s of CPU on this project's machines, three
times in every `journey run` (one command per dbt group) and in every run of the test
suite. Here the dbt resource (orchestration/dbt_cli.py) starts this server when a run
begins, so the imports happen while the run loads its landing files; each `journey-dbt`
the run starts (dagster-dbt's dbt executable, orchestration/dbt_entry.py) is then a small
client that hands the server its command line, environment, working folder and its
standard input, output and error, and the server forks a process that runs dbt with them,
already imported. What dbt does and prints is unchanged: the forked process writes to the
client's own output (the pipe dagster-dbt reads), and the client exits with its exit code.

Processes and signals, as with a plain subprocess:
- the server is a child of the run's process, in its process group; the processes it forks
  are in that group too, so killing the run's process group (Ctrl-C in a terminal, a
  SIGKILL of the group) reaches dbt as before;
- the client passes SIGINT and SIGTERM on to its dbt process (dagster-dbt interrupts dbt
  with SIGINT), also one that came before the process started; a client that is gone (killed
  alone) takes its command with it (the server ends it with SIGTERM);
- the server stops when the run's resources are torn down, and on its own within a tenth
  of a second if the process that started it has gone.

In `ps`, a dbt command forked from the server shows the server's command line
(`python -u -m orchestration.dbt_fork_server …`), and its client `journey-dbt …` beside it.

Only where `fork` is safe and cheap: Linux. Elsewhere, and whenever the server cannot be
reached before a command started, `journey-dbt` runs dbt itself, as before.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from orchestration.processes import process_is_alive

# The environment variable through which the dbt resource tells `journey-dbt` where the
# run's server listens (not a setting: the address of a socket that lives for one run).
ADDRESS_ENV = "JOURNEY_DBT_FORK_SERVER"
# What a forked process runs: `module:function`, called with no argument once the process
# has the client's command line (sys.argv), environment, folder and standard streams.
DBT_ENTRY = "orchestration.dbt_entry:run_dbt"
# Imported by the server before it forks anything: what every dbt command imports (the
# adapters where installed).
PRELOAD = (
    "orchestration.dbt_entry",
    "dbt.cli.main",
    "dbt.task.build",
    "dbt.task.list",
    "dbt.parser.manifest",
    "dbt.compilation",
    "dbt.adapters.duckdb",
    "dbt.adapters.spark",
)
# The server's socket folder in the temporary folder: this, the run's pid, a random part.
FOLDER_PREFIX = "journey-dbt-"
# How often the server looks whether the process that started it is still there and which
# of its commands have ended (a command's exit code reaches its client within this).
POLL_SECONDS = 0.05
# How long a client waits to be connected, and the run for the server to listen (it binds
# its socket before it imports anything heavy).
CONNECT_TIMEOUT_SECONDS = 5.0
START_TIMEOUT_SECONDS = 10.0
# How long the server waits for a connected client's request.
REQUEST_TIMEOUT_SECONDS = 5.0
# The signals a client passes on to its command.
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_LENGTH = struct.Struct("!I")
_PID = struct.Struct("!q")
_STATUS = struct.Struct("!i")


def available() -> bool:
    """Whether this platform runs dbt commands forked from a server (Linux)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


# --- the server --------------------------------------------------------------------------


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the client went away")
        data += chunk
    return data


def _receive_request(conn: socket.socket) -> tuple[dict, list[int]]:
    """The client's request (command line, environment, folder) and its three streams."""
    conn.settimeout(REQUEST_TIMEOUT_SECONDS)  # a silent client must not stall the others
    head, fds, _, _ = socket.recv_fds(conn, _LENGTH.size, 3)
    try:
        if len(head) < _LENGTH.size:
            head += _read_exactly(conn, _LENGTH.size - len(head))
        (size,) = _LENGTH.unpack(head)
        request = json.loads(_read_exactly(conn, size))
        if len(fds) != 3:
            raise ConnectionError("the client sent no standard streams")
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    conn.settimeout(None)
    return request, fds


def _run_child(request: dict, fds: list[int], entry: Callable[[], object], mask) -> int:
    """In the forked process: become the client's command, run `entry`, return its code."""
    for number, fd in enumerate(fds):
        os.dup2(fd, number)
        os.close(fd)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = list(request["argv"])
    # What Python reads from the environment only when it starts is the server's, which has
    # the run's environment; but the run sets warning filters for dbt (PYTHONWARNINGS), so the
    # client's are applied as a new process would apply them.
    filters = [item for item in os.environ.get("PYTHONWARNINGS", "").split(",") if item]
    process_options = getattr(warnings, "_processoptions", None)  # what -W and it go through
    if filters and process_options is not None:
        process_options(filters)
    # dbt caches the DBT_ENV_CUSTOM_ENV_* variables the first time it logs, which an
    # adapter's import can do in the server: read them again from the client's.
    with contextlib.suppress(ImportError):
        from dbt_common.events.functions import reset_metadata_vars

        reset_metadata_vars()
    # Python's stream objects stay: they write to descriptors 0-2, now the client's. The
    # server runs unbuffered (python -u), as dagster-dbt asks of dbt (PYTHONUNBUFFERED=1).
    try:
        # A signal forwarded while they were blocked arrives here: an interrupt before the
        # command began ends it as one during it would.
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        entry()
        code = 0
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except KeyboardInterrupt:
        code = 130
    except BaseException:  # a traceback on the client's stderr, as Python prints it
        import traceback

        traceback.print_exc()
        code = 1
    return code


def _exit(code: int) -> None:
    """End a forked command: its atexit handlers (logging's flush, multiprocessing's
    finalizers), its streams flushed, then the process ends without Python's teardown, which
    frees every object one by one: in a process that shares the server's memory (dbt
    imported, the run's parsed project) that took 1.4 s after dbt's last line, a command,
    and freed nothing the command's output needs (dbt closes its warehouse connection and
    files itself)."""
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _load_entry(entry: str) -> Callable[[], object]:
    module, _, function = entry.partition(":")
    return getattr(importlib.import_module(module), function)


def serve(
    address: str,
    parent: int,
    entry: str = DBT_ENTRY,
    preload=PRELOAD,
    prepare: tuple[str, str] | None = None,
) -> None:
    """Listen on the Unix socket `address`, import `preload`, call `prepare` (`module:function`
    and its one text argument) if given, then fork a process running `entry` for each
    client, until the process `parent` is gone or SIGTERM arrives. What `prepare` leaves in
    the server's memory, every process forked afterwards starts with (orchestration/
    dbt_entry.py: the project parsed once for the run's commands). A client that comes
    meanwhile waits in the socket's queue."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(64)
    for module in preload:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    run_entry = _load_entry(entry)
    if prepare is not None:
        _load_entry(prepare[0])(prepare[1])
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    clients: dict[int, socket.socket] = {}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Ctrl-C in a terminal reaches the whole process group: the run stops the server itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        while os.getppid() == parent:
            for key, _ in selector.select(timeout=POLL_SECONDS):
                if key.fileobj is listener:
                    _start_command(listener, selector, clients, run_entry)
                else:
                    _end_command_of_a_gone_client(key, selector, clients)
            _reap(clients, selector)
    finally:
        listener.close()
        for conn in clients.values():
            conn.close()


def _start_command(listener, selector, clients: dict[int, socket.socket], run_entry) -> None:
    """Accept a client and fork its command."""
    conn, _ = listener.accept()
    try:
        request, fds = _receive_request(conn)
    except (ConnectionError, OSError, ValueError):
        conn.close()
        return
    # No signal may reach the forked process before it has its own handlers (the server's
    # would make it exit 0 or ignore an interrupt), nor the server before its client knows
    # the command started.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED_SIGNALS)
    pid = os.fork()
    if pid == 0:  # the command
        selector.close()
        listener.close()
        conn.close()
        for other in clients.values():
            other.close()
        clients.clear()
        _exit(_run_child(request, fds, run_entry, mask))
    for fd in fds:
        os.close(fd)
    try:
        conn.sendall(_PID.pack(pid))
    except OSError:
        os.kill(pid, signal.SIGTERM)  # its client is gone: nobody waits for this command
    clients[pid] = conn
    selector.register(conn, selectors.EVENT_READ, pid)
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _end_command_of_a_gone_client(key, selector, clients: dict[int, socket.socket]) -> None:
    """A client sends nothing once its request is in: readable means it is gone (killed),
    and its command would run on with nobody waiting for it (and hold the warehouse)."""
    pid = key.data
    with contextlib.suppress(OSError):
        if key.fileobj.recv(1):
            return
    selector.unregister(key.fileobj)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)


def _reap(clients: dict[int, socket.socket], selector) -> None:
    """Tell each client whose command has ended its exit code."""
    while clients:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = clients.pop(pid, None)
        if conn is None:
            continue
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(conn)
        code = os.waitstatus_to_exitcode(status)
        with contextlib.suppress(OSError):
            conn.sendall(_STATUS.pack(code))
        conn.close()


# --- the client --------------------------------------------------------------------------


def run_on_server(address: str) -> int | None:
    """Run this process's command line as a process forked by the server at `address`, with
    this process's environment, folder and standard streams; its exit code, or None if the
    server could not be reached before the command started (then run it here)."""
    # SIGINT and SIGTERM go on to the command; one that comes before the command has started
    # (dagster-dbt may interrupt while the server still imports dbt) is passed on once it has.
    command: list[int] = []
    pending: list[int] = []

    def forward(signum, _frame) -> None:
        if not command:
            pending.append(signum)
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(command[0], signum)

    previous = {signum: signal.signal(signum, forward) for signum in FORWARDED_SIGNALS}

    def not_started() -> int | None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        # Interrupted before anything started: stop, as the command would have.
        return 128 + pending[0] if pending else None

    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(CONNECT_TIMEOUT_SECONDS)
    try:
        conn.connect(address)
    except OSError:
        conn.close()
        return not_started()
    conn.settimeout(None)
    env = {key: value for key, value in os.environ.items() if key != ADDRESS_ENV}
    body = json.dumps({"argv": sys.argv, "env": env, "cwd": os.getcwd()}).encode()
    try:
        socket.send_fds(conn, [_LENGTH.pack(len(body))], [0, 1, 2])
        conn.sendall(body)
        (pid,) = _PID.unpack(_read_exactly(conn, _PID.size))
    except (OSError, ConnectionError):
        conn.close()
        return not_started()  # nothing was started: the caller runs the command itself
    command.append(pid)
    for signum in pending:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
    try:
        (code,) = _STATUS.unpack(_read_exactly(conn, _STATUS.size))
    except (OSError, ConnectionError):
        # The server went away with the command still running: wait for it to end.
        while process_is_alive(pid):
            time.sleep(0.1)
        print("journey-dbt: the dbt fork server stopped during the command", file=sys.stderr)
        return 1
    finally:
        conn.close()
    return code if code >= 0 else 128 - code


# --- its lifetime ------------------------------------------------------------------------


def _remove_folders_of_ended_runs() -> None:
    """The socket folders that runs killed with their whole process group (no teardown)
    left behind: `journey-dbt-<pid of the run>-…` whose run has ended."""
    for folder in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*-*"):
        pid = folder.name.removeprefix(FOLDER_PREFIX).partition("-")[0]
        if pid.isdigit() and not process_is_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def fork_server(
    entry: str = DBT_ENTRY, prepare: tuple[str, str] | None = None
) -> Iterator[str | None]:
    """A server for the commands started within; yields its address (None where
    `available()` is false). Stopped and its socket removed on exit. `prepare`: see `serve`."""
    if not available():
        yield None
        return
    _remove_folders_of_ended_runs()
    folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
    address = folder / "socket"
    arguments = [str(address), str(os.getpid()), entry, *(prepare or ())]
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", __name__, *arguments],
        stdin=subprocess.DEVNULL,
    )
    try:
        # Listening in a few hundredths of a second (it binds before it imports dbt); a
        # server that does not start leaves the commands to start as before.
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not address.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        yield str(address) if address.exists() else None
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    serve(
        sys.argv[1],
        int(sys.argv[2]),
        sys.argv[3] if len(sys.argv) > 3 else DBT_ENTRY,
        prepare=(sys.argv[4], sys.argv[5]) if len(sys.argv) > 5 else None,
    )
