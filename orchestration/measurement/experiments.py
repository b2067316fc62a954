"""A/B test read-out: the statistics of each variation against its experiment's control.

dbt counts (`intermediate.int_experiment_variations`: one row per experiment x variation
with the exposed and converted people, the revenue in the conversion window summed, and
the sample variance of revenue per exposed person); this module tests (scipy's
distributions); dbt joins the two in `kpi_experiments`. For each variation other than the
control, with x converted of n exposed (c, m for the control), p = x / n, q = c / m:

- the 95 % normal interval of p - q with the unpooled standard error
  sqrt(p(1 - p) / n + q(1 - q) / m);
- the two-sided two-proportion z-test with the pooled standard error
  sqrt(P(1 - P)(1 / n + 1 / m)), P = (x + c) / (n + m);
- the two-sided Welch t-test of revenue per exposed person (non-buyers count 0):
  t = (mean - control mean) / sqrt(v / n + w / m) with the sample variances v and w, and
  the Welch-Satterthwaite degrees of freedom
  (v / n + w / m)^2 / ((v / n)^2 / (n - 1) + (w / m)^2 / (m - 1));

and for every variation of an experiment, the control included, the same sample-ratio
mismatch p-value: the chi-square test of the exposed counts of all its variations
against an equal split (k - 1 degrees of freedom).

A statistic that is undefined is None (null in the mart), never a guess: every figure of
the control but the SRM p-value; an interval or z-test with nobody exposed on a side; a
z-test where everybody or nobody converted on both sides (pooled P of 0 or 1); a Welch
test with fewer than two people on a side, or no variance on either; an SRM test with one
variation or nobody exposed. tests/test_experiments.py checks every statistic against
independent implementations to 1e-9. No I/O except `read_variations`, `write_statistics`
and `run_experiments`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import duckdb

from orchestration.measurement.tables import OutputTable, replace_tables

VARIATIONS_TABLE = "intermediate.int_experiment_variations"
CONFIDENCE_LEVEL = 0.95
STATISTICS = OutputTable(
    "experiment_statistics",
    columns=(
        ("experiment_id", "varchar"),
        ("variation_id", "varchar"),
        ("conversion_diff_ci_low", "double"),
        ("conversion_diff_ci_high", "double"),
        ("conversion_p_value", "double"),
        ("revenue_p_value", "double"),
        ("srm_p_value", "double"),
    ),
    key=("experiment_id", "variation_id"),
)
STATISTICS_TABLE = STATISTICS.name


@dataclass(frozen=True)
class Variation:
    """One experiment x variation of int_experiment_variations (multiple exposures left out)."""

    experiment_id: str
    variation_id: str
    is_control: bool
    exposed: int
    converted: int
    revenue: float
    revenue_variance: float | None

    @property
    def revenue_mean(self) -> float | None:
        return self.revenue / self.exposed if self.exposed else None


@dataclass(frozen=True)
class VariationStatistics:
    """The statistics of one experiment x variation (None where undefined)."""

    experiment_id: str
    variation_id: str
    conversion_diff_ci_low: float | None
    conversion_diff_ci_high: float | None
    conversion_p_value: float | None
    revenue_p_value: float | None
    srm_p_value: float | None

    def as_row(self) -> tuple:
        return (
            self.experiment_id,
            self.variation_id,
            self.conversion_diff_ci_low,
            self.conversion_diff_ci_high,
            self.conversion_p_value,
            self.revenue_p_value,
            self.srm_p_value,
        )


def _stats():
    """scipy.stats, imported on first use: importing it takes a second or more, and every
    `journey` command imports the definitions, which import this module."""
    from scipy import stats

    return stats


def difference_interval(
    converted: int,
    exposed: int,
    control_converted: int,
    control_exposed: int,
    level: float = CONFIDENCE_LEVEL,
) -> tuple[float, float] | None:
    """Normal interval of the conversion-rate difference (variation - control), unpooled."""
    if exposed <= 0 or control_exposed <= 0:
        return None
    rate = converted / exposed
    control_rate = control_converted / control_exposed
    standard_error = math.sqrt(
        rate * (1 - rate) / exposed + control_rate * (1 - control_rate) / control_exposed
    )
    z = float(_stats().norm.ppf(0.5 + level / 2))
    difference = rate - control_rate
    return difference - z * standard_error, difference + z * standard_error


def two_proportion_z_test(
    converted: int, exposed: int, control_converted: int, control_exposed: int
) -> float | None:
    """Two-sided p-value of the two-proportion z-test with the pooled standard error."""
    if exposed <= 0 or control_exposed <= 0:
        return None
    pooled = (converted + control_converted) / (exposed + control_exposed)
    if pooled <= 0 or pooled >= 1:
        return None
    standard_error = math.sqrt(pooled * (1 - pooled) * (1 / exposed + 1 / control_exposed))
    z = (converted / exposed - control_converted / control_exposed) / standard_error
    return float(2 * _stats().norm.sf(abs(z)))


def welch_t_test(
    mean: float,
    variance: float | None,
    exposed: int,
    control_mean: float,
    control_variance: float | None,
    control_exposed: int,
) -> float | None:
    """Two-sided p-value of Welch's t-test from each side's mean, sample variance and size."""
    if exposed < 2 or control_exposed < 2 or variance is None or control_variance is None:
        return None
    share = variance / exposed
    control_share = control_variance / control_exposed
    if share + control_share <= 0:
        return None
    t = (mean - control_mean) / math.sqrt(share + control_share)
    degrees_of_freedom = (share + control_share) ** 2 / (
        share**2 / (exposed - 1) + control_share**2 / (control_exposed - 1)
    )
    return float(2 * _stats().t.sf(abs(t), degrees_of_freedom))


def sample_ratio_mismatch(exposed: Sequence[int]) -> float | None:
    """p-value of the chi-square test of the exposed counts against an equal split."""
    total = sum(exposed)
    if len(exposed) < 2 or total <= 0:
        return None
    expected = total / len(exposed)
    statistic = sum((count - expected) ** 2 / expected for count in exposed)
    return float(_stats().chi2.sf(statistic, len(exposed) - 1))


def experiment_statistics(variations: Iterable[Variation]) -> list[VariationStatistics]:
    """The statistics of every variation, in (experiment_id, variation_id) order."""
    experiments: dict[str, list[Variation]] = defaultdict(list)
    for variation in variations:
        experiments[variation.experiment_id].append(variation)
    results = []
    for experiment_id in sorted(experiments):
        members = sorted(experiments[experiment_id], key=lambda v: v.variation_id)
        srm = sample_ratio_mismatch([v.exposed for v in members])
        control = next((v for v in members if v.is_control), None)
        for variation in members:
            results.append(_against_control(variation, control, srm))
    return results


def _against_control(
    variation: Variation, control: Variation | None, srm: float | None
) -> VariationStatistics:
    if control is None or variation.is_control:
        return VariationStatistics(
            variation.experiment_id, variation.variation_id, None, None, None, None, srm
        )
    interval = difference_interval(
        variation.converted, variation.exposed, control.converted, control.exposed
    )
    revenue_p_value = None
    if variation.revenue_mean is not None and control.revenue_mean is not None:
        revenue_p_value = welch_t_test(
            variation.revenue_mean,
            variation.revenue_variance,
            variation.exposed,
            control.revenue_mean,
            control.revenue_variance,
            control.exposed,
        )
    return VariationStatistics(
        experiment_id=variation.experiment_id,
        variation_id=variation.variation_id,
        conversion_diff_ci_low=None if interval is None else interval[0],
        conversion_diff_ci_high=None if interval is None else interval[1],
        conversion_p_value=two_proportion_z_test(
            variation.converted, variation.exposed, control.converted, control.exposed
        ),
        revenue_p_value=revenue_p_value,
        srm_p_value=srm,
    )


def read_variations(con: duckdb.DuckDBPyConnection) -> list[Variation]:
    """Every experiment x variation of the dbt model."""
    rows = con.execute(
        "select experiment_id, variation_id, is_control, exposed_customers, "
        "converted_customers, revenue, revenue_variance "
        f"from {VARIATIONS_TABLE} order by experiment_id, variation_id"
    ).fetchall()
    return [
        Variation(
            experiment_id=experiment_id,
            variation_id=variation_id,
            is_control=bool(is_control),
            exposed=int(exposed),
            converted=int(converted),
            revenue=float(revenue),
            revenue_variance=None if variance is None else float(variance),
        )
        for experiment_id, variation_id, is_control, exposed, converted, revenue, variance in rows
    ]


def write_statistics(
    con: duckdb.DuckDBPyConnection, statistics: Sequence[VariationStatistics]
) -> None:
    """Replace the statistics table in one transaction: readers see old or new, whole."""
    replace_tables(con, {STATISTICS: STATISTICS.columns_of([row.as_row() for row in statistics])})


def run_experiments(con: duckdb.DuckDBPyConnection) -> list[VariationStatistics]:
    """Read the variations dbt counted, test them, and write the statistics table."""
    statistics = experiment_statistics(read_variations(con))
    write_statistics(con, statistics)
    return statistics
