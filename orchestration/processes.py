"""Small facts about operating-system processes, shared by modules that must stay light."""

from __future__ import annotations

import os
from pathlib import Path


def process_is_alive(pid: int) -> bool:
    """Whether a process with this id exists and has not ended (one of another user's
    counts; one that has ended and not been waited for, a zombie, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # ended just now, or no /proc (macOS): then os.kill's answer stands
        return not Path("/proc/self").exists()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
