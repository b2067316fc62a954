"""What tests/test_dbt_fork_server.py has the dbt fork server run in place of dbt: a process
that reports what it was given and ends as its command line says.

Its command line (sys.argv, the client's): `-c <address> <action> [<file>]`, where action is
`report` (warn, print its folder, one variable, its arguments and its standard input as JSON, a
line to stderr, and exit with code 3), `wait` (write its pid to <file>, then wait for
SIGINT: print `interrupted` and exit with code 7) or `atexit` (register an atexit handler that
prints `at exit` and a logging handler that writes <file> when logging shuts down, write a
line to stdout without a newline's flush, and return)."""

from __future__ import annotations

import atexit
import json
import logging
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
    if action == "atexit":
        atexit.register(print, "at exit")
        handler = logging.FileHandler(sys.argv[3], delay=True)
        logger = logging.getLogger("probe")
        logger.addHandler(handler)
        logger.warning("logged")
        sys.stdout.write("written, ")
        return
    Path(sys.argv[3]).write_text(str(os.getpid()))
    try:
        while True:
            time.sleep(0.05)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(7)
