"""Run health and freshness: the operations view of every run (docs/operations.md).

- `marts/fct_run_health` runs after every model of the run and writes one row per run and
  landing entity; its checks (blocking: an ERROR keeps the run from publishing) judge the
  run's rejected share, stitch rate, Unassigned share and late-event share against the
  thresholds of the resource `health_thresholds`. Each share is judged on its own
  denominator; a check about something the data does not have (a site that never
  identifies visitors, a source that never delivered) passes as not applicable.
- `landing_fresh` on every raw asset flags an entity whose landing partition is missing
  from the run's window, or whose newest landing day trails the other sources (WARN by
  default, never blocking: one late source should not hold back the others).

Register in the Definitions: `build_run_health_asset(<every dbt and Python model key>)`,
`build_freshness_checks()`, the resource `"health_thresholds": HealthThresholds()`, and
`RUN_HEALTH_KEY` among the publish step's upstream keys.
"""

import datetime as dt
import json
from collections.abc import Iterable, Mapping

import dagster as dg
import duckdb
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

from orchestration.defs.ingestion import WAREHOUSE_POOL, raw_asset_key
from orchestration.defs.resources import Warehouse
from orchestration.health.freshness import (
    ABSENT,
    DbtFreshnessRule,
    EntityFreshness,
    Window,
    absent_names,
    assess_freshness,
    dbt_freshness_rules,
)
from orchestration.health.metrics import (
    FILES_READ,
    RunHealthRow,
    build_rows,
    load_counts,
    loaded_tables,
    loaded_window,
    newest_loads,
    run_metrics,
    write_run_health,
)
from orchestration.health.thresholds import (
    DEFAULT_THRESHOLDS,
    HealthSettings,
    Judgement,
    Verdict,
    setting_name,
)
from orchestration.ingestion.specs import ENTITY_SPECS, EntitySpec

RUN_HEALTH_KEY = dg.AssetKey(["marts", "fct_run_health"])
OPERATIONS_GROUP = "operations"
FRESHNESS_CHECK_NAME = "landing_fresh"
HEALTH_RESOURCE_KEY = "health_thresholds"

CHECK_DESCRIPTIONS = {
    "rejected_share": (
        "Share of the records read in the run's window that were quarantined "
        "(raw.rejected_records), over all entities and per entity with enough records "
        "(min_volume_warn to warn, min_volume to fail)."
    ),
    "stitch_rate": (
        "Share of the window's sessions whose person is identified (dim_customers.is_identified). "
        "Not applicable when the web source has no identify call, userId or traits.email on "
        "any landing day loaded (a site whose visitors never log in)."
    ),
    "unassigned_session_share": "Share of the window's sessions in the channel Unassigned.",
    "late_event_share": (
        "Share of the web events landed in the window whose landing day is after the "
        "reporting day they happened on."
    ),
}


class HealthThresholds(dg.ConfigurableResource):
    """Thresholds of the run-health and freshness checks.

    Each field empty means the environment variable (`JOURNEY_HEALTH_<FIELD>`, e.g.
    `JOURNEY_HEALTH_MAX_REJECTED_SHARE_WARN`; `JOURNEY_FRESHNESS_MAX_LAG_DAYS`,
    `JOURNEY_FRESHNESS_SEVERITY`), else the default in docs/operations.md. Shares are
    fractions 0..1 or `off`; `min_volume` (default 100) is the fewest records, sessions or web
    events a share can fail the run on, `min_volume_warn` (default 20) the fewest it can
    warn on; `freshness_max_lag_days` is `source=days` pairs (`ads=2,privacy=never`);
    `freshness_severity` is WARN or ERROR."""

    max_rejected_share_warn: str = ""
    max_rejected_share_error: str = ""
    min_stitch_rate_warn: str = ""
    min_stitch_rate_error: str = ""
    max_unassigned_session_share_warn: str = ""
    max_unassigned_session_share_error: str = ""
    max_late_event_share_warn: str = ""
    max_late_event_share_error: str = ""
    min_volume: str = ""
    min_volume_warn: str = ""
    freshness_max_lag_days: str = ""
    freshness_severity: str = ""

    def settings(self) -> HealthSettings:
        names = [
            *(
                setting_name(metric, level)
                for metric in DEFAULT_THRESHOLDS
                for level in ("warn", "error")
            ),
            "min_volume",
            "min_volume_warn",
            "freshness_max_lag_days",
            "freshness_severity",
        ]
        return HealthSettings.resolve(overrides={name: getattr(self, name) for name in names})


def run_window(tags: Mapping[str, str]) -> Window | None:
    """The reporting days of a run from its tags: a partition range (a backfill or
    `journey run`) or one partition (the daily schedule); None for an unpartitioned run."""
    try:
        if ASSET_PARTITION_RANGE_START_TAG in tags and ASSET_PARTITION_RANGE_END_TAG in tags:
            return Window(
                dt.date.fromisoformat(tags[ASSET_PARTITION_RANGE_START_TAG]),
                dt.date.fromisoformat(tags[ASSET_PARTITION_RANGE_END_TAG]),
            )
        if PARTITION_NAME_TAG in tags:
            day = dt.date.fromisoformat(tags[PARTITION_NAME_TAG])
            return Window(day, day)
    except ValueError:
        return None
    return None


def dbt_test_counts(instance: dg.DagsterInstance, run_id: str) -> tuple[int, int, int]:
    """(passed, warned, failed) dbt tests among the run's asset check evaluations so far.

    A dbt test is an evaluation whose `unique_id` metadata starts with `test.`; dagster-dbt
    reports a dbt `warn` as not passed with WARN severity."""
    passed = warned = failed = 0
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.event_specific_data if entry.dagster_event else None
        if evaluation is None:
            continue
        unique_id = evaluation.metadata.get("unique_id")
        text = getattr(unique_id, "value", unique_id)
        if not isinstance(text, str) or not text.startswith("test."):
            continue
        if evaluation.passed:
            passed += 1
        elif evaluation.severity == dg.AssetCheckSeverity.WARN:
            warned += 1
        else:
            failed += 1
    return passed, warned, failed


def _run_started_at(context: dg.AssetExecutionContext, fallback: dt.datetime) -> dt.datetime:
    record = context.instance.get_run_record_by_id(context.run.run_id)
    if record is None or record.start_time is None:
        return fallback
    return dt.datetime.fromtimestamp(record.start_time, dt.UTC).replace(tzinfo=None)


def _dbt_rules() -> dict[str, DbtFreshnessRule]:
    from orchestration.project import dbt_project

    try:
        manifest = json.loads(dbt_project.manifest_path.read_text())
    except (OSError, ValueError):
        return {}
    return dbt_freshness_rules(manifest)


def _check_result(
    name: str,
    judgement: Judgement,
    settings: HealthSettings,
    detail: str,
    metadata: Mapping[str, object] | None = None,
) -> dg.AssetCheckResult:
    threshold = settings.thresholds[name]
    if judgement.status == "not_applicable":
        description = f"{name} not applicable: {judgement.reason} ({detail})"
    else:
        shown = "n/a" if judgement.value is None else f"{judgement.value:.2%}"
        notes = "; ".join(part for part in (detail, judgement.reason) if part)
        description = f"{name} {shown} ({notes}); thresholds: {threshold.describe()}"
    return dg.AssetCheckResult(
        check_name=name,
        passed=judgement.passed,
        severity=dg.AssetCheckSeverity.ERROR
        if judgement.verdict == "error"
        else dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={
            "value": judgement.value,
            "verdict": judgement.verdict,
            "status": judgement.status,
            "reason": judgement.reason,
            "thresholds": threshold.describe(),
            "min_volume": settings.min_volume,
            "min_volume_warn": settings.min_volume_warn,
            **(metadata or {}),
        },
    )


def _worst(verdicts: Iterable[Verdict]) -> Verdict:
    order = {"pass": 0, "warn": 1, "error": 2}
    return max(verdicts, key=order.__getitem__, default="pass")


def _rejected_share_check(
    rows: list[RunHealthRow], settings: HealthSettings
) -> dg.AssetCheckResult:
    """All entities together, and each entity on its own records read: a small entity with
    a large share warns even when the run as a whole looks fine."""
    read = sum(row.records_read for row in rows)
    rejected = sum(row.records_rejected for row in rows)
    overall = settings.judge(
        "rejected_share",
        rejected,
        read,
        not_applicable=None if read else "no records read in the run's window",
    )
    per_entity = {
        f"{row.source}/{row.entity}": (
            row,
            settings.judge("rejected_share", row.records_rejected, row.records_read),
        )
        for row in rows
        if row.records_read
    }
    flagged = {name: pair for name, pair in per_entity.items() if not pair[1].passed}
    too_few = [name for name, (_, judged) in per_entity.items() if judged.status == "too_few"]
    absent = absent_names((row.source, row.entity, row.freshness_status == ABSENT) for row in rows)
    verdict = _worst([overall.verdict, *(judged.verdict for _, judged in per_entity.values())])
    judgement = Judgement(verdict, overall.status, overall.value, overall.reason)
    notes = [f"{rejected:,} of {read:,} records"]
    if flagged:
        notes.append(
            "over the threshold: "
            + ", ".join(
                f"{name} {judged.value:.1%} of {row.records_read:,}"
                + (f" ({judged.reason})" if judged.reason else "")
                for name, (row, judged) in flagged.items()
            )
        )
    if too_few:
        notes.append(f"too few to judge alone: {', '.join(too_few)}")
    if absent:
        notes.append(f"absent (never delivered, not judged): {', '.join(absent)}")
    return _check_result(
        "rejected_share",
        judgement,
        settings,
        "; ".join(notes),
        {
            "records_read": read,
            "entities_over_threshold": dg.MetadataValue.json(
                {name: round(judged.value or 0, 4) for name, (_, judged) in flagged.items()}
            ),
            "entities_too_few_to_judge": dg.MetadataValue.json(too_few),
            "absent": dg.MetadataValue.json(absent),
        },
    )


def _nothing_measured(count: int | None, reason: str) -> str | None:
    """Why a share over `count` is not applicable, or None when there is something."""
    if count is None:
        return "not measured: the marts it is read from were not built"
    return None if count else reason


NO_IDENTIFY = (
    "the web source has no identify call, userId or traits.email on any landing day loaded: "
    "its visitors never log in, so no session can be stitched to a person"
)


def evaluate_checks(
    rows: list[RunHealthRow], settings: HealthSettings
) -> list[dg.AssetCheckResult]:
    """The four run-health checks on one run's rows.

    Each share is judged on its own denominator (`HealthSettings.judge`): too few to judge
    below `min_volume_warn`, warns at most below `min_volume`. A check whose subject is not
    in the data passes as not applicable, with the reason: no records, sessions or web
    events in the window; a stitch rate where the site never identifies its visitors."""
    results = [_rejected_share_check(rows, settings)]
    run = rows[0] if rows else None
    sessions = run.sessions_count if run else None
    events = run.web_events_count if run else None
    identify = run.web_identify_events_count if run else None
    identified = run.identified_sessions_count if run else None
    no_sessions = _nothing_measured(sessions, "no web sessions in the run's window")
    # a site that never identifies anyone has no stitching to lose; one with any signal
    # (or, however it came about, any identified session) is judged
    never_identifies = identify == 0 and not identified
    for name, part, whole, noun, not_applicable in (
        (
            "stitch_rate",
            identified,
            sessions,
            "sessions",
            no_sessions or (NO_IDENTIFY if never_identifies else None),
        ),
        (
            "unassigned_session_share",
            run.unassigned_sessions_count if run else None,
            sessions,
            "sessions",
            no_sessions,
        ),
        (
            "late_event_share",
            run.late_web_events_count if run else None,
            events,
            "web events",
            _nothing_measured(events, "no web events landed in the run's window"),
        ),
    ):
        judgement = settings.judge(name, part, whole, not_applicable=not_applicable)
        detail = f"{part or 0:,} of {whole or 0:,} {noun}"
        metadata: dict[str, object] = {noun: whole or 0}
        if name == "stitch_rate":
            metadata["web_identify_events"] = identify
        results.append(_check_result(name, judgement, settings, detail, metadata))
    return results


def build_run_health_asset(upstream_keys: Iterable[dg.AssetKey]) -> dg.AssetsDefinition:
    """`marts/fct_run_health`, after every asset in `upstream_keys` (every model of the run)."""

    @dg.asset(
        key=RUN_HEALTH_KEY,
        group_name=OPERATIONS_GROUP,
        deps=list(upstream_keys),
        pool=WAREHOUSE_POOL,
        kinds={"duckdb", "python"},
        check_specs=[
            dg.AssetCheckSpec(name, asset=RUN_HEALTH_KEY, blocking=True, description=description)
            for name, description in CHECK_DESCRIPTIONS.items()
        ],
        description=(
            "One row per run and landing entity: files and records read, loaded and "
            "quarantined in the run's partition window (raw.loaded_files), the entity's "
            "landing freshness and dbt source freshness, and the run's stitch rate, "
            "Unassigned share, late-event share and dbt test results (the same on every row "
            "of a run). A rerun of the same run replaces its rows. Checks warn or fail at "
            "the thresholds of the resource health_thresholds; an ERROR blocks publishing."
        ),
    )
    def fct_run_health(
        context: dg.AssetExecutionContext,
        warehouse: Warehouse,
        health_thresholds: HealthThresholds,
    ):
        settings = warehouse.settings()
        health = health_thresholds.settings()
        measured_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        window = run_window(context.run.tags)
        rules = _dbt_rules()
        tests = dbt_test_counts(context.instance, context.run.run_id)
        with warehouse.connect() as con:
            try:
                window = window or loaded_window(con)
                counts = load_counts(con, window)
                loads = newest_loads(con, ENTITY_SPECS, rules)
            except duckdb.CatalogException:
                counts, loads = {}, {}
            freshness = assess_freshness(
                settings.landing_dir,
                window,
                health.max_lag_days,
                ever_loaded=loaded_tables(con),
            )
            now = dt.datetime.now(dt.UTC)
            dbt_freshness = {
                table: rule.judge(loads.get(table, (None, None))[1], now)
                for table, rule in rules.items()
            }
            metrics = run_metrics(con, window, settings.reporting_tz, tests)
            rows = build_rows(
                run_id=context.run.run_id,
                run_started_at=_run_started_at(context, measured_at),
                measured_at=measured_at,
                window=window,
                counts=counts,
                freshness=freshness,
                loads=loads,
                dbt_freshness=dbt_freshness,
                metrics=metrics,
            )
            write_run_health(con, rows)
        _log_freshness(context, freshness)
        results = evaluate_checks(rows, health)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": len(rows),
                "window": f"{window.first}..{window.last}" if window else "none",
                "records_read": sum(row.records_read for row in rows),
                "records_rejected": sum(row.records_rejected for row in rows),
                "stitch_rate": metrics.stitch_rate,
                "unassigned_session_share": metrics.unassigned_session_share,
                "late_event_share": metrics.late_event_share,
                "web_identify_events": metrics.web_identify_events_count,
                "dbt_tests": f"{tests[0]} passed, {tests[1]} warned, {tests[2]} failed",
                "freshness": dg.MetadataValue.json({f.name: f.status for f in freshness}),
            },
            check_results=results,
        )

    return fct_run_health


def _log_freshness(context: dg.AssetExecutionContext, freshness: list[EntityFreshness]) -> None:
    for entity in freshness:
        if entity.is_missing or entity.is_late:
            context.log.warning(f"freshness: {entity.explain()}")


def _newest_loaded_day(con: duckdb.DuckDBPyConnection, spec: EntitySpec) -> dt.date | None:
    try:
        (day,) = con.execute(
            "select max(dt) from raw.loaded_files "
            f"where source = ? and entity = ? and {FILES_READ}",
            [spec.source, spec.entity],
        ).fetchone()
    except duckdb.CatalogException:
        return None
    return day


def build_freshness_check(spec: EntitySpec) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=raw_asset_key(spec),
        name=FRESHNESS_CHECK_NAME,
        blocking=False,
        pool=WAREHOUSE_POOL,
        description=(
            f"Is {spec.source}/{spec.entity} on time? Fails (WARN by default) when a day of "
            "the run's window has no dt= folder, or when its newest dt= day trails the "
            "newest dt= day of any required source by more than the allowed lag "
            "(health_thresholds.freshness_max_lag_days; privacy is never required). An "
            "entity that never delivered anything (no dt= folder, nothing ever loaded) is "
            "absent: reported, not judged."
        ),
    )
    def _check(
        context: dg.AssetCheckExecutionContext,
        warehouse: Warehouse,
        health_thresholds: HealthThresholds,
    ) -> dg.AssetCheckResult:
        settings = warehouse.settings()
        health = health_thresholds.settings()
        window = run_window(context.run.tags)
        with warehouse.connect() as con:
            newest_loaded = _newest_loaded_day(con, spec)
        [fresh] = [
            result
            for result in assess_freshness(
                settings.landing_dir,
                window,
                health.max_lag_days,
                ever_loaded={spec.table} if newest_loaded else set(),
            )
            if (result.source, result.entity) == (spec.source, spec.entity)
        ]
        return dg.AssetCheckResult(
            passed=not (fresh.is_missing or fresh.is_late),
            severity=dg.AssetCheckSeverity(health.freshness_severity),
            description=fresh.explain(),
            metadata={
                "status": fresh.status,
                "window": f"{window.first}..{window.last}" if window else "all landing days",
                "newest_landing_day": str(fresh.newest_day) if fresh.newest_day else "none",
                "reference_landing_day": str(fresh.reference_day)
                if fresh.reference_day
                else "none",
                "days_behind": fresh.days_behind,
                "max_lag_days": "never required"
                if fresh.max_lag_days is None
                else fresh.max_lag_days,
                "missing_days": dg.MetadataValue.json([d.isoformat() for d in fresh.missing_days]),
                "newest_loaded_day": str(newest_loaded) if newest_loaded else "none",
            },
        )

    return _check


def build_freshness_checks(
    specs: Iterable[EntitySpec] = ENTITY_SPECS,
) -> list[dg.AssetChecksDefinition]:
    """`landing_fresh` on every raw asset."""
    return [build_freshness_check(spec) for spec in specs]
