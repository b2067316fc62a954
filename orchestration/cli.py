"""The `journey` command: generate sample data, run the pipeline, publish, open the Dagster UI.

Exit codes: 0 success; 1 a run that failed (its one-line reason and the log path); 2 a
misconfiguration found before any work (one line naming the setting and what to do)."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from orchestration.runlock import WarehouseBusy, warehouse_lock
from orchestration.settings import Settings, SettingsError

SAMPLE_CUSTOMERS = 5000
SAMPLE_DAYS = 180
SAMPLE_START = dt.date(2026, 1, 1)
SAMPLE_SEED = 42
# The development copy that plain `dbt build` writes to (profiles.yml, target dev).
DEV_DATABASE = "dev.duckdb"


class UsageError(Exception):
    """Stops the command with a one-line message that says what to do (exit code 2)."""


class RunFailed(Exception):
    """A run that started and failed: its one-line reason and the log path (exit code 1)."""


def _settings() -> Settings:
    """The settings, checked before any work (preflight.py)."""
    from orchestration.preflight import check_all

    settings = Settings.from_env()
    check_all(settings)
    return settings


def _log_path(settings: Settings, command: str) -> Path:
    """A new log file for this command under `<warehouse>/logs/`."""
    logs = settings.warehouse_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return logs / f"{stamp}-{command}-{os.getpid()}.log"


def _date(value: str, flag: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{flag} {value!r} is not a date: use YYYY-MM-DD") from None


def _positive(value: int, flag: str) -> int:
    if value < 1:
        raise UsageError(f"{flag} must be a positive whole number, got {value}")
    return value


def cmd_generate(args: argparse.Namespace) -> int:
    from journey_tools.sample_data import generate_landing

    out = Path(args.out).expanduser().resolve()
    start = _date(args.start, "--start")
    started = time.monotonic()
    manifest = generate_landing(
        out,
        customers=_positive(args.customers, "--customers"),
        days=_positive(args.days, "--days"),
        start=start,
        seed=args.seed,
    )
    records = sum(f["records"] for f in manifest["files"])
    print(
        f"wrote {len(manifest['files'])} files ({records:,} records, "
        f"{len(manifest['planted_rejections'])} planted malformed records) to {out} "
        f"in {time.monotonic() - started:.1f}s"
    )
    return 0


def _check_landing(settings: Settings) -> list[dt.date]:
    from orchestration.ingestion.loader import landing_days

    landing = settings.landing_dir
    if not landing.is_dir():
        raise UsageError(
            f"landing folder {landing} does not exist: set JOURNEY_LANDING_DIR to a folder laid "
            "out as <source>/<entity>/dt=YYYY-MM-DD/ (or unset it to use generated sample data)"
        )
    days = landing_days(landing)
    if not days:
        from orchestration.ingestion.specs import ENTITY_SPECS

        known = sorted({spec.source for spec in ENTITY_SPECS})
        found = sorted(p.name for p in landing.iterdir() if p.is_dir())
        if found and not set(found) & set(known):
            raise UsageError(
                f"landing folder {landing} holds no known source (found {', '.join(found)}; "
                f"expected {', '.join(known)}): point JOURNEY_LANDING_DIR at an export folder"
            )
        raise UsageError(
            f"landing folder {landing} holds no <source>/<entity>/dt=YYYY-MM-DD/ folders: "
            "point JOURNEY_LANDING_DIR at an export folder, or run `journey generate --out DIR`"
        )
    return days


def _ensure_sample_landing(settings: Settings) -> None:
    """The default landing folder is filled with generated sample data on first use."""
    from orchestration.ingestion.loader import landing_days

    if not settings.uses_default_landing:
        return
    if settings.landing_dir.is_dir() and landing_days(settings.landing_dir):
        return
    from journey_tools.sample_data import generate_landing

    print(
        f"generating sample data ({SAMPLE_CUSTOMERS} people x {SAMPLE_DAYS} days) "
        f"in {settings.landing_dir}"
    )
    generate_landing(
        settings.landing_dir,
        customers=SAMPLE_CUSTOMERS,
        days=SAMPLE_DAYS,
        start=SAMPLE_START,
        seed=SAMPLE_SEED,
    )


DAGSTER_YAML_HEADER = "# Written by journey run (orchestration/cli.py) while this line stays\n"
# The first line of the file earlier versions wrote (upgraded like one with the header).
EARLIER_DAGSTER_YAML = "# One run at a time and one warehouse writer at a time"


def _prepare_dagster_home(settings: Settings) -> Path:
    """The Dagster instance's folder, with a dagster.yaml that journey keeps current unless
    someone replaced it (a file without journey's first line is left alone)."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.warehouse_dir / ".dagster")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or config.read_text().startswith(
        (DAGSTER_YAML_HEADER, EARLIER_DAGSTER_YAML)
    ):
        config.write_text(
            DAGSTER_YAML_HEADER
            + "# One run at a time and one warehouse writer at a time (DuckDB has one writer).\n"
            "concurrency:\n  runs:\n    max_concurrent_runs: 1\n"
            "  pools:\n    default_limit: 1\n"
            "telemetry:\n  enabled: false\n"
            "# Dagster's SQLite event log, one open connection per database and a"
            " transaction per batch of events (orchestration/instance_storage.py).\n"
            "instance_class:\n"
            "  module: orchestration.instance_storage\n"
            "  class: JourneyInstance\n"
            "event_log_storage:\n"
            "  module: orchestration.instance_storage\n"
            "  class: PooledSqliteEventLogStorage\n"
            f"  config:\n    base_dir: {json.dumps(str(home / 'history' / 'runs'))}\n"
        )
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def _prepare_dbt_manifest() -> None:
    from orchestration.project import prepare_manifest

    prepare_manifest()


def cmd_run(args: argparse.Namespace) -> int:
    first = _date(args.date_from, "--from") if args.date_from else None
    last = _date(args.date_to, "--to") if args.date_to else None
    if first and last and first > last:
        raise UsageError(f"--from {first} is after --to {last}: swap them")
    settings = _settings()
    with warehouse_lock(settings.warehouse_dir, "journey run"):
        return _run(args, settings, first, last)


def _run(
    args: argparse.Namespace, settings: Settings, first: dt.date | None, last: dt.date | None
) -> int:
    _ensure_sample_landing(settings)
    days = _check_landing(settings)
    first = first or days[0]
    last = last or days[-1]
    selected = [day for day in days if first <= day <= last]
    if not selected:
        raise UsageError(
            f"no landing partitions between {first} and {last}; the landing folder has "
            f"{days[0]} to {days[-1]}"
        )
    settings.export()
    _prepare_dagster_home(settings)
    log_path = _log_path(settings, "run")
    print(f"landing:   {settings.landing_dir}")
    print(f"warehouse: {settings.warehouse_path}")
    if settings.engine == "spark":
        where = settings.spark_remote or "a local Spark Connect server for this run"
        print(f"engine:    Spark ({where}; dbt target {settings.dbt_target})")
    print(f"partitions {first} .. {last} ({len(selected)} landing days)")
    print(f"log:       {log_path}{'' if args.verbose else ' (--verbose streams it)'}")
    started = time.monotonic()
    _prepare_dbt_manifest()
    print(f"  done   {'dbt parse (the asset graph)':<48} {time.monotonic() - started:6.1f}s")

    from orchestration.runner import run_pipeline, summarise

    outcome = run_pipeline(
        settings,
        first,
        last,
        log_path=log_path,
        verbose=args.verbose,
        full_refresh=args.full_refresh,
    )
    print(summarise(settings, outcome, time.monotonic() - started, log_path))
    if not outcome.success:
        raise RunFailed(f"the run failed: {outcome.failure} (full log: {log_path})")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    settings = _settings()
    if not settings.warehouse_path.exists():
        raise UsageError(f"{settings.warehouse_path} does not exist yet: run `journey run` first")
    with warehouse_lock(settings.warehouse_dir, "journey publish"):
        settings.export()
        _prepare_dagster_home(settings)
        _prepare_dbt_manifest()
        log_path = _log_path(settings, "publish")
        started = time.monotonic()

        from orchestration.runner import publish_only

        outcome = publish_only(settings, log_path=log_path)
    if not outcome.success:
        raise RunFailed(f"publishing failed: {outcome.failure} (full log: {log_path})")
    print(
        f"published the marts of {settings.warehouse_path} to {settings.published_dir} "
        f"in {time.monotonic() - started:.0f}s (log: {log_path})"
    )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Rebuild the journey report from the published copy (no run, no warehouse lock: it
    reads only published/bi.duckdb, as a BI tool does)."""
    settings = _settings()
    if not (settings.published_dir / "bi.duckdb").exists():
        raise UsageError(
            f"{settings.published_dir / 'bi.duckdb'} does not exist yet: run `journey run` first"
        )
    from orchestration.report import build_report

    print(f"report: {build_report(settings.published_dir)} (open it in a browser)")
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    """Create or refresh the development copy that `dbt build` (target dev) writes to."""
    settings = _settings()
    source = settings.warehouse_path
    if not source.exists():
        raise UsageError(f"{source} does not exist yet: run `journey run` first")
    copy = settings.warehouse_dir / DEV_DATABASE
    # The run lock: the copy is taken between runs, so it is consistent, and a run that
    # starts meanwhile waits the second or two the copy takes.
    with warehouse_lock(settings.warehouse_dir, "journey dev (copying the warehouse)"):
        staged = copy.with_name(copy.name + ".copying")
        shutil.copyfile(source, staged)
        wal = source.with_name(source.name + ".wal")
        if wal.exists():
            shutil.copyfile(wal, staged.with_name(staged.name + ".wal"))
        copy.with_name(copy.name + ".wal").unlink(missing_ok=True)
        staged.replace(copy)
        staged_wal = staged.with_name(staged.name + ".wal")
        if staged_wal.exists():
            staged_wal.replace(copy.with_name(copy.name + ".wal"))
    print(
        f"development copy ready: {copy} (a copy of {source}); build a model into it with "
        "`uv run --frozen dbt build --select <model>` (target dev, the default)"
    )
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    """The Dagster UI and the daemon that runs the schedule, in this command's process group:
    Ctrl-C or SIGTERM stops them all."""
    settings = _settings()
    settings.export()
    _prepare_dagster_home(settings)
    _prepare_dbt_manifest()
    with contextlib.suppress(OSError):  # already a group leader when run as a session leader
        os.setpgid(0, 0)
    bin_dir = Path(sys.executable).parent
    location = ["-m", "orchestration.definitions"]
    commands = [
        [str(bin_dir / "dagster-webserver"), *location, "-h", "127.0.0.1", "-p", str(args.port)],
        [str(bin_dir / "dagster-daemon"), "run", *location],
    ]
    stopping: list[int] = []

    def stop(signum, _frame) -> None:
        stopping.append(signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)
    children = [subprocess.Popen(command) for command in commands]
    print(
        f"Dagster UI on http://127.0.0.1:{args.port} with the daemon running the schedule "
        "daily_journey_schedule (turn it on in the UI); Ctrl-C stops both"
    )
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        _stop_process_group(children)
    return 0 if stopping else 1


def cmd_superset(args: argparse.Namespace) -> int:
    """Apache Superset with the dashboards of superset/bundle/ over the published copy, in
    its own environment (orchestration/superset.py); Ctrl-C or SIGTERM stops it."""
    from orchestration.superset import serve

    return serve(_settings(), port=args.port)


def _stop_process_group(children: list[subprocess.Popen], grace_seconds: float = 15) -> None:
    """SIGTERM to every process of this group but this one, then SIGKILL to what is left."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    group = os.getpgrp()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
    for pid in _group_members(group):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for child in children:
        child.wait()


def _group_members(group: int) -> list[int]:
    """The other processes of a process group (Linux /proc)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        if int(fields[2]) == group and pid != os.getpid():
            members.append(pid)
    return members


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="journey", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write a landing folder of sample data")
    generate.add_argument("--out", required=True, help="landing folder to write")
    generate.add_argument("--customers", type=int, default=SAMPLE_CUSTOMERS)
    generate.add_argument("--days", type=int, default=SAMPLE_DAYS)
    generate.add_argument("--start", default=SAMPLE_START.isoformat(), help="YYYY-MM-DD")
    generate.add_argument("--seed", type=int, default=SAMPLE_SEED)
    generate.set_defaults(handler=cmd_generate)

    run = commands.add_parser("run", help="load, build, test and publish through Dagster")
    run.add_argument("--from", dest="date_from", help="first landing day, YYYY-MM-DD")
    run.add_argument("--to", dest="date_to", help="last landing day, YYYY-MM-DD")
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the incremental dbt models from all of raw (after changing their columns)",
    )
    run.add_argument(
        "--verbose", action="store_true", help="stream the whole log (dbt's and Dagster's)"
    )
    run.set_defaults(handler=cmd_run)

    publish = commands.add_parser(
        "publish", help="publish the warehouse's current marts again, without a run"
    )
    publish.set_defaults(handler=cmd_publish)

    report = commands.add_parser(
        "report", help="rebuild published/report/index.html from the published copy"
    )
    report.set_defaults(handler=cmd_report)

    dev = commands.add_parser(
        "dev", help="create or refresh the development copy that `dbt build` writes to"
    )
    dev.set_defaults(handler=cmd_dev)

    ui = commands.add_parser("ui", help="start the Dagster web UI on 127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(handler=cmd_ui)

    superset = commands.add_parser(
        "superset",
        help="start Apache Superset on 127.0.0.1 with the dashboards over published/bi.duckdb "
        "(installs its own environment on first use)",
    )
    superset.add_argument("--port", type=int, default=8088, help="port on 127.0.0.1 (8088)")
    superset.set_defaults(handler=cmd_superset)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (UsageError, SettingsError) as exc:
        print(f"journey: {exc}", file=sys.stderr)
        return 2
    except (RunFailed, WarehouseBusy) as exc:
        print(f"journey: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("journey: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
