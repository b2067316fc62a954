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
    COLUMN_TYPES,
    RUN_HEALTH_TABLE,
    LoadCounts,
    RunMetrics,
    build_rows,
    identify_event_count,
    late_event_counts,
    load_counts,
    run_metrics,
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
            "JOURNEY_HEALTH_MIN_VOLUME_WARN": "5",
            "JOURNEY_FRESHNESS_MAX_LAG_DAYS": "ads=3, privacy=never, web=0",
            "JOURNEY_FRESHNESS_SEVERITY": "error",
        },
    )

    assert settings.thresholds["rejected_share"].warn == 0.5
    assert settings.thresholds["rejected_share"].error == 0.9
    assert settings.thresholds["stitch_rate"].error is None
    assert settings.thresholds["stitch_rate"].warn == 0.10
    assert settings.min_volume == 10
    assert settings.min_volume_warn == 5
    assert settings.max_lag_days == {**DEFAULT_MAX_LAG_DAYS, "ads": 3, "web": 0}
    assert settings.freshness_severity == "ERROR"


@pytest.mark.parametrize(
    "environ",
    [
        {"JOURNEY_HEALTH_MAX_LATE_EVENT_SHARE_WARN": "10%"},
        {"JOURNEY_HEALTH_MAX_LATE_EVENT_SHARE_WARN": "1.5"},
        {"JOURNEY_FRESHNESS_MAX_LAG_DAYS": "ads"},
        {"JOURNEY_FRESHNESS_SEVERITY": "loud"},
        {"JOURNEY_HEALTH_MIN_VOLUME_WARN": "twenty"},
    ],
)
def test_a_threshold_that_cannot_be_read_is_refused_with_its_name(environ):
    with pytest.raises(ThresholdError, match=next(iter(environ))):
        HealthSettings.resolve(environ=environ)


def test_a_share_is_judged_on_its_own_denominator_and_warns_at_most_below_min_volume():
    settings = HealthSettings.defaults()  # warn > 5 %, error > 20 %; warns from 20, fails from 100

    small = settings.judge("rejected_share", 8, 30)  # 27 % of 30 records
    assert (small.verdict, small.status) == ("warn", "warn_only")
    assert small.value == pytest.approx(8 / 30)
    assert "fewer than 100" in small.reason
    assert settings.judge("rejected_share", 1, 30).verdict == "pass"
    assert settings.judge("rejected_share", 3, 30).verdict == "warn"
    assert settings.judge("rejected_share", 27, 100).verdict == "error"
    tiny = settings.judge("rejected_share", 3, 4)
    assert (tiny.verdict, tiny.status) == ("pass", "too_few")
    assert settings.judge("rejected_share", 0, 0).status == "too_few"
    skipped = settings.judge("stitch_rate", 0, 5000, not_applicable="no identify calls")
    assert (skipped.verdict, skipped.status, skipped.reason) == (
        "pass",
        "not_applicable",
        "no identify calls",
    )


def test_a_min_volume_below_the_warning_volume_judges_from_min_volume():
    settings = HealthSettings.resolve(environ={"JOURNEY_HEALTH_MIN_VOLUME": "10"})

    assert settings.smallest_volume_judged == 10
    assert settings.judge("rejected_share", 3, 10).verdict == "error"
    assert (
        HealthSettings.resolve(environ={"JOURNEY_HEALTH_MIN_VOLUME": "0"})
        .judge("stitch_rate", 0, 1)
        .verdict
        == "error"
    )


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
        select message_id, message_type, user_id, trait_email,
            cast(landing_dt as date) as landing_dt, cast(event_at as timestamp) as event_at
        from (values
            ('m1', 'page', null, null, '2026-03-10', '2026-03-10 12:00:00'),
            ('m2', 'page', null, null, '2026-03-10', '2026-03-09 23:00:00'),
            ('m3', 'identify', null, 'ann@example.com', '2026-03-11', '2026-03-11 02:00:00'),
            ('m4', 'track', 'u-1', null, '2026-03-11', '2026-03-12 01:00:00'),
            ('m5', 'page', null, null, '2026-03-12', '2026-03-10 08:00:00')
        ) as t(message_id, message_type, user_id, trait_email, landing_dt, event_at)
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
    assert identify_event_count(con) is None


def test_identification_signals_are_counted_over_every_landing_day_not_only_the_window(con):
    _build_marts(con)

    # m3 (an identify call with traits.email) and m4 (a userId) landed the 11th; a run of
    # the 12th alone still knows that the site identifies its visitors.
    assert identify_event_count(con) == 2
    assert run_metrics(con, Window(D3, D3), "UTC").web_identify_events_count == 2
    con.execute(
        "update staging.stg_web__events "
        "set message_type = 'page', user_id = null, trait_email = null"
    )
    assert identify_event_count(con) == 0


def _rows(run_id: str, read: int = 200, rejected: int = 2, counts=None, freshness=None, **metrics):
    if freshness is None:
        freshness = assess_freshness(Path("/nonexistent"), Window(D1, D1), DEFAULT_MAX_LAG_DAYS)
    if counts is None:
        counts = {("web", "events"): (read, rejected)}
    return build_rows(
        run_id=run_id,
        run_started_at=dt.datetime(2026, 3, 13, 3, 0),
        measured_at=dt.datetime(2026, 3, 13, 3, 5),
        window=Window(D1, D1),
        counts={
            key: LoadCounts(1, 0, 0, read, read - rejected, rejected)
            for key, (read, rejected) in counts.items()
        },
        freshness=freshness,
        loads={},
        dbt_freshness={},
        metrics=RunMetrics(**metrics),
    )


def test_a_run_health_table_written_before_a_new_column_gets_it_added(con):
    con.execute("create schema marts")
    old_columns = ", ".join(
        f"{name} {kind}"
        for name, kind in COLUMN_TYPES.items()
        if name != "web_identify_events_count"
    )
    con.execute(f"create table {RUN_HEALTH_TABLE} ({old_columns})")

    write_run_health(con, _rows("run-1", web_identify_events_count=7))

    assert con.execute(
        f"select distinct web_identify_events_count from {RUN_HEALTH_TABLE}"
    ).fetchall() == [(7,)]


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
        web_events_count=15,  # under min_volume_warn: late share not judged
        late_web_events_count=12,
        web_identify_events_count=40,  # the site identifies visitors: stitch rate judged
    )

    results = {result.check_name: result for result in evaluate_checks(rows, settings)}

    assert not results["rejected_share"].passed
    assert results["rejected_share"].severity == dg.AssetCheckSeverity.WARN
    assert not results["stitch_rate"].passed
    assert results["stitch_rate"].severity == dg.AssetCheckSeverity.ERROR
    assert results["unassigned_session_share"].passed
    assert results["late_event_share"].passed
    assert "too few to judge" in results["late_event_share"].description


def test_a_landing_with_no_identify_calls_does_not_fail_on_the_stitch_rate():
    rows = _rows(
        "run",
        read=32_283,
        rejected=0,
        sessions_count=5_000,
        identified_sessions_count=0,
        unassigned_sessions_count=0,
        web_events_count=32_283,
        late_web_events_count=0,
        web_identify_events_count=0,  # no identify call, userId or traits.email at all
    )

    results = {
        result.check_name: result for result in evaluate_checks(rows, HealthSettings.defaults())
    }

    stitch = results["stitch_rate"]
    assert stitch.passed
    assert stitch.metadata["status"].value == "not_applicable"
    assert stitch.description.startswith(
        "stitch_rate not applicable: the web source has no identify"
    )
    assert all(result.passed for result in results.values())


def test_a_site_that_identified_visitors_and_lost_its_stitching_still_fails():
    rows = _rows(
        "run",
        sessions_count=5_000,
        identified_sessions_count=10,  # 0.2 %
        web_identify_events_count=3,  # identify calls exist (some earlier day)
    )

    [stitch] = [
        r for r in evaluate_checks(rows, HealthSettings.defaults()) if r.check_name == "stitch_rate"
    ]

    assert (stitch.passed, stitch.severity) == (False, dg.AssetCheckSeverity.ERROR)
    assert stitch.metadata["status"].value == "judged"


def test_27_percent_rejected_tickets_out_of_30_records_warns_though_the_run_as_a_whole_is_fine():
    rows = _rows(
        "run",
        counts={("web", "events"): (10_000, 10), ("crm", "tickets"): (30, 8)},
        sessions_count=2_000,
        identified_sessions_count=600,
        web_identify_events_count=900,
    )

    [rejected] = [
        r
        for r in evaluate_checks(rows, HealthSettings.defaults())
        if r.check_name == "rejected_share"
    ]

    # 18 of 10,030 overall (0.2 %) passes; tickets alone, 26.7 % of 30, is past the 20 %
    # error level but too few records to fail the run: it warns.
    assert (rejected.passed, rejected.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert rejected.metadata["entities_over_threshold"].value == {"crm/tickets": 0.2667}
    assert "crm/tickets 26.7% of 30" in rejected.description


def test_a_small_entity_is_not_judged_below_the_warning_volume_and_an_empty_one_not_at_all():
    rows = _rows(
        "run",
        counts={
            ("web", "events"): (10_000, 0),
            ("crm", "tickets"): (12, 6),
            ("crm", "orders"): (0, 0),
        },
    )

    [rejected] = [
        r
        for r in evaluate_checks(rows, HealthSettings.defaults())
        if r.check_name == "rejected_share"
    ]

    assert rejected.passed
    assert rejected.metadata["entities_too_few_to_judge"].value == ["crm/tickets"]


def test_a_landing_without_a_crm_source_reports_crm_absent_and_passes_every_check(landing):
    no_crm = {spec.table: [] for spec in ENTITY_SPECS if spec.source == "crm"}
    _landing_days(landing, {**no_crm, "privacy_erasure_requests": [D2]})
    freshness = assess_freshness(
        landing.root, Window(D1, D3), DEFAULT_MAX_LAG_DAYS, ever_loaded=set()
    )
    rows = _rows(
        "run",
        counts={("web", "events"): (5_000, 20), ("email", "events"): (800, 4)},
        freshness=freshness,
        sessions_count=900,
        identified_sessions_count=300,
        unassigned_sessions_count=9,
        web_events_count=5_000,
        late_web_events_count=40,
        web_identify_events_count=350,
    )

    results = evaluate_checks(rows, HealthSettings.defaults())

    assert {row.freshness_status for row in rows if row.source == "crm"} == {"absent"}
    assert all(result.passed for result in results)
    [rejected] = [r for r in results if r.check_name == "rejected_share"]
    assert rejected.metadata["absent"].value == ["crm"]
    assert freshness_summary(freshness) == [
        "all present sources fresh; absent (never delivered, not judged): crm"
    ]


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


def test_an_entity_that_never_delivered_is_absent_but_one_that_stopped_is_missing_and_late(
    landing,
):
    _landing_days(landing, {"crm_tickets": [], "email_events": []})

    results = {
        r.name: r
        for r in assess_freshness(
            landing.root, Window(D1, D3), DEFAULT_MAX_LAG_DAYS, ever_loaded={"email_events"}
        )
    }

    tickets = results["crm/tickets"]
    assert (tickets.status, tickets.is_missing, tickets.is_late) == ("absent", False, False)
    assert tickets.explain().startswith("crm/tickets absent: never delivered")
    assert results["email/events"].status == "missing_and_late"
    assert freshness_summary(results.values()) == [
        results["email/events"].explain(),
        "absent (never delivered, not judged): crm/tickets",
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


def test_a_content_site_without_logins_or_a_crm_publishes(tmp_path: Path, landing):
    """The clickstream of a site whose visitors never log in, and no CRM at all: nothing is
    wrong, so the run publishes; the stitch rate is not applicable and CRM is absent."""
    _landing_days(landing, {spec.table: [] for spec in ENTITY_SPECS if spec.source == "crm"})
    warehouse = Warehouse(landing_dir=str(landing.root), warehouse_dir=str(tmp_path / "wh"))
    with warehouse.connect() as con:
        ensure_raw_schema(con)
        for spec in ENTITY_SPECS:
            if spec.source in ("web", "email", "ads"):
                for day in (D1, D2, D3):
                    _file(con, spec.source, spec.entity, day, f"{spec.table}/{day}", 100, 1)
        _build_marts(con)
        con.execute("update marts.dim_customers set is_identified = false")
        con.execute(
            "update staging.stg_web__events "
            "set message_type = 'page', user_id = null, trait_email = null"
        )
    # 4 sessions would be too few to judge anything: judge from the first one
    thresholds = HealthThresholds(min_volume="0")

    result = _materialize(warehouse, thresholds, extra=[fake_publish])

    assert result.success
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert dg.AssetKey(["published", "bi_duckdb"]) in materialized
    checks = {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }
    stitch = checks["marts/fct_run_health", "stitch_rate"]
    assert stitch.passed
    assert stitch.metadata["status"].value == "not_applicable"
    orders = checks["raw/crm_orders", FRESHNESS_CHECK_NAME]
    assert orders.passed
    assert orders.metadata["status"].value == "absent"
    with duckdb.connect(str(Path(warehouse.warehouse_dir) / "journey.duckdb")) as con:
        statuses = con.execute(
            f"select source, entity, freshness_status, stitch_rate, web_identify_events_count "
            f"from {RUN_HEALTH_TABLE} where run_id = ? order by all",
            [result.run_id],
        ).fetchall()
        summary = "\n".join(run_health_lines(con, result.run_id, Path(warehouse.landing_dir)))
    assert {row[2] for row in statuses if row[0] == "crm"} == {"absent"}
    assert {row[3:] for row in statuses} == {(0.0, 0)}
    # journey run's summary says so in words, instead of "stitch rate 0.0%".
    assert "stitch rate not judged (no visitor ever identified)" in summary
    assert "absent (never delivered, not judged): crm" in summary


def test_a_run_that_wrote_no_health_rows_reports_freshness_from_the_landing_folder(con, landing):
    _landing_days(landing, {"web_events": [D1, D3]})

    lines = run_health_lines(con, "a-failed-run", landing.root)

    assert lines == ["freshness (landing folder, every day): web/events missing 2026-03-11"]
