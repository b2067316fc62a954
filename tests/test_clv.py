"""Predictive CLV: the BG/NBD and Gamma-Gamma fits, their formulas, and the asset.

The CDNOW sample (2,357 customers, time in weeks) is read as a file from the `lifetimes`
package, a dev dependency; lifetimes itself is imported only to cross-check the
calibration check, never by the product code.
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

from orchestration.defs.clv import (
    CALIBRATION_KEY,
    PARAMETERS_KEY,
    PREDICTIONS_KEY,
    clv_model,
    min_repeat_buyers,
)
from orchestration.defs.resources import Warehouse
from orchestration.health.summary import clv_fit_lines
from orchestration.measurement import clv
from orchestration.measurement.clv import (
    CALIBRATION_TABLE,
    FIT_OK,
    FIT_UNRELIABLE,
    PARAMETERS_TABLE,
    PREDICTIONS_TABLE,
    BgNbdFit,
    BgNbdParameters,
    CalibrationRow,
    CustomerSummary,
    GammaGammaFit,
    GammaGammaParameters,
    OrderDay,
    bg_nbd_expected_purchases,
    bg_nbd_log_likelihood,
    bg_nbd_probability_alive,
    calibration_and_holdout,
    fit_bg_nbd,
    fit_calibration,
    fit_clv,
    fit_gamma_gamma,
    gamma_gamma_expected_order_value,
    gamma_gamma_log_likelihood,
    holdout_split,
    run_clv,
    summarise_order_days,
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


def test_the_cdnow_fits_are_ok_with_the_default_evidence_threshold(cdnow):
    customers = [
        CustomerSummary(f"c{n:04d}", int(x), t_x, big_t, z if x > 0 else None)
        for n, (x, t_x, big_t, z) in enumerate(
            zip(cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["zbar"], strict=True)
        )
    ]
    fit = fit_clv(customers, min_repeat_buyers(), horizon_days=39)
    assert fit.bg_nbd_status.status == fit.gamma_gamma_status.status == FIT_OK, fit.reason
    assert "946 people of 2,357 have a repeat purchase" in fit.bg_nbd_status.note
    assert fit.bg_nbd.at_bound == fit.gamma_gamma.at_bound == ()
    assert_within_one_percent(fit.bg_nbd.parameters.as_dict(), PUBLISHED_BG_NBD_WEEKS)
    assert_within_one_percent(fit.gamma_gamma.parameters.as_dict(), PUBLISHED_GAMMA_GAMMA)
    assert np.all(np.isfinite(fit.predicted_clv))


def test_the_evidence_threshold_is_the_dbt_var_declared_in_dbt_project_yml(tmp_path):
    assert min_repeat_buyers() == 100
    project = tmp_path / "dbt_project.yml"
    project.write_text("name: journey\nvars:\n  clv_min_repeat_buyers: 25\n")
    assert min_repeat_buyers(project) == 25
    project.write_text("name: journey\nvars:\n  reporting_tz: UTC\n")
    with pytest.raises(ValueError, match="clv_min_repeat_buyers"):
        min_repeat_buyers(project)


# ------------------------------------------------------------ simulated histories

START = dt.date(2025, 4, 1)
END = dt.date(2026, 3, 31)


def simulated_order_days(
    count: int = 400, seed: int = 7, rate_scale: float = 1.0, start: dt.date = START
) -> list[OrderDay]:
    """Order days drawn from BG/NBD (days) with gamma-distributed spend per purchase:
    each person's first order on a day between `start` and 30 days before `END`."""
    rng = np.random.default_rng(seed)
    span = (END - start).days
    order_days = []
    for number in range(count):
        rate = rate_scale * rng.gamma(0.8, 1 / 40)
        dropout = rng.beta(1.0, 3.0)
        scale = 1 / rng.gamma(4.0, 1 / 100.0)
        first = int(rng.integers(0, span - 30))
        day, days = float(first), {first}
        while True:
            day += rng.exponential(1 / rate)
            if day > span:
                break
            days.add(math.floor(day))
            if rng.random() < dropout:
                break
        order_days += [
            OrderDay(
                f"c{number:04d}",
                start + dt.timedelta(days=offset),
                round(float(rng.gamma(5.0, scale)), 2),
            )
            for offset in sorted(days)
        ]
    return order_days


def simulated_customers(**kwargs) -> list[CustomerSummary]:
    return summarise_order_days(simulated_order_days(**kwargs), END)


def test_a_fit_predicts_every_customer_consistently():
    fit = fit_clv(simulated_customers(), min_repeat_buyers=100)
    assert fit.reliable, fit.reason
    assert fit.bg_nbd_status.status == fit.gamma_gamma_status.status == FIT_OK
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


def test_a_model_on_too_few_repeat_buyers_is_unreliable_and_predicts_nothing():
    customers = simulated_customers(count=120)
    repeat_buyers = sum(c.frequency > 0 for c in customers)
    assert 3 <= repeat_buyers < 100
    fit = fit_clv(customers, min_repeat_buyers=100)
    assert fit.bg_nbd_status.status == fit.gamma_gamma_status.status == FIT_UNRELIABLE
    assert (
        f"only {repeat_buyers} people have a repeat purchase; at least 100 needed "
        "(dbt var clv_min_repeat_buyers)"
    ) in fit.bg_nbd_status.note
    assert "have a repeat purchase with a positive spend; at least 100" in (
        fit.gamma_gamma_status.note
    )
    assert "BG/NBD unreliable: only" in fit.reason
    # The parameters are still there (with the status); the predictions are not.
    assert fit.bg_nbd is not None and fit.gamma_gamma is not None
    for values in (
        fit.probability_alive,
        fit.expected_purchases,
        fit.expected_order_value,
        fit.predicted_clv,
    ):
        assert values.shape == (120,) and np.all(np.isnan(values))


def test_one_unreliable_model_leaves_only_its_own_columns_empty():
    customers = simulated_customers()
    # Every repeat order refunded but those of 20 people: BG/NBD has its evidence,
    # Gamma-Gamma (fitted on positive spend only) has not.
    spenders = 0
    thinned = []
    for c in customers:
        if c.frequency > 0 and spenders >= 20:
            c = CustomerSummary(c.customer_id, c.frequency, c.recency_days, c.tenure_days, 0.0)
        spenders += c.frequency > 0
        thinned.append(c)
    fit = fit_clv(thinned, min_repeat_buyers=100)
    assert fit.bg_nbd_status.status == FIT_OK
    assert fit.gamma_gamma_status.status == FIT_UNRELIABLE
    assert "only 20 people have a repeat purchase with a positive spend" in (
        fit.gamma_gamma_status.note
    )
    assert np.all(np.isfinite(fit.probability_alive) & np.isfinite(fit.expected_purchases))
    assert np.all(np.isnan(fit.expected_order_value)) and np.all(np.isnan(fit.predicted_clv))


def test_a_parameter_at_a_bound_of_its_search_range_makes_the_fit_unreliable():
    # Everyone buys at the same Poisson rate and nobody drops out: the likelihood rises
    # without end as r and alpha grow together (no spread in the purchase rate), so the
    # search stops at a bound. Every repeat buyer's average spend is the same: the
    # Gamma-Gamma likelihood has no interior maximum either.
    rng = np.random.default_rng(3)
    customers = []
    for number in range(300):
        tenure = int(rng.integers(60, 365))
        days = sorted({math.floor(day) for day in np.cumsum(rng.exponential(20, 40))})
        days = [day for day in days if 0 < day <= tenure]
        customers.append(
            CustomerSummary(
                f"c{number:04d}",
                len(days),
                days[-1] if days else 0,
                tenure,
                50.0 if days else None,
            )
        )
    fit = fit_clv(customers, min_repeat_buyers=0)
    for model_fit, status in (
        (fit.bg_nbd, fit.bg_nbd_status),
        (fit.gamma_gamma, fit.gamma_gamma_status),
    ):
        assert model_fit.at_bound, model_fit
        assert status.status == FIT_UNRELIABLE
        assert "ended at a bound of the search range" in status.note
        for name, side in model_fit.at_bound:
            value = getattr(model_fit.parameters, name)
            assert f"{name} = {value:.4g} ({side})" in status.note
            assert value > 1e3 if side == "upper" else value < 1e-3
    assert np.all(np.isnan(fit.predicted_clv))


def test_a_gamma_gamma_fit_with_q_at_most_one_is_unreliable():
    # The mean spend of a Gamma-Gamma model is p·gamma/(q - 1): infinite for q ≤ 1.
    fitted = GammaGammaFit(GammaGammaParameters(p=2.0, q=0.9, gamma=10.0), -100.0, 500)
    customers = [CustomerSummary(f"c{n}", 2, 10, 30, 20.0) for n in range(500)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clv, "fit_gamma_gamma", lambda frequency, value: fitted)
        fit = fit_clv(customers, min_repeat_buyers=100)
    assert fit.gamma_gamma_status.status == FIT_UNRELIABLE
    assert "q = 0.9 ≤ 1, so the mean spend per purchase" in fit.gamma_gamma_status.note
    assert np.all(np.isnan(fit.expected_order_value))


@pytest.mark.parametrize(
    ("customers", "model", "note"),
    [
        ([], "bg_nbd", "not fitted: no customer with an order"),
        (
            [CustomerSummary(f"c{n}", 0, 0, 30 + n, None) for n in range(50)],
            "gamma_gamma",
            "not fitted: no customer with a repeat purchase and a positive spend",
        ),
        (
            [CustomerSummary(f"c{n}", 0, 0, 30 + n, None) for n in range(50)],
            "bg_nbd",
            "only 0 people have a repeat purchase",
        ),
        (
            [CustomerSummary(f"c{n}", 1, 5, 30, 0.0) for n in range(50)],
            "gamma_gamma",
            "not fitted: no customer with a repeat purchase and a positive spend",
        ),
    ],
    ids=["no-customers", "no-repeat-spend", "no-repeat-purchases", "only-refunded-repeats"],
)
def test_degenerate_data_is_unreliable_and_says_why(customers, model, note):
    fit = fit_clv(customers, min_repeat_buyers=100)
    status = fit.bg_nbd_status if model == "bg_nbd" else fit.gamma_gamma_status
    assert status.status == FIT_UNRELIABLE
    assert note in status.note
    assert not fit.reliable and note in fit.reason
    assert np.all(np.isnan(fit.predicted_clv)) and fit.predicted_clv.size == len(customers)


# ------------------------------------------------------------------- calibration


def test_the_holdout_is_the_last_quarter_of_the_observed_days_and_at_least_30():
    first = dt.date(2026, 1, 1)
    assert holdout_split(first, dt.date(2026, 4, 30)) == (90, 30)  # 120 days
    assert holdout_split(first, dt.date(2026, 6, 29)) == (135, 45)  # 180 days
    assert holdout_split(first, dt.date(2026, 5, 2)) == (92, 30)  # 122 days: rounded down
    days = [OrderDay("a", first, 10.0), OrderDay("a", dt.date(2026, 4, 28), 10.0)]
    short = fit_calibration(days, first, dt.date(2026, 4, 29), min_repeat_buyers=0)
    assert short.rows == []
    assert short.reason == (
        "119 observed days: a quarter of them is 29 days, and at least 30 are needed to "
        "hold out (at least 120 observed days)"
    )


def test_calibration_by_hand():
    # 120 observed days, 1 Jan .. 30 Apr: calibration to 31 Mar (90 days), 30 held out.
    first, last = dt.date(2026, 1, 1), dt.date(2026, 4, 30)
    days = [
        OrderDay("a", dt.date(2026, 1, 1), 10.0),
        OrderDay("a", dt.date(2026, 1, 11), 20.0),  # a: frequency 1, recency 10, T 89
        OrderDay("a", dt.date(2026, 4, 2), 30.0),  # two holdout purchases
        OrderDay("a", dt.date(2026, 4, 30), 30.0),
        OrderDay("b", dt.date(2026, 3, 31), 5.0),  # b: frequency 0, T 0, none held out
        OrderDay("c", dt.date(2026, 4, 1), 5.0),  # c: first order in the holdout: left out
    ]
    customers, holdout = calibration_and_holdout(days, dt.date(2026, 3, 31), last)
    assert customers == [
        CustomerSummary("a", 1, 10, 89, 20.0),
        CustomerSummary("b", 0, 0, 0, None),
    ]
    assert holdout.tolist() == [2.0, 0.0]
    # With a BG/NBD fit whose predictions are known, the rows are plain means.
    parameters = BgNbdParameters(r=0.5, alpha=20.0, a=0.8, b=2.4)
    fitted = BgNbdFit(parameters, -10.0, 2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clv, "fit_bg_nbd", lambda x, t_x, big_t: fitted)
        calibration = fit_calibration(days, first, last, min_repeat_buyers=1)
    assert (calibration.calibration_days, calibration.holdout_days) == (90, 30)
    assert calibration.status.status == FIT_OK
    predicted = bg_nbd_expected_purchases(parameters, 30, [1, 0], [10, 0], [89, 0])
    rows = {row.frequency_in_calibration: row for row in calibration.rows}
    assert list(rows) == ["0", "1", "2", "3", "4", "5", "6+", "all"]
    assert rows["1"] == CalibrationRow("1", 1, predicted[0], 2.0, abs(predicted[0] - 2))
    assert rows["0"] == CalibrationRow("0", 1, predicted[1], 0.0, predicted[1])
    assert rows["3"] == CalibrationRow("3", 0, None, None, None)
    assert rows["all"].customers == 2
    assert rows["all"].mean_predicted_holdout_purchases == pytest.approx(np.mean(predicted))
    assert rows["all"].mean_actual_holdout_purchases == 1.0
    assert rows["all"].mean_absolute_error == pytest.approx(
        (abs(predicted[0] - 2) + predicted[1]) / 2
    )


def test_calibration_matches_lifetimes(tmp_path):
    """lifetimes (a dev dependency, imported only here) as an independent implementation
    of the split (`calibration_and_holdout_data`, freq="D") and of the conditional
    expected purchases behind `plot_calibration_purchases_vs_holdout_purchases`."""
    pd = pytest.importorskip("pandas")
    lifetimes = pytest.importorskip("lifetimes")
    from lifetimes.utils import calibration_and_holdout_data

    order_days = simulated_order_days(count=1500, seed=11)
    calibration = fit_calibration(order_days, START, END, min_repeat_buyers=100)
    assert calibration.status.status == FIT_OK, calibration.status.note
    calibration_end = END - dt.timedelta(days=calibration.holdout_days)

    transactions = pd.DataFrame(
        {
            "customer_id": [day.customer_id for day in order_days],
            "date": pd.to_datetime([day.order_date for day in order_days]),
            # lifetimes 0.11.3 on pandas 3 needs a value column to count holdout days.
            "value": [day.net_revenue for day in order_days],
        }
    )
    reference = calibration_and_holdout_data(
        transactions,
        "customer_id",
        "date",
        calibration_period_end=pd.Timestamp(calibration_end),
        observation_period_end=pd.Timestamp(END),
        freq="D",
        monetary_value_col="value",
    ).sort_index()
    customers, holdout = calibration_and_holdout(order_days, calibration_end, END)
    assert [c.customer_id for c in customers] == reference.index.tolist()
    for column, values in (
        ("frequency_cal", [c.frequency for c in customers]),
        ("recency_cal", [c.recency_days for c in customers]),
        ("T_cal", [c.tenure_days for c in customers]),
        ("monetary_value_cal", [c.avg_repeat_order_value or 0.0 for c in customers]),
        ("frequency_holdout", holdout),
    ):
        assert np.allclose(reference[column], values, rtol=1e-6, atol=1e-6), column
    assert set(reference["duration_holdout"]) == {calibration.holdout_days}

    model = lifetimes.BetaGeoFitter()
    model.params_ = pd.Series(calibration.fit.bg_nbd.parameters.as_dict())
    reference["predicted"] = model.conditional_expected_number_of_purchases_up_to_time(
        calibration.holdout_days,
        reference["frequency_cal"],
        reference["recency_cal"],
        reference["T_cal"],
    )
    assert np.allclose(reference["predicted"], calibration.fit.expected_purchases, rtol=1e-6)
    reference["error"] = (reference["predicted"] - reference["frequency_holdout"]).abs()
    reference["bucket"] = ["6+" if x >= 6 else str(int(x)) for x in reference["frequency_cal"]]
    means = reference.groupby("bucket")[["frequency_holdout", "predicted", "error"]].mean()
    counts = reference.groupby("bucket").size()
    rows = {row.frequency_in_calibration: row for row in calibration.rows}
    for bucket in means.index:
        row = rows[bucket]
        assert row.customers == counts[bucket]
        assert row.mean_actual_holdout_purchases == pytest.approx(
            means.loc[bucket, "frequency_holdout"], rel=1e-6, abs=1e-9
        )
        assert row.mean_predicted_holdout_purchases == pytest.approx(
            means.loc[bucket, "predicted"], rel=1e-6
        )
        assert row.mean_absolute_error == pytest.approx(means.loc[bucket, "error"], rel=1e-6)
    assert rows["all"].customers == len(reference)
    assert rows["all"].mean_predicted_holdout_purchases == pytest.approx(
        reference["predicted"].mean(), rel=1e-6
    )
    # lifetimes plots frequency_cal 0..n-1 (n = 7 by default): the rows above 6 are one.
    assert set(means.index) <= set(rows) - {"all"}


def test_an_unreliable_calibration_fit_keeps_the_actuals_and_drops_the_predictions():
    order_days = simulated_order_days(count=150, seed=5)
    calibration = fit_calibration(order_days, START, END, min_repeat_buyers=100)
    assert calibration.status.status == FIT_UNRELIABLE
    assert "at least 100 needed" in calibration.status.note
    everyone = calibration.rows[-1]
    assert everyone.frequency_in_calibration == "all" and everyone.customers > 0
    assert everyone.mean_actual_holdout_purchases is not None
    assert all(
        row.mean_predicted_holdout_purchases is None and row.mean_absolute_error is None
        for row in calibration.rows
    )


# --------------------------------------------------------------------- warehouse


def create_warehouse(path: Path, order_days: list[OrderDay], first: dt.date, last: dt.date):
    """The two dbt models the asset reads, as dbt would build them from these order days."""
    customers = summarise_order_days(order_days, last)
    first_order = {}
    for day in order_days:
        first_order.setdefault(day.customer_id, day.order_date)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema intermediate")
        con.execute(
            """
            create table intermediate.int_clv_order_days as
            select
                unnest(cast($ids as varchar[])) as customer_id,
                unnest(cast($dates as date[])) as order_date,
                unnest(cast($revenue as decimal(18, 2)[])) as net_revenue,
                cast($first as date) as first_data_date,
                cast($last as date) as last_data_date
            """,
            {
                "ids": [day.customer_id for day in order_days],
                "dates": [day.order_date for day in order_days],
                "revenue": [day.net_revenue for day in order_days],
                "first": first,
                "last": last,
            },
        )
        con.execute(
            """
            create table intermediate.int_clv_customer_summary as
            select
                unnest(cast($ids as varchar[])) as customer_id,
                unnest(cast($first_order as date[])) as first_order_date,
                unnest(cast($first_order as date[]))
                    + unnest(cast($recency as integer[])) as last_order_date,
                unnest(cast($frequency as integer[])) as frequency,
                unnest(cast($recency as integer[])) as recency_days,
                unnest(cast($tenure as integer[])) as tenure_days,
                unnest(cast($value as double[])) as avg_repeat_order_value,
                cast($last as date) as last_data_date
            """,
            {
                "ids": [c.customer_id for c in customers],
                "first_order": [first_order[c.customer_id] for c in customers],
                "frequency": [c.frequency for c in customers],
                "recency": [c.recency_days for c in customers],
                "tenure": [c.tenure_days for c in customers],
                "value": [c.avg_repeat_order_value for c in customers],
                "last": last,
            },
        )


def read_tables(path: Path) -> dict[str, list[tuple]]:
    orders = {
        PREDICTIONS_TABLE: "customer_id",
        PARAMETERS_TABLE: "model, parameter",
        CALIBRATION_TABLE: "frequency_in_calibration",
    }
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            table: con.execute(f"select * from measurement.{table} order by {order}").fetchall()
            for table, order in orders.items()
        }


def summary_lines(path: Path) -> list[str]:
    """`journey run`'s CLV lines, with the marts as views of the measurement tables."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts")
        for mart, table in (
            ("fct_clv_parameters", PARAMETERS_TABLE),
            ("fct_clv_calibration", CALIBRATION_TABLE),
        ):
            con.execute(f"create or replace view marts.{mart} as select * from measurement.{table}")
        return clv_fit_lines(con)


def materialize(tmp_path: Path) -> dg.ExecuteInProcessResult:
    warehouse = Warehouse(warehouse_dir=str(tmp_path), landing_dir=str(tmp_path))
    result = dg.materialize([clv_model], resources={"warehouse": warehouse})
    assert result.success
    return result


def test_the_asset_writes_the_three_tables_and_a_rerun_writes_the_same_rows(tmp_path):
    path = tmp_path / "journey.duckdb"
    create_warehouse(path, simulated_order_days(count=1500, seed=11), START, END)
    result = materialize(tmp_path)
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert materialized == {PREDICTIONS_KEY, PARAMETERS_KEY, CALIBRATION_KEY}
    tables = read_tables(path)
    predictions, parameters = tables[PREDICTIONS_TABLE], tables[PARAMETERS_TABLE]
    calibration = tables[CALIBRATION_TABLE]

    assert len(predictions) == 1500
    assert all(None not in row for row in predictions if row[1] > 0)
    assert [(row[0], row[1]) for row in parameters] == [
        ("bg_nbd", "a"),
        ("bg_nbd", "alpha"),
        ("bg_nbd", "b"),
        ("bg_nbd", "r"),
        ("gamma_gamma", "gamma"),
        ("gamma_gamma", "p"),
        ("gamma_gamma", "q"),
    ]
    assert {row[6] for row in parameters} == {FIT_OK}
    assert [row[0] for row in calibration] == ["0", "1", "2", "3", "4", "5", "6+", "all"]
    assert {(row[5], row[6], row[8]) for row in calibration} == {(274, 91, FIT_OK)}
    fitted_at = {row[7] for row in calibration} | {row[5] for row in parameters}
    assert fitted_at | {row[-1] for row in predictions} == {dt.datetime(2026, 3, 31)}
    with duckdb.connect(str(path)) as con:
        run_clv(con, min_repeat_buyers())
    assert read_tables(path) == tables

    everyone = calibration[-1]
    assert summary_lines(path) == [
        "CLV models: BG/NBD ok, Gamma-Gamma ok",
        f"  calibration: fitted on 274 days, the next 91 held out: {everyone[1]:,} people "
        f"predicted {everyone[2]:.3f} purchases each, made {everyone[3]:.3f} (mean absolute "
        f"error {everyone[4]:.3f})",
    ]


def test_an_unreliable_fit_publishes_nulls_and_the_run_summary_names_the_reason(tmp_path):
    path = tmp_path / "journey.duckdb"
    order_days = simulated_order_days(count=120, start=dt.date(2026, 1, 1))
    create_warehouse(path, order_days, dt.date(2026, 1, 1), END)
    result = materialize(tmp_path)
    tables = read_tables(path)
    repeat_buyers = sum(row[1] > 0 for row in tables[PREDICTIONS_TABLE])
    assert 0 < repeat_buyers < 100

    # Every person keeps a row with their history, and no prediction.
    assert len(tables[PREDICTIONS_TABLE]) == 120
    assert {row[5:9] for row in tables[PREDICTIONS_TABLE]} == {(None, None, None, None)}
    assert all(row[0] is not None for row in tables[PREDICTIONS_TABLE])
    # The parameters stay, each model with its status and the reason.
    notes = {row[0]: (row[6], row[7]) for row in tables[PARAMETERS_TABLE]}
    assert len(tables[PARAMETERS_TABLE]) == 7
    assert notes["bg_nbd"][0] == notes["gamma_gamma"][0] == FIT_UNRELIABLE
    assert notes["bg_nbd"][1].startswith(
        f"only {repeat_buyers} people have a repeat purchase; at least 100 needed "
        "(dbt var clv_min_repeat_buyers)"
    )
    # 90 observed days: too few to hold a quarter out.
    assert tables[CALIBRATION_TABLE] == []
    metadata = {
        event.asset_key: event.materialization.metadata
        for event in result.get_asset_materialization_events()
    }
    assert metadata[PARAMETERS_KEY]["bg_nbd_fit_status"].value == FIT_UNRELIABLE
    assert "at least 30 are needed" in metadata[CALIBRATION_KEY]["reason_empty"].value

    lines = summary_lines(path)
    assert lines[0] == "CLV models: BG/NBD unreliable, Gamma-Gamma unreliable"
    assert lines[1] == (
        f"  BG/NBD unreliable: {notes['bg_nbd'][1]}; probability_alive, "
        "expected_purchases_12m and predicted_clv_12m left empty"
    )
    assert lines[2].startswith("  Gamma-Gamma unreliable: only ")
    assert lines[3].startswith("  calibration: none (history too short")


def test_the_summary_names_no_clv_line_without_the_marts(tmp_path):
    with duckdb.connect(str(tmp_path / "journey.duckdb")) as con:
        assert clv_fit_lines(con) == []
