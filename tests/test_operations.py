"""Daily operations: day-by-day runs and killed runs converge to one full run (a rerun
of past partitions: tests/test_pipeline.py).

The reference is the session's `pipeline` fixture: one in-process run over every day of
the generated landing. Here a second warehouse is built from the same landing folder the
way production builds it, by separate `journey run` processes over later and later days
(late web events, CRM updates and merges, refunds and restated spend arrive in later
`dt=` folders), with three of those runs killed (SIGKILL of the whole process group)
during a load, during dbt and during publishing. Every mart must end identical, row for
row, to the reference, and a killed run must never touch the published copy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb

from orchestration.settings import Settings
from tests.support import (
    PIPELINE_DAYS,
    PIPELINE_START,
    generate_pipeline_landing,
    kill_journey_when,
    run_journey,
    snapshot,
    snapshot_file,
)

# Lines `journey run` prints at the moments the test kills it.
DURING_LOAD = "loading raw.web_events"
DURING_DBT = "journey_dbt_models - Running dbt command"
# While publishing: the staged copy exists, the swap has not happened yet.
STAGED_COPY = "published/.bi-*.duckdb"


def _day(offset: int) -> str:
    return (PIPELINE_START + dt.timedelta(days=offset)).isoformat()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(settings, first: int, last: int) -> None:
    result = run_journey(settings, "run", "--verbose", "--from", _day(first), "--to", _day(last))
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]


def test_daily_runs_with_killed_runs_end_identical_to_one_full_run(
    request, erasure_key_file, tmp_path, monkeypatch
):
    # Without the late-data lookback, every late or changed row must be found by the
    # incremental models' own change detection.
    monkeypatch.setenv("JOURNEY_WEB_LATE_DATA_LOOKBACK_DAYS", "0")
    monkeypatch.setenv("JOURNEY_EMAIL_LATE_DATA_LOOKBACK_DAYS", "0")
    # The reference's landing folder, written again here (the same bytes) so that these
    # runs start at once, while another worker builds the reference.
    settings = Settings(
        landing_dir=tmp_path / "landing", warehouse_dir=tmp_path / "warehouse", reporting_tz="UTC"
    )
    generate_pipeline_landing(settings.landing_dir)
    last = PIPELINE_DAYS - 1
    bi = settings.published_dir / "bi.duckdb"

    _run(settings, 0, last - 4)
    published = _digest(bi)

    # Each killed run is recovered by the next one, over the same days and more: the run
    # after a killed load loads those days again and is killed during dbt; the one after it
    # builds them again, adds the last day and is killed while publishing; the last one finds
    # every model as that run built it (nothing changed since: it builds nothing) and
    # publishes.
    kill_journey_when(
        settings, DURING_LOAD, "run", "--verbose", "--from", _day(last - 3), "--to", _day(last - 1)
    )
    assert _digest(bi) == published, "a run killed during a load left the published copy alone"
    kill_journey_when(
        settings,
        DURING_DBT,
        "run",
        "--verbose",
        "--from",
        _day(last - 3),
        "--to",
        _day(last - 1),
        delay=3,
    )
    assert _digest(bi) == published, "a run killed during dbt left the published copy alone"
    kill_journey_when(
        settings,
        None,
        "run",
        "--from",
        _day(last - 3),
        "--to",
        _day(last),
        appears=STAGED_COPY,
    )
    assert _digest(bi) == published, "a run killed while publishing left the published copy alone"
    _run(settings, last - 3, last)

    pipeline = request.getfixturevalue("pipeline")
    assert pipeline.outcome.success, pipeline.outcome.failure
    with pipeline.connect() as con:
        reference_marts = snapshot(con, ("marts",))
    assert snapshot_file(settings.warehouse_path, ("marts",)) == reference_marts
    assert snapshot_file(bi, ("marts",)) == reference_marts

    # A record that breaks a dbt test of severity error (a web message without an id,
    # slipped into raw behind the loader's back) stops the run before publishing.
    published = _digest(bi)
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute(
        "insert into raw.web_events values (date '2020-01-01', 'planted.jsonl', 1, "
        """'{"type": "page", "anonymousId": "a-1", "timestamp": "2020-01-01T00:00:00Z"}', """
        "now())"
    )
    con.close()
    failed = run_journey(settings, "run", "--verbose", "--from", _day(last), "--to", _day(last))
    assert failed.returncode != 0
    output = failed.stdout + failed.stderr
    assert "failed: staging/stg_web__events:not_null_stg_web__events\n" in output
    assert "dbt show --select <test>" in output
    assert _digest(bi) == published, "BI keeps the last copy that passed its tests"
