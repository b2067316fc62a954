"""Small facts about operating-system processes, shared by modules that must stay light."""

from __future__ import annotations

import os


def process_is_alive(pid: int) -> bool:
    """Whether a process with this id exists (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
