"""Customer lifetime value from an order history: BG/NBD for purchases, Gamma-Gamma for spend.

Models and references:

* BG/NBD (beta-geometric / negative binomial distribution): Fader, P. S., Hardie, B. G. S. and
  Lee, K. L. (2005), "'Counting Your Customers' the Easy Way: An Alternative to the Pareto/NBD
  Model", Marketing Science 24(2), 275-284. While alive a customer buys at a Poisson rate
  lambda ~ Gamma(r, alpha); after each repeat purchase they drop out with probability
  p ~ Beta(a, b). Equation numbers below refer to this paper and its technical note.
* Gamma-Gamma spend model: Fader, P. S. and Hardie, B. G. S. (2013), "The Gamma-Gamma Model of
  Monetary Value" (technical note), building on Colombo and Jiang (1999). A customer's
  transaction values are Gamma(p, nu) with nu ~ Gamma(q, gamma); the JSON calls gamma `v`.

Data preparation (all documented choices):

* Orders by the same customer on the same day are one transaction: their amounts are summed,
  so a same-day return nets against the purchase.
* A transaction (customer-day) whose net total is zero or negative is not a purchase (a refund,
  a cancellation, a return on a later day that cannot be matched to its purchase). It is left
  out of frequency, recency and monetary value, and a warning counts them. Customers left with
  no purchase at all are left out, with a warning.
* frequency x = transactions - 1; recency t_x = last - first transaction; T = as_of - first
  transaction; monetary value = mean total of the repeat transactions (0 when x = 0).
* Orders dated after `as_of` are an error naming the first such CSV line: silently dropping
  them would hide a wrong `--as-of`; cut the file instead to hold out recent orders.
* Time units: day = 1 day, week = 7 days, month = 30.4375 days (365.25 / 12). The default
  horizon is one year: 365 days, 52 weeks or 12 months.

Estimation: maximum likelihood with L-BFGS-B on the logarithms of the parameters (so they stay
positive) with analytic gradients. The BG/NBD likelihood depends on a customer only through
(x, t_x, T), so customers are grouped by identical triples and each group is weighted by its
size; with day-level dates that turns a million customers into a few hundred thousand groups at
most, and every term that depends on x alone is computed once per distinct x. Log-likelihoods
are evaluated in log space (gammaln, betaln, logaddexp). A BG/NBD fit that does not converge
is an `InputError` saying what to try; a Gamma-Gamma fit that fails falls back (see below).
Standard errors come from the Hessian (central differences of the analytic gradient).

Scoring:

* P(alive) is eq. (13) computed as a logistic function of a log-odds, which cannot overflow.
* Expected purchases in the next t time units are eq. (10). Its Gaussian hypergeometric
  function 2F1(r+x, b+x; a+b+x-1; z) grows quickly with x and near z = 1, and its product with
  ((alpha+T)/(alpha+T+t))^(r+x) suffers cancellation. Euler's transformation
  2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z) turns the product into
  (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), whose parameters do not grow with x. scipy's 2F1
  still fails in places (large a, parameter differences near integers), so the Euler, Pfaff
  and original forms are all evaluated and the first that agrees with another is kept; where
  none agree, or a > 30, the value comes from Gauss quadrature over the Beta posterior of the
  drop-out probability (see `_expected_if_alive`). Against 30-digit mpmath on a grid of 2,969
  points spanning r, a, b from 1e-3 to 1e5 the result is within 1e-7 (1e-6 in two extreme
  corners). Eq. (10) has removable singularities at a = 1 and (for x = 0) at a + b = 1; within
  1e-4 of them the value is interpolated linearly between the two sides.
* Expected spend per transaction is the Gamma-Gamma conditional mean
  p (gamma + x m) / (p x + q - 1). Without a usable Gamma-Gamma fit (fewer than
  `MIN_GAMMA_GAMMA_CUSTOMERS` repeat customers, no convergence, a parameter at its bound, or
  q <= 1 so that the population mean is infinite) every customer's expected spend is the mean
  transaction value, and a warning says so.
* Discounting: the horizon is split into equal steps of about a month (30.4375 days; at least
  one step). The purchases expected in each step are the difference of the cumulative
  conditional expectation at its two ends, and they are discounted to today as if they all
  happened at the step's end, at the annual rate compounded: factor (1 + rate)^-(years). The
  per-step rate is therefore (1 + rate)^(step years) - 1.
* CLV = sum over steps of discounted expected purchases x expected spend, times the gross margin
  when one is given ("margin"), else expected revenue ("revenue").
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import optimize, special

from remedy.errors import InputError, UsageError
from remedy.orders import read_orders
from remedy.rfm import CustomerSummary

if TYPE_CHECKING:
    from remedy.holdout import HoldoutReport

SCHEMA_VERSION = 1

TIME_UNIT_DAYS: dict[str, float] = {"day": 1.0, "week": 7.0, "month": 30.4375}
"""Length of each time unit in days (a month is 365.25 / 12 days)."""

DEFAULT_HORIZON: dict[str, float] = {"day": 365.0, "week": 52.0, "month": 12.0}
"""One year in each time unit, the default horizon."""

DAYS_PER_YEAR = 365.25
DISCOUNT_STEP_DAYS = 30.4375
MIN_CUSTOMERS = 2
FEW_CUSTOMERS = 100
MIN_GAMMA_GAMMA_CUSTOMERS = 10
TIERS: tuple[tuple[str, int], ...] = (("top 5%", 5), ("next 15%", 20), ("rest", 100))
"""Value tiers: name and cumulative percentage of customers, ranked by CLV."""

ROW_FIELDS = (
    "customer_id",
    "frequency",
    "recency",
    "T",
    "p_alive",
    "expected_purchases",
    "expected_spend",
    "clv",
)

# Optimiser settings. The objective is the mean negative log-likelihood per customer, so the
# tolerances do not depend on the number of customers.
_LOG_BOUND = math.log(1e6)  # each parameter within 1e-6 .. 1e6 times its starting scale
_AT_BOUND = 1e-3  # closer than this (in log space) to a bound counts as "at the bound"
# A line-search stop is still an optimum when the gradient of the total log-likelihood with
# respect to the log-parameters is this small: moving any parameter by a factor e would gain
# less than 0.01 in log-likelihood (happens on flat ridges, e.g. a, b -> infinity together).
_GRADIENT_OK = 1e-2
_A_NEAR_ONE = 1e-4
_A_QUADRATURE = 30.0  # above this a, eq. (10) is computed by quadrature (see _expected_if_alive)
_QUADRATURE_NODES = 48


# --- Options and results ---------------------------------------------------------------------


@dataclass(frozen=True)
class ClvOptions:
    """What to read and how to value: column names, as-of date, time unit, horizon, money."""

    customer_col: str | None = None
    date_col: str | None = None
    amount_col: str | None = None
    as_of: dt.date | None = None
    time_unit: str = "week"
    horizon: float | None = None
    discount_rate: float = 0.10
    gross_margin: float | None = None
    summary: bool = False
    holdout_from: dt.date | None = None
    predict: float | None = None

    def columns(self) -> tuple[str | None, str | None, str | None]:
        """The customer, date and amount column names asked for (None: the usual names)."""
        return (self.customer_col, self.date_col, self.amount_col)


@dataclass(frozen=True)
class Convergence:
    """How an optimisation ended.

    `gradient_norm` is the norm of the gradient of the total log-likelihood with respect to the
    log-parameters (components pushing against a bound left out); `at_bounds` names the
    parameters that ended at the edge of the search range.
    """

    converged: bool
    iterations: int
    function_evaluations: int
    message: str
    gradient_norm: float
    at_bounds: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "converged": self.converged,
            "iterations": self.iterations,
            "function_evaluations": self.function_evaluations,
            "message": self.message,
            "gradient_norm": _sig(self.gradient_norm, 3),
            "at_bounds": list(self.at_bounds),
        }


@dataclass(frozen=True)
class BgNbdFit:
    """Fitted BG/NBD parameters, log-likelihood, standard errors and convergence."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    convergence: Convergence
    standard_errors: dict[str, float]
    customers: int
    groups: int

    @property
    def params(self) -> tuple[float, float, float, float]:
        return (self.r, self.alpha, self.a, self.b)

    def to_json(self) -> dict[str, Any]:
        return {
            "r": _sig(self.r),
            "alpha": _sig(self.alpha),
            "a": _sig(self.a),
            "b": _sig(self.b),
            "log_likelihood": _sig(self.log_likelihood, 10),
            "converged": self.convergence.converged,
            "iterations": self.convergence.iterations,
            "standard_errors": _errors_json(self.standard_errors),
            "customers": self.customers,
            "groups": self.groups,
            "convergence": self.convergence.to_json(),
        }


@dataclass(frozen=True)
class GammaGammaFit:
    """Fitted Gamma-Gamma parameters (p, q, v = gamma), log-likelihood and convergence."""

    p: float
    q: float
    v: float
    log_likelihood: float
    convergence: Convergence
    standard_errors: dict[str, float]
    customers: int

    @property
    def params(self) -> tuple[float, float, float]:
        return (self.p, self.q, self.v)

    def to_json(self) -> dict[str, Any]:
        return {
            "p": _sig(self.p),
            "q": _sig(self.q),
            "v": _sig(self.v),
            "log_likelihood": _sig(self.log_likelihood, 10),
            "converged": self.convergence.converged,
            "iterations": self.convergence.iterations,
            "standard_errors": _errors_json(self.standard_errors),
            "customers": self.customers,
            "convergence": self.convergence.to_json(),
        }


@dataclass(frozen=True)
class ClvResult:
    """Everything `estimate_clv` found: fits, per-customer values, summaries and warnings.

    Per-customer arrays are aligned with `customer_ids` (customers in order of first appearance
    in the file). `recency` and `T` are in `time_unit`s.
    """

    source: str
    columns: tuple[str, ...]
    time_unit: str
    unit_days: float
    as_of: dt.date | None
    horizon: float
    discount_rate: float
    gross_margin: float | None
    bgnbd: BgNbdFit
    gamma_gamma: GammaGammaFit | None
    spend_fallback: str | None
    mean_transaction_value: float
    orders: int | None
    transactions: int | None
    customer_ids: list[str]
    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    monetary_value: np.ndarray
    p_alive: np.ndarray
    expected_purchases: np.ndarray
    expected_spend: np.ndarray
    clv: np.ndarray
    warnings: list[str] = field(default_factory=list)
    predict: float | None = None
    holdout: HoldoutReport | None = None

    @property
    def customers(self) -> int:
        return len(self.customer_ids)

    @property
    def repeat_customers(self) -> int:
        return int(np.count_nonzero(self.frequency))

    @property
    def clv_source(self) -> str:
        """'margin' when CLV is margin (a gross margin was given), else 'revenue'."""
        return "revenue" if self.gross_margin is None else "margin"

    def ranking(self) -> np.ndarray:
        """Customer indexes from the highest CLV down; ties keep file order."""
        return np.lexsort((np.arange(self.customers), -self.clv))

    def tiers(self) -> list[dict[str, Any]]:
        """Top 5%, next 15% and the rest of customers by CLV: count, mean, share of total."""
        ranked = self.clv[self.ranking()]
        total = float(ranked.sum())
        tiers: list[dict[str, Any]] = []
        start = 0
        for name, percent in TIERS:
            stop = -(-self.customers * percent // 100)
            part = ranked[start:stop]
            tiers.append(
                {
                    "tier": name,
                    "customers": len(part),
                    "mean_clv": _sig(float(part.mean())) if len(part) else 0.0,
                    "min_clv": _sig(float(part.min())) if len(part) else 0.0,
                    "max_clv": _sig(float(part.max())) if len(part) else 0.0,
                    "total_clv": _sig(float(part.sum())),
                    "share_of_total": _sig(float(part.sum()) / total, 4) if total > 0 else 0.0,
                }
            )
            start = stop
        return tiers

    def row(self, index: int) -> dict[str, Any]:
        """One customer's row, rounded to 6 significant digits."""
        return {
            "customer_id": self.customer_ids[index],
            "frequency": int(self.frequency[index]),
            "recency": _sig(float(self.recency[index])),
            "T": _sig(float(self.T[index])),
            "p_alive": _sig(float(self.p_alive[index])),
            "expected_purchases": _sig(float(self.expected_purchases[index])),
            "expected_spend": _sig(float(self.expected_spend[index])),
            "clv": _sig(float(self.clv[index])),
        }

    def top_customers(self, count: int = 10) -> list[dict[str, Any]]:
        """The `count` customers with the highest CLV, as rows."""
        return [self.row(int(index)) for index in self.ranking()[:count]]

    def iter_rows(self) -> Iterator[dict[str, Any]]:
        """Per-customer rows (keys `ROW_FIELDS`) in file order, for CSV output."""
        for index in range(self.customers):
            yield self.row(index)

    def clv_by_customer(self) -> dict[str, float]:
        """CLV by customer id (unrounded)."""
        return dict(zip(self.customer_ids, self.clv.tolist(), strict=True))

    def summary(self) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "orders": self.orders,
            "transactions": self.transactions,
            "repeat_customers": self.repeat_customers,
            "time_unit": self.time_unit,
            "unit_days": self.unit_days,
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
            "horizon": _sig(self.horizon),
            "predict": _sig(self.horizon if self.predict is None else self.predict),
            "discount_rate": self.discount_rate,
            "gross_margin": self.gross_margin,
            "clv_source": self.clv_source,
            "spend_model": "gamma-gamma" if self.gamma_gamma else "mean transaction value",
            "mean_transaction_value": _sig(self.mean_transaction_value),
            "tiers": self.tiers(),
            "total_clv": _sig(float(self.clv.sum())),
            "mean_clv": _sig(float(self.clv.mean())),
            "median_clv": _sig(float(np.median(self.clv))),
        }

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (schema_version 1), deterministic for the same input.

        Strict JSON: a value that is not finite (none should be) becomes null, never NaN or
        Infinity, so `json.dumps(..., allow_nan=False)` always succeeds.
        """
        columns = (
            dict(zip(("customer", "date", "amount"), self.columns, strict=True))
            if len(self.columns) == 3
            else None
        )
        return _finite(
            {
                "schema_version": SCHEMA_VERSION,
                "source": self.source,
                "columns": columns,
                "bgnbd": self.bgnbd.to_json(),
                "gamma_gamma": self.gamma_gamma.to_json() if self.gamma_gamma else None,
                "spend_fallback": (
                    None
                    if self.spend_fallback is None
                    else {
                        "reason": self.spend_fallback,
                        "mean_transaction_value": _sig(self.mean_transaction_value),
                    }
                ),
                "summary": self.summary(),
                "top_customers": self.top_customers(10),
                "holdout": None if self.holdout is None else self.holdout.to_json(),
                "warnings": list(self.warnings),
            }
        )

    def text_report(self, width: int = 80) -> str:
        """A plain-text report: parameters, tiers, top 10 customers and a CLV histogram."""
        return _text_report(self, max(width, 40))


# --- The pipeline ------------------------------------------------------------------------------


def estimate_clv(
    source: str | Path,
    data: bytes | None = None,
    options: ClvOptions = ClvOptions(),
    progress: Callable[[str], None] | None = None,
) -> ClvResult:
    """Read an order history (or a summary), fit BG/NBD and Gamma-Gamma, value every customer.

    `source` names the input in messages (and is read when `data` is None; `-` reads standard
    input). Orders CSVs are read by the strict in-memory reader; Parquet, `.csv.gz` and large
    CSVs are summarised by DuckDB out of core; `options.summary` reads a ready per-customer
    summary (see `remedy.rfm`). `progress`, if given, is called with 'reading', 'fitting' and
    'scoring'. Raises `UsageError` for bad options or an unreadable file, `InputError` for bad
    content or data the models cannot be fitted to.
    """
    unit_days, _ = _check_options(options)
    step = progress or (lambda stage: None)
    step("reading")
    summary = load_summary(source, data, options, unit_days)
    return estimate_from_summary(summary, options, progress=step)


def load_summary(
    source: str | Path, data: bytes | None, options: ClvOptions, unit_days: float
) -> CustomerSummary:
    """The per-customer summary of `source`, read the way its kind needs (see `remedy.rfm`)."""
    from remedy import rfm

    name = str(source)
    kind = rfm.input_kind(name, options.summary, data)
    if kind == "summary":
        return rfm.read_summary_file(name, unit_days, data)
    if kind != "csv":
        return rfm.summarise_with_duckdb(
            name, kind, unit_days, options.columns(), options.as_of, options.holdout_from
        )
    orders = read_orders(source, data, options.customer_col, options.date_col, options.amount_col)
    if len(orders) == 0:
        raise InputError(f"{name}: has a header but no orders (expected one order per line)")
    return rfm.summarise_orders(orders, unit_days, options.as_of, options.holdout_from)


def estimate_from_summary(
    summary: CustomerSummary,
    options: ClvOptions = ClvOptions(),
    progress: Callable[[str], None] | None = None,
) -> ClvResult:
    """Fit and score from a per-customer summary (the second half of `estimate_clv`)."""
    unit_days, horizon = _check_options(options)
    if not math.isclose(unit_days, summary.unit_days):
        raise ValueError("the summary was made for another time unit")
    step = progress or (lambda stage: None)
    name = summary.source
    warnings = list(summary.warnings)
    customers = summary.customers
    if customers == 0:
        raise InputError(f"{name}: no customer has a purchase, so there is nothing to value")
    if customers < MIN_CUSTOMERS:
        raise InputError(
            f"{name}: only {customers} customer with a purchase; the models learn from many "
            "customers (give the full order history, ideally hundreds of customers)"
        )
    repeat = int(np.count_nonzero(summary.frequency))
    if repeat == 0:
        raise InputError(
            f"{name}: no customer bought again on a later day, so repeat buying cannot be "
            "estimated (give a longer order history)"
        )
    if customers < FEW_CUSTOMERS:
        warnings.append(
            f"only {customers} customers: the estimates are very uncertain "
            "(see the standard errors)"
        )

    step("fitting")
    x_g, tx_g, T_g, counts, group_of = _groups(summary)
    bgnbd = fit_bgnbd(x_g, tx_g, T_g, weights=counts)
    if not bgnbd.convergence.converged:
        raise InputError(
            f"{name}: the BG/NBD model did not converge ({bgnbd.convergence.message}; "
            f"{bgnbd.convergence.iterations} iterations); try another --time-unit, a longer "
            "order history, or look for test or bulk-buying customers that distort it"
        )
    warnings.extend(_bound_warnings("BG/NBD", bgnbd.convergence.at_bounds))
    warnings.extend(_flat_warnings(bgnbd))

    spenders = summary.spend_frequency > 0
    mean_value = summary.mean_transaction_value
    gamma_gamma, fallback = _fit_spend(
        summary.spend_frequency[spenders], summary.monetary[spenders], warnings
    )
    if fallback is not None:
        warnings.append(
            f"{fallback}: expected spend is the mean transaction value "
            f"({_fmt(mean_value)}) for every customer"
        )

    step("scoring")
    p_alive_g = bgnbd_p_alive(bgnbd.params, x_g, tx_g, T_g)
    expected_g, discounted_g = _expected_and_discounted(
        bgnbd.params, x_g, T_g, p_alive_g, horizon, unit_days, options.discount_rate
    )
    predict = horizon if options.predict is None else options.predict
    if predict != horizon:
        expected_g = bgnbd_expected_purchases(bgnbd.params, predict, x_g, tx_g, T_g)
    if gamma_gamma is not None:
        spend = gamma_gamma_expected_spend(
            gamma_gamma.params, summary.spend_frequency, summary.monetary
        )
    else:
        spend = np.full(customers, mean_value)
    margin = 1.0 if options.gross_margin is None else options.gross_margin
    clv = discounted_g[group_of] * spend * margin
    holdout = None
    if summary.holdout_purchases is not None:
        from remedy.holdout import validate_holdout

        holdout = validate_holdout(bgnbd.params, summary)
        warnings.extend(holdout.warnings)

    return ClvResult(
        source=name,
        columns=summary.columns,
        time_unit=options.time_unit,
        unit_days=unit_days,
        as_of=summary.as_of,
        horizon=horizon,
        discount_rate=options.discount_rate,
        gross_margin=options.gross_margin,
        bgnbd=bgnbd,
        gamma_gamma=gamma_gamma,
        spend_fallback=fallback,
        mean_transaction_value=mean_value,
        orders=summary.orders,
        transactions=summary.transactions,
        customer_ids=summary.customer_ids,
        frequency=summary.frequency,
        recency=summary.recency,
        T=summary.T,
        monetary_value=summary.monetary,
        p_alive=p_alive_g[group_of],
        expected_purchases=expected_g[group_of],
        expected_spend=spend,
        clv=clv,
        warnings=warnings,
        predict=predict,
        holdout=holdout,
    )


def _groups(
    summary: CustomerSummary,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Customers grouped by identical (x, t_x, T), in time units, with counts and each
    customer's group; integer arithmetic when the summary is in whole days."""
    if summary.recency_days is not None and summary.T_days is not None:
        x, rd, td, counts, group_of = _group_days(
            summary.frequency, summary.recency_days, summary.T_days
        )
        return x, rd / summary.unit_days, td / summary.unit_days, counts, group_of
    return group_customers(summary.frequency, summary.recency, summary.T)


def _check_options(options: ClvOptions) -> tuple[float, float]:
    """Unit length in days and the horizon in units, or a `UsageError` naming the flag."""
    if options.time_unit not in TIME_UNIT_DAYS:
        raise UsageError(
            f"--time-unit: {options.time_unit!r} is not one of {', '.join(TIME_UNIT_DAYS)}"
        )
    horizon = DEFAULT_HORIZON[options.time_unit] if options.horizon is None else options.horizon
    if not (math.isfinite(horizon) and horizon > 0):
        raise UsageError(f"--horizon: {horizon} must be a positive number of time units")
    if horizon * TIME_UNIT_DAYS[options.time_unit] > 100 * DAYS_PER_YEAR:
        raise UsageError(f"--horizon: {horizon} {options.time_unit}s is more than 100 years")
    rate = options.discount_rate
    if not (math.isfinite(rate) and 0 <= rate <= 1):
        raise UsageError(
            f"--discount-rate: {rate} is not an annual rate between 0 and 1 (0.10 means 10%)"
        )
    margin = options.gross_margin
    if margin is not None and not (math.isfinite(margin) and 0 < margin <= 1):
        raise UsageError(
            f"--gross-margin: {margin} is not a fraction between 0 and 1 (0.35 means 35%)"
        )
    return TIME_UNIT_DAYS[options.time_unit], float(horizon)


def _group_days(
    frequency: np.ndarray, recency_days: np.ndarray, T_days: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Group customers by identical integer (x, t_x, T): one int64 key, one np.unique."""
    base = int(T_days.max()) + 1
    key = (frequency * base + recency_days) * base + T_days
    unique, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    T_g = unique % base
    rest = unique // base
    return rest // base, rest % base, T_g, counts, inverse.ravel()


def _fit_spend(
    frequency: np.ndarray, monetary: np.ndarray, warnings: list[str]
) -> tuple[GammaGammaFit | None, str | None]:
    """Fit Gamma-Gamma on repeat customers, or say why the mean transaction value is used."""
    if len(frequency) < MIN_GAMMA_GAMMA_CUSTOMERS:
        return None, (
            f"Gamma-Gamma needs at least {MIN_GAMMA_GAMMA_CUSTOMERS} repeat customers "
            f"(found {len(frequency)})"
        )
    # A canonical order makes the fit independent of the order customers came in (sorted by
    # id from DuckDB, by first appearance from the CSV reader): the optimiser's last digits
    # depend on the order of the sums.
    canonical = np.lexsort((monetary, frequency))
    fit = fit_gamma_gamma(frequency[canonical], monetary[canonical])
    if not fit.convergence.converged:
        return None, f"the Gamma-Gamma model did not converge ({fit.convergence.message})"
    if fit.convergence.at_bounds:
        return None, (
            f"the Gamma-Gamma parameter(s) {', '.join(fit.convergence.at_bounds)} reached a "
            "bound (spend barely varies between customers)"
        )
    if fit.q <= 1:
        return None, (f"the Gamma-Gamma fit has q = {_fmt(fit.q)} <= 1, so mean spend is unbounded")
    if len(frequency) > 2 and np.std(frequency) > 0 and np.std(monetary) > 0:
        correlation = float(np.corrcoef(frequency, monetary)[0, 1])
        if abs(correlation) > 0.3:
            warnings.append(
                f"frequency and spend are correlated ({correlation:.2f}) among repeat "
                "customers; the Gamma-Gamma model assumes they are independent"
            )
    return fit, None


def _flat_warnings(fit: BgNbdFit) -> list[str]:
    """Explain fits that ran along a flat ridge of the likelihood to very large parameters."""
    warnings = []
    if fit.r > 1e4:
        warnings.append(f"BG/NBD r = {_fmt(fit.r)}: purchase rates barely vary between customers")
    if min(fit.a, fit.b) > 1e3:
        warnings.append(
            f"BG/NBD a = {_fmt(fit.a)}, b = {_fmt(fit.b)}: the drop-out probability barely "
            "varies between customers"
        )
    if not all(math.isfinite(error) for error in fit.standard_errors.values()):
        warnings.append(
            "BG/NBD standard errors are unavailable: the likelihood is flat in some direction"
        )
    return warnings


def _bound_warnings(model: str, at_bounds: Sequence[str]) -> list[str]:
    return [
        f"{model} parameter {name} reached the edge of its search range; the data say little "
        "about it (for a or b: almost no one, or almost everyone, drops out)"
        for name in at_bounds
    ]


# --- BG/NBD ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _BgNbdData:
    """Grouped BG/NBD data with the distinct values of x, t_x and T indexed once."""

    x: np.ndarray
    weights: np.ndarray
    x_unique: np.ndarray
    x_index: np.ndarray
    x_weight: np.ndarray
    T_unique: np.ndarray
    T_index: np.ndarray
    tx_unique: np.ndarray
    tx_index: np.ndarray

    @classmethod
    def build(
        cls,
        frequency: np.ndarray,
        recency: np.ndarray,
        T: np.ndarray,
        weights: np.ndarray | None,
    ) -> _BgNbdData:
        x = np.asarray(frequency, dtype=np.float64)
        tx = np.asarray(recency, dtype=np.float64)
        T = np.asarray(T, dtype=np.float64)
        w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
        _check_bgnbd_data(x, tx, T, w)
        x_unique, x_index = np.unique(x, return_inverse=True)
        T_unique, T_index = np.unique(T, return_inverse=True)
        tx_unique, tx_index = np.unique(tx, return_inverse=True)
        x_weight = np.bincount(x_index.ravel(), weights=w, minlength=len(x_unique))
        return cls(
            x,
            w,
            x_unique,
            x_index.ravel(),
            x_weight,
            T_unique,
            T_index.ravel(),
            tx_unique,
            tx_index.ravel(),
        )


def _check_bgnbd_data(x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> None:
    if not (len(x) == len(tx) == len(T) == len(w)):
        raise ValueError("frequency, recency, T and weights must have the same length")
    if len(x) == 0:
        raise InputError("no customers to fit the BG/NBD model to")
    if not (np.isfinite(x).all() and np.isfinite(tx).all() and np.isfinite(T).all()):
        raise ValueError("frequency, recency and T must be finite")
    if (x < 0).any() or (x != np.round(x)).any():
        raise ValueError("frequency must be a whole number >= 0")
    if (tx < 0).any() or (tx > T * (1 + 1e-12)).any():
        raise ValueError("recency must be between 0 and T")
    if ((x == 0) & (tx != 0)).any():
        raise ValueError("recency must be 0 when frequency is 0")
    if (w < 0).any():
        raise ValueError("weights must be >= 0")


def _bgnbd_loglik(
    params: Sequence[float] | np.ndarray, data: _BgNbdData, gradient: bool
) -> tuple[float, np.ndarray]:
    """Total log-likelihood (eq. 6 in log space) and, if asked, its gradient in (r, alpha, a, b).

    ll = ln G(r+x) - ln G(r) + r ln alpha
         + logaddexp(ln B(a, b+x) - ln B(a, b) - (r+x) ln(alpha+T),
                     [x>0] ln B(a+1, b+x-1) - ln B(a, b) - (r+x) ln(alpha+t_x))
    """
    r, alpha, a, b = (float(v) for v in params)
    xu = data.x_unique
    repeat_u = xu > 0
    beta_ab = special.betaln(a, b)
    head_u = special.gammaln(r + xu) - special.gammaln(r) + r * math.log(alpha)
    alive_u = special.betaln(a, b + xu) - beta_ab
    dead_u = np.full(len(xu), -np.inf)
    dead_u[repeat_u] = special.betaln(a + 1, b + xu[repeat_u] - 1) - beta_ab

    rx = r + data.x
    log_aT = np.log(alpha + data.T_unique)[data.T_index]
    log_atx = np.log(alpha + data.tx_unique)[data.tx_index]
    t1 = alive_u[data.x_index] - rx * log_aT
    t2 = dead_u[data.x_index] - rx * log_atx
    # logaddexp by hand, reusing exp(-|t1 - t2|) for the two posterior weights below.
    high = np.maximum(t1, t2)
    e = np.exp(-np.abs(t1 - t2))
    lse = high + np.log1p(e)
    w = data.weights
    total = float(np.dot(data.x_weight, head_u) + np.dot(w, lse))
    if not gradient:
        return total, np.zeros(0)

    # Posterior weights of the two likelihood branches ("still alive" vs "dropped at t_x").
    big = 1.0 / (1.0 + e)
    small = e * big
    w1 = np.where(t1 >= t2, big, small)
    w2 = 1.0 - w1
    psi_rx = special.digamma(r + xu)
    psi_abx = special.digamma(a + b + xu)
    psi_bx = special.digamma(b + xu)
    psi_bx1 = np.zeros(len(xu))
    psi_bx1[repeat_u] = special.digamma(b + xu[repeat_u] - 1)
    ww1, ww2 = w * w1, w * w2
    total_w = float(w.sum())
    xi = data.x_index

    d_r = (
        np.dot(data.x_weight, psi_rx)
        + total_w * (math.log(alpha) - special.digamma(r))
        - np.dot(ww1, log_aT)
        - np.dot(ww2, log_atx)
    )
    d_alpha = (
        total_w * r / alpha
        - np.dot(w * rx, w1 / (alpha + data.T_unique[data.T_index]))
        - np.dot(w * rx, w2 / (alpha + data.tx_unique[data.tx_index]))
    )
    psi_a, psi_ab, psi_b = special.digamma(a), special.digamma(a + b), special.digamma(b)
    d_a = (
        np.dot(ww1, (psi_a - psi_abx)[xi])
        + np.dot(ww2, (special.digamma(a + 1) - psi_abx)[xi])
        - total_w * (psi_a - psi_ab)
    )
    d_b = (
        np.dot(ww1, (psi_bx - psi_abx)[xi])
        + np.dot(ww2, (psi_bx1 - psi_abx)[xi])
        - total_w * (psi_b - psi_ab)
    )
    return total, np.array([d_r, d_alpha, d_a, d_b])


def bgnbd_log_likelihood(
    params: Sequence[float],
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    weights: np.ndarray | None = None,
) -> float:
    """Total BG/NBD log-likelihood of (r, alpha, a, b), each customer weighted by `weights`."""
    data = _BgNbdData.build(frequency, recency, T, weights)
    return _bgnbd_loglik(params, data, gradient=False)[0]


def bgnbd_log_likelihood_gradient(
    params: Sequence[float],
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Gradient of `bgnbd_log_likelihood` with respect to (r, alpha, a, b)."""
    data = _BgNbdData.build(frequency, recency, T, weights)
    return _bgnbd_loglik(params, data, gradient=True)[1]


def group_customers(
    frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (x, t_x, T) triples, their counts, and each customer's group index."""
    stacked = np.column_stack(
        (np.asarray(frequency, float), np.asarray(recency, float), np.asarray(T, float))
    )
    unique, inverse, counts = np.unique(stacked, axis=0, return_inverse=True, return_counts=True)
    return unique[:, 0], unique[:, 1], unique[:, 2], counts, inverse.ravel()


def fit_bgnbd(
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    weights: np.ndarray | None = None,
    initial: Sequence[float] | None = None,
) -> BgNbdFit:
    """Maximum-likelihood BG/NBD fit.

    Without `weights` customers are first grouped by identical (x, t_x, T); with `weights` the
    rows are taken as already grouped (row i stands for `weights[i]` customers).
    """
    if weights is None:
        frequency, recency, T, counts, _ = group_customers(frequency, recency, T)
        weights = counts
    data = _BgNbdData.build(frequency, recency, T, weights)
    total_w = float(data.weights.sum())
    mean_x = float(np.dot(data.weights, data.x)) / total_w
    mean_T = max(float(np.dot(data.weights, data.T_unique[data.T_index])) / total_w, 1e-9)
    # Mean purchase rate ~ r / alpha ~ mean x / mean T sets the time scale of alpha.
    alpha0 = mean_T / max(mean_x, 0.1)
    starts = [np.array([1.0, alpha0, 1.0, 1.0]), np.array([0.5, alpha0 / 2, 0.5, 3.0])]
    if initial is not None:
        starts.insert(0, np.asarray(initial, dtype=np.float64))
    scale = np.array([1.0, alpha0, 1.0, 1.0])

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(theta)
        value, grad = _bgnbd_loglik(params, data, gradient=True)
        return -value / total_w, -grad * params / total_w

    theta, ll, convergence, se = _maximise(
        objective, starts, scale, ("r", "alpha", "a", "b"), total_w
    )
    r, alpha, a, b = np.exp(theta).tolist()
    return BgNbdFit(
        r=r,
        alpha=alpha,
        a=a,
        b=b,
        log_likelihood=ll,
        convergence=convergence,
        standard_errors=se,
        customers=round(total_w),
        groups=len(data.x),
    )


def _maximise(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
    starts: Sequence[np.ndarray],
    scale: np.ndarray,
    names: tuple[str, ...],
    total_weight: float,
) -> tuple[np.ndarray, float, Convergence, dict[str, float]]:
    """Minimise a mean negative log-likelihood over log-parameters from a few starting points.

    Returns the best log-parameters, the total log-likelihood, the convergence report of that
    run and delta-method standard errors of the parameters.
    """
    lower = np.log(scale) - _LOG_BOUND
    upper = np.log(scale) + _LOG_BOUND
    bounds = list(zip(lower.tolist(), upper.tolist(), strict=True))
    best: tuple[np.ndarray, float, Convergence] | None = None
    for start in starts:
        theta0 = np.clip(np.log(np.maximum(start, 1e-300)), lower, upper)
        with np.errstate(all="ignore"):
            result = optimize.minimize(
                objective,
                theta0,
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9},
            )
        value = float(result.fun)
        grad = np.asarray(result.jac, dtype=np.float64)
        # The projected gradient: at a bound only an inward pull counts.
        free = ~(
            ((result.x <= lower + _AT_BOUND) & (grad > 0))
            | ((result.x >= upper - _AT_BOUND) & (grad < 0))
        )
        gradient_norm = float(np.linalg.norm(grad[free])) * total_weight if free.any() else 0.0
        ok = bool(np.isfinite(value)) and (bool(result.success) or gradient_norm < _GRADIENT_OK)
        at_bounds = tuple(
            name
            for name, x, lo, hi in zip(names, result.x, lower, upper, strict=True)
            if x <= lo + _AT_BOUND or x >= hi - _AT_BOUND
        )
        message = result.message if isinstance(result.message, str) else str(result.message)
        convergence = Convergence(
            converged=ok,
            iterations=int(result.nit),
            function_evaluations=int(result.nfev),
            message=message,
            gradient_norm=gradient_norm,
            at_bounds=at_bounds,
        )
        candidate = (np.asarray(result.x, dtype=np.float64), value, convergence)
        if best is None or (ok, -value) > (best[2].converged, -best[1]):
            best = candidate
        if ok and not at_bounds:
            break
    assert best is not None
    theta, value, convergence = best
    if convergence.converged and not convergence.at_bounds:
        theta, value = _newton_polish(objective, theta, value, lower, upper)
    errors = _standard_errors(objective, theta, names, total_weight)
    return theta, -value * total_weight, convergence, errors


def _newton_polish(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
    theta: np.ndarray,
    value: float,
    lower: np.ndarray,
    upper: np.ndarray,
) -> tuple[np.ndarray, float]:
    """A few Newton steps from the quasi-Newton optimum, kept only while they do not worsen it.

    L-BFGS-B stops on a relative change of the objective, which on a flat ridge (Gamma-Gamma's
    p, q, v move together) leaves the parameters loose in their 7th digit: the same customers
    in another order, or sums rounded differently, would land elsewhere on the ridge. Newton's
    method drives the gradient itself to zero, so equal data give equal estimates to ~1e-10.
    """
    step = 1e-5
    n = len(theta)
    for _ in range(4):
        gradient = objective(theta)[1]
        hessian = np.empty((n, n))
        with np.errstate(all="ignore"):
            for j in range(n):
                shift = np.zeros(n)
                shift[j] = step
                hessian[:, j] = (objective(theta + shift)[1] - objective(theta - shift)[1]) / (
                    2 * step
                )
        hessian = (hessian + hessian.T) / 2
        try:
            move = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            break
        candidate = np.clip(theta - move, lower, upper)
        with np.errstate(all="ignore"):
            candidate_value = float(objective(candidate)[0])
        # Near the optimum the objective is flat to rounding error, so a step is accepted when
        # it does not worsen the objective beyond that noise.
        if not (
            np.isfinite(candidate_value) and candidate_value <= value + 1e-12 * max(1.0, abs(value))
        ):
            break
        theta, value = candidate, candidate_value
        if np.max(np.abs(move)) < 1e-12:
            break
    return theta, value


def _standard_errors(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
    theta: np.ndarray,
    names: tuple[str, ...],
    total_weight: float,
) -> dict[str, float]:
    """Delta-method standard errors from the Hessian of the total negative log-likelihood.

    The Hessian in log-parameters is a central difference of the analytic gradient.
    """
    step = 1e-5
    n = len(theta)
    hessian: np.ndarray = np.empty((n, n))
    with np.errstate(all="ignore"):
        for j in range(n):
            shift = np.zeros(n)
            shift[j] = step
            hessian[:, j] = (objective(theta + shift)[1] - objective(theta - shift)[1]) / (2 * step)
    hessian = (hessian + hessian.T) / 2 * total_weight
    errors = np.full(n, math.nan)
    if np.isfinite(hessian).all():
        try:
            covariance = np.linalg.inv(hessian)
            variances = np.diag(covariance)
            if (variances > 0).all():
                errors = np.exp(theta) * np.sqrt(variances)
        except np.linalg.LinAlgError:
            pass
    return dict(zip(names, errors.tolist(), strict=True))


def bgnbd_p_alive(
    params: Sequence[float], frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """P(alive | x, t_x, T) (eq. 13): 1 for x = 0, else 1 / (1 + odds of having dropped out)."""
    r, alpha, a, b = (float(v) for v in params)
    x = np.asarray(frequency, dtype=np.float64)
    tx = np.asarray(recency, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    repeat = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = (
            math.log(a)
            - np.log(np.where(repeat, b + x - 1, 1.0))
            + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
        )
    return np.where(repeat, special.expit(-log_odds), 1.0)


def _expected_if_alive(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, T: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """Eq. (10) without its P(alive) factor: expected purchases in (T, T+t] if alive at T.

    It equals E[(1 - (1 + p u)^-(r+x)) / p] with u = t / (alpha+T) and p ~ Beta(a, b+x), the
    posterior of the drop-out probability, so it lies between that integrand's values at
    p = 1 and p = 0. With c = a+b+x-1 and z = t/(alpha+T+t), three equal forms are

        Euler:    c/(a-1) [1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; c; z)]
        Pfaff:    c/(a-1) [1 - 2F1(r+x, a-1; c; -u)]
        original: c/(a-1) [1 - (1-z)^(r+x) 2F1(r+x, b+x; c; z)]   (the paper's eq. 10)

    scipy's 2F1 is accurate for most parameters in each form but fails (NaN, or a value
    outside the bounds, or a few lost digits when a parameter difference is near an integer)
    in different places, so the value is the first of Euler, Pfaff, original that agrees with
    another to 1e-8. Where none agree, and for a > `_A_QUADRATURE` (all three lose accuracy
    there, but the Beta posterior is concentrated), it is Gauss quadrature on the Beta(a, b+x)
    measure when doubling the nodes changes it by less than 1e-9, else the first form within
    the bounds. The removable singularities at a = 1 and (for x = 0) at a + b = 1 are bridged
    by linear interpolation across +-2e-4.
    """
    x, T, t = np.broadcast_arrays(
        np.asarray(x, dtype=np.float64),
        np.asarray(T, dtype=np.float64),
        np.asarray(t, dtype=np.float64),
    )
    h = _A_NEAR_ONE
    if abs(a - 1) < h:
        below = _expected_if_alive(r, alpha, 1 - 2 * h, b, x, T, t)
        above = _expected_if_alive(r, alpha, 1 + 2 * h, b, x, T, t)
        return below + (a - 1 + 2 * h) / (4 * h) * (above - below)
    s = r + x
    u = t / (alpha + T)
    upper = s * u
    lower = -np.expm1(-s * np.log1p(u))
    forms = _eq10_forms(r, alpha, a, b, x, T, t) if a <= _A_QUADRATURE else []
    value, valid = _agreeing(forms, lower, upper)
    undecided = np.flatnonzero(np.isnan(value))
    if len(undecided):
        # Gauss quadrature, trusted where doubling the nodes changes nothing; elsewhere the
        # first hyp2f1 form within the bounds, and failing that the finer quadrature.
        coarse = _expected_if_alive_quadrature(
            a, b, x.ravel()[undecided], s.ravel()[undecided], u.ravel()[undecided], 1
        )
        fine = _expected_if_alive_quadrature(
            a, b, x.ravel()[undecided], s.ravel()[undecided], u.ravel()[undecided], 2
        )
        converged = np.abs(fine - coarse) <= 1e-9 * np.abs(fine)
        fallback = fine.copy()
        for form, ok in zip(reversed(forms), reversed(valid), strict=True):
            fallback = np.where(ok.ravel()[undecided], form.ravel()[undecided], fallback)
        flat = value.ravel()
        flat[undecided] = np.where(converged, fine, fallback)
        value = flat.reshape(value.shape)
    c = a + b + x - 1
    near_pole = np.abs(c) < h  # only x = 0 with a + b close to 1
    if near_pole.any() and 1 - a - 2 * h > 0:
        below = _expected_if_alive(r, alpha, a, 1 - a - 2 * h, x, T, t)
        above = _expected_if_alive(r, alpha, a, 1 - a + 2 * h, x, T, t)
        value = np.where(near_pole, below + (c + 2 * h) / (4 * h) * (above - below), value)
    return np.clip(value, lower, upper)


def _eq10_forms(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, T: np.ndarray, t: np.ndarray
) -> list[np.ndarray]:
    """The Euler, Pfaff and original forms of eq. (10) without P(alive) (see above)."""
    c = a + b + x - 1
    z = t / (alpha + T + t)
    u = t / (alpha + T)
    log_1mz = np.log1p(-z)
    with np.errstate(all="ignore"):
        euler_2f1 = special.hyp2f1(a + b - 1 - r, a - 1, c, z)
        euler = -np.expm1((a - 1) * log_1mz) - np.exp((a - 1) * log_1mz) * (euler_2f1 - 1)
        pfaff = 1 - special.hyp2f1(r + x, a - 1, c, -u)
        original = 1 - np.exp((r + x) * log_1mz) * special.hyp2f1(r + x, b + x, c, z)
        return [
            np.asarray(c / (a - 1) * form, dtype=np.float64) for form in (euler, pfaff, original)
        ]


def _agreeing(
    forms: list[np.ndarray], lower: np.ndarray, upper: np.ndarray
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per element, the first form that agrees with a later one to 1e-8 (NaN where none do),
    and which forms are valid (finite and within the bounds)."""
    value = np.full(lower.shape, np.nan)
    valid = [np.isfinite(f) & (f >= lower * (1 - 1e-9)) & (f <= upper * (1 + 1e-9)) for f in forms]
    chosen = np.zeros(lower.shape, dtype=bool)
    with np.errstate(all="ignore"):
        for i, j in itertools.combinations(range(len(forms)), 2):
            agree = (
                ~chosen
                & valid[i]
                & valid[j]
                & (np.abs(forms[i] - forms[j]) <= 1e-8 * np.abs(forms[i]))
            )
            value[agree] = forms[i][agree]
            chosen |= agree
    return value, valid


def _expected_if_alive_quadrature(
    a: float, b: float, x: np.ndarray, s: np.ndarray, u: np.ndarray, refine: int
) -> np.ndarray:
    """E[(1 - (1 + p u)^-s) / p] for p ~ Beta(a, b + x) by Gauss quadrature, per distinct x,
    with `refine` times `_QUADRATURE_NODES` nodes."""
    value = np.empty(len(x))
    distinct, index = np.unique(x, return_inverse=True)
    index = index.ravel()
    for position, frequency in enumerate(distinct.tolist()):
        rows = index == position
        nodes, weights = _beta_gauss_rule(a, b + frequency, refine * _QUADRATURE_NODES)
        pu = u[rows, None] * nodes
        with np.errstate(all="ignore"):
            integrand = -np.expm1(-s[rows, None] * np.log1p(pu)) / nodes
        value[rows] = integrand @ weights
    return value


def _beta_gauss_rule(a: float, b: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss quadrature nodes and weights for the Beta(a, b) distribution (Golub-Welsch).

    The recurrence of the Jacobi polynomials (alpha = b-1, beta = a-1 on [-1, 1]) gives the
    symmetric tridiagonal Jacobi matrix; its eigenvalues are the nodes and the squared first
    components of its eigenvectors the weights (summing to 1, so no Beta function is needed,
    which keeps huge a and b from overflowing).
    """
    from scipy.linalg import eigh_tridiagonal

    alpha, beta = b - 1.0, a - 1.0
    k = np.arange(n, dtype=np.float64)
    total = 2 * k + alpha + beta
    with np.errstate(all="ignore"):
        diagonal = (beta**2 - alpha**2) / (total * (total + 2))
    diagonal[0] = (beta - alpha) / (alpha + beta + 2)
    m = k[1:]
    total_m = 2 * m + alpha + beta
    with np.errstate(all="ignore"):
        off_squared = (
            4 * m * (m + alpha) * (m + beta) * (m + alpha + beta)
            / (total_m**2 * (total_m + 1) * (total_m - 1))
        )  # fmt: skip
    # For m = 1 the factor (m + alpha + beta) / (total_m - 1) is 1; cancel it to avoid 0 / 0
    # when a + b = 1.
    off_squared[0] = 4 * (1 + alpha) * (1 + beta) / ((2 + alpha + beta) ** 2 * (3 + alpha + beta))
    off = np.sqrt(off_squared)
    nodes, vectors = eigh_tridiagonal(diagonal, off)
    weights = vectors[0] ** 2
    return (nodes + 1) / 2, weights / weights.sum()


def bgnbd_expected_purchases(
    params: Sequence[float],
    t: float | np.ndarray,
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
) -> np.ndarray:
    """Expected purchases in the next `t` time units given (x, t_x, T) (eq. 10)."""
    r, alpha, a, b = (float(v) for v in params)
    x = np.asarray(frequency, dtype=np.float64)
    T_arr = np.asarray(T, dtype=np.float64)
    t_arr = np.broadcast_to(np.asarray(t, dtype=np.float64), x.shape)
    if_alive = _expected_if_alive(r, alpha, a, b, x, T_arr, t_arr)
    return np.maximum(if_alive, 0.0) * bgnbd_p_alive(params, frequency, recency, T)


def expected_purchases_between(
    params: Sequence[float],
    start: float | np.ndarray,
    end: float | np.ndarray,
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
) -> np.ndarray:
    """Expected purchases in (T + start, T + end] given (x, t_x, T), for 0 <= start <= end.

    The difference of eq. (10) at the two ends: a window that opens after the as-of date the
    model was fitted to (say, the weeks after an incident) needs no refit. Times in the fit's
    time unit, counted from each customer's T.
    """
    start_arr = np.asarray(start, dtype=np.float64)
    end_arr = np.asarray(end, dtype=np.float64)
    if (start_arr < 0).any() or (end_arr < start_arr).any():
        raise ValueError("need 0 <= start <= end")
    later = bgnbd_expected_purchases(params, end_arr, frequency, recency, T)
    earlier = bgnbd_expected_purchases(params, start_arr, frequency, recency, T)
    return np.maximum(later - earlier, 0.0)


def discount_steps(
    horizon: float, unit_days: float, discount_rate: float
) -> tuple[np.ndarray, np.ndarray]:
    """Step end times (in units) splitting the horizon into ~monthly steps, and their factors."""
    steps = max(1, math.ceil(horizon * unit_days / DISCOUNT_STEP_DAYS - 1e-9))
    ends = horizon * np.arange(1, steps + 1) / steps
    factors = (1.0 + discount_rate) ** -(ends * unit_days / DAYS_PER_YEAR)
    return ends, factors


def _expected_and_discounted(
    params: Sequence[float],
    frequency: np.ndarray,
    T: np.ndarray,
    p_alive: np.ndarray,
    horizon: float,
    unit_days: float,
    discount_rate: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Expected purchases over the horizon, undiscounted and discounted, per customer row.

    Eq. (10) without P(alive) depends on (x, T) only, so it is evaluated once per distinct pair
    and step end; P(alive) then scales it per row.
    """
    r, alpha, a, b = (float(v) for v in params)
    x = np.asarray(frequency, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    pairs, pair_of = np.unique(np.column_stack((x, T)), axis=0, return_inverse=True)
    ends, factors = discount_steps(horizon, unit_days, discount_rate)
    grid = _expected_if_alive(
        r,
        alpha,
        a,
        b,
        pairs[:, 0:1],
        pairs[:, 1:2],
        np.broadcast_to(ends, (len(pairs), len(ends))),
    )
    cumulative = np.maximum.accumulate(np.maximum(grid, 0.0), axis=1)
    increments = np.diff(cumulative, axis=1, prepend=0.0)
    discounted = increments @ factors
    pair_of = pair_of.ravel()
    return cumulative[pair_of, -1] * p_alive, discounted[pair_of] * p_alive


def customer_lifetime_value(
    bgnbd_params: Sequence[float],
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    expected_spend: np.ndarray,
    horizon: float,
    unit_days: float = 7.0,
    discount_rate: float = 0.10,
    gross_margin: float | None = None,
) -> np.ndarray:
    """Discounted CLV per customer (see the module docstring for the discounting scheme)."""
    p_alive = bgnbd_p_alive(bgnbd_params, frequency, recency, T)
    _, discounted = _expected_and_discounted(
        bgnbd_params, frequency, T, p_alive, horizon, unit_days, discount_rate
    )
    margin = 1.0 if gross_margin is None else gross_margin
    return discounted * np.asarray(expected_spend, dtype=np.float64) * margin


def simulate_bgnbd(
    r: float, alpha: float, a: float, b: float, T: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw (frequency, recency) for customers observed for `T` time units after their first
    purchase, under BG/NBD(r, alpha, a, b).

    Repeat purchases arrive at rate lambda ~ Gamma(r, alpha); the customer drops out after the
    K-th repeat purchase, K ~ Geometric(p), p ~ Beta(a, b). Of the N ~ Poisson(lambda T)
    arrivals in (0, T], the first x = min(K, N) are seen; the x-th of N uniform arrival times
    is T times a Beta(x, N - x + 1) draw.
    """
    T = np.asarray(T, dtype=np.float64)
    n = len(T)
    rate = rng.gamma(r, 1.0 / alpha, n)
    drop = rng.beta(a, b, n)
    lifetime_purchases = rng.geometric(np.maximum(drop, 1e-300))
    arrivals = rng.poisson(rate * T)
    x = np.minimum(lifetime_purchases, arrivals)
    position = rng.beta(np.maximum(x, 1), np.maximum(arrivals - x + 1, 1))
    recency = np.where(x > 0, T * position, 0.0)
    return x.astype(np.int64), recency


# --- Gamma-Gamma -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SpendData:
    x: np.ndarray
    weights: np.ndarray
    log_m: np.ndarray
    mx: np.ndarray
    x_unique: np.ndarray
    x_index: np.ndarray
    x_weight: np.ndarray
    x_weighted: np.ndarray  # sum of w * x per distinct x

    @classmethod
    def build(
        cls, frequency: np.ndarray, monetary: np.ndarray, weights: np.ndarray | None
    ) -> _SpendData:
        x = np.asarray(frequency, dtype=np.float64)
        m = np.asarray(monetary, dtype=np.float64)
        w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
        if not (len(x) == len(m) == len(w)):
            raise ValueError("frequency, monetary and weights must have the same length")
        if len(x) == 0:
            raise InputError("no repeat customers to fit the Gamma-Gamma model to")
        if (x <= 0).any() or not np.isfinite(x).all():
            raise ValueError("Gamma-Gamma uses repeat customers only: frequency must be > 0")
        if (m <= 0).any() or not np.isfinite(m).all():
            raise ValueError("monetary values must be positive")
        x_unique, x_index = np.unique(x, return_inverse=True)
        x_index = x_index.ravel()
        x_weight = np.bincount(x_index, weights=w, minlength=len(x_unique))
        return cls(x, w, np.log(m), m * x, x_unique, x_index, x_weight, x_weight * x_unique)


def _gamma_gamma_loglik(
    params: Sequence[float] | np.ndarray, data: _SpendData, gradient: bool
) -> tuple[float, np.ndarray]:
    """Total Gamma-Gamma log-likelihood of (p, q, v) and, if asked, its gradient.

    ll = ln G(px+q) - ln G(px) - ln G(q) + q ln v + (px-1) ln m + px ln x - (px+q) ln(v+mx),
    written with L = ln(mx / (v+mx)) = -log1p(v / mx) to avoid cancellation.
    """
    p, q, v = (float(value) for value in params)
    xu = data.x_unique
    gamma_terms = special.gammaln(p * xu + q) - special.gammaln(p * xu)
    log_share = -np.log1p(v / data.mx)
    log_v_mx = np.log(v + data.mx)
    w = data.weights
    total_w = float(w.sum())
    total = float(
        np.dot(data.x_weight, gamma_terms)
        + total_w * (q * math.log(v) - special.gammaln(q))
        + p * np.dot(w * data.x, log_share)
        - np.dot(w, data.log_m)
        - q * np.dot(w, log_v_mx)
    )
    if not gradient:
        return total, np.zeros(0)
    psi_pxq = special.digamma(p * xu + q)
    psi_px = special.digamma(p * xu)
    d_p = np.dot(data.x_weighted, psi_pxq - psi_px) + np.dot(w * data.x, log_share)
    d_q = (
        np.dot(data.x_weight, psi_pxq)
        - total_w * special.digamma(q)
        + total_w * math.log(v)
        - np.dot(w, log_v_mx)
    )
    d_v = total_w * q / v - np.dot(w, (p * data.x + q) / (v + data.mx))
    return total, np.array([d_p, d_q, d_v])


def gamma_gamma_log_likelihood(
    params: Sequence[float],
    frequency: np.ndarray,
    monetary: np.ndarray,
    weights: np.ndarray | None = None,
) -> float:
    """Total Gamma-Gamma log-likelihood of (p, q, v) over repeat customers (x > 0)."""
    return _gamma_gamma_loglik(params, _SpendData.build(frequency, monetary, weights), False)[0]


def gamma_gamma_log_likelihood_gradient(
    params: Sequence[float],
    frequency: np.ndarray,
    monetary: np.ndarray,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Gradient of `gamma_gamma_log_likelihood` with respect to (p, q, v)."""
    return _gamma_gamma_loglik(params, _SpendData.build(frequency, monetary, weights), True)[1]


def fit_gamma_gamma(
    frequency: np.ndarray,
    monetary: np.ndarray,
    weights: np.ndarray | None = None,
    initial: Sequence[float] | None = None,
) -> GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma fit on repeat customers (frequency > 0, monetary > 0)."""
    data = _SpendData.build(frequency, monetary, weights)
    total_w = float(data.weights.sum())
    mean_m = float(np.dot(data.weights, np.exp(data.log_m))) / total_w
    # Mean spend is p v / (q - 1); start from p = 1, q = 2, so v = the mean spend.
    starts = [np.array([1.0, 2.0, mean_m]), np.array([4.0, 4.0, 0.75 * mean_m])]
    if initial is not None:
        starts.insert(0, np.asarray(initial, dtype=np.float64))
    scale = np.array([1.0, 1.0, mean_m])

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(theta)
        value, grad = _gamma_gamma_loglik(params, data, gradient=True)
        return -value / total_w, -grad * params / total_w

    theta, ll, convergence, se = _maximise(objective, starts, scale, ("p", "q", "v"), total_w)
    p, q, v = np.exp(theta).tolist()
    return GammaGammaFit(
        p=p,
        q=q,
        v=v,
        log_likelihood=ll,
        convergence=convergence,
        standard_errors=se,
        customers=round(total_w),
    )


def gamma_gamma_expected_spend(
    params: Sequence[float], frequency: np.ndarray, monetary: np.ndarray
) -> np.ndarray:
    """E[spend per transaction | x, m] = p (v + x m) / (p x + q - 1); p v / (q - 1) for x = 0."""
    p, q, v = (float(value) for value in params)
    x = np.asarray(frequency, dtype=np.float64)
    m = np.where(x > 0, np.asarray(monetary, dtype=np.float64), 0.0)
    return p * (v + x * m) / (p * x + q - 1)


def simulate_gamma_gamma(
    p: float, q: float, v: float, frequency: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Mean transaction value of `frequency` transactions per customer (0 when frequency is 0).

    nu ~ Gamma(q, rate v) per customer; the sum of x values ~ Gamma(p x, rate nu).
    """
    x = np.asarray(frequency, dtype=np.int64)
    nu = rng.gamma(q, 1.0 / v, len(x))
    total = rng.gamma(np.maximum(p * x, 1e-300), 1.0 / nu)
    return np.where(x > 0, total / np.maximum(x, 1), 0.0)


# --- Report ------------------------------------------------------------------------------------


def _sig(value: float, digits: int = 6) -> float:
    """Round to `digits` significant digits so output does not depend on the last float bits."""
    if value == 0 or not math.isfinite(value):
        return value
    return float(f"{value:.{digits}g}")


def _finite(value: Any) -> Any:
    """`value` with every non-finite float inside it replaced by None (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def _errors_json(errors: dict[str, float]) -> dict[str, float | None]:
    """Standard errors for JSON: None where the Hessian gave none (JSON has no NaN)."""
    return {name: _sig(e, 3) if math.isfinite(e) else None for name, e in errors.items()}


def _fmt(value: float) -> str:
    """A compact human number: 1.2e+09 / 12,345 / 12.35 / 0.0123."""
    magnitude = abs(value)
    if not math.isfinite(value) or magnitude >= 1e9:
        return f"{value:.3g}"
    if magnitude >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _text_report(result: ClvResult, width: int) -> str:
    lines: list[str] = []
    bg = result.bgnbd
    unit = result.time_unit
    lines.append(f"Customer lifetime value: {result.source}")
    as_of = "as given in the summary" if result.as_of is None else result.as_of.isoformat()
    lines.append(
        f"as of {as_of}, horizon {_fmt(result.horizon)} {unit}s, "
        f"discount {result.discount_rate:.1%}/year, CLV = "
        + (
            f"expected margin ({result.gross_margin:.0%} of revenue)"
            if result.gross_margin is not None
            else "expected revenue"
        )
    )
    counts = f"{result.customers:,} customers ({result.repeat_customers:,} repeat)"
    if result.orders is not None and result.transactions is not None:
        counts += f", {result.orders:,} orders, {result.transactions:,} transactions"
    lines.append(counts)
    lines.append("")
    se = bg.standard_errors

    def with_se(name: str, value: float, errors: dict[str, float]) -> str:
        error = errors.get(name, math.nan)
        return f"{name}={_fmt(value)}" + (f" (±{_fmt(error)})" if math.isfinite(error) else "")

    lines.append(
        "BG/NBD       "
        + "  ".join(
            with_se(n, v, se) for n, v in zip(("r", "alpha", "a", "b"), bg.params, strict=True)
        )
    )
    lines.append(
        f"             log-likelihood {bg.log_likelihood:,.2f}; "
        + _convergence_text(bg.convergence)
    )
    gg = result.gamma_gamma
    if gg is not None:
        lines.append(
            "Gamma-Gamma  "
            + "  ".join(
                with_se(n, v, gg.standard_errors)
                for n, v in zip(("p", "q", "v"), gg.params, strict=True)
            )
        )
        lines.append(
            f"             log-likelihood {gg.log_likelihood:,.2f}; "
            + _convergence_text(gg.convergence)
        )
    else:
        lines.append(
            f"Gamma-Gamma  not used: spend = mean transaction value "
            f"{_fmt(result.mean_transaction_value)}"
        )
    lines.append("")
    total = float(result.clv.sum())
    lines.append(
        f"Total CLV {_fmt(total)}   mean {_fmt(float(result.clv.mean()))}   "
        f"median {_fmt(float(np.median(result.clv)))}"
    )
    lines.append("")
    lines.append(f"{'Tier':<10} {'Customers':>10} {'Mean CLV':>12} {'Share':>8}")
    for tier in result.tiers():
        lines.append(
            f"{tier['tier']:<10} {tier['customers']:>10,} {_fmt(tier['mean_clv']):>12} "
            f"{tier['share_of_total']:>8.1%}"
        )
    lines.append("")
    lines.append("Top 10 customers")
    numbers = ("frequency", "p_alive", "expected_purchases", "expected_spend", "clv")
    headers = ("freq", "P(alive)", "purchases", "spend", "CLV")
    cell = 9
    top = result.top_customers(10)
    room = width - 1 - len(headers) * (cell + 1)
    longest = max((len(str(row["customer_id"])) for row in top), default=8)
    id_width = max(8, min(longest, room))
    lines.append(f"{'customer':<{id_width}} " + " ".join(f"{h:>{cell}}" for h in headers))
    for row in top:
        name = str(row["customer_id"])
        if len(name) > id_width:
            name = name[: id_width - 1] + "…"
        cells = [
            f"{row[key] if key == 'frequency' else _fmt(float(row[key])):>{cell}}"
            for key in numbers
        ]
        lines.append(f"{name:<{id_width}} " + " ".join(cells))
    lines.append("")
    lines.extend(_histogram(result.clv, width))
    if result.holdout is not None:
        lines.append("")
        lines.extend(result.holdout.text_lines())
    if result.warnings:
        lines.append("")
        lines.append("Warnings")
        lines.extend(f"- {warning}" for warning in result.warnings)
    return "\n".join(lines) + "\n"


def _convergence_text(convergence: Convergence) -> str:
    state = "converged" if convergence.converged else "NOT converged"
    return (
        f"{state} in {convergence.iterations} iterations "
        f"(gradient norm {convergence.gradient_norm:.1e})"
    )


def _histogram(values: np.ndarray, width: int) -> list[str]:
    """A text histogram of CLV on 1-2-5 log-spaced bins (CLV is heavily skewed).

    Values below the first edge (at most six decades under the maximum), zeros included, are
    counted in a first "< edge" row.
    """
    lines = ["CLV distribution (customers per range)"]
    high = float(values.max()) if len(values) else 0.0
    if high <= 0:
        return [*lines, "  every customer's CLV is 0"]
    low = max(float(values[values > 0].min()), high * 1e-6)
    exponent = math.floor(math.log10(low))
    multipliers = (1, 2, 5) if math.log10(high / low) <= 4 else (1,)
    edges: list[float] = []
    while not edges or edges[-1] <= high:
        for multiplier in multipliers:
            edge = float(f"{multiplier}e{exponent}")
            edges.append(edge)
            if edge > high:
                break
        exponent += 1
    counts = np.histogram(values, bins=np.array(edges))[0].tolist()
    labels = [f"{_fmt(lo)} – {_fmt(hi)}" for lo, hi in itertools.pairwise(edges)]
    # Drop empty bins at either end (the first edge is rounded down to a power of ten).
    while counts and counts[0] == 0:
        counts, labels, edges = counts[1:], labels[1:], edges[1:]
    while counts and counts[-1] == 0:
        counts, labels = counts[:-1], labels[:-1]
    below = int(np.count_nonzero(values < edges[0]))
    if below:
        labels.insert(0, f"< {_fmt(edges[0])}")
        counts.insert(0, below)
    label_width = max(len(label) for label in labels)
    peak = max(counts)
    count_width = len(f"{peak:,}")
    bar_room = max(10, width - label_width - count_width - 5)
    for label, count in zip(labels, counts, strict=True):
        bar = "#" * round(count / peak * bar_room)
        if count and not bar:
            bar = "."
        lines.append(f"  {label:>{label_width}} {count:>{count_width},} {bar}")
    return lines
