"""The `journey` command: generate sample data, run the pipeline, open the Dagster UI."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

from orchestration.settings import FULL_REFRESH_ENV, Settings, SettingsError

SAMPLE_CUSTOMERS = 2000
SAMPLE_DAYS = 30
SAMPLE_START = dt.date(2026, 1, 1)
SAMPLE_SEED = 42


class UsageError(Exception):
    """Stops the command with a one-line message that says what to do."""


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
    from orchestration.sample_data import generate_landing

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
    from orchestration.sample_data import generate_landing

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


def _prepare_dagster_home(settings: Settings) -> Path:
    home = Path(os.environ.get("DAGSTER_HOME") or settings.warehouse_dir / ".dagster")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(
            "# One run at a time and one warehouse writer at a time (DuckDB has one writer).\n"
            "concurrency:\n  runs:\n    max_concurrent_runs: 1\n"
            "  pools:\n    default_limit: 1\n"
            "telemetry:\n  enabled: false\n"
        )
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def _prepare_dbt_manifest() -> None:
    from orchestration.project import prepare_manifest

    prepare_manifest()


def cmd_run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    first = _date(args.date_from, "--from") if args.date_from else None
    last = _date(args.date_to, "--to") if args.date_to else None
    if first and last and first > last:
        raise UsageError(f"--from {first} is after --to {last}: swap them")
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
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    settings.export()
    if args.full_refresh:
        os.environ[FULL_REFRESH_ENV] = "1"
    _prepare_dagster_home(settings)
    print(f"landing:   {settings.landing_dir}")
    print(f"warehouse: {settings.warehouse_path}")
    print(f"partitions {first} .. {last} ({len(selected)} landing days)")
    print("preparing the dbt manifest (dbt parse)")
    _prepare_dbt_manifest()

    from orchestration.runner import run_pipeline, summarise

    started = time.monotonic()
    outcome = run_pipeline(settings, first, last)
    print(summarise(settings, outcome, time.monotonic() - started))
    if not outcome.success:
        raise UsageError(f"the run failed: {outcome.failure}")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    settings.export()
    _prepare_dagster_home(settings)
    _prepare_dbt_manifest()
    command = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-m",
        "orchestration.definitions",
        "--host",
        "127.0.0.1",
        "--port",
        str(args.port),
    ]
    return subprocess.call(command)


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
    run.set_defaults(handler=cmd_run)

    ui = commands.add_parser("ui", help="start the Dagster web UI on 127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(handler=cmd_ui)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (UsageError, SettingsError) as exc:
        print(f"journey: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("journey: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
