"""Holdout validation: does a BG/NBD fit predict the purchases it did not see?

The model is fitted on the orders before `--holdout-from` (the calibration period). For every
calibration customer it then predicts the purchases in the holdout window, from `--holdout-from`
to the as-of date, with the conditional expectation E[X(t) | x, t_x, T] (Fader, Hardie & Lee
2005, eq. 10), and compares them with the purchases that happened: in total, by calibration
frequency (the paper's Figure 4: 0, 1, ..., 6 and 7+ repeat purchases) and per customer (mean
absolute error).

A fit is called weak, and the report carries a warning (which the plan repeats in its notes),
when the total predicted purchases are off by more than `WEAK_TOTAL` (20%) of the actual, or
when a frequency bucket holding at least 5% of the customers is off by more than `WEAK_BUCKET`
(50%) and 0.5 purchases per customer. On data the model describes, the totals agree to within a
few percent: the sampling error of the actual total is about sqrt(2 x actual) for CDNOW-like
data, 3% at 2,000 holdout purchases.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from remedy.rfm import CustomerSummary

BUCKETS = 8  # frequency 0..6 and 7+
WEAK_TOTAL = 0.20
WEAK_BUCKET = 0.50
WEAK_BUCKET_SHARE = 0.05


@dataclass(frozen=True)
class HoldoutReport:
    """Predicted vs actual purchases in the holdout window, ready to print or plot.

    Per-customer arrays (`predicted`, `actual`, `frequency`) are aligned with the result's
    customers. The bucket arrays have one entry per calibration frequency bucket
    (`bucket_labels`: "0" .. "6", "7+"): customer count, and mean predicted and mean actual
    purchases per customer, the two lines of the paper's Figure 4.
    """

    holdout_from: dt.date
    holdout_end: dt.date
    length: float  # time units
    predicted: np.ndarray
    actual: np.ndarray
    frequency: np.ndarray
    bucket_labels: tuple[str, ...]
    bucket_customers: np.ndarray
    bucket_predicted: np.ndarray
    bucket_actual: np.ndarray
    warnings: tuple[str, ...]

    @property
    def customers(self) -> int:
        return len(self.actual)

    @property
    def total_predicted(self) -> float:
        return float(self.predicted.sum())

    @property
    def total_actual(self) -> int:
        return int(self.actual.sum())

    @property
    def relative_error(self) -> float:
        """(predicted - actual) / actual for the totals; 0 when both are 0."""
        actual = self.total_actual
        if actual == 0:
            return 0.0 if self.total_predicted == 0 else math.inf
        return (self.total_predicted - actual) / actual

    @property
    def mean_absolute_error(self) -> float:
        """Mean over customers of |predicted - actual| purchases."""
        return float(np.abs(self.predicted - self.actual).mean()) if self.customers else 0.0

    @property
    def weak(self) -> bool:
        return bool(self.warnings)

    def to_json(self) -> dict[str, Any]:
        return {
            "holdout_from": self.holdout_from.isoformat(),
            "holdout_end": self.holdout_end.isoformat(),
            "length": round(self.length, 6),
            "customers": self.customers,
            "total_predicted": round(self.total_predicted, 4),
            "total_actual": self.total_actual,
            "relative_error": round(self.relative_error, 6)
            if math.isfinite(self.relative_error)
            else None,
            "mean_absolute_error": round(self.mean_absolute_error, 6),
            "weak_fit": self.weak,
            "by_frequency": [
                {
                    "frequency": label,
                    "customers": int(count),
                    "mean_predicted": round(float(predicted), 6),
                    "mean_actual": round(float(actual), 6),
                }
                for label, count, predicted, actual in zip(
                    self.bucket_labels,
                    self.bucket_customers,
                    self.bucket_predicted,
                    self.bucket_actual,
                    strict=True,
                )
            ],
        }

    def text_lines(self) -> list[str]:
        error = self.relative_error
        off = f"{error:+.1%}" if math.isfinite(error) else "n/a"
        lines = [
            f"Holdout {self.holdout_from.isoformat()} to {self.holdout_end.isoformat()} "
            f"({self.length:.4g} units), {self.customers:,} calibration customers",
            f"  purchases predicted {self.total_predicted:,.1f}, actual {self.total_actual:,} "
            f"({off}); mean absolute error {self.mean_absolute_error:.3f} per customer",
            f"  {'frequency':>9} {'customers':>10} {'predicted':>10} {'actual':>10}",
        ]
        for label, count, predicted, actual in zip(
            self.bucket_labels,
            self.bucket_customers,
            self.bucket_predicted,
            self.bucket_actual,
            strict=True,
        ):
            lines.append(f"  {label:>9} {int(count):>10,} {predicted:>10.3f} {actual:>10.3f}")
        return lines


def validate_holdout(params: Sequence[float], summary: CustomerSummary) -> HoldoutReport:
    """Compare the fit's predictions for the holdout window with what happened."""
    from remedy.clv import bgnbd_expected_purchases

    if (
        summary.holdout_purchases is None
        or summary.holdout_from is None
        or summary.holdout_end is None
    ):
        raise ValueError("the summary has no holdout window")
    length = summary.holdout_length
    predicted = bgnbd_expected_purchases(
        params, length, summary.frequency, summary.recency, summary.T
    )
    actual = summary.holdout_purchases
    bucket = np.minimum(summary.frequency, BUCKETS - 1)
    counts = np.bincount(bucket, minlength=BUCKETS)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_predicted = np.bincount(bucket, weights=predicted, minlength=BUCKETS) / counts
        mean_actual = np.bincount(bucket, weights=actual, minlength=BUCKETS) / counts
    mean_predicted = np.nan_to_num(mean_predicted)
    mean_actual = np.nan_to_num(mean_actual)
    labels = tuple(str(k) for k in range(BUCKETS - 1)) + (f"{BUCKETS - 1}+",)
    report = HoldoutReport(
        holdout_from=summary.holdout_from,
        holdout_end=summary.holdout_end,
        length=length,
        predicted=predicted,
        actual=actual,
        frequency=summary.frequency,
        bucket_labels=labels,
        bucket_customers=counts,
        bucket_predicted=mean_predicted,
        bucket_actual=mean_actual,
        warnings=(),
    )
    return HoldoutReport(**{**report.__dict__, "warnings": tuple(_weak_fit_warnings(report))})


def _weak_fit_warnings(report: HoldoutReport) -> list[str]:
    warnings = []
    error = report.relative_error
    if not math.isfinite(error) or abs(error) > WEAK_TOTAL:
        warnings.append(
            f"weak fit: the holdout had {report.total_actual:,} purchases and the model "
            f"predicted {report.total_predicted:,.0f} (more than {WEAK_TOTAL:.0%} off); "
            "treat the CLV figures as rough"
        )
    for label, count, predicted, actual in zip(
        report.bucket_labels,
        report.bucket_customers,
        report.bucket_predicted,
        report.bucket_actual,
        strict=True,
    ):
        gap = abs(predicted - actual)
        if (
            count >= WEAK_BUCKET_SHARE * report.customers
            and gap > 0.5
            and gap > WEAK_BUCKET * max(actual, predicted)
        ):
            warnings.append(
                f"weak fit: customers with {label} repeat purchases bought {actual:.2f} each "
                f"in the holdout, the model predicted {predicted:.2f}"
            )
    return warnings
