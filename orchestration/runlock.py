"""One run at a time per warehouse: an advisory lock on `<warehouse>/journey.lock`.

`journey run` takes it before any work and stops at once, naming the holder, when another
run has it; a run launched by Dagster (the schedule, the UI) takes it when its warehouse
resource is set up and waits for the holder to finish. The lock belongs to the process: it
is re-entrant within it (a `journey run` whose Dagster run takes it again), and the
operating system drops it when the process ends, however it ends.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

LOCK_FILE = "journey.lock"
_held: dict[Path, _Held] = {}
_guard = threading.Lock()


class WarehouseBusy(RuntimeError):
    """Another process is running on this warehouse."""


@dataclass
class _Held:
    fd: int
    depth: int


def lock_path(warehouse_dir: Path) -> Path:
    return warehouse_dir / LOCK_FILE


def holder(warehouse_dir: Path) -> str:
    """What the lock file says about the process holding it."""
    try:
        text = lock_path(warehouse_dir).read_text().strip()
    except OSError:
        text = ""
    return text or "another process"


@contextmanager
def warehouse_lock(
    warehouse_dir: Path, description: str, wait: bool = False, poll_seconds: float = 2.0
):
    """Hold the warehouse's run lock for the block; raise WarehouseBusy (or wait) if taken."""
    path = lock_path(warehouse_dir).resolve()
    with _guard:
        held = _held.get(path)
        if held is not None:
            held.depth += 1
    if held is not None:
        try:
            yield
        finally:
            with _guard:
                held.depth -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait:
                    raise WarehouseBusy(
                        f"the warehouse {warehouse_dir} is in use by {holder(warehouse_dir)}: "
                        "wait for that run to finish, then run again"
                    ) from None
                time.sleep(poll_seconds)
        started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{description} (pid {os.getpid()}, started {started})\n".encode(), 0)
        with _guard:
            _held[path] = _Held(fd, 1)
        try:
            yield
        finally:
            with _guard:
                del _held[path]
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)
