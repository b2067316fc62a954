"""`make bench`: measure how long the pipeline takes, and what bounds it from below.

    python -m journey_tools.benchmark --sizes S,M[,L] [--cache-dir DIR]

For each size, generates (once; cached in DIR) a landing folder of that many people for
that many days plus one, then measures, each as its own process:

- the full build: `journey run` over the first `days` days into a new warehouse;
- the daily run: `journey run` of the one extra day on that warehouse;
- the rerun: that day's `journey run` once more, which changes nothing (its files are loaded
  again, the same rows; no model step is built again: orchestration/unchanged.py);
- the lower bound: in one DuckDB connection on a copy of the warehouse as the full build
  left it, the raw tables filled again from the landing files the build loaded by DuckDB's
  own readers (one statement per table, no validation: its *load* column), then the
  compiled SQL of every dbt model executed directly, in dependency order (no dbt, no
  Dagster, no tests; its *dbt build* column); seeds are loaded from their CSV files.

Per run it prints wall seconds, the seconds of each stage (read from the Dagster run's
step events, classified by asset: raw = load, dbt = dbt build, published = publish,
anything else = Python assets), the peak RSS of the whole process tree (sampled from
/proc), and web events per second. Figures of every run are also written to
DIR/results.json and DIR/results.md.

With JOURNEY_ENGINE=spark in its environment, the runs build the dbt models on Spark
(README, "When one machine is not enough"), in warehouses of their own (`S-spark-warehouse`);
the lower bound stays DuckDB's.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import itertools
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from orchestration.project import REPO_ROOT

START = dt.date(2026, 1, 1)
SEED = 42


@dataclass(frozen=True)
class Size:
    name: str
    people: int
    days: int  # days of the full build; one more day is generated for the daily run


SIZES = {
    size.name: size
    for size in (
        # The README's first command (`journey run` on 5 000 people x 180 days).
        Size("R", 5_000, 180),
        Size("S", 5_000, 90),
        Size("M", 20_000, 180),
        Size("L", 200_000, 365),
    )
}
STAGES = ("load", "dbt build", "Python assets", "publish")


@dataclass
class RunFigures:
    """One measured process: `journey run` or the lower bound."""

    label: str
    wall_seconds: float
    peak_rss_bytes: int
    exit_code: int
    startup_seconds: float = 0.0  # process start to the run's first event (imports, dbt parse)
    planning_seconds: float = 0.0  # first event to RUN_START (Dagster plans and logs)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    step_seconds: dict[str, float] = field(default_factory=dict)
    other_seconds: float = 0.0  # the rest: between steps and after the run (summary)
    dagster_events: int = 0
    log: str = ""


@dataclass
class SizeFigures:
    size: Size
    landing_dir: str
    landing_files: int = 0
    landing_bytes: int = 0
    generate_seconds: float = 0.0
    generate_cached: bool = False
    rows_full: dict[str, int] = field(default_factory=dict)
    rows_daily: dict[str, int] = field(default_factory=dict)
    web_events_full: int = 0
    full: RunFigures | None = None
    daily: RunFigures | None = None
    rerun: RunFigures | None = None
    lower_bound: RunFigures | None = None
    slowest_models: list[tuple[str, float]] = field(default_factory=list)
    load_average: str = ""  # of the machine, 1/5/15 minutes, when this size finished


# -- the process tree's memory ------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # the command name (field 2) may hold spaces; fields after its ")" are fixed
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss_bytes(root: int) -> int:
    """Resident memory of `root` and all its descendants now (shared pages count twice)."""
    children = _children_map()
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += _rss_bytes(pid)
        stack.extend(children.get(pid, ()))
    return total


class PeakRss:
    """Samples a process tree's RSS in a thread until stopped; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_bytes(self.pid))
            self._stop.wait(self.interval)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def run_measured(command: list[str], env: dict[str, str], log: Path) -> tuple[float, int, int]:
    """(wall seconds, peak RSS of the process tree, exit code) of one command."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        started = time.monotonic()
        process = subprocess.Popen(
            command, env=env, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT
        )
        sampler = PeakRss(process.pid)
        code = process.wait()
        wall = time.monotonic() - started
        peak = sampler.stop()
    return wall, peak, code


# -- landing ------------------------------------------------------------------------------


def landing_for(size: Size, cache_dir: Path, log_dir: Path) -> tuple[Path, float, bool]:
    """The cached landing folder of `size` (generated if missing), generation seconds, cached?"""
    landing = cache_dir / f"landing-{size.people}x{size.days + 1}-seed{SEED}"
    record = landing / "_bench_generate.json"
    if record.exists():
        return landing, json.loads(record.read_text())["seconds"], True
    shutil.rmtree(landing, ignore_errors=True)
    command = [
        sys.executable,
        "-m",
        "orchestration.cli",
        "generate",
        "--out",
        str(landing),
        "--customers",
        str(size.people),
        "--days",
        str(size.days + 1),
        "--start",
        START.isoformat(),
        "--seed",
        str(SEED),
    ]
    print(f"[{size.name}] generating {size.people} people x {size.days + 1} days in {landing}")
    wall, _, code = run_measured(command, dict(os.environ), log_dir / f"{size.name}-generate.log")
    if code != 0:
        raise SystemExit(f"generation failed: see {log_dir / f'{size.name}-generate.log'}")
    record.write_text(json.dumps({"seconds": wall}))
    return landing, wall, False


def landing_size(landing: Path, last_day: dt.date) -> tuple[int, int]:
    """Files and bytes of the landing folder up to and including `last_day`."""
    files = total = 0
    for path in landing.rglob("*"):
        if not path.is_file() or not path.parent.name.startswith("dt="):
            continue
        if dt.date.fromisoformat(path.parent.name.removeprefix("dt=")) <= last_day:
            files += 1
            total += path.stat().st_size
    return files, total


# -- journey run and its Dagster events ---------------------------------------------------


def journey_env(landing: Path, warehouse: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DAGSTER_HOME", None)  # journey run keeps its instance inside the warehouse
    env["JOURNEY_LANDING_DIR"] = str(landing)
    env["JOURNEY_WAREHOUSE_DIR"] = str(warehouse)
    return env


def measure_journey_run(
    label: str, landing: Path, warehouse: Path, first: dt.date, last: dt.date, log: Path
) -> RunFigures:
    command = [sys.executable, "-m", "orchestration.cli", "run"]
    command += ["--from", first.isoformat(), "--to", last.isoformat()]
    launched = time.time()
    wall, peak, code = run_measured(command, journey_env(landing, warehouse), log)
    figures = RunFigures(label, wall, peak, code, log=str(log))
    if code != 0:
        print(f"  {label}: journey run exited with {code}; see {log}")
    _add_step_figures(figures, landing, warehouse, launched)
    return figures


def _stage_of_assets(landing: Path, warehouse: Path) -> dict:
    """Asset key -> stage, from the Definitions that `journey run` used."""
    saved = dict(os.environ)
    os.environ.update(journey_env(landing, warehouse))
    try:
        from orchestration.definitions import build_definitions
        from orchestration.settings import Settings

        graph = build_definitions(Settings.from_env()).resolve_asset_graph()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    stages = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if key.path[0] == "raw":
            stages[key] = "load"
        elif "dbt" in node.kinds:
            stages[key] = "dbt build"
        elif node.group_name == "published" or key.path[0] == "published":
            stages[key] = "publish"
        else:
            stages[key] = "Python assets"
    return stages


def _add_step_figures(figures: RunFigures, landing: Path, warehouse: Path, launched: float):
    """Stage seconds from the step events of the run that `journey run` just made."""
    import dagster as dg
    from dagster._core.events import DagsterEventType

    home = warehouse / ".dagster"
    if not home.is_dir():
        return
    stage_of_asset = _stage_of_assets(landing, warehouse)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs(limit=1)
        if not runs:
            return
        records = instance.all_logs(runs[0].run_id)
    figures.dagster_events = len(records)
    step_stage: dict[str, str] = {}
    starts: dict[str, float] = {}
    run_start = None
    for record in records:
        event = record.dagster_event
        if event is None:
            continue
        kind = event.event_type
        if kind == DagsterEventType.ASSET_MATERIALIZATION_PLANNED and event.step_key:
            step_stage.setdefault(event.step_key, stage_of_asset.get(event.asset_key, "other"))
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED and event.step_key:
            target = event.asset_check_planned_data.asset_key
            step_stage.setdefault(event.step_key, stage_of_asset.get(target, "other"))
        elif kind == DagsterEventType.RUN_START:
            run_start = record.timestamp
        elif kind == DagsterEventType.STEP_START:
            starts[event.step_key] = record.timestamp
        elif (
            kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE)
            and event.step_key in starts
        ):
            seconds = record.timestamp - starts[event.step_key]
            figures.step_seconds[event.step_key] = (
                figures.step_seconds.get(event.step_key, 0.0) + seconds
            )
    first_event = records[0].timestamp if records else launched
    figures.startup_seconds = max(0.0, first_event - launched)
    if run_start is not None:
        figures.planning_seconds = max(0.0, run_start - first_event)
    figures.stage_seconds = {stage: 0.0 for stage in STAGES}
    for step, seconds in figures.step_seconds.items():
        stage = step_stage.get(step, "other")
        figures.stage_seconds[stage] = figures.stage_seconds.get(stage, 0.0) + seconds
    accounted = figures.startup_seconds + figures.planning_seconds
    accounted += sum(figures.stage_seconds.values())
    figures.other_seconds = max(0.0, figures.wall_seconds - accounted)


def rows_loaded(warehouse: Path, days: tuple[dt.date, dt.date]) -> dict[str, int]:
    """Records loaded per source on the landing days `days` (inclusive)."""
    import duckdb

    con = duckdb.connect(str(warehouse / "journey.duckdb"), read_only=True)
    try:
        rows = con.execute(
            """
            select source, sum(records_loaded) from raw.loaded_files
            where dt between ? and ? group by source order by source
            """,
            list(days),
        ).fetchall()
    finally:
        con.close()
    return {source: int(n) for source, n in rows}


# -- the lower bound ----------------------------------------------------------------------


def _dbt_executable() -> str:
    from orchestration.project import dbt_executable

    return dbt_executable()


def compile_manifest(database_dir: Path, target: Path, log: Path) -> Path:
    """`dbt compile --full-refresh` of the models against `database_dir`'s warehouse."""
    env = dict(os.environ)
    env["JOURNEY_WAREHOUSE_DIR"] = str(database_dir)
    command = [_dbt_executable(), "compile", "--full-refresh", "--quiet", "--target", "prod"]
    command += ["--select", "resource_type:model", "--target-path", str(target)]
    command += ["--project-dir", str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT)]
    with log.open("w") as out:
        subprocess.run(command, env=env, cwd=REPO_ROOT, stdout=out, stderr=out, check=True)
    return target / "manifest.json"


def lower_bound_statements(manifest: dict) -> list[tuple[str, str, str, str]]:
    """(unique_id, kind, relation, SQL or CSV path) for every seed and model, parents first.

    Seeds are loaded from their CSV file at run time (see run_lower_bound); models become
    `create or replace view|table <relation> as <compiled SQL>`. Ephemeral models are
    already inlined in their dependents' compiled SQL.
    """
    nodes = {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] in ("model", "seed")
        and node.get("config", {}).get("enabled", True)
        and node.get("config", {}).get("materialized") != "ephemeral"
    }
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(uid: str) -> None:
        if state.get(uid) == "done":
            return
        if state.get(uid) == "visiting":
            raise ValueError(f"dependency cycle at {uid}")
        state[uid] = "visiting"
        for parent in sorted(nodes[uid].get("depends_on", {}).get("nodes", [])):
            if parent in nodes:
                visit(parent)
        state[uid] = "done"
        order.append(uid)

    for uid in sorted(nodes):
        visit(uid)
    statements = []
    for uid in order:
        node = nodes[uid]
        relation = node["relation_name"]
        if node["resource_type"] == "seed":
            csv_path = Path(node["root_path"]) / node["original_file_path"]
            statements.append((uid, "seed", relation, str(csv_path)))
            continue
        if node.get("language", "sql") != "sql":
            continue
        kind = "view" if node["config"]["materialized"] == "view" else "table"
        code = node["compiled_code"].strip().rstrip(";")
        statements.append((uid, kind, relation, f"create or replace {kind} {relation} as {code}"))
    return statements


def load_raw_with_duckdb_readers(con, landing: Path) -> None:
    """Each raw table filled again from its landing files by DuckDB's own readers, in one
    statement per table: the loader's part of the lower bound. The files are those the full
    build loaded (raw.loaded_files); JSON lines become `record` as they are, a CSV row the
    JSON object of its header's fields (as the loader makes it); malformed lines are skipped
    (`ignore_errors`), not rejected one by one, and nothing is validated: a bound, not a
    loader."""
    from orchestration.ingestion.specs import ENTITY_SPECS

    for spec in ENTITY_SPECS:
        files = [
            str(landing / file)
            for (file,) in con.execute(
                "select file from raw.loaded_files where source = ? and entity = ? "
                "and file_status = 'loaded' order by file",
                [spec.source, spec.entity],
            ).fetchall()
        ]
        table = f"raw.{spec.table}"
        if not files:
            continue
        if spec.format == "jsonl":
            reader = (
                f"read_json_objects({files}, format = 'newline_delimited', filename = true, "
                "ignore_errors = true)"
            )
            rows, first_line = f"select filename, json as record from {reader}", 1
        else:
            # One reader per header (as the loader groups them): a reader over files of
            # different headers (union_by_name) holds them all open, gigabytes at M.
            by_header: dict[tuple[str, ...], list[str]] = {}
            for file in files:
                by_header.setdefault(_csv_header(Path(file)), []).append(file)
            rows = " union all ".join(
                "select filename, cast(json_object("
                + ", ".join(f"'{name}', \"{name}\"" for name in header)
                + f") as json) as record from read_csv({group}, header = true, "
                "all_varchar = true, filename = true, hive_partitioning = false, "
                "ignore_errors = true)"
                for header, group in by_header.items()
            )
            first_line = 2  # the line after the header
        prefix = str(landing).rstrip("/") + "/"
        con.execute(
            f"""
            create or replace table {table} as
            select
                cast(regexp_extract(filename, 'dt=([0-9-]+)', 1) as date) as dt,
                replace(filename, '{prefix}', '') as file,
                row_number() over (partition by filename) + {first_line - 1} as line,
                record,
                now() as loaded_at
            from ({rows})
            """
        )


def _csv_header(path: Path) -> tuple[str, ...]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as text:
        return tuple(next(csv.reader(text), []))


def run_lower_bound(
    manifest_path: Path, database: Path, report: Path, landing: Path | None = None
) -> None:
    """Execute the statements of lower_bound_statements() in one connection; time each.
    With `landing`, first fill raw from it with DuckDB's readers (load_raw_with_duckdb_readers),
    timed apart."""
    import duckdb

    from orchestration.defs.resources import apply_duckdb_settings
    from orchestration.settings import Settings

    statements = lower_bound_statements(json.loads(manifest_path.read_text()))
    con = duckdb.connect(str(database))
    apply_duckdb_settings(con, Settings.from_env())
    load_seconds = 0.0
    if landing is not None:
        begun = time.monotonic()
        load_raw_with_duckdb_readers(con, landing)
        load_seconds = time.monotonic() - begun
    timings = []
    started = time.monotonic()
    for uid, kind, relation, sql in statements:
        begun = time.monotonic()
        if kind == "seed":
            # keep the types dbt gave the seed's columns
            columns = _seed_columns(con, relation)
            types = f", columns = {columns}" if columns else ""
            sql = (
                f"create or replace table {relation} as select * from "
                f"read_csv('{sql}', header = true{types})"
            )
        schema = relation.rsplit(".", 1)[0]
        con.execute(f"create schema if not exists {schema}")
        con.execute(sql)
        timings.append((uid, time.monotonic() - begun))
    total = time.monotonic() - started
    con.close()
    report.write_text(
        json.dumps({"seconds": total, "load_seconds": load_seconds, "timings": timings})
    )


def _seed_columns(con, relation: str) -> str | None:
    """The existing seed table's columns as a read_csv `columns` struct, to keep dbt's types."""
    database, schema, table = (part.strip('"') for part in relation.split("."))
    rows = con.execute(
        """
        select column_name, data_type from information_schema.columns
        where table_catalog = ? and table_schema = ? and table_name = ?
        order by ordinal_position
        """,
        [database, schema, table],
    ).fetchall()
    if not rows:
        return None
    return "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in rows) + "}"


def copy_warehouse(warehouse: Path, work: Path) -> None:
    """The lower bound's starting point: the database exactly as the full build left it."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for name in ("journey.duckdb", "journey.duckdb.wal"):
        if (warehouse / name).exists():
            shutil.copy2(warehouse / name, work / name)


def measure_lower_bound(
    size: Size, work: Path, log_dir: Path, landing: Path
) -> tuple[RunFigures, list[tuple[str, float]]]:
    manifest = compile_manifest(work, work / "target", log_dir / f"{size.name}-compile.log")
    report = work / "lower_bound.json"
    command = [sys.executable, "-m", "journey_tools.benchmark", "--lower-bound-run"]
    command += [str(manifest), str(work / "journey.duckdb"), str(report), str(landing)]
    wall, peak, code = run_measured(
        command, dict(os.environ), log_dir / f"{size.name}-lower-bound.log"
    )
    figures = RunFigures("lower bound", wall, peak, code)
    slowest: list[tuple[str, float]] = []
    if code == 0:
        result = json.loads(report.read_text())
        # The statements' own time (loading raw, then the models), without the
        # interpreter's start-up.
        figures.stage_seconds = {"load": result["load_seconds"], "dbt build": result["seconds"]}
        figures.wall_seconds = result["load_seconds"] + result["seconds"]
        figures.other_seconds = wall - figures.wall_seconds
        slowest = sorted((tuple(t) for t in result["timings"]), key=lambda t: -t[1])[:10]
    else:
        print(f"  lower bound failed; see {log_dir / f'{size.name}-lower-bound.log'}")
    return figures, slowest


# -- one size, and the report -------------------------------------------------------------


RERUN = "rerun, no change"


def measure_size(
    size: Size,
    cache_dir: Path,
    skip_daily: bool = False,
    skip_lower_bound: bool = False,
    progress: Callable[[SizeFigures], None] = lambda figures: None,
) -> SizeFigures:
    """Full build, daily run, then lower bound (the slowest to wait for at L), reporting
    `progress` after each so that a long size leaves figures even when stopped."""
    log_dir = cache_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    landing, generate_seconds, cached = landing_for(size, cache_dir, log_dir)
    first = START
    last_full = START + dt.timedelta(days=size.days - 1)
    daily = last_full + dt.timedelta(days=1)
    figures = SizeFigures(size, str(landing), generate_seconds=generate_seconds)
    figures.generate_cached = cached
    figures.landing_files, figures.landing_bytes = landing_size(landing, last_full)

    engine = os.environ.get("JOURNEY_ENGINE") or "duckdb"
    warehouse = cache_dir / f"{size.name}{'' if engine == 'duckdb' else '-' + engine}-warehouse"
    lower_bound_work = cache_dir / f"{size.name}-lower-bound"
    shutil.rmtree(warehouse, ignore_errors=True)
    print(f"[{size.name}] full build {first}..{last_full}")
    figures.full = measure_journey_run(
        "full build", landing, warehouse, first, last_full, log_dir / f"{size.name}-full.log"
    )
    figures.load_average = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    if figures.full.exit_code == 0:
        figures.rows_full = rows_loaded(warehouse, (first, last_full))
        figures.web_events_full = figures.rows_full.get("web", 0)
    progress(figures)
    if figures.full.exit_code != 0:
        return figures
    if not skip_lower_bound:
        copy_warehouse(warehouse, lower_bound_work)
    if not skip_daily:
        print(f"[{size.name}] daily run {daily}")
        figures.daily = measure_journey_run(
            "daily run", landing, warehouse, daily, daily, log_dir / f"{size.name}-daily.log"
        )
        if figures.daily.exit_code == 0:
            figures.rows_daily = rows_loaded(warehouse, (daily, daily))
            print(f"[{size.name}] the same day again (a run that changes nothing)")
            figures.rerun = measure_journey_run(
                RERUN, landing, warehouse, daily, daily, log_dir / f"{size.name}-rerun.log"
            )
        figures.load_average = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        progress(figures)
    if not skip_lower_bound:
        print(f"[{size.name}] lower bound (compiled model SQL in one DuckDB connection)")
        figures.lower_bound, figures.slowest_models = measure_lower_bound(
            size, lower_bound_work, log_dir, landing
        )
        figures.load_average = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        progress(figures)
    return figures


def machine() -> str:
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores, {memory} memory, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def _gb(value: int) -> str:
    return f"{value / 1024**3:.2f}"


def _s(value: float | None) -> str:
    return "" if value is None else f"{value:,.1f}"


def markdown(results: list[SizeFigures], command: str) -> str:
    lines = [f"Command: `{command}`", "", f"Machine: {machine()}", ""]
    lines += [
        "| size | people x days | landing files | landing MB | web | email | crm | ads | "
        "privacy | generate s | load average after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rows = r.rows_full
        lines.append(
            f"| {r.size.name} | {r.size.people:,} x {r.size.days} | {r.landing_files:,} | "
            f"{r.landing_bytes / 1e6:,.1f} | "
            + " | ".join(f"{rows.get(s, 0):,}" for s in ("web", "email", "crm", "ads", "privacy"))
            + f" | {_s(r.generate_seconds)}{' (cached)' if r.generate_cached else ''} | "
            f"{r.load_average} |"
        )
    lines += [
        "",
        "| size | run | wall s | start-up s | planning s | "
        + " | ".join(f"{stage} s" for stage in STAGES)
        + " | other s | Dagster events | peak RSS GB | web events/s |",
        "|---|---|---|---|---|" + "---|" * len(STAGES) + "---|---|---|---|",
    ]
    for r in results:
        for run in (r.full, r.daily, r.rerun, r.lower_bound):
            if run is None:
                continue
            web = r.web_events_full if run.label != "daily run" else r.rows_daily.get("web", 0)
            counted = run.label not in ("lower bound", RERUN)
            rate = web / run.wall_seconds if run.wall_seconds and counted else 0
            stages = " | ".join(_s(run.stage_seconds.get(stage)) for stage in STAGES)
            failed = "" if run.exit_code == 0 else " (FAILED)"
            lines.append(
                f"| {r.size.name} | {run.label}{failed} | {_s(run.wall_seconds)} | "
                f"{_s(run.startup_seconds) if run.label != 'lower bound' else ''} | "
                f"{_s(run.planning_seconds) if run.label != 'lower bound' else ''} | {stages} | "
                f"{_s(run.other_seconds)} | {run.dagster_events or ''} | "
                f"{_gb(run.peak_rss_bytes)} | "
                f"{f'{rate:,.0f}' if rate else ''} |"
            )
    lines += ["", "Ratios:", ""]
    for r in results:
        parts = []
        if r.full and r.daily and r.full.wall_seconds:
            parts.append(f"daily / full = {r.daily.wall_seconds / r.full.wall_seconds:.1%}")
        if r.full and r.lower_bound and r.lower_bound.exit_code == 0:
            bound = r.lower_bound.wall_seconds
            models = r.lower_bound.stage_seconds.get("dbt build") or bound
            parts.append(f"full / lower bound = {r.full.wall_seconds / bound:.2f}")
            parts.append(
                f"dbt build stage / the lower bound's models = "
                f"{r.full.stage_seconds.get('dbt build', 0) / models:.2f}"
            )
        lines.append(f"- {r.size.name}: " + "; ".join(parts))
    for small, big in itertools.pairwise(results):
        if small.full and big.full and small.web_events_full and small.full.wall_seconds:
            time_ratio = big.full.wall_seconds / small.full.wall_seconds
            events_ratio = big.web_events_full / small.web_events_full
            lines.append(
                f"- time({big.size.name}) / time({small.size.name}) = {time_ratio:.2f} "
                f"for web events x{events_ratio:.2f} "
                f"(linear within 1.2 x means <= {1.2 * events_ratio:.2f})"
            )
    for r in results:
        steps = r.full.step_seconds if r.full else {}
        if steps:
            top = sorted(steps.items(), key=lambda kv: -kv[1])[:12]
            lines.append(
                f"- {r.size.name} full build, slowest steps: "
                + ", ".join(f"{step} {seconds:.1f}s" for step, seconds in top)
            )
        if r.slowest_models:
            lines.append(
                f"- {r.size.name} lower bound, slowest models: "
                + ", ".join(f"{uid.split('.')[-1]} {s:.1f}s" for uid, s in r.slowest_models)
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m journey_tools.benchmark",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", default="S", help="comma-separated: R, S, M, L (default S)")
    parser.add_argument(
        "--cache-dir", default=str(REPO_ROOT / ".bench"), help="landing folders and warehouses"
    )
    parser.add_argument("--no-daily", action="store_true", help="skip the one-day daily run")
    parser.add_argument(
        "--no-lower-bound", action="store_true", help="skip the lower bound (dbt-less SQL run)"
    )
    parser.add_argument("--lower-bound-run", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.lower_bound_run:
        manifest, database, report, *landing = (Path(p) for p in args.lower_bound_run)
        run_lower_bound(manifest, database, report, landing[0] if landing else None)
        return 0
    names = [name.strip().upper() for name in args.sizes.split(",") if name.strip()]
    unknown = [name for name in names if name not in SIZES]
    if unknown:
        parser.error(f"unknown size(s) {', '.join(unknown)}; choose from {', '.join(SIZES)}")
    cache_dir = Path(args.cache_dir).expanduser().resolve()
    cache_dir.mkdir(parents=True, exist_ok=True)
    command = "python -m journey_tools.benchmark " + " ".join(argv or sys.argv[1:])
    if os.environ.get("JOURNEY_ENGINE"):
        command = f"JOURNEY_ENGINE={os.environ['JOURNEY_ENGINE']} {command}"
    results: list[SizeFigures] = []

    def write_report(current: SizeFigures) -> str:
        so_far = [*results, current]
        report = markdown(so_far, command)
        (cache_dir / "results.md").write_text(report + "\n")
        (cache_dir / "results.json").write_text(
            json.dumps([asdict(r) for r in so_far], indent=2, default=str)
        )
        return report

    for name in names:
        figures = measure_size(
            SIZES[name],
            cache_dir,
            skip_daily=args.no_daily,
            skip_lower_bound=args.no_lower_bound,
            progress=write_report,
        )
        report = write_report(figures)
        results.append(figures)
    print()
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
