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
they stay positive) from a fixed start, inside a search range of a factor
`SEARCH_RANGE_FACTOR` either way of that start, with L-BFGS-B and then a Nelder-Mead
polish: the same input rows in the same order give the same parameters on every run.

A model fitted on too little evidence says so instead of publishing confident numbers.
Each model gets a `fit_status`, `ok` or `unreliable`, and a `fit_note` saying why in
words. A model is unreliable when fewer people than `min_repeat_buyers` (the dbt var
`clv_min_repeat_buyers`) have a repeat purchase, when the optimiser did not converge,
when a parameter ends at a bound of its search range (the data do not pin it down: a
likelihood rising without end along a ridge, as with no visible dropout or no spread
in spend), when a Gamma-Gamma `q` ≤ 1 leaves the mean spend infinite, or when its
predictions are not finite. An unreliable model still publishes its parameters (with
the status and note) but predicts nothing: its columns are NaN (null in the warehouse),
for every customer. Degenerate input never raises.

`fit_calibration` is the out-of-sample check that lifetimes draws as
`plot_calibration_purchases_vs_holdout_purchases`: the last quarter of the observed days
(at least `MIN_HOLDOUT_DAYS`) is held out, both models are fitted on the days before it,
and the purchases BG/NBD predicts for the holdout are compared with those made, by
number of repeat purchases in the calibration period.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np

from orchestration.measurement.tables import OutputTable, replace_tables

#: Forecast horizon of `expected_purchases_12m`, in days.
HORIZON_DAYS = 365
#: Each parameter is searched within this factor either way of its start (1 for the
#: shape parameters r, a, b, p, q; the mean tenure for alpha and the mean repeat spend
#: for gamma, so the range follows the units of time and money). A maximum-likelihood
#: estimate ending at a bound is not an estimate: the likelihood still rises beyond it.
SEARCH_RANGE_FACTOR = 1e4
#: A parameter this close to a bound of its search range (in log units, about 1 %)
#: ended at it.
AT_BOUND_TOLERANCE = 0.01
#: Negative predictions smaller than this in absolute value are floating-point noise.
NEGATIVE_ROUNDING = 1e-9
#: The calibration check holds out the last quarter of the observed days, and needs
#: at least this many days in it.
MIN_HOLDOUT_DAYS = 30
#: The highest repeat-purchase count with its own calibration row; above it, one row.
CALIBRATION_TOP_FREQUENCY = 6
#: The dbt var holding the least number of repeat buyers a reliable model needs.
MIN_REPEAT_BUYERS_VAR = "clv_min_repeat_buyers"

FIT_OK = "ok"
FIT_UNRELIABLE = "unreliable"

SUMMARY_RELATION = "intermediate.int_clv_customer_summary"
ORDER_DAYS_RELATION = "intermediate.int_clv_order_days"
#: The three measurement tables (names, columns and DuckDB types).
PREDICTIONS = OutputTable(
    "clv_customer_predictions",
    columns=(
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
    ),
)
PARAMETERS = OutputTable(
    "clv_parameters",
    columns=(
        ("model", "varchar"),
        ("parameter", "varchar"),
        ("value", "double"),
        ("log_likelihood", "double"),
        ("customers_fitted", "integer"),
        ("model_fitted_at", "timestamp"),
        ("fit_status", "varchar"),
        ("fit_note", "varchar"),
    ),
)
CALIBRATION = OutputTable(
    "clv_calibration",
    columns=(
        ("frequency_in_calibration", "varchar"),
        ("customers", "integer"),
        ("mean_predicted_holdout_purchases", "double"),
        ("mean_actual_holdout_purchases", "double"),
        ("mean_absolute_error", "double"),
        ("calibration_days", "integer"),
        ("holdout_days", "integer"),
        ("model_fitted_at", "timestamp"),
        ("fit_status", "varchar"),
        ("fit_note", "varchar"),
    ),
)
PREDICTIONS_TABLE, PARAMETERS_TABLE, CALIBRATION_TABLE = (
    PREDICTIONS.name,
    PARAMETERS.name,
    CALIBRATION.name,
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
    """The maximum-likelihood end point, and how the optimiser got there: `converged`
    (its own report, with `message`) and `at_bound` (`(name, "lower" or "upper")` for
    each parameter that ended at a bound of its search range)."""

    parameters: BgNbdParameters
    log_likelihood: float
    customers_fitted: int
    converged: bool = True
    at_bound: tuple[tuple[str, str], ...] = ()
    message: str = ""


@dataclass(frozen=True)
class GammaGammaFit:
    """As `BgNbdFit`, for the Gamma-Gamma model."""

    parameters: GammaGammaParameters
    log_likelihood: float
    customers_fitted: int
    converged: bool = True
    at_bound: tuple[tuple[str, str], ...] = ()
    message: str = ""


# --------------------------------------------------------------------------- BG/NBD


def _scipy_special():
    """scipy.special and scipy.optimize, imported on first use: importing them takes a
    second or more, and every `journey` command imports the definitions that import this
    module."""
    from scipy import special

    return special


def _scipy_optimize():
    from scipy import optimize

    return optimize


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
    a1 = _scipy_special().gammaln(r + x) - _scipy_special().gammaln(r) + r * np.log(alpha)
    a2 = (
        _scipy_special().gammaln(a + b)
        + _scipy_special().gammaln(b + x)
        - _scipy_special().gammaln(b)
        - _scipy_special().gammaln(a + b + x)
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
    return _scipy_special().expit(-log_odds_dead)


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
    hypergeometric = _scipy_special().hyp2f1(r + x, b + x, a + b + x - 1, z)
    bracket = 1 - np.power((alpha + big_t) / (alpha + big_t + t), r + x) * hypergeometric
    expected_if_alive = (a + b + x - 1) / (a - 1) * bracket
    return expected_if_alive * bg_nbd_probability_alive(parameters, frequency, recency, tenure)


def fit_bg_nbd(frequency: Sequence, recency: Sequence, tenure: Sequence) -> BgNbdFit:
    """Maximum-likelihood BG/NBD parameters (in the time unit of `recency` and `tenure`).

    Start: r = a = b = 1 and alpha = the mean tenure (alpha is a time scale: this start makes
    the fit independent of the time unit up to that scale); each parameter is searched
    within `SEARCH_RANGE_FACTOR` either way of its start. Raises `FitError` only when the
    log-likelihood is not finite; a fit that did not converge or ended at a bound is
    returned, and says so.
    """
    x, t_x, big_t = _as_float(frequency), _as_float(recency), _as_float(tenure)
    alpha_start = max(float(np.mean(big_t)), 1.0)

    def negative_mean_log_likelihood(log_parameters: np.ndarray) -> float:
        r, alpha, a, b = np.exp(log_parameters)
        values = bg_nbd_log_likelihood(BgNbdParameters(r, alpha, a, b), x, t_x, big_t)
        return -float(np.mean(values))

    start = np.log([1.0, alpha_start, 1.0, 1.0])
    optimum = _maximise(negative_mean_log_likelihood, start, ("r", "alpha", "a", "b"))
    r, alpha, a, b = (float(value) for value in np.exp(optimum.log_parameters))
    return BgNbdFit(
        BgNbdParameters(r, alpha, a, b),
        optimum.mean_log_likelihood * len(x),
        len(x),
        optimum.converged,
        optimum.at_bound,
        optimum.message,
    )


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
        _scipy_special().gammaln(px + q)
        - _scipy_special().gammaln(px)
        - _scipy_special().gammaln(q)
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

    Start: p = q = 1 and gamma = the mean of z̄ (gamma is on the scale of money); each
    parameter is searched within `SEARCH_RANGE_FACTOR` either way of its start. Raises
    `FitError` on rows it cannot fit or a log-likelihood that is not finite; a fit that
    did not converge or ended at a bound is returned, and says so.
    """
    x, z = _as_float(frequency), _as_float(monetary_value)
    if x.size == 0:
        raise FitError("no customer with a repeat purchase and a positive spend to fit on")
    if np.any(x <= 0) or np.any(~(z > 0)):
        raise FitError("Gamma-Gamma is fitted on customers with frequency > 0 and spend > 0")
    gamma_start = float(np.mean(z))

    def negative_mean_log_likelihood(log_parameters: np.ndarray) -> float:
        p, q, gamma = np.exp(log_parameters)
        return -float(np.mean(gamma_gamma_log_likelihood(GammaGammaParameters(p, q, gamma), x, z)))

    start = np.log([1.0, 1.0, gamma_start])
    optimum = _maximise(negative_mean_log_likelihood, start, ("p", "q", "gamma"))
    p, q, gamma = (float(value) for value in np.exp(optimum.log_parameters))
    return GammaGammaFit(
        GammaGammaParameters(p, q, gamma),
        optimum.mean_log_likelihood * len(x),
        len(x),
        optimum.converged,
        optimum.at_bound,
        optimum.message,
    )


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
class ModelStatus:
    """Whether a model's predictions can be published (`ok`), and why in words."""

    reliable: bool
    note: str

    @property
    def status(self) -> str:
        return FIT_OK if self.reliable else FIT_UNRELIABLE


def _empty() -> np.ndarray:
    return np.empty(0)


@dataclass(frozen=True)
class ClvFit:
    """Both models, each with its status, and the per-customer predictions.

    The columns of an unreliable model are NaN for every customer (BG/NBD:
    `probability_alive` and `expected_purchases`; Gamma-Gamma: `expected_order_value`;
    `predicted_clv` for either). A model is None when it could not be fitted at all
    (its status says why)."""

    customers: list[CustomerSummary] = field(default_factory=list)
    bg_nbd: BgNbdFit | None = None
    gamma_gamma: GammaGammaFit | None = None
    bg_nbd_status: ModelStatus = ModelStatus(False, "not fitted: no customer with an order")
    gamma_gamma_status: ModelStatus = ModelStatus(False, "not fitted: no customer with an order")
    probability_alive: np.ndarray = field(default_factory=_empty)
    expected_purchases: np.ndarray = field(default_factory=_empty)
    expected_order_value: np.ndarray = field(default_factory=_empty)

    @property
    def reliable(self) -> bool:
        """Both models are `ok`: every customer has every prediction."""
        return self.bg_nbd_status.reliable and self.gamma_gamma_status.reliable

    @property
    def reason(self) -> str | None:
        """Why some prediction is missing, in words (None when both models are `ok`)."""
        notes = [
            f"{label} unreliable: {status.note}"
            for label, status in (
                ("BG/NBD", self.bg_nbd_status),
                ("Gamma-Gamma", self.gamma_gamma_status),
            )
            if not status.reliable
        ]
        return "; ".join(notes) or None

    @property
    def predicted_clv(self) -> np.ndarray:
        return self.expected_purchases * self.expected_order_value


def _people(count: int) -> str:
    return f"{count:,} {'person' if count == 1 else 'people'}"


def _fit_problems(fit: BgNbdFit | GammaGammaFit) -> list[str]:
    """Why the optimiser's end point is not a maximum-likelihood estimate, in words."""
    problems = []
    if not fit.converged:
        problems.append(f"the optimiser did not converge ({fit.message})")
    values = fit.parameters.as_dict()
    if fit.at_bound:
        ended = [f"{name} = {values[name]:.4g} ({side})" for name, side in fit.at_bound]
        listed = ended[0] if len(ended) == 1 else f"{', '.join(ended[:-1])} and {ended[-1]}"
        problems.append(
            f"{listed} ended at a bound of the search range (a factor "
            f"{SEARCH_RANGE_FACTOR:g} either way of the start): the data do not pin "
            f"{'it' if len(ended) == 1 else 'them'} down"
        )
    return problems


def _too_few(repeat_buyers: int, min_repeat_buyers: int, what: str) -> list[str]:
    if repeat_buyers >= min_repeat_buyers:
        return []
    return [
        f"only {_people(repeat_buyers)} {what}; at least {min_repeat_buyers:,} needed "
        f"(dbt var {MIN_REPEAT_BUYERS_VAR})"
    ]


def _invalid_predictions(columns: dict[str, np.ndarray]) -> list[str]:
    problems = []
    for name, values in columns.items():
        invalid = ~(np.isfinite(values) & (values >= 0))
        if invalid.any():
            problems.append(f"{name} is not a finite number ≥ 0 for {_people(int(invalid.sum()))}")
    return problems


def fit_clv(
    customers: Sequence[CustomerSummary],
    min_repeat_buyers: int,
    horizon_days: float = HORIZON_DAYS,
) -> ClvFit:
    """Fit BG/NBD on every customer and Gamma-Gamma on the repeat customers with a
    positive average repeat spend, judge each fit, and predict for every customer with
    the models that are `ok`. A mean repeat spend of 0 (every repeat order refunded) has
    zero density under the gamma model, so such customers are left out of the
    Gamma-Gamma fit (they still get a prediction, shrunk towards zero). Never raises on
    degenerate data: see the module docstring."""
    customers = list(customers)
    if not customers:
        return ClvFit()
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
    repeat_buyers = int((x > 0).sum())
    spenders = (x > 0) & (z > 0)
    nothing = np.full(len(customers), math.nan)

    # BG/NBD
    bg_nbd: BgNbdFit | None = None
    alive, purchases = nothing, nothing
    try:
        bg_nbd = fit_bg_nbd(x, t_x, big_t)
    except FitError as exc:
        problems = [f"not fitted: {exc}"]
    else:
        problems = _too_few(repeat_buyers, min_repeat_buyers, "have a repeat purchase")
        problems += _fit_problems(bg_nbd)
        if not problems:
            with np.errstate(all="ignore"):
                alive = bg_nbd_probability_alive(bg_nbd.parameters, x, t_x, big_t)
                purchases = bg_nbd_expected_purchases(
                    bg_nbd.parameters, horizon_days, x, t_x, big_t
                )
            # The Gauss hypergeometric series may leave rounding noise around 0 for
            # customers with next to no expected purchases: noise is cut to 0, anything
            # more makes the model unreliable.
            purchases = np.where((purchases < 0) & (purchases > -NEGATIVE_ROUNDING), 0.0, purchases)
            problems = _invalid_predictions(
                {"probability_alive": alive, "expected_purchases": purchases}
            )
    if problems:
        alive, purchases = nothing, nothing
        bg_nbd_status = ModelStatus(False, "; ".join(problems))
    else:
        bg_nbd_status = ModelStatus(
            True,
            f"{_people(repeat_buyers)} of {len(customers):,} have a repeat purchase (at "
            f"least {min_repeat_buyers:,} needed); the optimiser converged inside the "
            "search range",
        )

    # Gamma-Gamma
    gamma_gamma: GammaGammaFit | None = None
    order_value = nothing
    try:
        gamma_gamma = fit_gamma_gamma(x[spenders], z[spenders])
    except FitError as exc:
        problems = [f"not fitted: {exc}"]
    else:
        problems = _too_few(
            gamma_gamma.customers_fitted,
            min_repeat_buyers,
            "have a repeat purchase with a positive spend",
        )
        problems += _fit_problems(gamma_gamma)
        q = gamma_gamma.parameters.q
        if not q > 1:
            problems.append(
                f"q = {q:.4g} ≤ 1, so the mean spend per purchase p·gamma/(q - 1) is infinite"
            )
        if not problems:
            with np.errstate(all="ignore"):
                order_value = gamma_gamma_expected_order_value(gamma_gamma.parameters, x, z)
            problems = _invalid_predictions({"expected_order_value": order_value})
    if problems:
        order_value = nothing
        gamma_gamma_status = ModelStatus(False, "; ".join(problems))
    else:
        gamma_gamma_status = ModelStatus(
            True,
            f"fitted on {_people(gamma_gamma.customers_fitted)} with a repeat purchase and "
            f"a positive spend (at least {min_repeat_buyers:,} needed); the optimiser "
            "converged inside the search range, and q > 1",
        )

    return ClvFit(
        customers=customers,
        bg_nbd=bg_nbd,
        gamma_gamma=gamma_gamma,
        bg_nbd_status=bg_nbd_status,
        gamma_gamma_status=gamma_gamma_status,
        probability_alive=alive,
        expected_purchases=purchases,
        expected_order_value=order_value,
    )


# -------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class OrderDay:
    """One row of `int_clv_order_days`: a person's order day and its net revenue."""

    customer_id: str
    order_date: dt.date
    net_revenue: float


def summarise_order_days(
    order_days: Iterable[OrderDay], observation_end: dt.date
) -> list[CustomerSummary]:
    """The BG/NBD summary of every person with an order day on or before
    `observation_end`, as of that day (ordered by customer_id): the rules of
    `int_clv_customer_summary`, and of lifetimes' `summary_data_from_transaction_data`
    with `freq="D"`."""
    days_by_customer: dict[str, dict[dt.date, float]] = {}
    for day in order_days:
        if day.order_date <= observation_end:
            days = days_by_customer.setdefault(day.customer_id, {})
            days[day.order_date] = days.get(day.order_date, 0.0) + day.net_revenue
    customers = []
    for customer_id in sorted(days_by_customer):
        days = sorted(days_by_customer[customer_id].items())
        first, last = days[0][0], days[-1][0]
        repeat = [revenue for _, revenue in days[1:]]
        customers.append(
            CustomerSummary(
                customer_id=customer_id,
                frequency=len(repeat),
                recency_days=(last - first).days,
                tenure_days=(observation_end - first).days,
                avg_repeat_order_value=float(np.mean(repeat)) if repeat else None,
            )
        )
    return customers


def calibration_and_holdout(
    order_days: Sequence[OrderDay], calibration_end: dt.date, observation_end: dt.date
) -> tuple[list[CustomerSummary], np.ndarray]:
    """The people with a first order day on or before `calibration_end`, summarised as
    of that day, and each one's purchases (distinct order days) after it, up to and
    including `observation_end`: lifetimes' `calibration_and_holdout_data` with
    `freq="D"` (`frequency_cal`, `recency_cal`, `T_cal`, `frequency_holdout`)."""
    customers = summarise_order_days(order_days, calibration_end)
    holdout_days: dict[str, set[dt.date]] = {}
    for day in order_days:
        if calibration_end < day.order_date <= observation_end:
            holdout_days.setdefault(day.customer_id, set()).add(day.order_date)
    holdout = np.array([len(holdout_days.get(c.customer_id, ())) for c in customers], dtype=float)
    return customers, holdout


@dataclass(frozen=True)
class CalibrationRow:
    frequency_in_calibration: str
    customers: int
    mean_predicted_holdout_purchases: float | None
    mean_actual_holdout_purchases: float | None
    mean_absolute_error: float | None


@dataclass(frozen=True)
class ClvCalibration:
    """The calibration rows, or none and the `reason` why."""

    rows: list[CalibrationRow] = field(default_factory=list)
    calibration_days: int | None = None
    holdout_days: int | None = None
    fit: ClvFit | None = None
    reason: str | None = None

    @property
    def status(self) -> ModelStatus | None:
        """The status of the calibration period's BG/NBD fit, whose predictions the rows
        compare (None when there are no rows)."""
        return None if self.fit is None else self.fit.bg_nbd_status


def holdout_split(first_data_date: dt.date, last_data_date: dt.date) -> tuple[int, int]:
    """(calibration days, holdout days): the observed days, first to last day of data,
    and the last quarter of them (rounded down) held out."""
    observed = (last_data_date - first_data_date).days + 1
    holdout = observed // 4
    return observed - holdout, holdout


def _bucket(frequency: int) -> str:
    top = CALIBRATION_TOP_FREQUENCY
    return f"{top}+" if frequency >= top else str(frequency)


def calibration_buckets() -> list[str]:
    """`0`, `1`, …, `5`, `6+` and `all`: the values of `frequency_in_calibration`."""
    top = CALIBRATION_TOP_FREQUENCY
    return [str(n) for n in range(top)] + [f"{top}+", "all"]


def fit_calibration(
    order_days: Sequence[OrderDay],
    first_data_date: dt.date | None,
    last_data_date: dt.date | None,
    min_repeat_buyers: int,
) -> ClvCalibration:
    """Hold out the last quarter of the observed days, fit both models on the days
    before it (the same rules as the full fit, `min_repeat_buyers` included) and compare,
    per number of calibration repeat purchases, the purchases BG/NBD predicts for the
    holdout with those made. One row per bucket of `calibration_buckets()`, every bucket
    present (a bucket with no one has null means); the predictions and errors are null
    when the calibration BG/NBD fit is unreliable. No rows, and a `reason`, when the
    history is too short to hold out `MIN_HOLDOUT_DAYS`."""
    if first_data_date is None or last_data_date is None or not order_days:
        return ClvCalibration(reason="no order days to calibrate on")
    calibration_days, holdout_days = holdout_split(first_data_date, last_data_date)
    if holdout_days < MIN_HOLDOUT_DAYS:
        return ClvCalibration(
            calibration_days=calibration_days,
            holdout_days=holdout_days,
            reason=(
                f"{calibration_days + holdout_days} observed days: a quarter of them is "
                f"{holdout_days} days, and at least {MIN_HOLDOUT_DAYS} are needed to hold "
                f"out (at least {4 * MIN_HOLDOUT_DAYS} observed days)"
            ),
        )
    calibration_end = last_data_date - dt.timedelta(days=holdout_days)
    customers, actual = calibration_and_holdout(order_days, calibration_end, last_data_date)
    if not customers:
        return ClvCalibration(
            calibration_days=calibration_days,
            holdout_days=holdout_days,
            reason=f"no person has an order day on or before {calibration_end}",
        )
    fit = fit_clv(customers, min_repeat_buyers, horizon_days=holdout_days)
    predicted = fit.expected_purchases
    labels = np.array([_bucket(c.frequency) for c in customers])
    rows = []
    for label in calibration_buckets():
        members = np.ones(len(customers), bool) if label == "all" else labels == label
        count = int(members.sum())
        if count == 0:
            rows.append(CalibrationRow(label, 0, None, None, None))
            continue
        errors = np.abs(predicted[members] - actual[members])
        rows.append(
            CalibrationRow(
                frequency_in_calibration=label,
                customers=count,
                mean_predicted_holdout_purchases=_finite_or_none(np.mean(predicted[members])),
                mean_actual_holdout_purchases=float(np.mean(actual[members])),
                mean_absolute_error=_finite_or_none(np.mean(errors)),
            )
        )
    return ClvCalibration(
        rows=rows,
        calibration_days=calibration_days,
        holdout_days=holdout_days,
        fit=fit,
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


def read_order_days(
    con: duckdb.DuckDBPyConnection, relation: str = ORDER_DAYS_RELATION
) -> tuple[list[OrderDay], dt.date | None, dt.date | None]:
    """Every order day (ordered by customer and day), and the first and last day of
    data."""
    rows = con.execute(
        f"""
        select customer_id, order_date, net_revenue, first_data_date, last_data_date
        from {relation}
        order by customer_id, order_date
        """
    ).fetchall()
    order_days = [OrderDay(row[0], row[1], float(row[2])) for row in rows]
    first_data_date = min((row[3] for row in rows), default=None)
    last_data_date = max((row[4] for row in rows), default=None)
    return order_days, first_data_date, last_data_date


def prediction_columns(fit: ClvFit, model_fitted_at: dt.datetime | None) -> dict[str, list]:
    """`measurement.clv_customer_predictions`, column by column: a row per customer,
    null where a model is unreliable."""
    customers = fit.customers
    return {
        "customer_id": [c.customer_id for c in customers],
        "frequency": [c.frequency for c in customers],
        "recency_days": [c.recency_days for c in customers],
        "tenure_days": [c.tenure_days for c in customers],
        "avg_repeat_order_value": [c.avg_repeat_order_value for c in customers],
        "probability_alive": _nullable(fit.probability_alive),
        "expected_purchases_12m": _nullable(fit.expected_purchases),
        "expected_order_value": _nullable(fit.expected_order_value),
        "predicted_clv_12m": _nullable(fit.predicted_clv),
        "model_fitted_at": [model_fitted_at] * len(customers),
    }


BG_NBD_PARAMETERS = ("r", "alpha", "a", "b")
GAMMA_GAMMA_PARAMETERS = ("p", "q", "gamma")


def parameter_columns(fit: ClvFit, model_fitted_at: dt.datetime | None) -> dict[str, list]:
    """`measurement.clv_parameters`, column by column: one row per parameter (days),
    with its model's status. A model that could not be fitted at all has its rows with
    a null value, so its status and note still say why; no rows without customers."""
    rows: list[tuple] = []
    if fit.customers:
        for model, model_fit, status, names in (
            ("bg_nbd", fit.bg_nbd, fit.bg_nbd_status, BG_NBD_PARAMETERS),
            ("gamma_gamma", fit.gamma_gamma, fit.gamma_gamma_status, GAMMA_GAMMA_PARAMETERS),
        ):
            values = {} if model_fit is None else model_fit.parameters.as_dict()
            rows += [
                (
                    model,
                    name,
                    values.get(name),
                    None if model_fit is None else model_fit.log_likelihood,
                    0 if model_fit is None else model_fit.customers_fitted,
                    model_fitted_at,
                    status.status,
                    status.note,
                )
                for name in names
            ]
    return {name: [row[i] for row in rows] for i, name in enumerate(PARAMETERS.column_names)}


def calibration_columns(
    calibration: ClvCalibration, model_fitted_at: dt.datetime | None
) -> dict[str, list]:
    """`measurement.clv_calibration`, column by column (empty without rows)."""
    status = calibration.status
    rows = [
        (
            row.frequency_in_calibration,
            row.customers,
            row.mean_predicted_holdout_purchases,
            row.mean_actual_holdout_purchases,
            row.mean_absolute_error,
            calibration.calibration_days,
            calibration.holdout_days,
            model_fitted_at,
            None if status is None else status.status,
            None if status is None else status.note,
        )
        for row in calibration.rows
    ]
    return {name: [row[i] for row in rows] for i, name in enumerate(CALIBRATION.column_names)}


def write_clv_tables(
    con: duckdb.DuckDBPyConnection,
    predictions: dict[str, list],
    parameters: dict[str, list],
    calibration: dict[str, list] | None = None,
) -> None:
    """Replace the measurement tables in one transaction: readers see the old set or
    the new set, never a mix."""
    if calibration is None:
        calibration = CALIBRATION.columns_of([])
    replace_tables(
        con, {PREDICTIONS: predictions, PARAMETERS: parameters, CALIBRATION: calibration}
    )


@dataclass(frozen=True)
class ClvRun:
    """What `run_clv` fitted and wrote."""

    fit: ClvFit
    calibration: ClvCalibration
    model_fitted_at: dt.datetime | None


def run_clv(
    con: duckdb.DuckDBPyConnection,
    min_repeat_buyers: int,
    relation: str = SUMMARY_RELATION,
    order_days_relation: str = ORDER_DAYS_RELATION,
    horizon_days: float = HORIZON_DAYS,
) -> ClvRun:
    """Read the summary and the order days, fit both models on all of it and again on
    the calibration period, and replace the three measurement tables.

    `model_fitted_at` is the last day of data at 00:00, not the wall clock: it says
    which data the model saw, and a rerun on the same data writes identical tables.
    """
    customers, last_data_date = read_customer_summary(con, relation)
    order_days, first_data_date, order_days_last = read_order_days(con, order_days_relation)
    fit = fit_clv(customers, min_repeat_buyers, horizon_days)
    calibration = fit_calibration(order_days, first_data_date, order_days_last, min_repeat_buyers)
    model_fitted_at = (
        None if last_data_date is None else dt.datetime.combine(last_data_date, dt.time())
    )
    write_clv_tables(
        con,
        prediction_columns(fit, model_fitted_at),
        parameter_columns(fit, model_fitted_at),
        calibration_columns(calibration, model_fitted_at),
    )
    return ClvRun(fit, calibration, model_fitted_at)


# ------------------------------------------------------------------------ helpers


def _nullable(values: np.ndarray) -> list[float | None]:
    """NaN (a prediction an unreliable model does not make) as None (null)."""
    return [None if math.isnan(value) else float(value) for value in values.tolist()]


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


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


@dataclass(frozen=True)
class _Optimum:
    log_parameters: np.ndarray
    mean_log_likelihood: float
    converged: bool
    at_bound: tuple[tuple[str, str], ...]
    message: str


def _maximise(
    negative_mean_log_likelihood: Callable[[np.ndarray], float],
    start: np.ndarray,
    names: Sequence[str],
) -> _Optimum:
    """Minimise over log-parameters within `SEARCH_RANGE_FACTOR` either way of `start`:
    L-BFGS-B, then a Nelder-Mead polish from there.

    Returns the better of the two end points, with the maximised mean log-likelihood,
    whether either method reported convergence, and the parameters that ended at a bound.
    On a likelihood with no interior maximum (e.g. no visible dropout, where b grows
    without bound and BG/NBD tends to the NBD model) the end point is a bound, which is
    still a deterministic function of the input. Raises `FitError` only when no finite
    value was found."""

    def objective(log_parameters: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            value = negative_mean_log_likelihood(log_parameters)
        return value if math.isfinite(value) else math.inf

    if not math.isfinite(objective(start)):
        raise FitError("the log-likelihood is not finite at the starting point")
    width = math.log(SEARCH_RANGE_FACTOR)
    bounds = [(float(s) - width, float(s) + width) for s in start]
    coarse = _scipy_optimize().minimize(objective, start, method="L-BFGS-B", bounds=bounds)
    polished = _scipy_optimize().minimize(
        objective,
        coarse.x,
        method="Nelder-Mead",
        bounds=bounds,
        options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 20_000, "maxfev": 40_000},
    )
    best = polished if polished.fun <= coarse.fun else coarse
    if not (math.isfinite(best.fun) and np.all(np.isfinite(best.x))):
        raise FitError("the optimiser found no finite maximum of the log-likelihood")
    at_bound = []
    for name, value, (lower, upper) in zip(names, best.x, bounds, strict=True):
        if value - lower < AT_BOUND_TOLERANCE:
            at_bound.append((name, "lower"))
        elif upper - value < AT_BOUND_TOLERANCE:
            at_bound.append((name, "upper"))
    converged = bool(polished.success or coarse.success)
    message = "" if converged else str(polished.message)
    return _Optimum(best.x, -float(best.fun), converged, tuple(at_bound), message)
