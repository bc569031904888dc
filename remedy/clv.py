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

Estimation: maximum likelihood by Newton's method in a trust region (`_newton`) on the
logarithms of the parameters (so they stay positive), with analytic gradients and Hessians.
The BG/NBD likelihood depends on a customer only through (x, t_x, T), so customers are grouped
by identical triples and each group is weighted by its size; with day-level dates that turns a
million customers into a few hundred thousand groups at most, and every term that depends on x
alone is computed once per distinct x. Log-likelihoods are evaluated in log space (log-gamma
differences, logaddexp). A BG/NBD fit that does not converge is an `InputError` saying what to
try; a Gamma-Gamma fit that fails falls back (see below). Standard errors come from the
analytic Hessian at the estimate. The special functions are numpy code (`remedy.special`), so
`remedy clv` does not import scipy (whose import cost a third of a 200,000-customer run); sums
over customers avoid BLAS (see `_dot`).

Scoring:

* P(alive) is eq. (13) computed as a logistic function of a log-odds, which cannot overflow.
* Expected purchases in the next t time units are eq. (10), computed as the expectation over
  the Beta posterior of the drop-out probability that it is (see `_expected_if_alive`), by
  Gauss quadrature with as many nodes as it takes to agree to 1e-10. The paper's closed form
  through the Gaussian hypergeometric function 2F1(r+x, b+x; a+b+x-1; z) cancels badly, has
  removable singularities at a = 1 and a + b = 1, and scipy's 2F1 fails in places; it is kept
  only for very long windows (u = t / (alpha + T) in the hundreds), where the quadrature would
  need too many nodes (`_expected_if_alive_hyp2f1`, which imports scipy). On a grid of 176,400
  points (r 1e-3..1e5, alpha 0.005..2e6, a and b 1e-3..1e5, x 0..400, T 0..30, t 1..5,200) the
  two differ by more than 1e-7 at 661 points, 469 of them within 1e-3 of a = 1, where the
  closed form was interpolated. Of 500 points drawn from the 5,784 where they differ by more
  than 1e-9, 30-digit mpmath quadrature gave a value at 453, and the Gauss quadrature is the
  closer at 428 (at the other 25 the two differ by at most 3e-7 and mpmath's value is off).
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
from typing import IO, TYPE_CHECKING, Any, NamedTuple

import numpy as np

from remedy import special
from remedy.errors import InputError, UsageError
from remedy.orders import radix_argsort, read_orders
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
        """Top 5%, next 15% and the rest of customers by CLV: count, mean, share of total.

        A tier's figures depend only on the CLVs in it, so a partition at the tier boundaries
        (linear time) stands in for sorting every customer."""
        n = self.customers
        stops = [-(-n * percent // 100) for _, percent in TIERS]
        kth = sorted({stop for stop in stops if 0 < stop < n})
        ranked = -np.partition(-self.clv, kth) if kth else self.clv
        total = float(ranked.sum())
        tiers: list[dict[str, Any]] = []
        start = 0
        for (name, _), stop in zip(TIERS, stops, strict=True):
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
        """The `count` customers with the highest CLV, as rows (ties in file order), found by a
        partition rather than a sort of every customer."""
        if count <= 0:
            return []
        if count >= self.customers:
            top = self.ranking()[:count]
        else:
            threshold = np.partition(-self.clv, count - 1)[count - 1]
            candidates = np.flatnonzero(-self.clv <= threshold)
            top = candidates[np.lexsort((candidates, -self.clv[candidates]))][:count]
        return [self.row(int(index)) for index in top]

    def iter_rows(self) -> Iterator[dict[str, Any]]:
        """Per-customer rows (keys `ROW_FIELDS`) in file order, for CSV output."""
        for index in range(self.customers):
            yield self.row(index)

    def write_csv(self, stream: IO[str]) -> None:
        """The rows of `iter_rows` as CSV (a header, then one line per customer), formatted by
        numpy a block of rows at a time: the same text as `csv.DictWriter` writes for them, with
        ids neutralised against spreadsheet formulas (`remedy.mailmerge.neutralise`)."""
        _write_rows_csv(self, stream)

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
    """Group customers by identical integer (x, t_x, T): one int64 key per customer."""
    base = int(T_days.max()) + 1
    key = (frequency * base + recency_days) * base + T_days
    unique, inverse, counts = _unique_integers(key)
    T_g = unique % base
    rest = unique // base
    return rest // base, rest % base, T_g, counts, inverse


def _unique_integers(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """np.unique(values, return_inverse=True, return_counts=True) for non-negative integers:
    by counting when the values span a few times their number (no sort at all), else by a
    radix sort."""
    values = np.asarray(values, dtype=np.int64)
    if len(values) == 0:
        return values, values, values
    top = int(values.max()) + 1
    if top <= max(4 * len(values), 1 << 16):
        counts = np.bincount(values, minlength=top)
        unique = np.flatnonzero(counts)
        index = np.zeros(top, dtype=np.int64 if len(unique) >= 2**31 else np.int32)
        index[unique] = np.arange(len(unique))
        return unique, index[values].astype(np.int64), counts[unique]
    order = radix_argsort(values)
    ordered = values[order]
    first = np.empty(len(values), dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    inverse = np.empty(len(values), dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    return ordered[starts], inverse, np.diff(np.append(starts, len(values)))


def _fit_spend(
    frequency: np.ndarray, monetary: np.ndarray, warnings: list[str]
) -> tuple[GammaGammaFit | None, str | None]:
    """Fit Gamma-Gamma on repeat customers, or say why the mean transaction value is used."""
    if len(frequency) < MIN_GAMMA_GAMMA_CUSTOMERS:
        return None, (
            f"Gamma-Gamma needs at least {MIN_GAMMA_GAMMA_CUSTOMERS} repeat customers "
            f"(found {len(frequency)})"
        )
    # Customers come in file order from the CSV reader and sorted by id from DuckDB; Newton's
    # method converges to the rounding floor, so the order of the sums moves the estimate by
    # about 1e-14 (1e-9 on a flat ridge, where expected spend moves by 1e-11).
    fit = fit_gamma_gamma(frequency, monetary)
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


# --- Sums without BLAS -------------------------------------------------------------------------


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """sum(a * b) by numpy's pairwise summation, never through BLAS.

    OpenBLAS computes a long dot product on every core: on a busy 2-core machine its threads
    wait for each other, and a fit that takes 0.3 s alone took 4-6 s. numpy's own sum runs on
    one core and gives the same bits whatever the machine's thread settings.
    """
    return float(np.add.reduce(a * b))


_EMPTY = np.zeros(0)


# --- BG/NBD ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _BgNbdData:
    """Grouped BG/NBD data with the distinct values of x, t_x and T indexed once."""

    x: np.ndarray
    weights: np.ndarray
    total_weight: float
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
        x_unique, x_index = _unique_frequencies(x)
        T_unique, T_index = np.unique(T, return_inverse=True)
        tx_unique, tx_index = np.unique(tx, return_inverse=True)
        x_weight = np.bincount(x_index.ravel(), weights=w, minlength=len(x_unique))
        return cls(
            x,
            w,
            float(w.sum()),
            x_unique,
            x_index.ravel(),
            x_weight,
            T_unique,
            T_index.ravel(),
            tx_unique,
            tx_index.ravel(),
        )


def _unique_frequencies(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of frequencies (floats) and each row's index: by counting when they
    are whole numbers >= 0, as they are from order histories."""
    whole = (
        x.astype(np.int64) if len(x) and float(x.min()) >= 0 and float(x.max()) < 2**40 else None
    )
    if whole is not None and bool((whole == x).all()):
        unique, index, _ = _unique_integers(whole)
        return unique.astype(np.float64), index
    unique, index = np.unique(x, return_inverse=True)
    return unique, index.ravel()


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
    params: Sequence[float] | np.ndarray, data: _BgNbdData, order: int = 0
) -> tuple[float, np.ndarray, np.ndarray]:
    """Total log-likelihood (eq. 6 in log space) and, for `order` 1 and 2, its gradient and
    Hessian in (r, alpha, a, b).

    ll = ln G(r+x) - ln G(r) + r ln alpha + logaddexp(t1, t2) with
    t1 = ln B(a, b+x) - ln B(a, b) - (r+x) ln(alpha+T)
       = ln (b)_x - ln (a+b)_x - (r+x) ln(alpha+T),
    t2 = ln B(a+1, b+x-1) - ln B(a, b) - (r+x) ln(alpha+t_x)   (x > 0 only)
       = ln a + ln (b)_(x-1) - ln (a+b)_x - (r+x) ln(alpha+t_x),
    where (z)_n = G(z+n) / G(z). With w1, w2 the posterior weights of the two branches
    ("still alive", "dropped at t_x"), the gradient is d(head) + w1 dt1 + w2 dt2 and the Hessian
    d2(head) + w1 d2t1 + w2 d2t2 + w1 w2 (dt1 - dt2)(dt1 - dt2)'. Everything that depends on x
    alone is computed once per distinct x.
    """
    r, alpha, a, b = (float(v) for v in params)
    xu = data.x_unique
    xi = data.x_index
    repeat_u = xu > 0
    lp_ab = special.log_pochhammer(a + b, xu)
    head_u = special.log_pochhammer(r, xu) + r * math.log(alpha)
    alive_u = special.log_pochhammer(b, xu) - lp_ab
    dead_u = np.full(len(xu), -np.inf)
    dead_u[repeat_u] = math.log(a) + special.log_pochhammer(b, xu[repeat_u] - 1) - lp_ab[repeat_u]
    a_T = alpha + data.T_unique
    a_tx = alpha + data.tx_unique
    log_aT = np.log(a_T)[data.T_index]
    log_atx = np.log(a_tx)[data.tx_index]
    rx = r + data.x
    t1 = alive_u[xi] - rx * log_aT
    t2 = dead_u[xi] - rx * log_atx
    gap = t1 - t2  # +inf when x = 0
    e = np.exp(-np.abs(gap))
    lse = np.maximum(t1, t2) + np.log1p(e)
    w = data.weights
    total = _dot(data.x_weight, head_u) + _dot(w, lse)
    if order == 0:
        return total, _EMPTY, _EMPTY

    inv = 1.0 / (1.0 + e)
    ww1 = w * np.where(gap >= 0, inv, e * inv)  # w * P(still alive | data)
    ww2 = w - ww1
    total_w = data.total_weight
    i_T = (1.0 / a_T)[data.T_index]
    i_tx = (1.0 / a_tx)[data.tx_index]
    s1 = np.bincount(xi, weights=ww1, minlength=len(xu))
    s2 = data.x_weight - s1
    dp_ab = special.digamma_difference(a + b, xu)
    dp_b = special.digamma_difference(b, xu)
    dp_b1 = np.zeros(len(xu))
    dp_b1[repeat_u] = special.digamma_difference(b, xu[repeat_u] - 1)
    pull = ww1 * i_T + ww2 * i_tx
    gradient = np.array(
        [
            _dot(data.x_weight, special.digamma_difference(r, xu))
            + total_w * math.log(alpha)
            - _dot(ww1, log_aT)
            - _dot(ww2, log_atx),
            total_w * r / alpha - _dot(rx, pull),
            _dot(s1, -dp_ab) + _dot(s2, 1.0 / a - dp_ab),
            _dot(s1, dp_b - dp_ab) + _dot(s2, dp_b1 - dp_ab),
        ]
    )
    if order == 1:
        return total, gradient, _EMPTY

    v = w * e * inv * inv  # w * w1 * w2
    d_r = log_atx - log_aT  # dt1 - dt2, r component
    d_alpha = rx * (i_tx - i_T)  # dt1 - dt2, alpha component
    v_r = v * d_r
    v_alpha = v * d_alpha
    v_x = np.bincount(xi, weights=v, minlength=len(xu))
    v_r_x = np.bincount(xi, weights=v_r, minlength=len(xu))
    v_alpha_x = np.bincount(xi, weights=v_alpha, minlength=len(xu))
    d_b = np.zeros(len(xu))  # dt1 - dt2, b component (the a component is -1/a)
    d_b[repeat_u] = 1.0 / (b + xu[repeat_u] - 1)
    tp_ab = special.trigamma_difference(a + b, xu)
    tp_b = special.trigamma_difference(b, xu)
    tp_b1 = np.zeros(len(xu))
    tp_b1[repeat_u] = special.trigamma_difference(b, xu[repeat_u] - 1)
    h_rr = _dot(data.x_weight, special.trigamma_difference(r, xu)) + _dot(v_r, d_r)
    h_r_alpha = total_w / alpha - float(pull.sum()) + _dot(v_r, d_alpha)
    h_alpha_alpha = (
        -total_w * r / alpha**2
        + _dot(rx, ww1 * i_T * i_T + ww2 * i_tx * i_tx)
        + _dot(v_alpha, d_alpha)
    )
    h_ra = -float(v_r_x.sum()) / a
    h_rb = _dot(v_r_x, d_b)
    h_alpha_a = -float(v_alpha_x.sum()) / a
    h_alpha_b = _dot(v_alpha_x, d_b)
    h_aa = -_dot(data.x_weight, tp_ab) + (float(v_x.sum()) - float(s2.sum())) / a**2
    h_ab = -_dot(data.x_weight, tp_ab) - _dot(v_x, d_b) / a
    h_bb = _dot(s1, tp_b - tp_ab) + _dot(s2, tp_b1 - tp_ab) + _dot(v_x, d_b * d_b)
    hessian = np.array(
        [
            [h_rr, h_r_alpha, h_ra, h_rb],
            [h_r_alpha, h_alpha_alpha, h_alpha_a, h_alpha_b],
            [h_ra, h_alpha_a, h_aa, h_ab],
            [h_rb, h_alpha_b, h_ab, h_bb],
        ]
    )
    return total, gradient, hessian


def bgnbd_log_likelihood(
    params: Sequence[float],
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    weights: np.ndarray | None = None,
) -> float:
    """Total BG/NBD log-likelihood of (r, alpha, a, b), each customer weighted by `weights`."""
    data = _BgNbdData.build(frequency, recency, T, weights)
    return _bgnbd_loglik(params, data)[0]


def bgnbd_log_likelihood_gradient(
    params: Sequence[float],
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Gradient of `bgnbd_log_likelihood` with respect to (r, alpha, a, b)."""
    data = _BgNbdData.build(frequency, recency, T, weights)
    return _bgnbd_loglik(params, data, order=1)[1]


def bgnbd_log_likelihood_hessian(
    params: Sequence[float],
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Hessian of `bgnbd_log_likelihood` with respect to (r, alpha, a, b)."""
    data = _BgNbdData.build(frequency, recency, T, weights)
    return _bgnbd_loglik(params, data, order=2)[2]


def group_customers(
    frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (x, t_x, T) triples (sorted), their counts, and each customer's group index.

    One lexsort and a comparison of neighbours: np.unique over rows took 1.5 s for a million
    customers, this 0.1 s."""
    x, tx, T = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, T))
    if len(x) == 0:
        return x, tx, T, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.lexsort((T, tx, x))
    xs, txs, Ts = x[order], tx[order], T[order]
    first = np.empty(len(x), dtype=bool)
    first[0] = True
    first[1:] = (xs[1:] != xs[:-1]) | (txs[1:] != txs[:-1]) | (Ts[1:] != Ts[:-1])
    inverse = np.empty(len(x), dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, len(x)))
    return xs[starts], txs[starts], Ts[starts], counts, inverse


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
    total_w = data.total_weight
    mean_x = _dot(data.weights, data.x) / total_w
    mean_T = max(_dot(data.weights, data.T_unique[data.T_index]) / total_w, 1e-9)
    # Mean purchase rate ~ r / alpha ~ mean x / mean T sets the time scale of alpha.
    alpha0 = mean_T / max(mean_x, 0.1)
    # The third start is tried only when the first two end on a ridge or a bound: it leads
    # towards a, b -> 0 (every customer either drops out at once or never), the other ridge.
    starts = [
        np.array([1.0, alpha0, 1.0, 1.0]),
        np.array([0.5, alpha0 / 2, 0.5, 3.0]),
        np.array([1.0, alpha0, 0.1, 0.1]),
    ]
    if initial is not None:
        starts.insert(0, np.asarray(initial, dtype=np.float64))
    scale = np.array([1.0, alpha0, 1.0, 1.0])
    theta, ll, convergence, se = _maximise(
        _log_objective(_bgnbd_loglik, data, total_w),
        starts,
        scale,
        ("r", "alpha", "a", "b"),
        total_w,
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


# --- Maximum likelihood: Newton's method in a trust region -------------------------------------

_Objective = Callable[[np.ndarray, bool], tuple[float, np.ndarray, np.ndarray]]

_MAX_ITERATIONS = 200
_STEP_TOLERANCE = 1e-10  # a Newton step this small (in log-parameters) ends the search
_REDUCTION_TOLERANCE = 1e-14  # relative decrease that counts as none (as L-BFGS-B's ftol)
_MAX_RADIUS = 2 * _LOG_BOUND


def _log_objective(
    loglik: Callable[[np.ndarray, Any, int], tuple[float, np.ndarray, np.ndarray]],
    data: Any,
    total_weight: float,
) -> _Objective:
    """The mean negative log-likelihood of log-parameters theta, with its gradient and Hessian
    in theta when `derivatives` (the chain rule for parameters = exp(theta))."""

    def evaluate(theta: np.ndarray, derivatives: bool) -> tuple[float, np.ndarray, np.ndarray]:
        params = np.exp(theta)
        with np.errstate(all="ignore"):
            value, gradient, hessian = loglik(params, data, 2 if derivatives else 0)
        if not derivatives:
            return -value / total_weight, _EMPTY, _EMPTY
        grad_theta = gradient * params
        hess_theta = hessian * np.outer(params, params) + np.diag(grad_theta)
        return -value / total_weight, -grad_theta / total_weight, -hess_theta / total_weight

    return evaluate


def _maximise(
    objective: _Objective,
    starts: Sequence[np.ndarray],
    scale: np.ndarray,
    names: tuple[str, ...],
    total_weight: float,
) -> tuple[np.ndarray, float, Convergence, dict[str, float]]:
    """Minimise a mean negative log-likelihood over log-parameters from a few starting points.

    Each start runs `_newton`. A run that ends at an optimum (a Newton step below 1e-6 on a
    positive definite Hessian) away from the bounds is kept at once; otherwise (a flat ridge,
    a bound) every start is run and the highest likelihood kept, since ridges may lead off in
    several directions. Returns the log-parameters, the total log-likelihood, the convergence
    report of that run and delta-method standard errors (from the analytic Hessian).
    """
    lower = np.log(scale) - _LOG_BOUND
    upper = np.log(scale) + _LOG_BOUND
    best: tuple[_Run, Convergence] | None = None
    for start in starts:
        theta0 = np.clip(np.log(np.maximum(start, 1e-300)), lower, upper)
        run = _newton(objective, theta0, lower, upper)
        theta, grad = run.theta, run.gradient
        # The projected gradient: at a bound only an inward pull counts.
        free = ~(
            ((theta <= lower + _AT_BOUND) & (grad > 0))
            | ((theta >= upper - _AT_BOUND) & (grad < 0))
        )
        gradient_norm = _norm(grad[free]) * total_weight
        ok = bool(np.isfinite(run.value)) and (run.success or gradient_norm < _GRADIENT_OK)
        at_bounds = tuple(
            name
            for name, x, lo, hi in zip(names, theta, lower, upper, strict=True)
            if x <= lo + _AT_BOUND or x >= hi - _AT_BOUND
        )
        convergence = Convergence(
            converged=ok,
            iterations=run.iterations,
            function_evaluations=run.evaluations,
            message=run.message,
            gradient_norm=gradient_norm,
            at_bounds=at_bounds,
        )
        if best is None or (ok, -run.value) > (best[1].converged, -best[0].value):
            best = (run, convergence)
        if ok and run.optimum and not at_bounds:
            break
    assert best is not None
    run, convergence = best
    errors = _standard_errors(run.theta, run.hessian, names, total_weight)
    return run.theta, -run.value * total_weight, convergence, errors


class _Run(NamedTuple):
    """Where one Newton run ended: the point, the objective, its gradient and Hessian there."""

    theta: np.ndarray
    value: float
    gradient: np.ndarray
    hessian: np.ndarray
    iterations: int
    evaluations: int
    message: str
    success: bool  # stopped by a convergence test, not by a limit or a failure
    optimum: bool  # and there the Newton step on a positive definite Hessian was below 1e-6


def _newton(objective: _Objective, theta: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> _Run:
    """Newton's method with a trust region, in a box, on a smooth objective of a few variables.

    Each iteration minimises the quadratic model (analytic gradient and Hessian) within a
    radius, on the parameters not held at a bound by a gradient pushing outward, and keeps the
    step when the objective falls by at least 1e-4 of the predicted fall. The radius doubles
    after good steps and shrinks after bad ones. Near the optimum the fall is below the
    objective's rounding error: a Newton step is then kept when the objective does not rise
    beyond that noise and the gradient shrinks, and the run ends when it does not.

    It stops, converged, when the Newton step (on a positive definite Hessian) is below 1e-10
    in every log-parameter, so equal data give equal estimates to about 1e-10 whatever order
    the sums were taken in; when only rounding error is left; or, on a flat ridge, when three
    accepted steps in a row lower the objective by less than 1e-14 of itself (where L-BFGS-B's
    ftol stops too).
    """
    value, grad, hess = objective(theta, True)
    evaluations = 1
    if not (np.isfinite(value) and np.isfinite(grad).all() and np.isfinite(hess).all()):
        return _Run(
            theta, value, grad, hess, 0, evaluations, "not finite at the start", False, False
        )
    radius = 1.0
    stalls = 0
    for iteration in range(1, _MAX_ITERATIONS + 1):
        blocked = ((theta <= lower) & (grad > 0)) | ((theta >= upper) & (grad < 0))
        free = ~blocked
        if not free.any() or not np.any(grad[free]):
            message = "converged: no gradient left inside the bounds"
            return _Run(theta, value, grad, hess, iteration - 1, evaluations, message, True, True)
        step = np.zeros(len(theta))
        step[free], newton = _trust_region_step(grad[free], hess[np.ix_(free, free)], radius)
        newton_size = float(np.max(np.abs(step))) if newton else math.inf
        if newton_size <= _STEP_TOLERANCE:
            message = f"converged: Newton step below {_STEP_TOLERANCE:g}"
            return _Run(theta, value, grad, hess, iteration - 1, evaluations, message, True, True)
        trial = np.clip(theta + step, lower, upper)
        move = trial - theta
        predicted = -float(grad @ move + 0.5 * move @ hess @ move)
        trial_value, trial_grad, trial_hess = objective(trial, True)
        evaluations += 1
        finite = bool(
            np.isfinite(trial_value)
            and np.isfinite(trial_grad).all()
            and np.isfinite(trial_hess).all()
        )
        fall = value - trial_value
        polishing = newton and predicted <= 1e-11 * max(1.0, abs(value))
        accepted = finite and (
            fall >= 1e-4 * predicted > 0
            or (
                polishing
                and fall >= -1e-12 * max(1.0, abs(value))
                and _norm(trial_grad[free]) < _norm(grad[free])
            )
        )
        length = _norm(move)
        if not accepted:
            if polishing:
                message = f"converged: flat to rounding error (Newton step {newton_size:.1e})"
                return _Run(
                    theta, value, grad, hess, iteration, evaluations, message, True,
                    newton_size <= 1e-6,
                )  # fmt: skip
            radius = 0.25 * length
            if radius < 1e-12:
                message = "stopped: no step lowers the objective"
                return _Run(theta, value, grad, hess, iteration, evaluations, message, False, False)
            continue
        if predicted > 0 and fall > 0.75 * predicted and length > 0.9 * radius:
            radius = min(2.0 * radius, _MAX_RADIUS)
        elif predicted > 0 and fall < 0.25 * predicted:
            radius = 0.25 * length
        theta, value, grad, hess = trial, trial_value, trial_grad, trial_hess
        if not newton and fall <= _REDUCTION_TOLERANCE * max(1.0, abs(value)):
            stalls += 1
            if stalls >= 3:
                message = (
                    f"converged: relative reduction of the objective below {_REDUCTION_TOLERANCE:g}"
                )
                return _Run(theta, value, grad, hess, iteration, evaluations, message, True, False)
        else:
            stalls = 0
    message = f"stopped: {_MAX_ITERATIONS} iterations"
    return _Run(theta, value, grad, hess, _MAX_ITERATIONS, evaluations, message, False, False)


def _norm(vector: np.ndarray) -> float:
    return float(np.sqrt(np.sum(vector * vector)))


def _trust_region_step(
    gradient: np.ndarray, hessian: np.ndarray, radius: float
) -> tuple[np.ndarray, bool]:
    """The step s minimising g's + s'Hs/2 subject to |s| <= radius, and whether it is the plain
    Newton step.

    On the eigen-decomposition H = V diag(l) V' the constrained minimiser is
    s(mu) = -V diag(1 / (l + mu)) V'g with mu >= max(0, -min l) and |s(mu)| = radius (Moré and
    Sorensen); mu is found by bisection. When g has no component along an eigenvector of a
    negative eigenvalue (the "hard case"), that eigenvector is added to reach the radius.
    """
    values, vectors = np.linalg.eigh(hessian)
    projected = vectors.T @ gradient
    if values[0] > 1e-12 * max(1.0, abs(values[-1])):
        step = -(vectors @ (projected / values))
        if float(np.sqrt(np.sum(step**2))) <= radius:
            return step, True
    low = max(0.0, -float(values[0]))
    gradient_norm = float(np.sqrt(np.sum(gradient**2)))
    high = low + gradient_norm / radius + 1e-300

    def length(mu: float) -> float:
        with np.errstate(divide="ignore"):
            return float(np.sqrt(np.sum((projected / (values + mu)) ** 2)))

    start = low * (1 + 1e-12) + 1e-300
    if length(start) <= radius:  # the hard case: g is orthogonal to the negative directions
        step = -(vectors @ (projected / (values + start)))
        rest = radius**2 - float(np.sum(step**2))
        direction = vectors[:, 0]
        if rest > 0:
            sign = -1.0 if float(direction @ gradient) > 0 else 1.0
            step = step + sign * math.sqrt(rest) * direction
        return step, False
    for _ in range(100):
        middle = 0.5 * (low + high)
        if length(middle) > radius:
            low = middle
        else:
            high = middle
        if high - low <= 1e-6 * high:
            break
    step = -(vectors @ (projected / (values + high)))
    return step, False


def _standard_errors(
    theta: np.ndarray, hessian: np.ndarray, names: tuple[str, ...], total_weight: float
) -> dict[str, float]:
    """Delta-method standard errors from the Hessian of the total negative log-likelihood in
    log-parameters (analytic, at the estimate)."""
    n = len(theta)
    errors = np.full(n, math.nan)
    total = hessian * total_weight
    if total.shape == (n, n) and np.isfinite(total).all():
        try:
            covariance = np.linalg.inv((total + total.T) / 2)
            variances = np.diag(covariance)
            if (variances > 0).all():
                errors = np.exp(theta) * np.sqrt(variances)
        except np.linalg.LinAlgError:
            pass
    return dict(zip(names, errors.tolist(), strict=True))


# --- BG/NBD scoring ----------------------------------------------------------------------------


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


# Gauss rules tried for eq. (10), each against the next; the first pair that agrees wins.
_QUADRATURE_LEVELS = (8, 12, 16, 24, 32, 48, 64, 96, 128)
_QUADRATURE_AGREEMENT = 1e-10
_QUADRATURE_CHECKS = (1.0, 0.9, 0.75, 0.5, 0.25, 0.0)  # quantiles of u checked per distinct x


def _expected_if_alive(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, T: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """Eq. (10) without its P(alive) factor: expected purchases in (T, T+t] if alive at T.

    It equals E[(1 - (1 + p u)^-(r+x)) / p] with u = t / (alpha+T) and p ~ Beta(a, b+x), the
    posterior of the drop-out probability: the purchases expected of a Poisson buyer with rate
    lambda ~ Gamma(r+x, alpha+T) who drops out after each purchase with probability p. The
    integrand is positive, bounded (between its values at p = 1 and p = 0), smooth on [0, 1]
    and analytic up to its branch point at p = -1/u, so Gauss quadrature for the Beta(a, b+x)
    weight converges fast and never cancels: no hypergeometric function is needed, and a = 1
    or a + b = 1 (removable singularities of the paper's closed form) are ordinary points.

    Per distinct x, rules of 8, 12, 16, 24, ... nodes are compared at the largest u (where
    convergence is slowest) and at five quantiles of u, and the first rule that agrees with
    the one before to 1e-10 is used for every u (its error is then far smaller: each step
    multiplies the nodes by 1.5, and the error falls geometrically). The nodes needed grow with
    the square root of u (and with x): 12-16 for a year ahead of weekly data, 48-64 at u = 30.
    Where 128 nodes are not enough (u in the hundreds: a --predict or --horizon window a
    hundred times alpha + T, or customers with hundreds of purchases and u over 10), the value
    comes from `_expected_if_alive_hyp2f1`, the closed form through scipy's 2F1, imported only
    then.
    """
    x, T, t = np.broadcast_arrays(
        np.asarray(x, dtype=np.float64),
        np.asarray(T, dtype=np.float64),
        np.asarray(t, dtype=np.float64),
    )
    shape = x.shape
    x, T, t = x.ravel(), T.ravel(), t.ravel()
    u = t / (alpha + T)
    s = r + x
    value = np.zeros(len(x))
    if len(x) == 0:
        return value.reshape(shape)
    order = None if (len(x) < 2 or bool((x[1:] >= x[:-1]).all())) else np.argsort(x, kind="stable")
    xs = x if order is None else x[order]
    us = u if order is None else u[order]
    starts = np.flatnonzero(np.concatenate(([True], xs[1:] != xs[:-1])))
    stops = np.append(starts[1:], len(xs))
    pending: list[np.ndarray] = []
    for begin, end in zip(starts.tolist(), stops.tolist(), strict=True):
        frequency = float(xs[begin])
        distinct, inverse = np.unique(us[begin:end], return_inverse=True)
        found = _settle_quadrature(r + frequency, a, b + frequency, distinct)
        rows = np.arange(begin, end) if order is None else order[begin:end]
        if found is None:
            pending.append(rows)
        else:
            value[rows] = found[inverse.ravel()]
    upper = s * u
    lower = -np.expm1(-s * np.log1p(u))
    if pending:
        rows = np.concatenate(pending)
        value[rows] = _expected_if_alive_hyp2f1(r, alpha, a, b, x[rows], T[rows], t[rows])
    return np.clip(value, lower, upper).reshape(shape)


def _settle_quadrature(s: float, a: float, b: float, u: np.ndarray) -> np.ndarray | None:
    """E[(1 - (1 + p u)^-s) / p] for p ~ Beta(a, b) at each (sorted, distinct) u, with the
    first Gauss rule that agrees with the one before at the checked u; None if none does."""
    positive = u[u > 0]
    if len(positive) == 0:
        return np.zeros(len(u))
    picks = np.unique(np.round(np.array(_QUADRATURE_CHECKS) * (len(positive) - 1)).astype(int))
    checked = positive[picks]
    previous = _gauss_expectation(s, checked, *special.beta_gauss_rule(a, b, _QUADRATURE_LEVELS[0]))
    for nodes in _QUADRATURE_LEVELS[1:]:
        rule = special.beta_gauss_rule(a, b, nodes)
        current = _gauss_expectation(s, checked, *rule)
        if bool((np.abs(current - previous) <= _QUADRATURE_AGREEMENT * np.abs(current)).all()):
            return _gauss_expectation(s, u, *rule)
        previous = current
    return None


def _gauss_expectation(
    s: float, u: np.ndarray, nodes: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """sum_j weights_j (1 - (1 + nodes_j u)^-s) / nodes_j, per u (no BLAS)."""
    pu = np.multiply.outer(u, nodes)
    with np.errstate(all="ignore"):
        integrand = -np.expm1(-s * np.log1p(pu)) / nodes
    return np.add.reduce(integrand * weights, axis=1)


def _expected_if_alive_hyp2f1(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, T: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """Eq. (10) without P(alive) through its closed forms (scipy's 2F1), where quadrature
    needs too many nodes (very large u).

    With c = a+b+x-1 and z = t/(alpha+T+t), three equal forms are

        Euler:    c/(a-1) [1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; c; z)]
        Pfaff:    c/(a-1) [1 - 2F1(r+x, a-1; c; -u)]
        original: c/(a-1) [1 - (1-z)^(r+x) 2F1(r+x, b+x; c; z)]   (the paper's eq. 10)

    scipy's 2F1 is accurate for most parameters in each form but fails (NaN, or a value
    outside the bounds, or a few lost digits when a parameter difference is near an integer)
    in different places, so the value is the first of Euler, Pfaff, original that agrees with
    another to 1e-8. Where none agree, and for a > `_A_QUADRATURE`, it is Gauss quadrature on
    the Beta(a, b+x) measure when doubling the nodes changes it by less than 1e-9, else the
    first form within the bounds. The removable singularities at a = 1 and (for x = 0) at
    a + b = 1 are bridged by linear interpolation across +-2e-4.
    """
    x, T, t = np.broadcast_arrays(
        np.asarray(x, dtype=np.float64),
        np.asarray(T, dtype=np.float64),
        np.asarray(t, dtype=np.float64),
    )
    h = _A_NEAR_ONE
    if abs(a - 1) < h:
        below = _expected_if_alive_hyp2f1(r, alpha, 1 - 2 * h, b, x, T, t)
        above = _expected_if_alive_hyp2f1(r, alpha, 1 + 2 * h, b, x, T, t)
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
        below = _expected_if_alive_hyp2f1(r, alpha, a, 1 - a - 2 * h, x, T, t)
        above = _expected_if_alive_hyp2f1(r, alpha, a, 1 - a + 2 * h, x, T, t)
        value = np.where(near_pole, below + (c + 2 * h) / (4 * h) * (above - below), value)
    return np.clip(value, lower, upper)


def _eq10_forms(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, T: np.ndarray, t: np.ndarray
) -> list[np.ndarray]:
    """The Euler, Pfaff and original forms of eq. (10) without P(alive) (see above)."""
    from scipy.special import hyp2f1

    c = a + b + x - 1
    z = t / (alpha + T + t)
    u = t / (alpha + T)
    log_1mz = np.log1p(-z)
    with np.errstate(all="ignore"):
        euler_2f1 = hyp2f1(a + b - 1 - r, a - 1, c, z)
        euler = -np.expm1((a - 1) * log_1mz) - np.exp((a - 1) * log_1mz) * (euler_2f1 - 1)
        pfaff = 1 - hyp2f1(r + x, a - 1, c, -u)
        original = 1 - np.exp((r + x) * log_1mz) * hyp2f1(r + x, b + x, c, z)
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
        nodes, weights = special.beta_gauss_rule(a, b + frequency, refine * _QUADRATURE_NODES)
        pu = u[rows, None] * nodes
        with np.errstate(all="ignore"):
            integrand = -np.expm1(-s[rows, None] * np.log1p(pu)) / nodes
        value[rows] = np.add.reduce(integrand * weights, axis=1)
    return value


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
    pair_x, pair_T, pair_of = _distinct_pairs(
        np.asarray(frequency, dtype=np.float64), np.asarray(T, dtype=np.float64)
    )
    ends, factors = discount_steps(horizon, unit_days, discount_rate)
    grid = _expected_if_alive(
        r,
        alpha,
        a,
        b,
        pair_x[:, None],
        pair_T[:, None],
        np.broadcast_to(ends, (len(pair_x), len(ends))),
    )
    cumulative = np.maximum.accumulate(np.maximum(grid, 0.0), axis=1)
    increments = np.diff(cumulative, axis=1, prepend=0.0)
    discounted = np.add.reduce(increments * factors, axis=1)
    return cumulative[pair_of, -1] * p_alive, discounted[pair_of] * p_alive


def _distinct_pairs(x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (x, T) pairs sorted by x then T, and each row's pair (one lexsort: several
    times faster than np.unique over rows)."""
    if len(x) == 0:
        return x, T, np.zeros(0, dtype=np.int64)
    order = np.lexsort((T, x))
    xs, Ts = x[order], T[order]
    first = np.empty(len(x), dtype=bool)
    first[0] = True
    np.not_equal(xs[1:], xs[:-1], out=first[1:])
    first[1:] |= Ts[1:] != Ts[:-1]
    pair_of = np.empty(len(x), dtype=np.int64)
    pair_of[order] = np.cumsum(first) - 1
    return xs[first], Ts[first], pair_of


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
    total_weight: float
    weighted_x: np.ndarray  # w * x per customer
    log_m: np.ndarray
    mx: np.ndarray
    log_mx: np.ndarray
    sum_log_m: float  # sum of w ln m
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
        x_unique, x_index = _unique_frequencies(x)
        x_weight = np.bincount(x_index, weights=w, minlength=len(x_unique))
        log_m = np.log(m)
        mx = m * x
        return cls(
            x,
            w,
            float(w.sum()),
            w * x,
            log_m,
            mx,
            np.log(mx),
            _dot(w, log_m),
            x_unique,
            x_index,
            x_weight,
            x_weight * x_unique,
        )


def _gamma_gamma_loglik(
    params: Sequence[float] | np.ndarray, data: _SpendData, order: int = 0
) -> tuple[float, np.ndarray, np.ndarray]:
    """Total Gamma-Gamma log-likelihood of (p, q, v) and, for `order` 1 and 2, its gradient and
    Hessian.

    ll = ln G(px+q) - ln G(px) - ln G(q) + q ln v + (px-1) ln m + px ln x - (px+q) ln(v+mx),
    written with L = ln(mx / (v+mx)) = -log1p(v / mx) to avoid cancellation; the gamma terms
    depend on x alone and are computed once per distinct x.
    """
    p, q, v = (float(value) for value in params)
    xu = data.x_unique
    pxu = p * xu
    total_w = data.total_weight
    w = data.weights
    log_share = -np.log1p(v / data.mx)
    log_v_mx = data.log_mx - log_share  # ln(v + mx)
    total = (
        _dot(data.x_weight, special.log_pochhammer(pxu, q))
        + total_w * (q * math.log(v) - math.lgamma(q))
        + p * _dot(data.weighted_x, log_share)
        - data.sum_log_m
        - q * _dot(w, log_v_mx)
    )
    if order == 0:
        return total, _EMPTY, _EMPTY
    inverse = 1.0 / (v + data.mx)
    shape = p * data.x + q
    gradient = np.array(
        [
            _dot(data.x_weighted, special.digamma_difference(pxu, q))
            + _dot(data.weighted_x, log_share),
            _dot(data.x_weight, special.digamma_difference(q, pxu))
            + total_w * math.log(v)
            - _dot(w, log_v_mx),
            total_w * q / v - _dot(w * shape, inverse),
        ]
    )
    if order == 1:
        return total, gradient, _EMPTY
    trigamma_pxq = special.trigamma(pxu + q)
    h_pp = _dot(data.x_weighted * xu, special.trigamma_difference(pxu, q))
    h_pq = _dot(data.x_weighted, trigamma_pxq)
    h_pv = -_dot(data.weighted_x, inverse)
    h_qq = _dot(data.x_weight, special.trigamma_difference(q, pxu))
    h_qv = total_w / v - _dot(w, inverse)
    h_vv = -total_w * q / v**2 + _dot(w * shape, inverse * inverse)
    hessian = np.array([[h_pp, h_pq, h_pv], [h_pq, h_qq, h_qv], [h_pv, h_qv, h_vv]])
    return total, gradient, hessian


def gamma_gamma_log_likelihood(
    params: Sequence[float],
    frequency: np.ndarray,
    monetary: np.ndarray,
    weights: np.ndarray | None = None,
) -> float:
    """Total Gamma-Gamma log-likelihood of (p, q, v) over repeat customers (x > 0)."""
    return _gamma_gamma_loglik(params, _SpendData.build(frequency, monetary, weights))[0]


def gamma_gamma_log_likelihood_gradient(
    params: Sequence[float],
    frequency: np.ndarray,
    monetary: np.ndarray,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Gradient of `gamma_gamma_log_likelihood` with respect to (p, q, v)."""
    return _gamma_gamma_loglik(params, _SpendData.build(frequency, monetary, weights), 1)[1]


def gamma_gamma_log_likelihood_hessian(
    params: Sequence[float],
    frequency: np.ndarray,
    monetary: np.ndarray,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Hessian of `gamma_gamma_log_likelihood` with respect to (p, q, v)."""
    return _gamma_gamma_loglik(params, _SpendData.build(frequency, monetary, weights), 2)[2]


def fit_gamma_gamma(
    frequency: np.ndarray,
    monetary: np.ndarray,
    weights: np.ndarray | None = None,
    initial: Sequence[float] | None = None,
) -> GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma fit on repeat customers (frequency > 0, monetary > 0)."""
    data = _SpendData.build(frequency, monetary, weights)
    total_w = data.total_weight
    mean_m = _dot(data.weights, np.exp(data.log_m)) / total_w
    # Mean spend is p v / (q - 1); start from p = 1, q = 2, so v = the mean spend.
    starts = [np.array([1.0, 2.0, mean_m]), np.array([4.0, 4.0, 0.75 * mean_m])]
    if initial is not None:
        starts.insert(0, np.asarray(initial, dtype=np.float64))
    scale = np.array([1.0, 1.0, mean_m])
    theta, ll, convergence, se = _maximise(
        _log_objective(_gamma_gamma_loglik, data, total_w), starts, scale, ("p", "q", "v"), total_w
    )
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


# --- CSV rows, formatted by numpy ---------------------------------------------------------------

_CSV_BLOCK = 1 << 15  # rows formatted at a time (a few MB of bytes)
_NUMBER_WIDTH = 24
_ID_WIDTH_LIMIT = 1024  # bytes; wider ids (never from our readers) go through the csv module
_DIGIT_PAIRS = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), dtype=np.uint16)
_TRAILING_ZEROS = np.array([2] + [1 if i % 10 == 0 else 0 for i in range(1, 100)], np.int64)
# Sources of a number's characters: its six digits (0-5), its exponent's tens and units (6-7)
# and hundreds (8), then '0', '.', 'e', '-', '+'.
_ZERO, _DOT, _E, _MINUS, _PLUS = 9, 10, 11, 12, 13
_SOURCE_BYTES = np.frombuffer(b"0.e-+", dtype=np.uint8)
_POSITIONAL = 120  # codes 0..119: positional text for exponent -4..15 and 1..6 digits
_ZERO_CODE, _PYTHON_CODE = 144, 145  # codes 120..143: d.ddddde+-XX(X)


def _number_template(code: int) -> list[int]:
    """The sources of the characters of `str(float('%.6g' % v))` for a value whose text form
    is `code` (see `_format_significant`)."""
    if code == _ZERO_CODE:
        return [_ZERO, _DOT, _ZERO]
    if code < _POSITIONAL:
        exponent, kept = code // 6 - 4, code % 6 + 1
        if exponent < 0:
            return [_ZERO, _DOT] + [_ZERO] * (-exponent - 1) + list(range(kept))
        whole = exponent + 1
        text = [digit if digit < 6 else _ZERO for digit in range(whole)]
        return text + [_DOT] + (list(range(whole, kept)) if kept > whole else [_ZERO])
    code -= _POSITIONAL
    kept, negative, three = code // 4 + 1, (code // 2) % 2, code % 2
    text = [0] + ([_DOT, *range(1, kept)] if kept > 1 else [])
    return [*text, _E, _MINUS if negative else _PLUS, *([8] if three else []), 6, 7]


_TEMPLATES = [np.array(_number_template(code), dtype=np.intp) for code in range(_PYTHON_CODE)]


def _format_significant(values: np.ndarray) -> np.ndarray:
    """`str(_sig(v))` for every value, as a (rows, width) byte matrix padded with zero bytes.

    `_sig` rounds to 6 significant digits through '%.6g' and `str` prints the shortest text of
    that float: positional from 1e-4 up to 1e16, else d.ddddde-XX. Here the decimal exponent E
    and the 6-digit mantissa m come from float arithmetic, and the text from a template per
    (E, digits kept after dropping trailing zeros). Values within 1e-6 of a rounding tie (where
    float arithmetic could round the other way), negative, huge, tiny or not finite are left to
    Python itself, so the text is always exactly `str(_sig(v))`.
    """
    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    plain = np.isfinite(v) & (v > 1e-290) & (v < 1e290)
    with np.errstate(all="ignore"):
        safe = np.where(plain, v, 1.0)
        exponent = np.floor(np.log10(safe)).astype(np.int64)
        scaled = safe * 10.0 ** (5 - exponent)
        low = scaled < 1e5
        exponent -= low
        scaled = np.where(low, scaled * 10, scaled)
        high = scaled >= 1e6
        exponent += high
        scaled = np.where(high, scaled / 10, scaled)
        mantissa = np.rint(scaled)
        tie = np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6
    carry = mantissa >= 1e6
    mantissa = np.where(carry, 1e5, mantissa).astype(np.int64)
    exponent += carry
    sources = np.empty((n, 14), dtype=np.uint8)
    pairs = sources[:, :8].view(np.uint16)
    head, middle, tail = mantissa // 10000, mantissa // 100 % 100, mantissa % 100
    pairs[:, 0], pairs[:, 1], pairs[:, 2] = (
        _DIGIT_PAIRS[head],
        _DIGIT_PAIRS[middle],
        _DIGIT_PAIRS[tail],
    )
    trailing = _TRAILING_ZEROS[tail]
    trailing += np.where(tail == 0, _TRAILING_ZEROS[middle], 0)
    trailing += np.where((tail == 0) & (middle == 0), _TRAILING_ZEROS[head], 0)
    kept = 6 - trailing
    positional = (exponent >= -4) & (exponent <= 15)
    size = np.minimum(np.abs(exponent), 999)
    if not positional.all():
        pairs[:, 3] = _DIGIT_PAIRS[size % 100]
        sources[:, 8] = (size // 100 + 48).astype(np.uint8)
    sources[:, 9:] = _SOURCE_BYTES
    code = np.where(
        positional,
        (exponent + 4) * 6 + kept - 1,
        _POSITIONAL + (kept - 1) * 4 + (exponent < 0) * 2 + (size >= 100),
    )
    code = np.where(plain & ~tie, code, _PYTHON_CODE)
    code = np.where((v == 0) & ~np.signbit(v), _ZERO_CODE, code)
    order = np.argsort(code.astype(np.uint16), kind="stable")
    ordered = code[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    groups = [int(c) for c in ordered[starts]]
    width = max(len(_TEMPLATES[c]) if c != _PYTHON_CODE else _NUMBER_WIDTH for c in groups)
    out = np.zeros((n, width), dtype=np.uint8)
    for which, begin, end in zip(groups, starts.tolist(), [*starts[1:].tolist(), n], strict=True):
        rows = order[begin:end]
        if which == _PYTHON_CODE:
            for row in rows.tolist():
                text = str(_sig(float(v[row]))).encode()
                out[row, : len(text)] = np.frombuffer(text, dtype=np.uint8)
            continue
        template = _TEMPLATES[which]
        out[rows, : len(template)] = sources[rows][:, template]
    return out


def _format_counts(values: np.ndarray) -> np.ndarray:
    """`str(int(v))` for counts >= 0, right-aligned in a (rows, 2 x pairs) byte matrix whose
    leading zero digits are zero bytes (dropped when the rows are written)."""
    v = np.asarray(values, dtype=np.int64)
    top = int(v.max()) if len(v) else 0
    width = max(len(str(top)), 1)
    width += width % 2
    out = np.empty((len(v), width), dtype=np.uint8)
    pairs = out.view(np.uint16)
    rest = v.copy()
    for pair in range(width // 2 - 1, -1, -1):
        pairs[:, pair] = _DIGIT_PAIRS[rest % 100]
        rest //= 100
    digits = np.ones(len(v), dtype=np.int64)
    for power in range(1, width):
        digits += v >= 10**power
    out[np.arange(width) < (width - digits)[:, None]] = 0
    return out


_FORMULA_BYTES = np.frombuffer(b"=+-@\t\r", dtype=np.uint8)  # mailmerge.neutralise's marks
_QUOTED = ('"', ",", "\n", "\r")  # the csv module quotes a field holding any of these


def _write_rows_csv(result: ClvResult, stream: IO[str]) -> None:
    n = result.customers
    if n == 0:
        return
    ids = result.customer_ids
    joined = "\x00".join(ids)
    if joined.count("\x00") != n - 1:  # a NUL inside an id: let the csv module write it
        _write_rows_csv_module(result, stream)
        return
    blob = np.frombuffer(joined.encode("utf-8"), dtype=np.uint8)
    starts, widths = _cells(blob)
    # Ids a spreadsheet would run as a formula, or that need quotes: made by Python.
    flagged = np.flatnonzero(np.isin(blob[np.minimum(starts, len(blob) - 1)], _FORMULA_BYTES))
    if any(mark in joined for mark in _QUOTED):
        marks = np.flatnonzero(np.isin(blob, np.frombuffer("".join(_QUOTED).encode(), np.uint8)))
        flagged = np.union1d(flagged, np.searchsorted(starts, marks, side="right") - 1)
    if len(flagged):
        from remedy.mailmerge import neutralise

        cells = list(ids)
        for index in flagged.tolist():
            cell = neutralise(cells[index])
            if any(mark in cell for mark in _QUOTED):
                cell = '"' + cell.replace('"', '""') + '"'
            cells[index] = cell
        blob = np.frombuffer("\x00".join(cells).encode("utf-8"), dtype=np.uint8)
        starts, widths = _cells(blob)
    id_width = int(widths.max())
    if id_width == 0 or id_width > _ID_WIDTH_LIMIT:
        _write_rows_csv_module(result, stream)
        return
    from remedy.orders import _gather

    stream.write(",".join(ROW_FIELDS) + "\n")
    columns = (
        result.recency,
        result.T,
        result.p_alive,
        result.expected_purchases,
        result.expected_spend,
        result.clv,
    )
    for lo in range(0, n, _CSV_BLOCK):
        hi = min(lo + _CSV_BLOCK, n)
        parts = [
            _gather(blob, starts[lo:hi], widths[lo:hi], id_width),
            _format_counts(result.frequency[lo:hi]),
        ]
        parts.extend(_format_significant(column[lo:hi]) for column in columns)
        width = sum(part.shape[1] for part in parts) + len(parts)
        rows = np.zeros((hi - lo, width), dtype=np.uint8)
        at = 0
        for index, part in enumerate(parts):
            rows[:, at : at + part.shape[1]] = part
            at += part.shape[1]
            rows[:, at] = 10 if index == len(parts) - 1 else 44
            at += 1
        flat = rows.ravel()
        stream.write(flat[flat != 0].tobytes().decode("utf-8"))


def _cells(blob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and length of each NUL-separated cell of `blob`."""
    ends = np.append(np.flatnonzero(blob == 0), len(blob))
    starts = np.concatenate(([0], ends[:-1] + 1))
    return starts, ends - starts


def _write_rows_csv_module(result: ClvResult, stream: IO[str]) -> None:
    """The same rows through the csv module, a row at a time (ids the fast path cannot hold)."""
    import csv

    from remedy.mailmerge import neutralise

    writer = csv.DictWriter(stream, fieldnames=list(ROW_FIELDS), lineterminator="\n")
    writer.writeheader()
    for row in result.iter_rows():
        writer.writerow({k: neutralise(v) if isinstance(v, str) else v for k, v in row.items()})


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
