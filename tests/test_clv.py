"""Predictive CLV: the BG/NBD and Gamma-Gamma fits, their formulas, and the asset.

The CDNOW sample (2,357 customers, time in weeks) is read as a file from the `lifetimes`
package, a dev dependency that is never imported.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.metadata
import math
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pytest

from orchestration.defs.clv import PARAMETERS_KEY, PREDICTIONS_KEY, clv_model
from orchestration.defs.resources import Warehouse
from orchestration.measurement.clv import (
    BgNbdParameters,
    CustomerSummary,
    GammaGammaParameters,
    bg_nbd_expected_purchases,
    bg_nbd_log_likelihood,
    bg_nbd_probability_alive,
    fit_bg_nbd,
    fit_clv,
    fit_gamma_gamma,
    gamma_gamma_expected_order_value,
    gamma_gamma_log_likelihood,
    run_clv,
)

CDNOW_FILE = "cdnow_customers_summary_with_transactions.csv"
# Fader, Hardie & Lee (2005), CDNOW sample, weeks; Fader & Hardie (2013), same sample.
PUBLISHED_BG_NBD_WEEKS = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_BG_NBD_LOG_LIKELIHOOD_WEEKS = -9582.4
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}


@pytest.fixture(scope="module")
def cdnow() -> dict[str, np.ndarray]:
    paths = [
        file
        for file in importlib.metadata.files("lifetimes") or []
        if file.name == CDNOW_FILE and file.parent.name == "datasets"
    ]
    assert paths, f"{CDNOW_FILE} not found in the installed lifetimes package"
    with Path(paths[0].locate()).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2357
    return {
        column: np.array([float(row[column]) for row in rows])
        for column in ("x", "t_x", "T", "zbar")
    }


def assert_within_one_percent(found: dict[str, float], published: dict[str, float]) -> None:
    for name, value in published.items():
        assert found[name] == pytest.approx(value, rel=0.01), (name, found[name], value)


def test_bg_nbd_reproduces_the_published_cdnow_parameters_in_weeks(cdnow):
    fit = fit_bg_nbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert_within_one_percent(fit.parameters.as_dict(), PUBLISHED_BG_NBD_WEEKS)
    assert fit.log_likelihood == pytest.approx(PUBLISHED_BG_NBD_LOG_LIKELIHOOD_WEEKS, abs=0.1)
    assert fit.customers_fitted == 2357


def test_bg_nbd_in_days_scales_only_alpha(cdnow):
    weeks = fit_bg_nbd(cdnow["x"], cdnow["t_x"], cdnow["T"]).parameters
    days = fit_bg_nbd(cdnow["x"], 7 * cdnow["t_x"], 7 * cdnow["T"]).parameters
    assert days.alpha == pytest.approx(7 * PUBLISHED_BG_NBD_WEEKS["alpha"], rel=0.01)
    assert days.alpha == pytest.approx(7 * weeks.alpha, rel=1e-4)
    for name in ("r", "a", "b"):
        assert getattr(days, name) == pytest.approx(getattr(weeks, name), rel=1e-4)
        assert getattr(days, name) == pytest.approx(PUBLISHED_BG_NBD_WEEKS[name], rel=0.01)


def test_gamma_gamma_reproduces_the_published_cdnow_parameters(cdnow):
    repeat = cdnow["x"] > 0
    fit = fit_gamma_gamma(cdnow["x"][repeat], cdnow["zbar"][repeat])
    assert fit.customers_fitted == 946
    assert_within_one_percent(fit.parameters.as_dict(), PUBLISHED_GAMMA_GAMMA)


def test_expected_purchases_match_the_papers_worked_example():
    # Fader, Hardie & Lee (2005): a customer with x = 2, t_x = 30.43, T = 38.86 weeks
    # is expected to make 1.226 purchases in the next 39 weeks.
    published = BgNbdParameters(**PUBLISHED_BG_NBD_WEEKS)
    expected = bg_nbd_expected_purchases(published, 39, [2], [30.43], [38.86])
    assert expected[0] == pytest.approx(1.226, abs=0.002)


def test_bg_nbd_log_likelihood_matches_hand_computed_values():
    # x = 0: the B terms cancel and L = (alpha / (alpha + T))^r.
    zero = bg_nbd_log_likelihood(BgNbdParameters(r=2, alpha=3, a=0.5, b=4), [0], [0], [5])
    assert zero[0] == pytest.approx(2 * math.log(3 / 8))
    # r = alpha = a = 1, b = 2, x = 1, t_x = 1, T = 2:
    # B(1, 3)/B(1, 2) = 2/3; L = 2/3 · (1/3^2 + 1/2 · 1/2^2) = 17/108.
    one = bg_nbd_log_likelihood(BgNbdParameters(r=1, alpha=1, a=1, b=2), [1], [1], [2])
    assert one[0] == pytest.approx(math.log(17 / 108))


def test_probability_alive_is_one_without_repeat_purchases_and_falls_with_silence():
    parameters = BgNbdParameters(r=0.25, alpha=30, a=0.8, b=2.4)
    alive = bg_nbd_probability_alive(parameters, [0, 0, 3, 3], [0, 0, 300, 30], [10, 400, 400, 400])
    assert alive[0] == 1.0
    assert alive[1] == 1.0
    assert 0 < alive[3] < alive[2] < 1
    # Hand-computed: 1 / (1 + a/(b + x - 1) · ((alpha + T)/(alpha + t_x))^(r + x)).
    assert alive[2] == pytest.approx(1 / (1 + 0.8 / 4.4 * (430 / 330) ** 3.25))


def test_expected_purchases_rise_with_frequency_at_equal_recency_and_tenure():
    parameters = BgNbdParameters(r=0.25, alpha=30, a=0.8, b=2.4)
    frequency = np.arange(1, 8)
    expected = bg_nbd_expected_purchases(parameters, 365, frequency, [200] * 7, [300] * 7)
    assert np.all(np.diff(expected) > 0)


def test_expected_purchases_tend_to_the_nbd_model_when_nobody_drops_out():
    # With b → ∞ the dropout probability is 0 and BG/NBD becomes the NBD model:
    # E[Y(t) | x, T] = (r + x) t / (alpha + T).
    parameters = BgNbdParameters(r=0.5, alpha=20, a=2, b=1e7)
    expected = bg_nbd_expected_purchases(parameters, 30, [0, 4], [0, 50], [60, 60])
    assert expected == pytest.approx([0.5 * 30 / 80, 4.5 * 30 / 80], rel=1e-4)


def test_gamma_gamma_matches_hand_computed_values():
    parameters = GammaGammaParameters(p=2, q=3, gamma=10)
    value = gamma_gamma_expected_order_value(parameters, [2, 0], [5.0, math.nan])
    assert value[0] == pytest.approx(2 * (10 + 2 * 5) / (2 * 2 + 3 - 1))
    # Frequency 0: the population mean p·gamma / (q - 1).
    assert value[1] == pytest.approx(2 * 10 / (3 - 1))
    assert parameters.population_mean == pytest.approx(10)
    # p = 1, q = 2, gamma = 1, x = 1, z̄ = 1: Γ(3)/(Γ(1)Γ(2)) · 1 / 2^3 = 1/4.
    density = gamma_gamma_log_likelihood(GammaGammaParameters(p=1, q=2, gamma=1), [1], [1.0])
    assert density[0] == pytest.approx(math.log(0.25))


def simulated_customers(count: int = 400, seed: int = 7) -> list[CustomerSummary]:
    """Customers drawn from BG/NBD (days) with gamma-distributed spend per purchase."""
    rng = np.random.default_rng(seed)
    customers = []
    for number in range(count):
        rate = rng.gamma(0.8, 1 / 40)
        dropout = rng.beta(1.0, 3.0)
        tenure = int(rng.integers(30, 365))
        scale = 1 / rng.gamma(4.0, 1 / 100.0)
        day, days = 0.0, []
        while True:
            day += rng.exponential(1 / rate)
            if day > tenure:
                break
            days.append(math.ceil(day))
            if rng.random() < dropout:
                break
        days = sorted(set(days))
        spend = [rng.gamma(5.0, scale) for _ in days]
        customers.append(
            CustomerSummary(
                customer_id=f"c{number:04d}",
                frequency=len(days),
                recency_days=days[-1] if days else 0,
                tenure_days=tenure,
                avg_repeat_order_value=float(np.mean(spend)) if days else None,
            )
        )
    return customers


def test_a_fit_predicts_every_customer_consistently():
    fit = fit_clv(simulated_customers())
    assert fit.fitted, fit.reason
    assert len(fit.customers) == 400
    assert fit.bg_nbd.customers_fitted == 400
    assert fit.gamma_gamma.customers_fitted == sum(c.frequency > 0 for c in fit.customers)
    frequency = np.array([c.frequency for c in fit.customers])
    assert np.all(fit.probability_alive[frequency == 0] == 1)
    assert np.all((fit.probability_alive > 0) & (fit.probability_alive <= 1))
    assert np.all(fit.expected_purchases > 0)
    assert np.allclose(
        fit.expected_order_value[frequency == 0], fit.gamma_gamma.parameters.population_mean
    )
    assert np.allclose(fit.predicted_clv, fit.expected_purchases * fit.expected_order_value)


@pytest.mark.parametrize(
    ("customers", "reason"),
    [
        (simulated_customers(count=9), "at least 10 needed"),
        (
            [CustomerSummary(f"c{n}", 0, 0, 30 + n, None) for n in range(50)],
            "0 repeat customers",
        ),
        (
            [CustomerSummary(f"c{n}", 1, 5, 30, 0.0) for n in range(50)],
            "0 repeat customers with a positive repeat spend",
        ),
    ],
    ids=["too-few-customers", "no-repeat-purchases", "only-refunded-repeats"],
)
def test_degenerate_data_fits_nothing_and_says_why(customers, reason):
    fit = fit_clv(customers)
    assert not fit.fitted
    assert reason in fit.reason
    assert fit.bg_nbd is None and fit.gamma_gamma is None
    assert fit.predicted_clv.size == 0


def create_summary(path: Path, customers: list[CustomerSummary], last_data_date: dt.date) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema intermediate")
        con.execute(
            """
            create table intermediate.int_clv_customer_summary (
                customer_id varchar, first_order_date date, last_order_date date,
                frequency integer, recency_days integer, tenure_days integer,
                avg_repeat_order_value double, last_data_date date
            )
            """
        )
        con.execute(
            """
            insert into intermediate.int_clv_customer_summary
            select
                unnest(cast($ids as varchar[])),
                $last_data_date - unnest(cast($tenure as integer[])),
                $last_data_date - unnest(cast($tenure as integer[]))
                    + unnest(cast($recency as integer[])),
                unnest(cast($frequency as integer[])),
                unnest(cast($recency as integer[])),
                unnest(cast($tenure as integer[])),
                unnest(cast($value as double[])),
                $last_data_date
            """,
            {
                "ids": [c.customer_id for c in customers],
                "frequency": [c.frequency for c in customers],
                "recency": [c.recency_days for c in customers],
                "tenure": [c.tenure_days for c in customers],
                "value": [c.avg_repeat_order_value for c in customers],
                "last_data_date": last_data_date,
            },
        )


def read_tables(path: Path) -> tuple[list[tuple], list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as con:
        predictions = con.execute(
            "select * from measurement.clv_customer_predictions order by customer_id"
        ).fetchall()
        parameters = con.execute(
            "select * from measurement.clv_parameters order by model, parameter"
        ).fetchall()
    return predictions, parameters


def test_the_asset_writes_both_tables_and_a_rerun_writes_the_same_rows(tmp_path):
    create_summary(tmp_path / "journey.duckdb", simulated_customers(), dt.date(2026, 3, 31))
    warehouse = Warehouse(warehouse_dir=str(tmp_path), landing_dir=str(tmp_path))
    result = dg.materialize([clv_model], resources={"warehouse": warehouse})
    assert result.success
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert materialized == {PREDICTIONS_KEY, PARAMETERS_KEY}
    predictions, parameters = read_tables(tmp_path / "journey.duckdb")

    assert len(predictions) == 400
    assert [(row[0], row[1]) for row in parameters] == [
        ("bg_nbd", "a"),
        ("bg_nbd", "alpha"),
        ("bg_nbd", "b"),
        ("bg_nbd", "r"),
        ("gamma_gamma", "gamma"),
        ("gamma_gamma", "p"),
        ("gamma_gamma", "q"),
    ]
    fitted_at = {row[-1] for row in predictions} | {row[-1] for row in parameters}
    assert fitted_at == {dt.datetime(2026, 3, 31)}
    with duckdb.connect(str(tmp_path / "journey.duckdb")) as con:
        run_clv(con)
    assert read_tables(tmp_path / "journey.duckdb") == (predictions, parameters)


def test_degenerate_data_replaces_both_tables_with_empty_ones(tmp_path):
    path = tmp_path / "journey.duckdb"
    create_summary(path, simulated_customers(), dt.date(2026, 3, 31))
    with duckdb.connect(str(path)) as con:
        run_clv(con)
        con.execute("delete from intermediate.int_clv_customer_summary where frequency > 0")
        fit = run_clv(con)
        columns = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'measurement' and table_name = 'clv_customer_predictions'"
        ).fetchall()
    assert "0 repeat customers" in fit.reason
    assert read_tables(path) == ([], [])
    assert ("predicted_clv_12m", "DOUBLE") in columns
    assert ("frequency", "INTEGER") in columns
