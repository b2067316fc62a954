"""Run health and freshness: metric formulas, thresholds, landing freshness, and the
Dagster asset with its checks on a small hand-built warehouse."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.defs.health import (
    FRESHNESS_CHECK_NAME,
    RUN_HEALTH_KEY,
    HealthThresholds,
    build_freshness_checks,
    build_run_health_asset,
    evaluate_checks,
    run_window,
)
from orchestration.defs.resources import Warehouse
from orchestration.health.freshness import (
    DbtFreshnessRule,
    Window,
    assess_freshness,
    dbt_freshness_rules,
    freshness_summary,
)
from orchestration.health.metrics import (
    RUN_HEALTH_TABLE,
    LoadCounts,
    RunMetrics,
    build_rows,
    late_event_counts,
    load_counts,
    session_counts,
    write_run_health,
)
from orchestration.health.summary import run_health_lines
from orchestration.health.thresholds import (
    DEFAULT_MAX_LAG_DAYS,
    HealthSettings,
    Threshold,
    ThresholdError,
)
from orchestration.ingestion.loader import ensure_raw_schema
from orchestration.ingestion.specs import ENTITY_SPECS, spec_for

D1, D2, D3 = dt.date(2026, 3, 10), dt.date(2026, 3, 11), dt.date(2026, 3, 12)
LOADED_AT = dt.datetime(2026, 3, 13, 1, 0, tzinfo=dt.UTC)


# -- thresholds -------------------------------------------------------------------------


def test_a_max_threshold_warns_above_its_warning_and_errors_above_its_error_level():
    threshold = Threshold("rejected_share", "max", warn=0.05, error=0.20)

    assert threshold.judge(0.05) == "pass"
    assert threshold.judge(0.06) == "warn"
    assert threshold.judge(0.21) == "error"
    assert threshold.judge(None) == "pass"


def test_a_min_threshold_warns_below_its_warning_and_a_switched_off_level_never_fires():
    threshold = Threshold("stitch_rate", "min", warn=0.10, error=None)

    assert threshold.judge(0.10) == "pass"
    assert threshold.judge(0.09) == "warn"
    assert threshold.judge(0.0) == "warn"


def test_the_resource_overrides_the_environment_which_overrides_the_defaults():
    settings = HealthSettings.resolve(
        overrides={"max_rejected_share_warn": "0.5", "min_volume": ""},
        environ={
            "JOURNEY_HEALTH_MAX_REJECTED_SHARE_WARN": "0.3",
            "JOURNEY_HEALTH_MAX_REJECTED_SHARE_ERROR": "0.9",
            "JOURNEY_HEALTH_MIN_STITCH_RATE_ERROR": "off",
            "JOURNEY_HEALTH_MIN_VOLUME": "10",
            "JOURNEY_FRESHNESS_MAX_LAG_DAYS": "ads=3, privacy=never, web=0",
            "JOURNEY_FRESHNESS_SEVERITY": "error",
        },
    )

    assert settings.thresholds["rejected_share"].warn == 0.5
    assert settings.thresholds["rejected_share"].error == 0.9
    assert settings.thresholds["stitch_rate"].error is None
    assert settings.thresholds["stitch_rate"].warn == 0.10
    assert settings.min_volume == 10
    assert settings.max_lag_days == {**DEFAULT_MAX_LAG_DAYS, "ads": 3, "web": 0}
    assert settings.freshness_severity == "ERROR"


@pytest.mark.parametrize(
    "environ",
    [
        {"JOURNEY_HEALTH_MAX_LATE_EVENT_SHARE_WARN": "10%"},
        {"JOURNEY_HEALTH_MAX_LATE_EVENT_SHARE_WARN": "1.5"},
        {"JOURNEY_FRESHNESS_MAX_LAG_DAYS": "ads"},
        {"JOURNEY_FRESHNESS_SEVERITY": "loud"},
    ],
)
def test_a_threshold_that_cannot_be_read_is_refused_with_its_name(environ):
    with pytest.raises(ThresholdError, match=next(iter(environ))):
        HealthSettings.resolve(environ=environ)


# -- metrics on a hand-built warehouse --------------------------------------------------


def _file(con, source, entity, day, name, read, rejected, status="loaded"):
    con.execute(
        "insert into raw.loaded_files (source, entity, dt, file, records_read, records_loaded, "
        "records_rejected, loaded_at, file_status) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [source, entity, day, name, read, read - rejected, rejected, LOADED_AT, status],
    )


def _build_marts(con: duckdb.DuckDBPyConnection) -> None:
    """Sessions and customers (times UTC), web events: counts worked out in the tests."""
    con.execute("create schema if not exists marts")
    con.execute("create schema if not exists staging")
    con.execute(
        """
        create table marts.dim_customers as
        select * from (values ('p1', true), ('p2', false), ('p3', true))
            as t(customer_id, is_identified)
        """
    )
    con.execute(
        """
        create table marts.fct_sessions as
        select session_id, customer_id, cast(started_at as timestamp) as started_at, channel
        from (values
            ('s1', 'p1', '2026-03-10 12:00:00', 'Paid Search'),
            ('s2', 'p2', '2026-03-10 13:00:00', 'Unassigned'),
            ('s3', 'p2', '2026-03-11 02:00:00', 'Direct'),
            ('s4', 'p3', '2026-03-12 12:00:00', 'Email'),
            ('s5', 'p1', '2026-03-09 12:00:00', 'Direct')
        ) as t(session_id, customer_id, started_at, channel)
        """
    )
    con.execute(
        """
        create table staging.stg_web__events as
        select message_id, cast(landing_dt as date) as landing_dt,
            cast(event_at as timestamp) as event_at
        from (values
            ('m1', '2026-03-10', '2026-03-10 12:00:00'),
            ('m2', '2026-03-10', '2026-03-09 23:00:00'),
            ('m3', '2026-03-11', '2026-03-11 02:00:00'),
            ('m4', '2026-03-11', '2026-03-12 01:00:00'),
            ('m5', '2026-03-12', '2026-03-10 08:00:00')
        ) as t(message_id, landing_dt, event_at)
        """
    )


def test_load_counts_sum_the_files_of_the_window_per_entity(con):
    _file(con, "web", "events", D1, "web/events/dt=2026-03-10/a.jsonl", 100, 4)
    _file(con, "web", "events", D2, "web/events/dt=2026-03-11/a.jsonl", 50, 1)
    _file(con, "web", "events", D2, "web/events/dt=2026-03-11/b.jsonl", 0, 0, "rejected")
    _file(con, "web", "events", D3, "web/events/dt=2026-03-12/a.jsonl", 70, 7)
    _file(con, "crm", "orders", D2, "crm/orders/dt=2026-03-11/a.csv", 20, 0, "duplicate")

    counts = load_counts(con, Window(D1, D2))

    assert counts == {
        ("web", "events"): LoadCounts(3, 1, 0, 150, 145, 5),
        ("crm", "orders"): LoadCounts(1, 0, 1, 20, 20, 0),
    }
    assert counts[("web", "events")].rejected_share == pytest.approx(5 / 150)
    assert load_counts(con, None)[("web", "events")].records_read == 220


def test_stitch_rate_and_unassigned_share_count_the_sessions_of_the_windows_reporting_days(con):
    _build_marts(con)

    # UTC: s1, s2 on the 10th, s3 on the 11th; s4 on the 12th and s5 on the 9th are outside.
    assert session_counts(con, Window(D1, D2), "UTC") == (3, 1, 1)
    # New York: s3 (02:00 UTC on the 11th) is 22:00 on the 10th; s4 stays on the 12th.
    assert session_counts(con, Window(D1, D1), "America/New_York") == (3, 1, 1)
    assert session_counts(con, Window(D1, D1), "UTC") == (2, 1, 1)

    metrics = RunMetrics(*session_counts(con, Window(D1, D2), "UTC"), None, None)
    assert metrics.stitch_rate == pytest.approx(1 / 3)
    assert metrics.unassigned_session_share == pytest.approx(1 / 3)
    assert metrics.late_event_share is None


def test_a_web_event_is_late_when_it_lands_after_its_reporting_day(con):
    _build_marts(con)

    # UTC: m2 (happened on the 9th, landed the 10th) is late, m1 and m3 are not, m4 (a
    # client clock ahead) is early, not late; m5 (landed the 12th) is outside the window.
    assert late_event_counts(con, Window(D1, D2), "UTC") == (4, 1)
    # New York: m3 (02:00 UTC on the 11th) happened on the 10th there, so it is late too.
    assert late_event_counts(con, Window(D1, D2), "America/New_York") == (4, 2)
    assert late_event_counts(con, None, "UTC") == (5, 2)


def test_the_metrics_are_unknown_before_the_marts_exist(con):
    assert session_counts(con, Window(D1, D1), "UTC") is None
    assert late_event_counts(con, Window(D1, D1), "UTC") is None


def _rows(run_id: str, read: int = 200, rejected: int = 2, **metrics):
    freshness = assess_freshness(Path("/nonexistent"), Window(D1, D1), DEFAULT_MAX_LAG_DAYS)
    return build_rows(
        run_id=run_id,
        run_started_at=dt.datetime(2026, 3, 13, 3, 0),
        measured_at=dt.datetime(2026, 3, 13, 3, 5),
        window=Window(D1, D1),
        counts={("web", "events"): LoadCounts(1, 0, 0, read, read - rejected, rejected)},
        freshness=freshness,
        loads={},
        dbt_freshness={},
        metrics=RunMetrics(**metrics),
    )


def test_writing_a_runs_health_again_replaces_its_rows(con):
    write_run_health(con, _rows("run-1"))
    write_run_health(con, _rows("run-1", read=300))
    write_run_health(con, _rows("run-2"))

    per_run = con.execute(
        f"select run_id, count(*), sum(records_read) from {RUN_HEALTH_TABLE} group by all "
        "order by all"
    ).fetchall()
    assert per_run == [("run-1", len(ENTITY_SPECS), 300), ("run-2", len(ENTITY_SPECS), 200)]


def test_checks_warn_or_error_at_their_thresholds_and_skip_small_volumes():
    settings = HealthSettings.defaults()
    rows = _rows(
        "run",
        read=200,
        rejected=12,  # 6 %: over the 5 % warning
        sessions_count=1000,
        identified_sessions_count=10,  # 1 %: under the 2 % error level
        unassigned_sessions_count=50,
        web_events_count=40,  # under min_volume: late share not judged
        late_web_events_count=30,
    )

    results = {result.check_name: result for result in evaluate_checks(rows, settings)}

    assert not results["rejected_share"].passed
    assert results["rejected_share"].severity == dg.AssetCheckSeverity.WARN
    assert not results["stitch_rate"].passed
    assert results["stitch_rate"].severity == dg.AssetCheckSeverity.ERROR
    assert results["unassigned_session_share"].passed
    assert results["late_event_share"].passed
    assert "too few to judge" in results["late_event_share"].description


# -- freshness --------------------------------------------------------------------------


def _landing_days(landing, days_by_entity: dict[str, list[dt.date]]) -> None:
    for spec in ENTITY_SPECS:
        default = [] if spec.source == "privacy" else [D1, D2, D3]
        for day in days_by_entity.get(spec.table, default):
            landing.folder(spec.source, spec.entity, day)


def test_a_source_without_a_day_of_the_window_is_missing_and_one_trailing_behind_is_late(
    landing,
):
    _landing_days(
        landing,
        {"crm_orders": [D1, D3], "ads_spend": [D1], "privacy_erasure_requests": [D1]},
    )

    results = {
        (r.source, r.entity): r
        for r in assess_freshness(landing.root, Window(D1, D3), DEFAULT_MAX_LAG_DAYS)
    }

    assert results["crm", "orders"].status == "missing"
    assert results["crm", "orders"].missing_days == (D2,)
    assert results["ads", "spend"].status == "missing_and_late"
    assert results["ads", "spend"].days_behind == 2
    assert results["privacy", "erasure_requests"].status == "not_required"
    assert results["web", "events"].status == "fresh"
    assert {r.status for key, r in results.items() if key[0] in ("web", "email")} == {"fresh"}
    assert freshness_summary(results.values()) == [
        "crm/orders missing 2026-03-11",
        "ads/spend missing 2026-03-11, 2026-03-12; late: newest 2026-03-10, 2 day(s) behind "
        "2026-03-12 (allowed 1)",
    ]


def test_one_day_behind_is_allowed_and_without_a_window_the_landing_span_is_expected(landing):
    _landing_days(landing, {"ads_spend": [D1, D2]})

    results = {r.name: r for r in assess_freshness(landing.root, None, DEFAULT_MAX_LAG_DAYS)}

    assert results["ads/spend"].days_behind == 1
    assert not results["ads/spend"].is_late
    assert results["ads/spend"].missing_days == (D3,)
    assert freshness_summary([results["web/events"]]) == ["all sources fresh"]


def test_dbt_source_freshness_is_judged_from_the_manifests_rules():
    manifest = {
        "sources": {
            "source.journey.web.events": {
                "schema": "raw",
                "name": "events",
                "identifier": "web_events",
                "loaded_at_field": "loaded_at",
                "freshness": {
                    "warn_after": {"count": 2, "period": "day"},
                    "error_after": {"count": 4, "period": "day"},
                },
            },
            "source.journey.markov_model.x": {
                "schema": "measurement",
                "name": "x",
                "identifier": "x",
                "loaded_at_field": None,
                "freshness": None,
            },
        }
    }

    rules = dbt_freshness_rules(manifest)

    assert rules == {"web_events": DbtFreshnessRule("web_events", "loaded_at", 48.0, 96.0)}
    now = dt.datetime(2026, 3, 13, 12, 0, tzinfo=dt.UTC)
    assert rules["web_events"].judge(dt.datetime(2026, 3, 12, 12, 0), now) == "pass"
    assert rules["web_events"].judge(dt.datetime(2026, 3, 10, 12, 0), now) == "warn"
    assert rules["web_events"].judge(dt.datetime(2026, 3, 9, 11, 0), now) == "error"
    assert rules["web_events"].judge(None, now) == "error"


def test_the_window_comes_from_the_runs_partition_tags():
    assert run_window(
        {
            "dagster/asset_partition_range_start": "2026-03-10",
            "dagster/asset_partition_range_end": "2026-03-12",
        }
    ) == Window(D1, D3)
    assert run_window({"dagster/partition": "2026-03-11"}) == Window(D2, D2)
    assert run_window({}) is None


# -- in Dagster -------------------------------------------------------------------------

DBT_TEST_KEY = dg.AssetKey(["marts", "fct_sessions"])


@dg.asset(
    key=DBT_TEST_KEY,
    check_specs=[
        dg.AssetCheckSpec("unique_session_id", asset=DBT_TEST_KEY),
        dg.AssetCheckSpec("not_null_channel", asset=DBT_TEST_KEY),
    ],
)
def fake_dbt_model():
    """Stands in for a dbt model: its checks carry a dbt test's unique_id, like dagster-dbt's."""
    yield dg.MaterializeResult(
        check_results=[
            dg.AssetCheckResult(
                check_name="unique_session_id",
                passed=True,
                metadata={"unique_id": "test.journey.unique_fct_sessions_session_id"},
            ),
            dg.AssetCheckResult(
                check_name="not_null_channel",
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"unique_id": "test.journey.not_null_fct_sessions_channel"},
            ),
        ]
    )


@dg.asset(key=dg.AssetKey(["published", "bi_duckdb"]), deps=[RUN_HEALTH_KEY])
def fake_publish() -> None:
    """Stands in for the publish step."""


def _raw_asset(spec_table: str) -> dg.AssetsDefinition:
    @dg.asset(key=dg.AssetKey(["raw", spec_table]))
    def _raw() -> None:
        """Stands in for the ingestion asset."""

    return _raw


@pytest.fixture
def warehouse(tmp_path: Path, landing) -> Warehouse:
    """A landing folder with crm/orders missing the 11th, and a warehouse that has
    loaded it (raw.loaded_files) and built the marts the health asset reads."""
    _landing_days(landing, {"crm_orders": [D1, D3], "privacy_erasure_requests": [D2]})
    warehouse = Warehouse(landing_dir=str(landing.root), warehouse_dir=str(tmp_path / "wh"))
    with warehouse.connect() as con:
        ensure_raw_schema(con)
        for spec in ENTITY_SPECS:
            for day in (D1, D2, D3):
                if spec.source != "privacy" and (spec.table, day) != ("crm_orders", D2):
                    _file(con, spec.source, spec.entity, day, f"{spec.table}/{day}", 100, 1)
        _file(con, "web", "events", D2, "web/bad-day", 100, 40)
        _build_marts(con)
    return warehouse


def _materialize(warehouse: Warehouse, thresholds: HealthThresholds, extra=()):
    web, orders = spec_for("web", "events"), spec_for("crm", "orders")
    checks = build_freshness_checks([web, orders])
    return dg.materialize(
        [
            fake_dbt_model,
            build_run_health_asset([DBT_TEST_KEY]),
            _raw_asset(web.table),
            _raw_asset(orders.table),
            *checks,
            *extra,
        ],
        resources={"warehouse": warehouse, "health_thresholds": thresholds},
        tags={
            "dagster/asset_partition_range_start": D1.isoformat(),
            "dagster/asset_partition_range_end": D3.isoformat(),
        },
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def test_the_health_asset_writes_a_row_per_entity_and_its_checks_show_in_the_run(warehouse):
    result = _materialize(warehouse, HealthThresholds())

    assert result.success
    with duckdb.connect(str(Path(warehouse.warehouse_dir) / "journey.duckdb")) as con:
        rows = con.execute(
            f"select source, entity, records_read, records_rejected, freshness_status, "
            f"missing_landing_days, stitch_rate, unassigned_session_share, late_event_share, "
            f"dbt_tests_passed, dbt_tests_warned, dbt_tests_failed, partition_start, "
            f"partition_end from {RUN_HEALTH_TABLE} where run_id = ?",
            [result.run_id],
        ).fetchall()
        lines = run_health_lines(con, result.run_id, Path(warehouse.landing_dir))
    by_entity = {(row[0], row[1]): row[2:] for row in rows}
    assert len(rows) == len(ENTITY_SPECS)
    assert by_entity["web", "events"][:2] == (400, 43)
    assert by_entity["crm", "orders"][:4] == (200, 2, "missing", "2026-03-11")
    assert by_entity["privacy", "erasure_requests"][2] == "not_required"
    # sessions of the 10th..12th: s1..s4, two of identified people, one Unassigned;
    # web events landed the 10th..12th: all five, m2 and m5 late.
    assert by_entity["web", "events"][4:] == (0.5, 0.25, 0.4, 1, 1, 0, D1, D3)

    checks = {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }
    # web events quarantined 43 of 400 (10.75 %): over the 5 % warning, so the check warns
    rejected = checks["marts/fct_run_health", "rejected_share"]
    assert (rejected.passed, rejected.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert checks["marts/fct_run_health", "stitch_rate"].passed  # 4 sessions: too few to judge
    assert not checks["raw/crm_orders", FRESHNESS_CHECK_NAME].passed
    assert checks["raw/crm_orders", FRESHNESS_CHECK_NAME].severity == dg.AssetCheckSeverity.WARN
    assert checks["raw/web_events", FRESHNESS_CHECK_NAME].passed
    assert "freshness: crm/orders missing 2026-03-11" in lines


def test_an_error_threshold_fails_the_run_before_publishing(warehouse):
    thresholds = HealthThresholds(min_stitch_rate_error="0.9", min_volume="0")

    result = _materialize(warehouse, thresholds, extra=[fake_publish])

    assert not result.success
    stitch = [e for e in result.get_asset_check_evaluations() if e.check_name == "stitch_rate"]
    assert [(e.passed, e.severity) for e in stitch] == [(False, dg.AssetCheckSeverity.ERROR)]
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert RUN_HEALTH_KEY in materialized
    assert dg.AssetKey(["published", "bi_duckdb"]) not in materialized


def test_a_run_that_wrote_no_health_rows_reports_freshness_from_the_landing_folder(con, landing):
    _landing_days(landing, {"web_events": [D1, D3]})

    lines = run_health_lines(con, "a-failed-run", landing.root)

    assert lines == ["freshness (landing folder, every day): web/events missing 2026-03-11"]
