"""What tests/test_dbt_fork_server.py has the dbt fork server run in place of dbt: a process
that reports what it was given and ends as its command line says.

Its command line (sys.argv, the client's): `-c <address> <action> [<file>]`, where action is
`report` (warn, print its folder, one variable, its arguments and its standard input as JSON, a
line to stderr, and exit with code 3) or `wait` (write its pid to <file>, then wait for
SIGINT: print `interrupted` and exit with code 7)."""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from pathlib import Path


def probe() -> None:
    action = sys.argv[2]
    if action == "report":
        warnings.warn("a warning the client's PYTHONWARNINGS ignores", UserWarning, stacklevel=1)
        print(
            json.dumps(
                {
                    "cwd": os.getcwd(),
                    "variable": os.environ.get("PROBE_VARIABLE"),
                    "argv": sys.argv,
                    "stdin": sys.stdin.read(),
                    "pid": os.getpid(),
                    "server_address_passed_on": "JOURNEY_DBT_FORK_SERVER" in os.environ,
                }
            )
        )
        print("to stderr", file=sys.stderr)
        sys.exit(3)
    Path(sys.argv[3]).write_text(str(os.getpid()))
    try:
        while True:
            time.sleep(0.05)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(7)
