"""The `journey` command stops on a misconfiguration with one line that says what to do."""

from __future__ import annotations

import pytest

from orchestration.cli import main


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("JOURNEY_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("JOURNEY_LANDING_DIR", str(tmp_path / "landing"))
    return tmp_path


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_a_missing_landing_folder_says_which_variable_to_set(env, capsys):
    assert main(["run"]) == 1
    err = _one_line_error(capsys)
    assert "does not exist" in err and "JOURNEY_LANDING_DIR" in err


def test_an_empty_landing_folder_says_what_is_expected(env, capsys):
    (env / "landing").mkdir()
    assert main(["run"]) == 1
    assert "dt=YYYY-MM-DD" in _one_line_error(capsys)


def test_a_bad_date_says_the_expected_format(env, capsys):
    assert main(["run", "--from", "2026-13-01"]) == 1
    assert "use YYYY-MM-DD" in _one_line_error(capsys)


def test_a_reversed_range_says_to_swap_the_dates(env, capsys):
    assert main(["run", "--from", "2026-02-02", "--to", "2026-02-01"]) == 1
    assert "swap them" in _one_line_error(capsys)


def test_a_range_outside_the_landing_days_names_the_days_present(env, landing, capsys):
    landing.root = env / "landing"
    landing.write_jsonl("web", "events", "part-0.jsonl", ["{}"])
    assert main(["run", "--from", "2025-01-01", "--to", "2025-01-31"]) == 1
    assert "2026-03-10" in _one_line_error(capsys)


def test_an_unknown_reporting_time_zone_is_refused(env, monkeypatch, capsys):
    monkeypatch.setenv("JOURNEY_REPORTING_TZ", "Mars/Olympus")
    assert main(["run"]) == 1
    assert "IANA time zone" in _one_line_error(capsys)


def test_generate_writes_the_same_bytes_for_the_same_arguments(tmp_path, capsys):
    args = ["--customers", "50", "--days", "2", "--start", "2026-01-01", "--seed", "3"]
    assert main(["generate", "--out", str(tmp_path / "a"), *args]) == 0
    assert main(["generate", "--out", str(tmp_path / "b"), *args]) == 0
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.*"))
    assert files_a == files_b
    assert all(
        (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files_a
    )
