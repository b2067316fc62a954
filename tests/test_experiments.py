"""Experiment statistics (kpi_experiments' interval and p-values) against independent
implementations, to 1e-9: scipy's own tests on the raw per-person data (Welch's
`ttest_ind`, `chisquare`, the 2 x 2 `chi2_contingency`), and the textbook formulas written
again here with numpy and the standard library."""

from __future__ import annotations

import math
from pathlib import Path
from statistics import NormalDist

import duckdb
import numpy as np
import pytest
import yaml
from scipy import stats

from orchestration.defs.experiments import VARIATIONS_KEY, srm_threshold
from orchestration.defs.experiments import experiment_statistics as statistics_asset
from orchestration.measurement import experiments
from orchestration.measurement.experiments import (
    Variation,
    difference_interval,
    experiment_statistics,
    run_experiments,
    sample_ratio_mismatch,
    two_proportion_z_test,
    welch_t_test,
)
from orchestration.measurement.tables import MEASUREMENT_SCHEMA
from orchestration.project import REPO_ROOT

TOLERANCE = 1e-9


def close(actual: float | None, expected: float) -> bool:
    """Equal to 1e-9, relatively for large values and absolutely for small ones."""
    return actual is not None and math.isclose(
        actual, expected, rel_tol=TOLERANCE, abs_tol=TOLERANCE
    )


def z_test_by_hand(converted: int, exposed: int, control_converted: int, control_exposed: int):
    """The pooled two-proportion z-test, written with numpy and the complementary error
    function (two-sided p = erfc(|z| / √2))."""
    rates = np.array([converted / exposed, control_converted / control_exposed])
    sizes = np.array([exposed, control_exposed], dtype=float)
    pooled = (converted + control_converted) / sizes.sum()
    z = (rates[0] - rates[1]) / np.sqrt(pooled * (1 - pooled) * np.sum(1 / sizes))
    return math.erfc(abs(z) / math.sqrt(2))


def interval_by_hand(converted: int, exposed: int, control_converted: int, control_exposed: int):
    """The unpooled normal interval, with the standard library's normal quantile."""
    rate, control_rate = converted / exposed, control_converted / control_exposed
    z = NormalDist().inv_cdf(0.975)
    half_width = z * math.sqrt(
        rate * (1 - rate) / exposed + control_rate * (1 - control_rate) / control_exposed
    )
    return rate - control_rate - half_width, rate - control_rate + half_width


def simulate(rng: np.random.Generator, size: int, rate: float) -> np.ndarray:
    """Revenue per exposed person: 0 for those who did not buy, a basket in cents else."""
    bought = rng.random(size) < rate
    baskets = np.round(rng.lognormal(mean=4.0, sigma=0.8, size=size), 2)
    return np.where(bought, baskets, 0.0)


def aggregate(people: dict[str, np.ndarray], control: str) -> list[Variation]:
    """What int_experiment_variations computes from per-person revenue in the window: the
    same DuckDB aggregates (count, converted, exact decimal sum, var_samp as double)."""
    con = duckdb.connect()
    try:
        con.execute(
            "create table exposures (variation_id varchar, revenue_in_window decimal(18, 2))"
        )
        for name, values in people.items():
            con.execute(
                "insert into exposures select ?, unnest(cast(? as decimal(18, 2)[]))",
                [name, [f"{value:.2f}" for value in values]],
            )
        rows = con.execute(
            """
            select
                variation_id,
                count(*),
                count(*) filter (where revenue_in_window > 0),
                sum(revenue_in_window),
                var_samp(cast(revenue_in_window as double))
            from exposures
            group by variation_id
            order by variation_id
            """
        ).fetchall()
    finally:
        con.close()
    return [
        Variation("e", name, name == control, exposed, converted, float(revenue), variance)
        for name, exposed, converted, revenue, variance in rows
    ]


SCENARIOS = [
    # (sizes per variation, conversion rates): a clear winner, a null result, small
    # groups, a sample-ratio mismatch, three variations, a rare event
    ((2000, 2000), (0.05, 0.08)),
    ((1500, 1500), (0.10, 0.10)),
    ((12, 9), (0.3, 0.5)),
    ((1000, 820), (0.2, 0.2)),
    ((700, 650, 720), (0.15, 0.12, 0.2)),
    ((5000, 5000), (0.004, 0.006)),
]


@pytest.mark.parametrize(("sizes", "rates"), SCENARIOS)
def test_every_statistic_equals_an_independent_implementation(sizes, rates):
    rng = np.random.default_rng(sum(sizes))
    names = [f"v{index}" for index in range(len(sizes))]
    people = {
        name: simulate(rng, size, rate)
        for name, size, rate in zip(names, sizes, rates, strict=True)
    }
    variations = aggregate(people, control="v0")
    results = {row.variation_id: row for row in experiment_statistics(variations)}
    control = people["v0"]
    control_converted = int((control > 0).sum())

    expected_srm = stats.chisquare([len(people[name]) for name in names]).pvalue
    for name in names:
        row = results[name]
        assert close(row.srm_p_value, expected_srm)
        if name == "v0":
            assert (row.conversion_p_value, row.revenue_p_value) == (None, None)
            assert (row.conversion_diff_ci_low, row.conversion_diff_ci_high) == (None, None)
            continue
        values = people[name]
        converted = int((values > 0).sum())
        table = [
            [converted, len(values) - converted],
            [control_converted, len(control) - control_converted],
        ]
        contingency = stats.chi2_contingency(table, correction=False).pvalue
        assert close(row.conversion_p_value, contingency)
        assert close(
            row.conversion_p_value,
            z_test_by_hand(converted, len(values), control_converted, len(control)),
        )
        low, high = interval_by_hand(converted, len(values), control_converted, len(control))
        assert close(row.conversion_diff_ci_low, low)
        assert close(row.conversion_diff_ci_high, high)
        welch = stats.ttest_ind(values, control, equal_var=False).pvalue
        assert close(row.revenue_p_value, welch)


def test_a_significant_difference_is_found_and_a_null_one_is_not():
    assert two_proportion_z_test(500, 1600, 400, 1600) < 0.001
    assert two_proportion_z_test(425, 1600, 400, 1600) > 0.3
    assert sample_ratio_mismatch([1000, 800]) < 0.001
    assert sample_ratio_mismatch([1000, 1000]) == pytest.approx(1.0)


def test_a_textbook_z_test_and_interval():
    """200 of 1000 against 250 of 1000: pooled P = 0.225, z = -0.05 / sqrt(0.225 * 0.775 *
    0.002) = -2.67740..., two-sided p = 0.0074196...; unpooled SE = sqrt(0.2 * 0.8 / 1000 +
    0.25 * 0.75 / 1000) = 0.018641..."""
    z = -0.05 / math.sqrt(0.225 * 0.775 * 0.002)
    assert z == pytest.approx(-2.67740, abs=1e-5)
    assert close(two_proportion_z_test(200, 1000, 250, 1000), math.erfc(abs(z) / math.sqrt(2)))
    assert two_proportion_z_test(200, 1000, 250, 1000) == pytest.approx(0.0074196, abs=1e-7)
    low, high = difference_interval(200, 1000, 250, 1000)
    standard_error = math.sqrt(0.2 * 0.8 / 1000 + 0.25 * 0.75 / 1000)
    assert close(low, -0.05 - 1.959963984540054 * standard_error)
    assert close(high, -0.05 + 1.959963984540054 * standard_error)


def test_welch_from_aggregates_equals_welch_from_the_raw_values():
    first = np.array([0.0, 0.0, 12.5, 40.0, 0.0, 99.99, 3.1])
    second = np.array([0.0, 10.0, 0.0, 0.0, 25.0])
    p_value = welch_t_test(
        first.mean(), first.var(ddof=1), len(first), second.mean(), second.var(ddof=1), len(second)
    )
    assert close(p_value, stats.ttest_ind(first, second, equal_var=False).pvalue)
    scipy_from_stats = stats.ttest_ind_from_stats(
        first.mean(),
        first.std(ddof=1),
        len(first),
        second.mean(),
        second.std(ddof=1),
        len(second),
        equal_var=False,
    ).pvalue
    assert close(p_value, scipy_from_stats)


def test_an_undefined_statistic_is_null_rather_than_a_guess():
    assert two_proportion_z_test(0, 100, 0, 100) is None  # nobody converted anywhere
    assert two_proportion_z_test(100, 100, 50, 50) is None  # everybody converted
    assert two_proportion_z_test(3, 10, 0, 0) is None  # no control people
    assert difference_interval(3, 10, 0, 0) is None
    assert difference_interval(0, 10, 0, 10) == (0.0, 0.0)
    assert welch_t_test(5.0, None, 1, 4.0, 2.0, 10) is None  # one person: no variance
    assert welch_t_test(5.0, 0.0, 10, 5.0, 0.0, 10) is None  # no variance on either side
    assert sample_ratio_mismatch([100]) is None
    assert sample_ratio_mismatch([0, 0]) is None
    lonely = [Variation("e", "a", True, 10, 2, 20.0, 4.0)]
    [row] = experiment_statistics(lonely)
    assert row.as_row() == ("e", "a", None, None, None, None, None)


def test_a_variation_that_nobody_saw_alone_has_no_tests_but_counts_in_the_srm():
    variations = [
        Variation("e", "control", True, 50, 10, 500.0, 30.0),
        Variation("e", "b", False, 0, 0, 0.0, None),
    ]
    rows = {row.variation_id: row for row in experiment_statistics(variations)}
    assert rows["b"].as_row()[2:6] == (None, None, None, None)
    assert close(rows["b"].srm_p_value, stats.chisquare([50, 0]).pvalue)
    assert rows["control"].srm_p_value == rows["b"].srm_p_value


def test_the_asset_reads_the_variations_and_replaces_the_statistics_table(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        con.execute("create schema intermediate")
        con.execute(
            """
            create table intermediate.int_experiment_variations as
            select * from (values
                ('win', 'control', true, 1600, 400, 8000.00, 30.5),
                ('win', 'green', false, 1600, 500, 12000.00, 41.0),
                ('skew', 'a', true, 1000, 250, 5000.00, 20.0),
                ('skew', 'b', false, 800, 250, 4000.00, 22.0)
            ) as rows (
                experiment_id, variation_id, is_control, exposed_customers,
                converted_customers, revenue, revenue_variance
            )
            """
        )
        con.execute("create schema measurement")
        con.execute("create table measurement.experiment_statistics as select 'stale' as old")
        written = run_experiments(con)
        rows = con.execute(
            "select * from measurement.experiment_statistics order by experiment_id, variation_id"
        ).fetchall()
    finally:
        con.close()
    assert rows == [row.as_row() for row in written]
    assert [row[:2] for row in rows] == [
        ("skew", "a"),
        ("skew", "b"),
        ("win", "control"),
        ("win", "green"),
    ]
    by_key = {row[:2]: row for row in rows}
    assert close(
        by_key[("win", "green")][4],
        stats.chi2_contingency([[500, 1100], [400, 1200]], correction=False).pvalue,
    )
    assert close(by_key[("skew", "a")][6], stats.chisquare([1000, 800]).pvalue)
    assert by_key[("skew", "a")][6] < srm_threshold()


def test_the_dbt_source_names_the_table_the_asset_writes():
    sources = yaml.safe_load(
        (REPO_ROOT / "models/marts/experiments/_experiments__sources.yml").read_text()
    )["sources"]
    [source] = [s for s in sources if s["name"] == "experiment_statistics"]
    assert source["schema"] == MEASUREMENT_SCHEMA
    assert [table["name"] for table in source["tables"]] == [experiments.STATISTICS_TABLE]
    assert ".".join(VARIATIONS_KEY.path) == experiments.VARIATIONS_TABLE
    assert statistics_asset.key.path == [
        MEASUREMENT_SCHEMA,
        experiments.STATISTICS_TABLE,
    ]
    assert srm_threshold() == 0.001


def test_the_model_yaml_lists_the_columns_the_asset_writes():
    columns = experiments.STATISTICS.column_names
    kpi = yaml.safe_load(
        Path(REPO_ROOT / "models/marts/experiments/kpi_experiments.yml").read_text()
    )
    kpi_columns = {column["name"] for column in kpi["models"][0]["columns"]}
    assert set(columns) <= kpi_columns
