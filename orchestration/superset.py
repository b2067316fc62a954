"""`journey superset`: Apache Superset with the dashboards of `superset/bundle/`, reading
the published copy `published/bi.duckdb` read-only.

Superset has its own environment, locked apart from the pipeline's: `superset/pyproject.toml`
and `superset/uv.lock`. The first start installs it with `uv sync --frozen` (about 700 MB,
from PyPI, once) into a cache folder shared by every warehouse,
`~/.cache/journey-warehouse/superset-py<X.Y>-<hash of the lock>/`; later starts find it
ready. What belongs to one warehouse is in `<warehouse>/superset/`: `secret_key`
(generated once) and the metadata database `superset.db` (users, dashboards, charts).

Every start migrates that database, creates the user admin (password admin: Superset
listens on 127.0.0.1 only) if missing, syncs roles, imports the bundle with its database
connection pointing at the warehouse's `published/bi.duckdb` (overwriting the bundle's
objects, so an edited bundle takes effect), and serves Superset with gunicorn. Every
process runs in this command's process group: Ctrl-C or SIGTERM stops them all.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from orchestration.cli import RunFailed, UsageError, _log_path, _stop_process_group
from orchestration.project import REPO_ROOT
from orchestration.settings import Settings

SUPERSET_PROJECT = REPO_ROOT / "superset"
BUNDLE_DIR = SUPERSET_PROJECT / "bundle"
CONFIG_FILE = SUPERSET_PROJECT / "superset_config.py"
SERVE_SCRIPT = SUPERSET_PROJECT / "serve.py"
SERVE_STEP_PREFIX = "step: "  # serve.py's own lines on its stdout
# The Pythons that superset/pyproject.toml allows, in order of preference; one that uv
# finds on this machine is used, none is downloaded.
PYTHON_VERSIONS = ("3.11", "3.12")
DEFAULT_PORT = 8088
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin"
STATE_DIR = "superset"
START_TIMEOUT_SECONDS = 180
# The dashboards of the bundle (exposures in models/exposures/_exposures.yml link here).
DASHBOARD_SLUGS = (
    "marketing-overview",
    "journey-funnel",
    "retention-and-clv",
    "email",
    "support-pain-points",
)


def published_database(settings: Settings) -> Path:
    return settings.published_dir / "bi.duckdb"


def database_uri(bi_path: Path) -> str:
    """The SQLAlchemy URI of duckdb-engine for the published file (read-only and without
    file access beyond it are the bundle's `connect_args`)."""
    return f"duckdb:///{bi_path.resolve()}"


def check(settings: Settings, port: int) -> Path:
    """The checks before any work (exit code 2): the published file and the port."""
    bi_path = published_database(settings)
    if not bi_path.is_file():
        raise UsageError(f"{bi_path} does not exist yet: run `journey run` first")
    if any(char in str(bi_path.resolve()) for char in "?#%"):
        raise UsageError(
            f"{bi_path.resolve()} has a ?, # or % in its path, which a database URI cannot "
            "hold: set JOURNEY_WAREHOUSE_DIR to a folder without them"
        )
    if not 1 <= port <= 65535:
        raise UsageError(f"--port must be between 1 and 65535, got {port}")
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise UsageError(
                f"port {port} on 127.0.0.1 is in use: stop what listens there, or pass "
                "--port with a free one"
            ) from None
    return bi_path


def uv_command() -> list[str]:
    """The uv that runs this project: the one `uv run` names in UV, else uv on PATH, else
    the project's ./uvw (which installs uv 0.13.8 with pip if needed)."""
    for candidate in (os.environ.get("UV"), shutil.which("uv")):
        if candidate and os.access(candidate, os.X_OK):
            return [candidate]
    return ["sh", str(REPO_ROOT / "uvw")]


def find_python(uv: list[str]) -> tuple[str, str]:
    """(version, path) of the first Python of PYTHON_VERSIONS installed here: one uv finds
    (on PATH, or installed by uv), else one of pyenv's (whose shims answer only for the
    versions pyenv has selected); a UsageError naming them when there is none."""
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    for version in PYTHON_VERSIONS:
        found = subprocess.run(
            [*uv, "python", "find", "--system", "--no-python-downloads", version],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        )
        if found.returncode == 0 and found.stdout.strip():
            return version, found.stdout.strip()
        for python in sorted(pyenv.glob(f"{version}.*/bin/python{version}"), reverse=True):
            if os.access(python, os.X_OK):
                return version, str(python)
    raise UsageError(
        f"Superset needs Python {' or '.join(PYTHON_VERSIONS)} and uv finds neither: "
        f"install one (e.g. `uv python install {PYTHON_VERSIONS[0]}`) and run it again"
    )


def environment_dir(python_version: str) -> Path:
    """The cache folder of Superset's environment: one per lock and Python version."""
    lock = hashlib.sha256()
    for name in ("pyproject.toml", "uv.lock"):
        lock.update((SUPERSET_PROJECT / name).read_bytes())
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "journey-warehouse" / f"superset-py{python_version}-{lock.hexdigest()[:12]}"


def state_dir(settings: Settings) -> Path:
    """`<warehouse>/superset/`: the secret key and the metadata database of this warehouse."""
    home = settings.warehouse_dir / STATE_DIR
    home.mkdir(parents=True, exist_ok=True)
    key = home / "secret_key"
    if not key.exists():
        key.touch(mode=0o600)
        key.write_text(secrets.token_urlsafe(48) + "\n")
    return home


def superset_env(home: Path, env_dir: Path) -> dict[str, str]:
    """The environment of Superset's processes: its own config and home, none of the
    pipeline's virtual environment."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "SUPERSET_SECRET_KEY")
    }
    env.update(
        SUPERSET_HOME=str(home),
        SUPERSET_CONFIG_PATH=str(CONFIG_FILE),
        PATH=f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
    )
    return env


class Supervisor:
    """Runs the steps as children in this process group; SIGINT, SIGTERM or SIGHUP stops
    the wait, and `stop()` ends every process of the group."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen] = []
        self.stopping: list[int] = []
        with contextlib.suppress(OSError):  # already a group leader as a session leader
            os.setpgid(0, 0)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._stop)

    def _stop(self, signum, _frame) -> None:
        self.stopping.append(signum)

    def start(self, command: list[str], **kwargs) -> subprocess.Popen:
        child = subprocess.Popen(command, **kwargs)
        self.children.append(child)
        return child

    def wait(self, child: subprocess.Popen, until=None, timeout: float | None = None) -> bool:
        """Wait until the child exits (or `until()` holds); False when stopped first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.stopping:
            if child.poll() is not None or (until is not None and until()):
                return True
            if deadline is not None and time.monotonic() > deadline:
                return True
            time.sleep(0.25)
        return False

    def stop(self) -> None:
        _stop_process_group(self.children)


def _relay_steps(stream: IO[bytes], log: IO[bytes], step) -> None:
    """serve.py's step lines to the terminal; all of its output to the log."""
    for line in stream:
        log.write(line)
        text = line.decode(errors="replace").strip()
        if text.startswith(SERVE_STEP_PREFIX):
            step(text.removeprefix(SERVE_STEP_PREFIX).rsplit(" (", 1)[0])


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def _tail(log: Path, lines: int = 1) -> str:
    text = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return " | ".join(text[-lines:])


def serve(settings: Settings, port: int = DEFAULT_PORT) -> int:
    """Install (first time), prepare and serve Superset until a signal; see the module."""
    bi_path = check(settings, port)
    uv = uv_command()
    python_version, python = find_python(uv)
    env_dir = environment_dir(python_version)
    home = state_dir(settings)
    log_path = _log_path(settings, "superset")
    env = superset_env(home, env_dir)
    started = time.monotonic()
    print(f"superset:  {home} (log: {log_path})", flush=True)

    def step(text: str) -> None:
        print(f"  done   {text:<48} {time.monotonic() - started:6.1f}s", flush=True)

    supervisor = Supervisor()
    with open(log_path, "ab", buffering=0) as log:
        try:
            return _serve(supervisor, log, log_path, uv, python, env_dir, env, bi_path, port, step)
        finally:
            supervisor.stop()


def _serve(
    supervisor: Supervisor,
    log: IO[bytes],
    log_path: Path,
    uv: list[str],
    python: str,
    env_dir: Path,
    env: dict[str, str],
    bi_path: Path,
    port: int,
    step,
) -> int:
    fresh = not (env_dir / "bin" / "gunicorn").exists()
    if fresh:
        print(
            f"installing Superset's own environment into {env_dir} (once; about 700 MB from PyPI)",
            flush=True,
        )
    sync = supervisor.start(
        [*uv, "sync", "--frozen", "--no-install-project", "--python", python],
        cwd=SUPERSET_PROJECT,
        env={
            **{key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"},
            "UV_PROJECT_ENVIRONMENT": str(env_dir),
            "UV_PYTHON_DOWNLOADS": "never",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    if not supervisor.wait(sync):
        return 0
    if sync.returncode != 0:
        raise RunFailed(
            f"could not install Superset's environment with uv ({_tail(log_path)}; "
            f"full log: {log_path})"
        )
    step(f"Superset environment ({'installed' if fresh else 'up to date'})")

    server = supervisor.start(
        [
            str(env_dir / "bin" / "python"),
            str(SERVE_SCRIPT),
            "--bundle",
            str(BUNDLE_DIR),
            "--database-uri",
            database_uri(bi_path),
            "--admin-user",
            ADMIN_USER,
            "--admin-password",
            ADMIN_PASSWORD,
            "--bind",
            f"127.0.0.1:{port}",
            "--template",
            str(env_dir.with_name(env_dir.name + "-metadata-template.db")),
        ],
        cwd=env["SUPERSET_HOME"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
    )
    relay = threading.Thread(target=_relay_steps, args=(server.stdout, log, step), daemon=True)
    relay.start()
    if not supervisor.wait(server, until=lambda: _healthy(port), timeout=START_TIMEOUT_SECONDS):
        return 0
    if server.poll() is not None or not _healthy(port):
        raise RunFailed(f"Superset did not start ({_tail(log_path)}; full log: {log_path})")
    step(f"serving on 127.0.0.1:{port}")
    base = f"http://127.0.0.1:{port}"
    print(
        f"Superset on {base} (user {ADMIN_USER}, password {ADMIN_PASSWORD}: it listens on "
        f"127.0.0.1 only), reading {bi_path} read-only; Ctrl-C stops it",
        flush=True,
    )
    for slug in DASHBOARD_SLUGS:
        print(f"  {base}/superset/dashboard/{slug}/", flush=True)
    supervisor.wait(server)
    if supervisor.stopping:
        return 0
    raise RunFailed(f"Superset stopped ({_tail(log_path)}; full log: {log_path})")


if __name__ == "__main__":  # pragma: no cover - `journey superset` is the entry point
    sys.exit("run `journey superset`")
