"""One daily-partitioned asset per landing entity, loading `dt=` folders into `raw`.

Erasure (docs/privacy.md): every asset anonymises, right after loading a landing day,
what that day brought of people erased before (the ledger). The erasure requests' asset
comes last among the raw assets: it depends on all the others, so a request is carried
out over everything the run has loaded, before dbt reads any of it.
"""

import datetime as dt

import dagster as dg

from orchestration.defs.resources import Warehouse
from orchestration.ingestion.loader import (
    REFUSED,
    SKIPPED,
    ensure_raw_schema,
    landing_days,
    load_partitions,
    reconciliation_failures,
)
from orchestration.ingestion.specs import ENTITY_SPECS, EntitySpec
from orchestration.privacy import (
    ErasureSummary,
    apply_erasure_requests,
    apply_ledger_to_partitions,
)

WAREHOUSE_POOL = "duckdb_warehouse"
RAW_GROUP = "raw"
# Entries not read (skipped or refused) that the log names one by one; the rest are counted.
NOT_READ_LOGGED = 10
ERASURE_REQUESTS = ("privacy", "erasure_requests")


def raw_asset_key(spec: EntitySpec) -> dg.AssetKey:
    return dg.AssetKey(["raw", spec.table])


def days_in_window(window: dg.TimeWindow, days: list[dt.date]) -> list[dt.date]:
    """Landing days inside a half-open partition window [start, end)."""
    start, end = window.start.date(), window.end.date()
    return [day for day in days if start <= day < end]


def _is_erasure_requests(spec: EntitySpec) -> bool:
    return (spec.source, spec.entity) == ERASURE_REQUESTS


def _erasure_metadata(summary: ErasureSummary) -> dict:
    return {
        "erasure_requests_applied": dg.MetadataValue.json(summary.requests_applied),
        "erasure_records_anonymised": summary.records_anonymised,
        "erasure_rejected_records_erased": summary.rejected_records_erased,
    }


def _log_not_read(context: dg.AssetExecutionContext, not_read: dict[str, list[str]]) -> None:
    """One line for what under the landing folder was not read, then the first entries."""
    total = sum(len(entries) for entries in not_read.values())
    if not total:
        return
    context.log.warning(
        f"{total} landing entries not read ({len(not_read[SKIPPED])} skipped, "
        f"{len(not_read[REFUSED])} refused): see raw.loaded_files where file_status in "
        "('skipped', 'refused'), reason in file_error"
    )
    entries = [(status, entry) for status, items in not_read.items() for entry in items]
    for status, entry in entries[:NOT_READ_LOGGED]:
        context.log.warning(f"{status}: {entry}")
    if total > NOT_READ_LOGGED:
        context.log.warning(f"... and {total - NOT_READ_LOGGED} more")


def build_ingestion_asset(
    spec: EntitySpec,
    partitions_def: dg.PartitionsDefinition,
    deps: list[dg.AssetKey] | None = None,
) -> dg.AssetsDefinition:
    erasure_note = (
        " After loading, every request whose email is still in clear is carried out over "
        "all of raw (docs/privacy.md)."
        if _is_erasure_requests(spec)
        else " Records of people erased before are anonymised as they arrive."
    )

    @dg.asset(
        key=raw_asset_key(spec),
        group_name=RAW_GROUP,
        deps=deps,
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        kinds={"duckdb", "python"},
        description=(
            f"Landing files of {spec.source}/{spec.entity} ({spec.format}) loaded into "
            f"raw.{spec.table}: one row per valid record with its file, line and load time. "
            "Malformed records go to raw.rejected_records; raw.loaded_files counts every file, "
            "and records what is not read (a dt= name that is not a date, a subfolder, a "
            "hidden or marker file: skipped; a link leading out of landing: refused). "
            "Loading a day again replaces that day." + erasure_note
        ),
    )
    def _ingest(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        settings = warehouse.settings()
        present = landing_days(settings.landing_dir, spec)
        days = days_in_window(context.partition_time_window, present)
        totals = {"files": 0, "records_read": 0, "records_loaded": 0, "records_rejected": 0}
        problems: list[str] = []
        not_read: dict[str, list[str]] = {SKIPPED: [], REFUSED: []}
        context.log.info(f"loading raw.{spec.table}: {len(days)} landing day(s)")
        with warehouse.connect() as con:
            ensure_raw_schema(con)
            for result in load_partitions(con, settings.landing_dir, spec, days):
                if result.status in not_read:
                    not_read[result.status].append(f"{result.file}: {result.error}")
                    continue
                totals["files"] += 1
                totals["records_read"] += result.records_read
                totals["records_loaded"] += result.records_loaded
                totals["records_rejected"] += result.records_rejected
                if result.status == "rejected":
                    problems.append(f"{result.file}: {result.error}")
            if _is_erasure_requests(spec):
                erasure = apply_erasure_requests(con, settings.warehouse_dir)
            else:
                erasure = apply_ledger_to_partitions(con, settings.warehouse_dir, spec, days)
        if erasure.requests_applied:
            context.log.info(
                f"erasure requests carried out: {', '.join(erasure.requests_applied)} "
                f"({erasure.records_anonymised} records anonymised, "
                f"{erasure.rejected_records_erased} rejected records erased)"
            )
        elif erasure.records_anonymised or erasure.rejected_records_erased:
            context.log.info(
                f"{erasure.records_anonymised} records of erased people anonymised on "
                f"arrival ({erasure.rejected_records_erased} rejected records erased)"
            )
        if not days:
            context.log.warning(
                f"no landing folder for {spec.source}/{spec.entity} in "
                f"{context.partition_time_window.start.date()}.."
                f"{context.partition_time_window.end.date()}: raw left as it was"
            )
        for problem in problems:
            context.log.warning(f"file rejected: {problem}")
        _log_not_read(context, not_read)
        return dg.MaterializeResult(
            metadata={
                "days_loaded": len(days),
                **totals,
                "files_rejected": dg.MetadataValue.json(problems),
                "files_skipped": len(not_read[SKIPPED]),
                "files_refused": len(not_read[REFUSED]),
                "files_not_read": dg.MetadataValue.json(
                    [
                        f"{status}: {entry}"
                        for status, entries in not_read.items()
                        for entry in entries
                    ]
                ),
                **_erasure_metadata(erasure),
            }
        )

    return _ingest


def build_reconciliation_check(spec: EntitySpec) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=raw_asset_key(spec),
        name="counts_reconcile",
        description=(
            "For every landing file: records_read = records_loaded + records_rejected, and "
            "those counts match the rows in the raw table and in raw.rejected_records."
        ),
        blocking=True,
    )
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.connect() as con:
            ensure_raw_schema(con)
            failures = reconciliation_failures(con, spec)
        return dg.AssetCheckResult(
            passed=not failures,
            metadata={
                "files_not_reconciling": len(failures),
                "examples": dg.MetadataValue.json([list(map(str, row)) for row in failures[:10]]),
            },
        )

    return _check


def build_ingestion(partitions_def: dg.PartitionsDefinition):
    loaded_before_requests = [
        raw_asset_key(spec) for spec in ENTITY_SPECS if not _is_erasure_requests(spec)
    ]
    assets = [
        build_ingestion_asset(
            spec,
            partitions_def,
            deps=loaded_before_requests if _is_erasure_requests(spec) else None,
        )
        for spec in ENTITY_SPECS
    ]
    checks = [build_reconciliation_check(spec) for spec in ENTITY_SPECS]
    return assets, checks
