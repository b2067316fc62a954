"""Predictive customer lifetime value: BG/NBD for purchases, Gamma-Gamma for spend.

Two probability models, fitted by maximum likelihood on one summary row per customer
(`intermediate.int_clv_customer_summary`):

* **BG/NBD** (Fader, Hardie & Lee 2005, "'Counting Your Customers' the Easy Way: An
  Alternative to the Pareto/NBD Model", Marketing Science 24(2); and Fader, Hardie & Lee
  2008, "Computing P(alive) Using the BG/NBD Model", the note behind `probability_alive`).
  While alive, a customer buys at Poisson rate λ ~ Gamma(r, alpha); after every purchase they
  drop out with probability p ~ Beta(a, b). A customer is summarised by
  `x` = repeat purchases (`frequency`), `t_x` = time of the last purchase since the first
  (`recency`) and `T` = time since the first purchase (`tenure`).
* **Gamma-Gamma** (Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value"; first
  in Fader, Hardie & Lee 2005, "RFM and CLV: Using Iso-Value Curves for Customer Base
  Analysis", JMR 42(4)). A customer's spend per purchase is Gamma(p, nu) with
  nu ~ Gamma(q, gamma); the model sees `x` repeat purchases and their mean value `z̄`.

Time is in days throughout (`t_x`, `T` and the forecast horizon), so only the rate
parameter alpha carries the unit: alpha in days = 7 * alpha in weeks; r, a, b, p, q and
gamma have none.

Both fits maximise the log-likelihood over the logarithms of the parameters (so that
they stay positive) from a fixed start, with L-BFGS-B and then a Nelder-Mead polish:
the same input rows in the same order give the same parameters on every run.

Degenerate input never raises: `fit_clv` returns a `ClvFit` whose `reason` says why
nothing was fitted (too few customers, too few repeat customers with a positive
spend, an optimiser that did not converge, a Gamma-Gamma `q` ≤ 1 whose population
mean spend is infinite, non-finite predictions), and then no predictions and no
parameters at all. Either every customer gets a complete prediction, or none does.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
from scipy import optimize, special

#: Forecast horizon of `expected_purchases_12m`, in days.
HORIZON_DAYS = 365
#: Fewer customers than this (with ≥1 non-cancelled order) fit no model.
MIN_CUSTOMERS = 10
#: Fewer repeat customers (frequency > 0) with a positive average repeat spend than this
#: fit no model: the Gamma-Gamma model has three parameters, and BG/NBD cannot tell a
#: slow buyer from a lost one without repeat purchases.
MIN_REPEAT_CUSTOMERS = 3
#: Bounds of the log-parameters during optimisation (e^±30): wide enough for any real
#: data, narrow enough that a likelihood with no interior maximum cannot overflow.
LOG_PARAMETER_BOUND = 30.0
#: Negative predictions smaller than this in absolute value are floating-point noise.
NEGATIVE_ROUNDING = 1e-9

SUMMARY_RELATION = "intermediate.int_clv_customer_summary"
MEASUREMENT_SCHEMA = "measurement"
PREDICTIONS_TABLE = "clv_customer_predictions"
PARAMETERS_TABLE = "clv_parameters"

#: Column names and DuckDB types of the two measurement tables.
PREDICTION_COLUMNS = (
    ("customer_id", "varchar"),
    ("frequency", "integer"),
    ("recency_days", "integer"),
    ("tenure_days", "integer"),
    ("avg_repeat_order_value", "double"),
    ("probability_alive", "double"),
    ("expected_purchases_12m", "double"),
    ("expected_order_value", "double"),
    ("predicted_clv_12m", "double"),
    ("model_fitted_at", "timestamp"),
)
PARAMETER_COLUMNS = (
    ("model", "varchar"),
    ("parameter", "varchar"),
    ("value", "double"),
    ("log_likelihood", "double"),
    ("customers_fitted", "integer"),
    ("model_fitted_at", "timestamp"),
)


class FitError(ValueError):
    """The likelihood could not be maximised (the message says why)."""


@dataclass(frozen=True)
class BgNbdParameters:
    """BG/NBD parameters: λ ~ Gamma(shape r, rate alpha); dropout p ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}


@dataclass(frozen=True)
class GammaGammaParameters:
    """Gamma-Gamma parameters: spend ~ Gamma(p, nu), nu ~ Gamma(shape q, rate gamma)."""

    p: float
    q: float
    gamma: float

    def as_dict(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "gamma": self.gamma}

    @property
    def population_mean(self) -> float:
        """E[Z] = p·gamma / (q - 1): the mean spend per purchase of a customer never seen
        buying again (finite only for q > 1)."""
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else math.inf


@dataclass(frozen=True)
class BgNbdFit:
    parameters: BgNbdParameters
    log_likelihood: float
    customers_fitted: int


@dataclass(frozen=True)
class GammaGammaFit:
    parameters: GammaGammaParameters
    log_likelihood: float
    customers_fitted: int


# --------------------------------------------------------------------------- BG/NBD


def bg_nbd_log_likelihood(
    parameters: BgNbdParameters,
    frequency: np.ndarray,
    recency: np.ndarray,
    tenure: np.ndarray,
) -> np.ndarray:
    """Each customer's log-likelihood under BG/NBD (Fader, Hardie & Lee 2005, eq. 6).

    L = B(a, b+x)/B(a, b) · Γ(r+x) alpha^r / (Γ(r) (alpha+T)^(r+x))
      + δ(x>0) · B(a+1, b+x-1)/B(a, b) · Γ(r+x) alpha^r / (Γ(r) (alpha+t_x)^(r+x)),

    computed as ln L = A1 + A2 + ln(e^A3 + δ(x>0) e^A4) with (Hardie's note on
    implementing the model in Excel)
    A1 = ln Γ(r+x) - ln Γ(r) + r ln alpha,
    A2 = ln Γ(a+b) + ln Γ(b+x) - ln Γ(b) - ln Γ(a+b+x),
    A3 = -(r+x) ln(alpha+T),
    A4 = ln a - ln(b+x-1) - (r+x) ln(alpha+t_x).
    """
    r, alpha, a, b = parameters.r, parameters.alpha, parameters.a, parameters.b
    x, t_x, big_t = _as_float(frequency), _as_float(recency), _as_float(tenure)
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = (
        special.gammaln(a + b)
        + special.gammaln(b + x)
        - special.gammaln(b)
        - special.gammaln(a + b + x)
    )
    a3 = -(r + x) * np.log(alpha + big_t)
    repeat = x > 0
    # b + x - 1 > 0 whenever x ≥ 1; the x = 0 rows take -inf (no second term).
    b_x_1 = np.where(repeat, b + x - 1, 1.0)
    a4 = np.where(repeat, np.log(a) - np.log(b_x_1) - (r + x) * np.log(alpha + t_x), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def bg_nbd_probability_alive(
    parameters: BgNbdParameters,
    frequency: np.ndarray,
    recency: np.ndarray,
    tenure: np.ndarray,
) -> np.ndarray:
    """P(alive | x, t_x, T) = 1 / (1 + δ(x>0) · a/(b+x-1) · ((alpha+T)/(alpha+t_x))^(r+x))
    (Fader, Hardie & Lee 2008). Exactly 1 for x = 0: under BG/NBD a customer
    can only drop out right after a repeat purchase."""
    log_odds_dead = _log_odds_dead(parameters, frequency, recency, tenure)
    return special.expit(-log_odds_dead)


def bg_nbd_expected_purchases(
    parameters: BgNbdParameters,
    horizon: float,
    frequency: np.ndarray,
    recency: np.ndarray,
    tenure: np.ndarray,
) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected purchases in the next `horizon` time units
    (Fader, Hardie & Lee 2005, eq. 10):

    (a+b+x-1)/(a-1) · [1 - ((alpha+T)/(alpha+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x-1; t/(alpha+T+t))]
    / [1 + δ(x>0) · a/(b+x-1) · ((alpha+T)/(alpha+t_x))^(r+x)].

    The denominator is 1 / P(alive), so this is P(alive) times the bracketed term.
    """
    r, alpha, a, b = parameters.r, parameters.alpha, parameters.a, parameters.b
    x, big_t = _as_float(frequency), _as_float(tenure)
    t = float(horizon)
    z = t / (alpha + big_t + t)
    hypergeometric = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    bracket = 1 - np.power((alpha + big_t) / (alpha + big_t + t), r + x) * hypergeometric
    expected_if_alive = (a + b + x - 1) / (a - 1) * bracket
    return expected_if_alive * bg_nbd_probability_alive(parameters, frequency, recency, tenure)


def fit_bg_nbd(frequency: Sequence, recency: Sequence, tenure: Sequence) -> BgNbdFit:
    """Maximum-likelihood BG/NBD parameters (in the time unit of `recency` and `tenure`).

    Start: r = a = b = 1 and alpha = the mean tenure (alpha is a time scale: this start makes
    the fit independent of the time unit up to that scale). Raises `FitError` if the
    optimiser does not end at a finite maximum.
    """
    x, t_x, big_t = _as_float(frequency), _as_float(recency), _as_float(tenure)
    alpha_start = max(float(np.mean(big_t)), 1.0)

    def negative_mean_log_likelihood(log_parameters: np.ndarray) -> float:
        r, alpha, a, b = np.exp(log_parameters)
        values = bg_nbd_log_likelihood(BgNbdParameters(r, alpha, a, b), x, t_x, big_t)
        return -float(np.mean(values))

    start = np.log([1.0, alpha_start, 1.0, 1.0])
    log_parameters, mean_ll = _maximise(negative_mean_log_likelihood, start)
    r, alpha, a, b = (float(value) for value in np.exp(log_parameters))
    return BgNbdFit(BgNbdParameters(r, alpha, a, b), mean_ll * len(x), len(x))


# --------------------------------------------------------------------- Gamma-Gamma


def gamma_gamma_log_likelihood(
    parameters: GammaGammaParameters, frequency: np.ndarray, monetary_value: np.ndarray
) -> np.ndarray:
    """Each repeat customer's log-likelihood of their mean spend z̄ over x purchases
    (Fader & Hardie 2013):

    f(z̄ | p, q, gamma; x) = Γ(px+q) / (Γ(px) Γ(q)) · gamma^q z̄^(px-1) x^(px) / (gamma + x z̄)^(px+q).

    Defined for x > 0 and z̄ > 0 only.
    """
    p, q, gamma = parameters.p, parameters.q, parameters.gamma
    x, z = _as_float(frequency), _as_float(monetary_value)
    px = p * x
    return (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(z)
        + px * np.log(x)
        - (px + q) * np.log(gamma + x * z)
    )


def gamma_gamma_expected_order_value(
    parameters: GammaGammaParameters, frequency: np.ndarray, monetary_value: np.ndarray
) -> np.ndarray:
    """E[Z | p, q, gamma; x, z̄] = p(gamma + x z̄) / (px + q - 1) (Fader & Hardie 2013): a
    weighted mean of the population mean p·gamma/(q - 1) and the customer's own z̄. For x = 0
    (z̄ unknown, null) it is the population mean."""
    p, q, gamma = parameters.p, parameters.q, parameters.gamma
    x = _as_float(frequency)
    z = np.where(x > 0, np.nan_to_num(_as_float(monetary_value)), 0.0)
    return p * (gamma + x * z) / (p * x + q - 1)


def fit_gamma_gamma(frequency: Sequence, monetary_value: Sequence) -> GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma parameters on repeat customers (x > 0, z̄ > 0).

    Start: p = q = 1 and gamma = the mean of z̄ (gamma is on the scale of money). Raises
    `FitError` if the optimiser does not end at a finite maximum.
    """
    x, z = _as_float(frequency), _as_float(monetary_value)
    if np.any(x <= 0) or np.any(~(z > 0)):
        raise FitError("Gamma-Gamma is fitted on customers with frequency > 0 and spend > 0")
    gamma_start = float(np.mean(z))

    def negative_mean_log_likelihood(log_parameters: np.ndarray) -> float:
        p, q, gamma = np.exp(log_parameters)
        return -float(np.mean(gamma_gamma_log_likelihood(GammaGammaParameters(p, q, gamma), x, z)))

    start = np.log([1.0, 1.0, gamma_start])
    log_parameters, mean_ll = _maximise(negative_mean_log_likelihood, start)
    p, q, gamma = (float(value) for value in np.exp(log_parameters))
    return GammaGammaFit(GammaGammaParameters(p, q, gamma), mean_ll * len(x), len(x))


# ------------------------------------------------------------------ both together


@dataclass(frozen=True)
class CustomerSummary:
    """One row of `int_clv_customer_summary` (times in days)."""

    customer_id: str
    frequency: int
    recency_days: int
    tenure_days: int
    avg_repeat_order_value: float | None


@dataclass(frozen=True)
class ClvFit:
    """Parameters and per-customer predictions, or a `reason` and nothing."""

    bg_nbd: BgNbdFit | None = None
    gamma_gamma: GammaGammaFit | None = None
    customers: list[CustomerSummary] = field(default_factory=list)
    probability_alive: np.ndarray = field(default_factory=lambda: np.empty(0))
    expected_purchases: np.ndarray = field(default_factory=lambda: np.empty(0))
    expected_order_value: np.ndarray = field(default_factory=lambda: np.empty(0))
    reason: str | None = None

    @property
    def fitted(self) -> bool:
        return self.reason is None

    @property
    def predicted_clv(self) -> np.ndarray:
        return self.expected_purchases * self.expected_order_value


def fit_clv(customers: Sequence[CustomerSummary], horizon_days: float = HORIZON_DAYS) -> ClvFit:
    """Fit BG/NBD on every customer and Gamma-Gamma on the repeat customers with a
    positive average repeat spend, then predict for every customer. A mean repeat
    spend of 0 (every repeat order refunded) has zero density under the gamma model,
    so such customers are left out of the Gamma-Gamma fit (they still get a prediction,
    shrunk towards zero). Never raises on degenerate data: see the module docstring."""
    customers = list(customers)
    x = np.array([c.frequency for c in customers], dtype=float)
    t_x = np.array([c.recency_days for c in customers], dtype=float)
    big_t = np.array([c.tenure_days for c in customers], dtype=float)
    z = np.array(
        [
            math.nan if c.avg_repeat_order_value is None else c.avg_repeat_order_value
            for c in customers
        ],
        dtype=float,
    )
    spenders = (x > 0) & (z > 0)
    if len(customers) < MIN_CUSTOMERS:
        return ClvFit(
            reason=f"{len(customers)} customers with an order; at least {MIN_CUSTOMERS} needed"
        )
    if int(spenders.sum()) < MIN_REPEAT_CUSTOMERS:
        return ClvFit(
            reason=(
                f"{int(spenders.sum())} repeat customers with a positive repeat spend; at "
                f"least {MIN_REPEAT_CUSTOMERS} needed"
            )
        )
    try:
        bg_nbd = fit_bg_nbd(x, t_x, big_t)
    except FitError as exc:
        return ClvFit(reason=f"BG/NBD: {exc}")
    try:
        gamma_gamma = fit_gamma_gamma(x[spenders], z[spenders])
    except FitError as exc:
        return ClvFit(reason=f"Gamma-Gamma: {exc}")
    if not gamma_gamma.parameters.q > 1:
        return ClvFit(
            reason=(
                f"Gamma-Gamma: q = {gamma_gamma.parameters.q:.4g} ≤ 1, so the population "
                "mean spend p·gamma/(q - 1) is infinite"
            )
        )
    with np.errstate(all="ignore"):
        alive = bg_nbd_probability_alive(bg_nbd.parameters, x, t_x, big_t)
        purchases = bg_nbd_expected_purchases(bg_nbd.parameters, horizon_days, x, t_x, big_t)
        order_value = gamma_gamma_expected_order_value(gamma_gamma.parameters, x, z)
    # The Gauss hypergeometric series may leave rounding noise around 0 for customers
    # with next to no expected purchases: noise is cut to 0, anything more is an error.
    purchases = np.where((purchases < 0) & (purchases > -NEGATIVE_ROUNDING), 0.0, purchases)
    for name, values in (
        ("probability_alive", alive),
        ("expected_purchases", purchases),
        ("expected_order_value", order_value),
    ):
        invalid = ~(np.isfinite(values) & (values >= 0))
        if invalid.any():
            return ClvFit(reason=f"{name} not a finite number ≥ 0 for {int(invalid.sum())} rows")
    return ClvFit(
        bg_nbd=bg_nbd,
        gamma_gamma=gamma_gamma,
        customers=customers,
        probability_alive=alive,
        expected_purchases=purchases,
        expected_order_value=order_value,
    )


# ------------------------------------------------------------------- warehouse I/O


def read_customer_summary(
    con: duckdb.DuckDBPyConnection, relation: str = SUMMARY_RELATION
) -> tuple[list[CustomerSummary], dt.date | None]:
    """The summary rows (ordered by customer_id, so a rerun sees the same order) and
    the last day of data."""
    rows = con.execute(
        f"""
        select customer_id, frequency, recency_days, tenure_days, avg_repeat_order_value,
            last_data_date
        from {relation}
        order by customer_id
        """
    ).fetchall()
    customers = [
        CustomerSummary(
            customer_id=row[0],
            frequency=int(row[1]),
            recency_days=int(row[2]),
            tenure_days=int(row[3]),
            avg_repeat_order_value=None if row[4] is None else float(row[4]),
        )
        for row in rows
    ]
    last_data_date = max((row[5] for row in rows), default=None)
    return customers, last_data_date


def prediction_columns(fit: ClvFit, model_fitted_at: dt.datetime | None) -> dict[str, list]:
    """`measurement.clv_customer_predictions`, column by column (empty when not fitted)."""
    customers = fit.customers if fit.fitted else []
    return {
        "customer_id": [c.customer_id for c in customers],
        "frequency": [c.frequency for c in customers],
        "recency_days": [c.recency_days for c in customers],
        "tenure_days": [c.tenure_days for c in customers],
        "avg_repeat_order_value": [c.avg_repeat_order_value for c in customers],
        "probability_alive": fit.probability_alive.tolist(),
        "expected_purchases_12m": fit.expected_purchases.tolist(),
        "expected_order_value": fit.expected_order_value.tolist(),
        "predicted_clv_12m": fit.predicted_clv.tolist(),
        "model_fitted_at": [model_fitted_at] * len(customers),
    }


def parameter_columns(fit: ClvFit, model_fitted_at: dt.datetime | None) -> dict[str, list]:
    """`measurement.clv_parameters`, column by column: one row per parameter (days)."""
    rows: list[tuple] = []
    for model, model_fit in (("bg_nbd", fit.bg_nbd), ("gamma_gamma", fit.gamma_gamma)):
        if fit.fitted and model_fit is not None:
            rows += [
                (
                    model,
                    name,
                    value,
                    model_fit.log_likelihood,
                    model_fit.customers_fitted,
                    model_fitted_at,
                )
                for name, value in model_fit.parameters.as_dict().items()
            ]
    return {name: [row[i] for row in rows] for i, (name, _) in enumerate(PARAMETER_COLUMNS)}


def write_clv_tables(
    con: duckdb.DuckDBPyConnection,
    predictions: dict[str, list],
    parameters: dict[str, list],
) -> None:
    """Replace both measurement tables in one transaction: readers see the old pair or
    the new pair, never one of each. Columns go in as typed lists, unnested together."""
    con.execute("begin transaction")
    try:
        con.execute(f"create schema if not exists {MEASUREMENT_SCHEMA}")
        for table, columns, values in (
            (PREDICTIONS_TABLE, PREDICTION_COLUMNS, predictions),
            (PARAMETERS_TABLE, PARAMETER_COLUMNS, parameters),
        ):
            relation = f"{MEASUREMENT_SCHEMA}.{table}"
            definition = ", ".join(f"{name} {data_type}" for name, data_type in columns)
            con.execute(f"create or replace table {relation} ({definition})")
            unnested = ", ".join(
                f"unnest(cast(? as {data_type}[])) as {name}" for name, data_type in columns
            )
            con.execute(
                f"insert into {relation} select {unnested}",
                [values[name] for name, _ in columns],
            )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def run_clv(
    con: duckdb.DuckDBPyConnection,
    relation: str = SUMMARY_RELATION,
    horizon_days: float = HORIZON_DAYS,
) -> ClvFit:
    """Read the summary, fit both models and replace the measurement tables.

    `model_fitted_at` is the last day of data at 00:00, not the wall clock: it says
    which data the model saw, and a rerun on the same data writes identical tables.
    """
    customers, last_data_date = read_customer_summary(con, relation)
    fit = fit_clv(customers, horizon_days)
    model_fitted_at = (
        None if last_data_date is None else dt.datetime.combine(last_data_date, dt.time())
    )
    write_clv_tables(
        con, prediction_columns(fit, model_fitted_at), parameter_columns(fit, model_fitted_at)
    )
    return fit


# ------------------------------------------------------------------------ helpers


def _as_float(values: Sequence | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=float)


def _log_odds_dead(
    parameters: BgNbdParameters,
    frequency: np.ndarray,
    recency: np.ndarray,
    tenure: np.ndarray,
) -> np.ndarray:
    """ln[a/(b+x-1) · ((alpha+T)/(alpha+t_x))^(r+x)] for x > 0, -inf for x = 0."""
    r, alpha, a, b = parameters.r, parameters.alpha, parameters.a, parameters.b
    x, t_x, big_t = _as_float(frequency), _as_float(recency), _as_float(tenure)
    repeat = x > 0
    b_x_1 = np.where(repeat, b + x - 1, 1.0)
    log_odds = np.log(a) - np.log(b_x_1) + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
    return np.where(repeat, log_odds, -np.inf)


def _maximise(
    negative_mean_log_likelihood: Callable[[np.ndarray], float], start: np.ndarray
) -> tuple[np.ndarray, float]:
    """Minimise over log-parameters: L-BFGS-B, then a Nelder-Mead polish from there.

    Returns the better of the two end points (log-parameters and the maximised mean
    log-likelihood); fails when neither method reports convergence. On a flat
    likelihood (e.g. no visible dropout, where b grows without bound and BG/NBD tends to
    the NBD model) the end point is where the surface stops improving, which is still a
    deterministic function of the input."""

    def objective(log_parameters: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            value = negative_mean_log_likelihood(log_parameters)
        return value if math.isfinite(value) else math.inf

    if not math.isfinite(objective(start)):
        raise FitError("the log-likelihood is not finite at the starting point")
    bounds = [(-LOG_PARAMETER_BOUND, LOG_PARAMETER_BOUND)] * len(start)
    coarse = optimize.minimize(objective, start, method="L-BFGS-B", bounds=bounds)
    polished = optimize.minimize(
        objective,
        coarse.x,
        method="Nelder-Mead",
        bounds=bounds,
        options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 20_000, "maxfev": 40_000},
    )
    best = polished if polished.fun <= coarse.fun else coarse
    if not (math.isfinite(best.fun) and np.all(np.isfinite(best.x))):
        raise FitError("the optimiser found no finite maximum of the log-likelihood")
    if not (polished.success or coarse.success):
        raise FitError(f"the optimiser did not converge ({polished.message})")
    return best.x, -float(best.fun)
