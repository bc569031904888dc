"""`remedy review`: what an incident cost in purchases, and what the remedy won back.

The method (README, "remedy review", says the same for users):

1. **History and window.** The order history is split at the incident: the *history* is every
   order up to and including `occurred_on` (the incident day's own orders are often the very
   orders that went wrong, so they are history, never the customers' reaction to it), and the
   *window* runs from the day after to `--as-of` (default: the last order date). Only customers
   with a purchase in the history are measured.
2. **Expected purchases.** BG/NBD is fitted on the history (`remedy.clv`). For each customer the
   conditional expectation E[X(window) | x, t_x, T] (Fader, Hardie & Lee 2005, eq. 10) is what
   they would have bought in the window given their own past; the observed count is how many
   purchase days they had in it. Spend likewise: expected revenue = expected purchases x the
   Gamma-Gamma expected spend per purchase (or the mean transaction value when Gamma-Gamma
   cannot be fitted); observed revenue = what they spent on purchase days in the window.
3. **Groups.** unaffected (in the history, not in `customers.file` or the assignments),
   affected (all affected customers) and, with `--assignments`, treated and holdout. Each group
   has observed / expected, its *ratio*: the model's misfit (a season, a price change, drift)
   moves the unaffected ratio too.
4. **Loss**, for each affected group g: `1 - O_g / C_g`, where the counterfactual
   `C_g = sum over g's customers of E_i x ratio(matched unaffected)`: each customer's expected
   purchases are scaled by the ratio of unaffected customers with the same pre-incident
   frequency (0, 1, 2, 3-4, 5-7, 8-12, 13+ repeat purchases) and days since their last
   purchase (0-6, 7-13, 14-29, 30-59, 60-119, 120-239, 240-479, 480+). This is
   `1 - ratio(g) / ratio(unaffected)` with the unaffected ratio re-weighted to g's mix, so
   both the model's misfit and the selection of who was hit (recent buyers, say) cancel. A
   cell with fewer than `MIN_CELL` (30) unaffected customers borrows the ratio of its
   days-since-last-purchase band (all frequencies); a band with fewer, the ratio of all
   unaffected customers. The review reports which share of each group was matched how.
5. **Recovery** `1 - loss(treated) / loss(holdout)`: the share of the holdout's loss that the
   plan's extras won back. The same is done for revenue, which gives the **value** lost (the
   revenue the affected customers did not spend in the window: `C - O` in money) and won back
   (`(loss_rev(holdout) - loss_rev(treated)) x C_rev(treated)`), beside what the plan cost.
6. **Intervals.** 90% percentile intervals from a bootstrap over customers, stratified by group
   (each group resampled with replacement to its own size, `--replicates` times, default
   2,000, seeded by `--seed`), with the matching fixed as on the data. The BG/NBD parameters are
   held at their fit: their error moves affected and unaffected customers alike, and the
   matched ratio absorbs it.

Stated rules:

- **Precise, direction only, too wide.** A loss is *precise* when its 90% interval is at most
  +-`LOSS_PRECISION` (5 points) wide, enough to pick between the planner's low, likely and high
  delta; a recovery at most +-`RECOVERY_PRECISION` (15 points). Otherwise, if the interval
  excludes zero, the *direction* is known but not the size; else it is *too wide to conclude*.
  For both it says how many more customers, or more weeks, would reach the precision, assuming
  the interval narrows like one over the square root of the customers (or of the expected
  purchases in the window, found with the model's own forecast for a longer window): optimistic
  when customers differ a lot, so read the weeks as a lower bound.
- **Window too short.** A group with fewer than `MIN_EXPECTED` (20) expected purchases in the
  window is not measured: even losing every one of them could hardly be told from chance (a
  90% interval of about +-37 points). If that leaves the affected or the unaffected customers
  unmeasured, the review stops with an error saying how many weeks to wait.
- **Calibrated delta.** `assumptions.delta` is the share of future value lost with only an
  apology, before the incident's modifiers. From a holdout: the holdout's loss (it got the
  obligation floor and the apology only), divided by (1 - the recovery the plan credits the
  floor with; 0 when the floor is the apology alone, since an obligation can never be held out
  and measured) and by the incident's modifiers (a missed occasion, a repeat failure, whose
  fault). Without assignments: the affected customers' loss divided by the modifiers, which is
  delta *net of the remedy*: a lower bound, said so in the snippet. The window's loss stands in
  for the share of future value: right when the loss is lost customers, an overstatement when
  it is a dip that passes (a longer window tells them apart).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from remedy.errors import InputError, UsageError

if TYPE_CHECKING:
    from remedy.clv import ClvResult
    from remedy.incident import Incident
    from remedy.plan import Plan

SCHEMA_VERSION = 1
UNIT_DAYS = 7.0  # the review works in weeks
LEVEL = 0.90
REPLICATES = 2000
MIN_CELL = 30  # unaffected customers a matching cell needs to lend its own ratio
MIN_EXPECTED = 20.0  # expected purchases a group needs in the window to be measured
LOSS_PRECISION = 0.05  # half-width of a loss interval that is precise enough to plan with
RECOVERY_PRECISION = 0.15
MAX_MORE_WEEKS = 104  # "more weeks" advice looks this far ahead
FREQUENCY_EDGES = np.array([1, 2, 3, 5, 8, 13])  # repeat purchases: 0|1|2|3-4|5-7|8-12|13+
IDLE_EDGES_DAYS = np.array([7, 14, 30, 60, 120, 240, 480])  # days since the last purchase
FREQUENCY_BANDS = ("0", "1", "2", "3-4", "5-7", "8-12", "13+")
IDLE_BANDS = ("0-6", "7-13", "14-29", "30-59", "60-119", "120-239", "240-479", "480+")

UNAFFECTED, AFFECTED, TREATED, HOLDOUT = 0, 1, 2, 3
GROUP_NAMES = ("unaffected", "affected", "treated", "holdout")
ASSIGNMENT_COLUMNS = ("customer_id", "segment", "arm", "incident_id")
ARMS = {"treated": TREATED, "holdout": HOLDOUT}


# --- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    """The arms of a holdout: customer id -> (arm code, segment), and where each came from."""

    path: str
    arms: dict[str, int]
    segments: dict[str, str]
    lines: dict[str, int]
    has_segment: bool
    warnings: tuple[str, ...] = ()

    def counts(self) -> dict[tuple[str, int], int]:
        """Customers per (segment, arm code)."""
        out: dict[tuple[str, int], int] = {}
        for customer, arm in self.arms.items():
            key = (self.segments[customer], arm)
            out[key] = out.get(key, 0) + 1
        return out


def read_assignments(path: str | Path, incident_id: str, incident_name: str) -> Assignment:
    """Read `remedy drafts --assignments` output (CSV: customer_id, segment, arm, incident_id).

    The `segment` column may be missing (one segment, "all"). An `incident_id` other than the
    incident's is refused, naming both. A customer listed twice is one customer; listed in both
    arms, they got the plan at least once, so they count as treated (with a warning).
    """
    name = str(path)
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"--assignments: {name}: no such file")
    arms: dict[str, int] = {}
    segments: dict[str, str] = {}
    lines: dict[str, int] = {}
    conflicts: list[tuple[str, int]] = []
    try:
        with file.open(encoding="utf-8-sig", newline="") as stream:
            reader = csv.reader(stream, strict=True)
            header = next(reader, None)
            if header is None:
                raise InputError(
                    f"{name}: is empty (expected the header {','.join(ASSIGNMENT_COLUMNS)})"
                )
            columns = {column.strip().lower(): i for i, column in enumerate(header)}
            missing = [c for c in ASSIGNMENT_COLUMNS if c != "segment" and c not in columns]
            if missing:
                raise InputError(
                    f"{name}:1: missing column{'s' if len(missing) > 1 else ''} "
                    f"{', '.join(missing)} (the header is {','.join(ASSIGNMENT_COLUMNS)}, as "
                    "remedy drafts --assignments writes it)"
                )
            has_segment = "segment" in columns
            c_id, c_arm, c_incident = (columns[c] for c in ("customer_id", "arm", "incident_id"))
            c_segment = columns.get("segment", -1)
            width = max(columns.values()) + 1
            line_end = reader.line_num
            for row in reader:
                line = line_end + 1
                line_end = reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) < width:
                    raise InputError(
                        f"{name}:{line}: expected {len(header)} fields, got {len(row)}"
                    )
                found = row[c_incident].strip()
                if found != incident_id:
                    raise InputError(
                        f"{name}:{line}: these assignments are for incident '{_short(found)}', "
                        f"not '{incident_id}' ({incident_name}): give the assignments written "
                        "when this incident's messages were drafted"
                    )
                customer = row[c_id].strip()
                if not customer:
                    raise InputError(f"{name}:{line}: customer_id is empty")
                arm_text = row[c_arm].strip().lower()
                if arm_text not in ARMS:
                    raise InputError(
                        f"{name}:{line}: arm '{_short(row[c_arm])}' is not treated or holdout"
                    )
                arm = ARMS[arm_text]
                segment = (row[c_segment].strip() if c_segment >= 0 else "") or "all"
                if customer in arms:
                    if arms[customer] != arm:
                        conflicts.append((customer, line))
                        arms[customer] = TREATED
                    continue
                arms[customer] = arm
                segments[customer] = segment
                lines[customer] = line
    except UnicodeDecodeError:
        raise InputError(f"{name}: is not UTF-8 text (save it as UTF-8 CSV)") from None
    except csv.Error as exc:
        raise InputError(f"{name}: not a readable CSV ({exc})") from None
    if not arms:
        raise InputError(f"{name}: has a header but no customers")
    warnings = []
    if conflicts:
        customer, line = conflicts[0]
        more = f" (and {len(conflicts) - 1:,} more)" if len(conflicts) > 1 else ""
        warnings.append(
            f"{name}:{line}: customer '{_short(customer)}' is in both arms{more}; they got the "
            "plan at least once, so they count as treated"
        )
    return Assignment(name, arms, segments, lines, has_segment, tuple(warnings))


def affected_ids(incident: Incident) -> tuple[dict[str, int], int]:
    """Customer id -> line of the incident's customers file, and the rows without an id.

    A review needs only the ids, so the rows are not validated further: a customer whose
    email drafts refused was still affected. The header is checked as for drafts.
    """
    from remedy.customers import CustomerReader

    refs = incident.customers
    if refs is None or refs.file is None:
        return {}, 0
    found: dict[str, int] = {}
    blank = 0
    reader = CustomerReader(refs.file, currency=incident.currency)
    for line, row in reader.rows():
        column = reader.columns["id"]
        customer = row[column].strip() if column < len(row) else ""
        if customer:
            found.setdefault(customer, line)
        else:
            blank += 1
    return found, blank


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """An estimate with its 90% interval, how sure it is, and what would make it surer.

    `status`: "precise" (half-width within the target), "direction" (excludes zero, wider than
    the target) or "too_wide". `more_customers` / `more_weeks`: about how many more customers
    (in the group, or in each arm for a recovery) or weeks of window would reach the target.
    """

    estimate: float | None
    low: float | None
    high: float | None
    status: str
    target: float
    note: str = ""
    more_customers: int | None = None
    more_weeks: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "estimate": _round(self.estimate),
            "low": _round(self.low),
            "high": _round(self.high),
            "status": self.status,
            "target_half_width": self.target,
            "more_customers": self.more_customers,
            "more_weeks": self.more_weeks,
            "note": self.note,
        }


@dataclass(frozen=True)
class GroupResult:
    group: str
    customers: int
    expected_purchases: float
    observed_purchases: float
    ratio: float | None
    ratio_low: float | None
    ratio_high: float | None
    expected_revenue: float
    observed_revenue: float
    matched: dict[str, float] = field(default_factory=dict)  # share of E matched by level

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "customers": self.customers,
            "expected_purchases": _round(self.expected_purchases, 2),
            "observed_purchases": _round(self.observed_purchases, 2),
            "ratio": _round(self.ratio),
            "ratio_low": _round(self.ratio_low),
            "ratio_high": _round(self.ratio_high),
            "expected_revenue": _round(self.expected_revenue, 2),
            "observed_revenue": _round(self.observed_revenue, 2),
            "matched": {k: _round(v) for k, v in self.matched.items()},
        }


@dataclass(frozen=True)
class Value:
    """Money: window revenue lost and won back (with intervals), cost, and projections."""

    currency: str
    lost: Interval | None
    recovered: Interval | None
    plan_cost: float | None
    extras_cost: float | None
    projected_lost: Interval | None
    projected_recovered: Interval | None
    horizon_weeks: float
    clv_basis: str
    gross_margin: float = 0.4

    def to_json(self) -> dict[str, Any]:
        def flat(prefix: str, value: Interval | None) -> dict[str, Any]:
            if value is None:
                return {prefix: None, f"{prefix}_low": None, f"{prefix}_high": None}
            return {
                prefix: _round(value.estimate, 2),
                f"{prefix}_low": _round(value.low, 2),
                f"{prefix}_high": _round(value.high, 2),
            }

        return {
            "currency": self.currency,
            "basis": "revenue in the window, against matched unaffected customers",
            **flat("lost", self.lost),
            **flat("recovered", self.recovered),
            "plan_cost": _round(self.plan_cost, 2),
            "gross_margin": self.gross_margin,
            "extras_cost": _round(self.extras_cost, 2),
            **flat("projected_lost", self.projected_lost),
            **flat("projected_recovered", self.projected_recovered),
            "projection": (
                f"if the loss lasts: the share lost x the customers' CLV over "
                f"{self.horizon_weeks:g} weeks ({self.clv_basis})"
            ),
        }


@dataclass(frozen=True)
class Calibration:
    """What the next incident file can use: delta and the remedy's recovery."""

    delta: tuple[float, float, float] | None
    delta_source: str
    recovery: tuple[float, float, float] | None
    recovery_option: str | None
    recovery_options: tuple[str, ...]
    comments: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "delta": None if self.delta is None else list(self.delta),
            "delta_source": self.delta_source,
            "recovery": None if self.recovery is None else list(self.recovery),
            "recovery_option": self.recovery_option,
            "recovery_options": list(self.recovery_options),
        }


@dataclass(frozen=True)
class Review:
    incident_id: str
    title: str
    kind: str
    occurred_on: dt.date
    orders: str
    assignments: str | None
    window_from: dt.date
    window_to: dt.date
    weeks: float
    customers: int
    fit: dict[str, Any]
    groups: tuple[GroupResult, ...]
    loss: dict[str, Interval | None]
    revenue_loss: dict[str, Interval | None]
    recovery: Interval | None
    value: Value
    calibration: Calibration
    warnings: tuple[str, ...]
    seed: int
    replicates: int
    naive_loss: float | None

    def to_json(self) -> dict[str, Any]:
        """The review as data (schema_version 1): strict JSON, no NaN or Infinity."""
        return {
            "schema_version": SCHEMA_VERSION,
            "incident": {
                "id": self.incident_id,
                "title": self.title,
                "kind": self.kind,
                "occurred_on": self.occurred_on.isoformat(),
            },
            "orders": self.orders,
            "assignments": self.assignments,
            "window": {
                "from": self.window_from.isoformat(),
                "to": self.window_to.isoformat(),
                "weeks": _round(self.weeks, 4),
            },
            "customers": self.customers,
            "fit": self.fit,
            "groups": [g.to_json() for g in self.groups],
            "loss": {k: None if v is None else v.to_json() for k, v in self.loss.items()},
            "revenue_loss": {
                k: None if v is None else v.to_json() for k, v in self.revenue_loss.items()
            },
            "recovery": None if self.recovery is None else self.recovery.to_json(),
            "value": self.value.to_json(),
            "assumptions": self.calibration.to_json(),
            "method": {
                "level": LEVEL,
                "bootstrap": "percentile, over customers, stratified by group",
                "replicates": self.replicates,
                "seed": self.seed,
                "matching": {
                    "frequency_bands": list(FREQUENCY_BANDS),
                    "days_since_last_purchase_bands": list(IDLE_BANDS),
                    "min_unaffected_per_cell": MIN_CELL,
                },
                "min_expected_purchases": MIN_EXPECTED,
                "precision": {"loss": LOSS_PRECISION, "recovery": RECOVERY_PRECISION},
            },
            "warnings": list(self.warnings),
        }


# --- the measurement -------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One row per customer with a purchase before the incident (aligned arrays)."""

    observed: np.ndarray  # purchase days in the window
    expected: np.ndarray  # BG/NBD conditional expectation for the window
    observed_revenue: np.ndarray
    expected_revenue: np.ndarray
    group: np.ndarray  # UNAFFECTED, AFFECTED (no arm), TREATED or HOLDOUT
    frequency: np.ndarray  # repeat purchases before the incident
    idle_days: np.ndarray  # days from the last purchase to the incident day

    def cells(self) -> tuple[np.ndarray, np.ndarray]:
        """(fine cell, days-since-last-purchase band) of each customer."""
        f = np.searchsorted(FREQUENCY_EDGES, self.frequency, side="right")
        r = np.searchsorted(IDLE_EDGES_DAYS, self.idle_days, side="right")
        return f * len(IDLE_BANDS) + r, r


@dataclass(frozen=True)
class Measurement:
    """Point estimates and bootstrap replicates of every statistic, by name."""

    point: dict[str, float]
    replicates: dict[str, np.ndarray]
    present: tuple[int, ...]  # groups with customers
    sizes: dict[int, int]
    matched: dict[int, dict[str, float]]


_FINE = len(FREQUENCY_BANDS) * len(IDLE_BANDS)
_BANDS = len(IDLE_BANDS)
_REFS = _FINE + _BANDS + 1  # fine cells, then bands, then everyone


def _references(sample: Sample) -> tuple[np.ndarray, np.ndarray, dict[int, dict[str, float]]]:
    """Each customer's reference (index into fine cells, bands, everyone), their fine cell, and
    the share of each group's expected purchases matched at each level."""
    fine, band = sample.cells()
    unaffected = sample.group == UNAFFECTED
    in_cell = np.bincount(fine[unaffected], minlength=_FINE)
    in_band = np.bincount(band[unaffected], minlength=_BANDS)
    ref = np.where(
        in_cell[fine] >= MIN_CELL,
        fine,
        np.where(in_band[band] >= MIN_CELL, _FINE + band, _FINE + _BANDS),
    )
    matched: dict[int, dict[str, float]] = {}
    for g in (AFFECTED, TREATED, HOLDOUT, -1):
        mine = sample.group != UNAFFECTED if g == -1 else sample.group == g
        total = float(sample.expected[mine].sum())
        if not mine.any() or total <= 0:
            continue
        level = np.where(ref[mine] < _FINE, 0, np.where(ref[mine] < _FINE + _BANDS, 1, 2))
        weights = np.bincount(level, weights=sample.expected[mine], minlength=3) / total
        matched[g] = {
            "frequency_and_recency": float(weights[0]),
            "recency_only": float(weights[1]),
            "all_unaffected": float(weights[2]),
        }
    return ref, fine, matched


def _statistics(sums: Mapping[int, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Every statistic from per-group sums, vectorised over replicates (axis 0)."""
    out: dict[str, np.ndarray] = {}
    u = sums[UNAFFECTED]
    with np.errstate(divide="ignore", invalid="ignore"):
        for kind, o, e in (("", "o", "e"), ("rev_", "orev", "erev")):
            o_f, e_f = u[f"{o}_fine"], u[f"{e}_fine"]
            shape = (*o_f.shape[:-1], len(FREQUENCY_BANDS), _BANDS)
            o_b, e_b = o_f.reshape(shape).sum(-2), e_f.reshape(shape).sum(-2)
            o_all, e_all = o_f.sum(-1, keepdims=True), e_f.sum(-1, keepdims=True)
            overall = o_all / e_all
            ratio = np.concatenate([o_f / e_f, o_b / e_b, overall], axis=-1)
            ratio = np.where(np.isfinite(ratio), ratio, overall)
            out[f"{kind}ratio_unaffected"] = overall[..., 0]
            affected: dict[str, np.ndarray] = {}
            for g, s in sums.items():
                if g == UNAFFECTED:
                    continue
                counterfactual = (s[f"{e}_ref"] * ratio).sum(-1)
                observed = s[o]
                name = GROUP_NAMES[g]
                out[f"{kind}ratio_{name}"] = observed / s[e]
                out[f"{kind}counterfactual_{name}"] = counterfactual
                out[f"{kind}observed_{name}"] = observed
                out[f"{kind}loss_{name}"] = 1 - observed / counterfactual
                for key, value in ((o, observed), (e, s[e]), ("c", counterfactual)):
                    affected[key] = affected.get(key, 0) + value
            if affected:
                out[f"{kind}ratio_affected"] = affected[o] / affected[e]
                out[f"{kind}counterfactual_affected"] = affected["c"]
                out[f"{kind}observed_affected"] = affected[o]
                out[f"{kind}loss_affected"] = 1 - affected[o] / affected["c"]
        if HOLDOUT in sums and TREATED in sums:
            held, treated = out["loss_holdout"], out["loss_treated"]
            out["recovery"] = np.where(held > 0, 1 - treated / held, np.nan)
            out["value_recovered"] = (out["rev_loss_holdout"] - out["rev_loss_treated"]) * out[
                "rev_counterfactual_treated"
            ]
        if "rev_counterfactual_affected" in out:
            out["value_lost"] = out["rev_counterfactual_affected"] - out["rev_observed_affected"]
    return out


def _sums(
    values: dict[str, np.ndarray], ref: np.ndarray, fine: np.ndarray, draws: np.ndarray, g: int
) -> dict[str, np.ndarray]:
    """Per-replicate sums of one group's resampled customers (`draws`: replicates x size, local
    indexes into the group's arrays)."""
    b = draws.shape[0]
    out = {k: v[draws].sum(axis=1) for k, v in values.items()}
    offsets = (np.arange(b) * (_FINE if g == UNAFFECTED else _REFS))[:, None]
    if g == UNAFFECTED:
        keys = (offsets + fine[draws]).ravel()
        for k in ("o", "e", "orev", "erev"):
            out[f"{k}_fine"] = np.bincount(
                keys, weights=values[k][draws].ravel(), minlength=b * _FINE
            ).reshape(b, _FINE)
    else:
        keys = (offsets + ref[draws]).ravel()
        for k in ("e", "erev"):
            out[f"{k}_ref"] = np.bincount(
                keys, weights=values[k][draws].ravel(), minlength=b * _REFS
            ).reshape(b, _REFS)
    return out


def measure(sample: Sample, *, seed: int = 0, replicates: int = REPLICATES) -> Measurement:
    """Point estimates and a stratified bootstrap of every statistic (see the module docs)."""
    ref, fine, matched = _references(sample)
    present = tuple(g for g in range(4) if np.any(sample.group == g))
    if UNAFFECTED not in present:
        raise ValueError("no unaffected customers")
    local: dict[int, tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]] = {}
    for g in present:
        rows = np.flatnonzero(sample.group == g)
        values = {
            "o": sample.observed[rows].astype(np.float64),
            "e": sample.expected[rows].astype(np.float64),
            "orev": sample.observed_revenue[rows].astype(np.float64),
            "erev": sample.expected_revenue[rows].astype(np.float64),
        }
        local[g] = (values, ref[rows], fine[rows])
    point_sums = {
        g: _sums(vals, r, f, np.arange(len(r))[None, :], g) for g, (vals, r, f) in local.items()
    }
    point = {k: float(np.ravel(v)[0]) for k, v in _statistics(point_sums).items()}
    rng = np.random.default_rng(seed)
    total = sum(len(r) for _, r, _ in local.values())
    chunk = max(1, min(replicates, (1 << 21) // max(total, 1)))
    pieces: dict[str, list[np.ndarray]] = {}
    done = 0
    while done < replicates:
        b = min(chunk, replicates - done)
        sums = {}
        for g, (vals, r, f) in local.items():
            draws = rng.integers(0, len(r), size=(b, len(r)))
            sums[g] = _sums(vals, r, f, draws, g)
        for k, v in _statistics(sums).items():
            pieces.setdefault(k, []).append(np.asarray(v).reshape(b))
        done += b
    reps = {k: np.concatenate(v) for k, v in pieces.items()}
    sizes = {g: len(local[g][1]) for g in present}
    return Measurement(point, reps, present, sizes, matched)


def naive_loss(sample: Sample) -> float | None:
    """The comparison without a model: 1 - (purchases per affected customer in the window) /
    (purchases per unaffected customer). Biased whenever who was hit differs from who was not
    (recent buyers buy more anyway); kept to show what the model and the matching remove."""
    affected = sample.group != UNAFFECTED
    unaffected = sample.group == UNAFFECTED
    if not affected.any() or not unaffected.any():
        return None
    base = float(sample.observed[unaffected].mean())
    if base <= 0:
        return None
    return 1 - float(sample.observed[affected].mean()) / base


def interval_of(
    estimate: float | None, replicates: np.ndarray, target: float
) -> tuple[float | None, float | None, float | None, str]:
    """(estimate, low, high, status) from bootstrap replicates by the stated rule."""
    finite = replicates[np.isfinite(replicates)]
    tail = (1 - LEVEL) / 2
    if estimate is None or not math.isfinite(estimate):
        estimate = None
    # Undefined replicates (a recovery when the resampled holdout lost nothing) could lie
    # beyond either end: up to `tail` of them widen both ends; more leave it unbounded.
    undefined = 1 - len(finite) / max(len(replicates), 1)
    if len(finite) == 0 or undefined > tail:
        return estimate, None, None, "too_wide"
    low, high = (
        float(v)
        for v in np.quantile(
            finite, [(tail - undefined) / (1 - undefined), (1 - tail) / (1 - undefined)]
        )
    )
    if (high - low) / 2 <= target:
        status = "precise"
    elif low > 0 or high < 0:
        status = "direction"
    else:
        status = "too_wide"
    return estimate, low, high, status


# --- the whole review ------------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    """The order history split at the incident, with the fit and each customer's numbers."""

    result: ClvResult  # fitted on the history
    customer_ids: list[str]
    observed: np.ndarray
    observed_revenue: np.ndarray
    expected: np.ndarray
    expected_revenue: np.ndarray
    idle_days: np.ndarray
    window_from: dt.date
    window_to: dt.date
    weeks: float
    warnings: tuple[str, ...]


def load_history(
    orders: str,
    occurred_on: dt.date,
    *,
    as_of: dt.date | None = None,
    columns: tuple[str | None, str | None, str | None] = (None, None, None),
    gross_margin: float | None = None,
    incident_name: str = "the incident",
    progress: Callable[[str], None] | None = None,
) -> History:
    """Read the orders, split them at the incident, fit BG/NBD and Gamma-Gamma on the history
    and compute each customer's expected and observed purchases and revenue in the window."""
    from dataclasses import replace

    from remedy import rfm
    from remedy.clv import ClvOptions, bgnbd_expected_purchases, estimate_from_summary, load_summary

    step = progress or (lambda stage: None)
    window_from = occurred_on + dt.timedelta(days=1)
    if as_of is not None and as_of < window_from:
        raise UsageError(
            f"--as-of: {as_of.isoformat()} is not after the incident ({occurred_on.isoformat()}): "
            "there is no window to measure yet"
        )
    if rfm.input_kind(orders, False, None) == "summary":  # pragma: no cover - never today
        raise UsageError(f"--orders: {orders}: the review needs dated orders, not a summary")
    options = ClvOptions(
        customer_col=columns[0],
        date_col=columns[1],
        amount_col=columns[2],
        as_of=as_of,
        time_unit="week",
        holdout_from=window_from,
        gross_margin=gross_margin,
    )
    step("reading")
    try:
        summary = load_summary(orders, None, options, UNIT_DAYS)
    except UsageError as exc:
        if not exc.message.startswith("--holdout-from:"):
            raise
        if "nothing to fit on" in exc.message:
            raise InputError(
                f"{incident_name}: occurred_on {occurred_on.isoformat()} is before the first "
                f"order in {orders}: there is no history before the incident to learn from"
            ) from None
        raise InputError(
            f"{incident_name}: occurred_on {occurred_on.isoformat()} is not before the last "
            f"order date in {orders}"
            + (f" (--as-of {as_of.isoformat()})" if as_of else "")
            + ": there are no days after the incident to measure"
        ) from None
    if summary.holdout_purchases is None or summary.holdout_spend is None or summary.as_of is None:
        raise InputError(f"--orders: {orders}: the review needs dated orders")  # pragma: no cover
    assert summary.holdout_end is not None
    weeks = summary.holdout_length
    step("fitting")
    fitted = estimate_from_summary(
        replace(summary, holdout_purchases=None, holdout_spend=None), options
    )
    expected = bgnbd_expected_purchases(
        fitted.bgnbd.params, weeks, summary.frequency, summary.recency, summary.T
    )
    if summary.recency_days is not None and summary.T_days is not None:
        idle = (summary.T_days - summary.recency_days).astype(np.int64)
    else:  # pragma: no cover - dated orders always have whole days
        idle = np.rint((summary.T - summary.recency) * UNIT_DAYS).astype(np.int64)
    return History(
        result=fitted,
        customer_ids=summary.customer_ids,
        observed=summary.holdout_purchases.astype(np.float64),
        observed_revenue=summary.holdout_spend.astype(np.float64),
        expected=expected,
        expected_revenue=expected * fitted.expected_spend,
        idle_days=idle,
        window_from=window_from,
        window_to=summary.holdout_end,
        weeks=weeks,
        warnings=tuple(fitted.warnings),
    )


def review_incident(
    incident: Incident,
    orders: str,
    *,
    assignments: str | Path | None = None,
    as_of: dt.date | None = None,
    columns: tuple[str | None, str | None, str | None] = (None, None, None),
    seed: int = 0,
    replicates: int = REPLICATES,
    plan: Plan | None = None,
    incident_name: str = "the incident",
    progress: Callable[[str], None] | None = None,
) -> Review:
    """Review an incident against its order history (see the module docstring).

    `plan` (the incident's plan, for its cost and floor) may be None: the review then reports
    no cost and assumes the floor recovers nothing.
    """
    if incident.occurred_on is None:
        raise InputError(
            f"{incident_name}: occurred_on: the review needs the incident's date "
            "(add occurred_on: YYYY-MM-DD)"
        )
    warnings: list[str] = []
    affected, blank = affected_ids(incident)
    if blank:
        warnings.append(f"{blank:,} row(s) of the customers file have no id and are left out")
    arms = None
    if assignments is not None:
        arms = read_assignments(assignments, incident.id, incident_name)
        warnings.extend(arms.warnings)
    if not affected and arms is None:
        raise UsageError(
            f"{incident_name}: the review needs the affected customers: customers.file in the "
            "incident, or --assignments"
        )
    history = load_history(
        orders,
        incident.occurred_on,
        as_of=as_of,
        columns=columns,
        gross_margin=incident.business.gross_margin,
        incident_name=incident_name,
        progress=progress,
    )
    warnings.extend(f"fit: {w}" for w in history.warnings)
    position = {customer: i for i, customer in enumerate(history.customer_ids)}
    group = np.zeros(len(position), dtype=np.int8)
    missing: list[tuple[str, str, int]] = []  # (file, customer, line)
    customers_file = (
        str(incident.customers.file) if incident.customers and incident.customers.file else ""
    )
    for customer, line in affected.items():
        i = position.get(customer)
        if i is None:
            missing.append((customers_file, customer, line))
        else:
            group[i] = AFFECTED
    if arms is not None:
        outside = 0
        for customer, arm in arms.arms.items():
            i = position.get(customer)
            if i is None:
                if customer not in affected:
                    missing.append((arms.path, customer, arms.lines[customer]))
                continue
            if affected and customer not in affected:
                outside += 1
            group[i] = arm
        if outside:
            warnings.append(
                f"{arms.path}: {outside:,} customer(s) are not in the customers file; they are "
                "counted as affected all the same"
            )
    listed = len(affected.keys() | (arms.arms.keys() if arms else set()))
    if missing:
        file, customer, line = missing[0]
        if len(missing) == listed:
            raise InputError(
                f"{file}:{line}: none of the {listed:,} affected customers (e.g. "
                f"'{_short(customer)}') has a purchase in {orders} up to the incident: are the "
                "ids the same as the order history's customer column?"
            )
        more = f" (and {len(missing) - 1:,} more)" if len(missing) > 1 else ""
        warnings.append(
            f"{file}:{line}: customer '{_short(customer)}'{more} has no purchase in {orders} "
            f"up to the incident; {len(missing):,} of {listed:,} affected customers are left "
            "out (a review measures customers against their own history)"
        )
    if not np.any(group == UNAFFECTED):
        raise InputError(
            f"{orders}: every customer in the history is affected, so there is no one to "
            "compare with (give the whole order history, not only the affected customers')"
        )
    sample = Sample(
        observed=history.observed,
        expected=history.expected,
        observed_revenue=history.observed_revenue,
        expected_revenue=history.expected_revenue,
        group=group,
        frequency=history.result.frequency,
        idle_days=history.idle_days,
    )
    _check_window(sample, history, incident_name, warnings)
    if progress is not None:
        progress("bootstrap")
    measured = measure(sample, seed=seed, replicates=replicates)
    forecast = _Forecast(history, group)
    loss: dict[str, Interval | None] = {}
    revenue_loss: dict[str, Interval | None] = {}
    for g in (AFFECTED, TREATED, HOLDOUT):
        name = GROUP_NAMES[g]
        members = _members(group, g)
        if g != AFFECTED and (arms is None or g not in measured.present):
            continue
        if not _measurable(sample, members):
            loss[name] = revenue_loss[name] = None
            continue
        loss[name] = _interval(
            measured, f"loss_{name}", LOSS_PRECISION, int(members.sum()), forecast, members
        )
        revenue_loss[name] = _interval(
            measured, f"rev_loss_{name}", LOSS_PRECISION, None, None, None
        )
    recovery = None
    if arms is not None and loss.get("holdout") is not None and loss.get("treated") is not None:
        held = _members(group, HOLDOUT)
        recovery = _interval(
            measured, "recovery", RECOVERY_PRECISION, int(held.sum()), forecast, held
        )
        recovery = _recovery_note(recovery, loss)
    groups = _group_results(sample, measured)
    value = _value(incident, measured, sample, history, plan, arms, loss, recovery)
    calibration = calibrate(incident, loss, recovery, plan, arms, history, measured)
    return Review(
        incident_id=incident.id,
        title=incident.title,
        kind=incident.kind,
        occurred_on=incident.occurred_on,
        orders=orders,
        assignments=None if assignments is None else str(assignments),
        window_from=history.window_from,
        window_to=history.window_to,
        weeks=history.weeks,
        customers=len(position),
        fit=_fit_json(history.result),
        groups=groups,
        loss=loss,
        revenue_loss=revenue_loss,
        recovery=recovery,
        value=value,
        calibration=calibration,
        warnings=tuple(warnings),
        seed=seed,
        replicates=replicates,
        naive_loss=naive_loss(sample),
    )


def _members(group: np.ndarray, g: int) -> np.ndarray:
    return group != UNAFFECTED if g == AFFECTED else group == g


def _measurable(sample: Sample, members: np.ndarray) -> bool:
    return bool(members.any()) and float(sample.expected[members].sum()) >= MIN_EXPECTED


class _Forecast:
    """Expected purchases of a group for a longer window (the "more weeks" advice)."""

    def __init__(self, history: History, group: np.ndarray) -> None:
        self.history = history
        self.group = group

    def weeks_until(self, members: np.ndarray, factor: float) -> int | None:
        """Whole weeks to add to the window until the group's expected purchases grow by
        `factor`, or None when `MAX_MORE_WEEKS` is not enough."""
        from remedy.clv import bgnbd_expected_purchases

        h = self.history
        result = h.result
        x = result.frequency[members]
        tx = result.recency[members]
        T = result.T[members]
        params = result.bgnbd.params
        now = float(h.expected[members].sum())
        goal = factor * now
        if goal <= now:
            return 0
        # Distinct (x, t_x, T) only: customers share them, and eq. (10) costs a few microseconds.
        keys, index, counts = np.unique(
            np.column_stack((x, tx, T)), axis=0, return_inverse=True, return_counts=True
        )
        del index
        low, high = 0, MAX_MORE_WEEKS
        total = float(
            (
                bgnbd_expected_purchases(params, h.weeks + high, keys[:, 0], keys[:, 1], keys[:, 2])
                * counts
            ).sum()
        )
        if total < goal:
            return None
        while high - low > 1:
            middle = (low + high) // 2
            value = float(
                (
                    bgnbd_expected_purchases(
                        params, h.weeks + middle, keys[:, 0], keys[:, 1], keys[:, 2]
                    )
                    * counts
                ).sum()
            )
            if value >= goal:
                high = middle
            else:
                low = middle
        return high


def _interval(
    measured: Measurement,
    key: str,
    target: float,
    customers: int | None,
    forecast: _Forecast | None,
    members: np.ndarray | None,
) -> Interval:
    estimate, low, high, status = interval_of(
        measured.point.get(key), measured.replicates[key], target
    )
    more_customers = more_weeks = None
    if status != "precise" and customers and low is not None and high is not None:
        factor = ((high - low) / 2 / target) ** 2
        more_customers = math.ceil((factor - 1) * customers)
        if forecast is not None and members is not None:
            more_weeks = forecast.weeks_until(members, factor)
    return Interval(estimate, low, high, status, target, "", more_customers, more_weeks)


def _recovery_note(recovery: Interval, loss: Mapping[str, Interval | None]) -> Interval:
    held = loss["holdout"]
    if recovery.low is None and held is not None:
        note = (
            "the holdout's loss is not clearly above zero, so there is no loss to measure a "
            "recovery against"
        )
        return Interval(recovery.estimate, None, None, "too_wide", recovery.target, note)
    return recovery


def _check_window(
    sample: Sample, history: History, incident_name: str, warnings: list[str]
) -> None:
    """The stated rule: a group needs `MIN_EXPECTED` expected purchases in the window."""
    forecast = _Forecast(history, sample.group)
    window = f"{history.window_from.isoformat()} to {history.window_to.isoformat()}"
    for g in (UNAFFECTED, AFFECTED, TREATED, HOLDOUT):
        members = _members(sample.group, g)
        if not members.any():
            continue
        expected = float(sample.expected[members].sum())
        if expected >= MIN_EXPECTED:
            continue
        factor = MIN_EXPECTED / max(expected, 1e-9)
        weeks = forecast.weeks_until(members, factor)
        wait = (
            f"wait about {weeks} more week{'s' if weeks != 1 else ''} "
            f"(until {(history.window_to + dt.timedelta(weeks=weeks)).isoformat()})"
            if weeks is not None
            else "more weeks will not be enough; a review needs more customers"
        )
        text = (
            f"the window {window} holds {expected:.1f} expected purchases by the "
            f"{int(members.sum()):,} {GROUP_NAMES[g]} customers, fewer than the "
            f"{MIN_EXPECTED:g} needed to measure anything; {wait}"
        )
        if g in (UNAFFECTED, AFFECTED):
            raise InputError(f"{incident_name}: {text}")
        warnings.append(f"{text}: the {GROUP_NAMES[g]} arm is not measured")
    if history.weeks < 2:
        warnings.append(
            f"the window is {history.weeks * 7:.0f} days: it measures the first reaction, not "
            "the lasting loss; review again after a few weeks"
        )


def _group_results(sample: Sample, measured: Measurement) -> tuple[GroupResult, ...]:
    out = []
    for g in (UNAFFECTED, AFFECTED, TREATED, HOLDOUT):
        members = _members(sample.group, g)
        name = GROUP_NAMES[g]
        key = f"ratio_{name}"
        if not members.any() or key not in measured.replicates:
            continue
        estimate, low, high, _ = interval_of(measured.point.get(key), measured.replicates[key], 0)
        out.append(
            GroupResult(
                group=name,
                customers=int(members.sum()),
                expected_purchases=float(sample.expected[members].sum()),
                observed_purchases=float(sample.observed[members].sum()),
                ratio=estimate,
                ratio_low=low,
                ratio_high=high,
                expected_revenue=float(sample.expected_revenue[members].sum()),
                observed_revenue=float(sample.observed_revenue[members].sum()),
                matched=measured.matched.get(-1 if g == AFFECTED else g, {}),
            )
        )
    return tuple(out)


def _segment_costs(plan: Plan | None) -> dict[str, tuple[float, float, int]]:
    """Segment -> (plan cost per customer, floor cost per customer, customers)."""
    if plan is None:
        return {}
    return {
        s.segment: (s.cost / s.customers, s.floor_cost / s.customers, s.customers)
        for s in plan.segments
        if s.customers > 0
    }


def _value(
    incident: Incident,
    measured: Measurement,
    sample: Sample,
    history: History,
    plan: Plan | None,
    arms: Assignment | None,
    loss: Mapping[str, Interval | None],
    recovery: Interval | None,
) -> Value:
    from remedy.clv import DEFAULT_HORIZON

    def money(key: str) -> Interval | None:
        if key not in measured.replicates:
            return None
        estimate, low, high, status = interval_of(
            measured.point.get(key), measured.replicates[key], math.inf
        )
        return Interval(estimate, low, high, status, 0.0)

    lost = money("value_lost") if loss.get("affected") is not None else None
    recovered = money("value_recovered") if recovery is not None else None
    plan_cost = extras_cost = None
    costs = _segment_costs(plan)
    if plan is not None:
        if arms is None:
            plan_cost = plan.total_cost
            extras_cost = plan.total_cost - plan.floor.cost
        else:
            counts = arms.counts()
            known = {segment for segment, _ in counts}
            if known <= costs.keys():
                plan_cost = extras_cost = 0.0
                for (segment, arm), n in counts.items():
                    full, floor, _ = costs[segment]
                    plan_cost += n * (full if arm == TREATED else floor)
                    extras_cost += n * (full - floor) if arm == TREATED else 0.0
            else:  # segments unknown to the plan (no segment column): shares of the totals
                total = sum(counts.values())
                treated = sum(n for (_, arm), n in counts.items() if arm == TREATED)
                customers = sum(s.customers for s in plan.segments) or total
                per_full, per_floor = plan.total_cost / customers, plan.floor.cost / customers
                plan_cost = treated * per_full + (total - treated) * per_floor
                extras_cost = treated * (per_full - per_floor)
    clv = history.result.clv

    def projected(share: Interval | None, members: np.ndarray) -> Interval | None:
        if share is None:
            return None
        total = float(clv[members].sum())

        def scale(v: float | None) -> float | None:
            return None if v is None else v * total

        return Interval(
            scale(share.estimate), scale(share.low), scale(share.high), share.status, 0.0
        )

    projected_lost = projected(loss.get("affected"), sample.group != UNAFFECTED)
    projected_recovered = None
    if recovery is not None and loss.get("holdout") is not None and loss.get("treated"):
        gap = measured.replicates["loss_holdout"] - measured.replicates["loss_treated"]
        estimate, low, high, status = interval_of(
            measured.point["loss_holdout"] - measured.point["loss_treated"], gap, math.inf
        )
        projected_recovered = projected(
            Interval(estimate, low, high, status, 0.0), sample.group == TREATED
        )
    return Value(
        currency=incident.currency,
        lost=lost,
        recovered=recovered,
        plan_cost=plan_cost,
        extras_cost=extras_cost,
        projected_lost=projected_lost,
        projected_recovered=projected_recovered,
        horizon_weeks=float(DEFAULT_HORIZON["week"]),
        clv_basis=("gross margin" if history.result.gross_margin is not None else "revenue"),
        gross_margin=float(incident.business.gross_margin),
    )


def calibrate(
    incident: Incident,
    loss: Mapping[str, Interval | None],
    recovery: Interval | None,
    plan: Plan | None,
    arms: Assignment | None,
    history: History,
    measured: Measurement,
) -> Calibration:
    """The calibrated delta and recovery for the next incident (see the module's rules)."""
    from remedy.stake import modifiers

    found = modifiers(incident)
    factor = float(np.prod([m.factor for m in found])) if found else 1.0
    comments: list[str] = []
    held = loss.get("holdout")
    if arms is not None and held is not None and held.low is not None:
        floor_rho = _floor_recovery(plan)
        source = "holdout"
        measured_loss = held
        scale = 1.0 / ((1.0 - floor_rho) * factor)
        comments.append(
            f"delta: the holdout arm's loss (the obligation floor and the apology only), "
            f"{_pct(held.estimate)} [{_pct(held.low)}, {_pct(held.high)}]"
            + (
                f", / (1 - {floor_rho:.2f}), the recovery the plan credits the floor "
                f"({', '.join(_floor_options(plan))}) with"
                if floor_rho > 0
                else ""
            )
        )
    elif (affected := loss.get("affected")) is not None and affected.low is not None:
        source = "affected (net of the remedy)"
        measured_loss = affected
        scale = 1.0 / factor
        who = "they all got the plan" if arms is None else "the holdout could not be measured"
        comments.append(
            f"delta: the affected customers' loss, {_pct(affected.estimate)} "
            f"[{_pct(affected.low)}, {_pct(affected.high)}]: {who}, so this is delta net of "
            "the remedy, a lower bound (draft the next incident with --holdout to measure both)"
        )
    else:
        return Calibration(None, "none", None, None, (), ("nothing measured to calibrate",))
    if factor != 1.0:
        comments.append(
            "  divided by this incident's modifiers ("
            + ", ".join(f"{m.name} x{m.factor:g}" for m in found)
            + "): assumptions.delta is before modifiers"
        )
    if measured_loss.status != "precise":
        comments.append(
            f"  its interval is wider than +-{LOSS_PRECISION:.0%}: "
            + _status_words(measured_loss.status)
        )
    values = [
        v * scale
        for v in (measured_loss.low, measured_loss.estimate, measured_loss.high)
        if v is not None
    ]
    delta = _triple(values) if len(values) == 3 else None
    rec = None
    option = None
    options: tuple[str, ...] = ()
    if recovery is not None and recovery.low is not None and recovery.high is not None:
        options = _withheld_options(plan)
        rec = _triple([recovery.low, recovery.estimate or 0.0, recovery.high])
        option = options[0] if len(options) == 1 else None
        comments.append(
            f"recovery: the plan's extras ({', '.join(options) or 'beyond the floor'}) won back "
            f"{_pct(recovery.estimate)} [{_pct(recovery.low)}, {_pct(recovery.high)}] of the "
            "holdout's loss"
        )
        if option is None and options:
            comments.append(
                "  several options were withheld together, and the file sets recovery per "
                "option: set it on the one you will use alone, or keep the defaults"
            )
    return Calibration(delta, source, rec, option, options, tuple(comments))


def _floor_recovery(plan: Plan | None) -> float:
    """The share of the value at stake the plan credits the obligation floor with keeping."""
    if plan is None:
        return 0.0
    stake = sum(s.value_at_stake for s in plan.segments)
    kept = sum(s.floor_value + s.floor_cost for s in plan.segments)
    if stake <= 0 or all(_is_apology(s.floor_options) for s in plan.segments):
        return 0.0
    return float(min(max(kept / stake, 0.0), 0.95))


def _is_apology(options: Sequence[str]) -> bool:
    return all(o == "apology_only" for o in options)


def _floor_options(plan: Plan | None) -> list[str]:
    if plan is None:
        return []
    found: list[str] = []
    for s in plan.segments:
        for o in s.floor_options:
            if o != "apology_only" and o not in found:
                found.append(o)
    return found


def _withheld_options(plan: Plan | None) -> tuple[str, ...]:
    if plan is None:
        return ()
    from remedy.holdouts import withheld

    found: list[str] = []
    for offer, floor in zip(plan.offers, plan.floor_offers, strict=False):
        for o in withheld(offer, floor):
            if o not in found:
                found.append(o)
    return tuple(found)


def _triple(values: Sequence[float]) -> tuple[float, float, float]:
    low, likely, high = sorted(min(max(float(v), 0.0), 1.0) for v in values)
    return (round(low, 3), round(likely, 3), round(high, 3))


def assumptions_yaml(review: Review) -> str:
    """The calibrated inputs as a YAML snippet for the next incident file, with the review it
    came from in comments."""
    c = review.calibration
    lines = [
        f"# Calibrated by `remedy review` of incident '{review.incident_id}' "
        f"(occurred {review.occurred_on.isoformat()}),",
        f"# from {review.orders}, window {review.window_from.isoformat()} to "
        f"{review.window_to.isoformat()} ({review.weeks:.1f} weeks), "
        f"{LEVEL:.0%} intervals, seed {review.seed}.",
    ]
    lines += [f"# {comment}" for comment in c.comments]
    if c.delta is None:
        lines.append("# Nothing was measured precisely enough to write a value.")
        return "\n".join(lines) + "\n"
    lines += ["assumptions:", f"  delta: [{', '.join(f'{v:g}' for v in c.delta)}]"]
    if c.recovery is not None:
        values = ", ".join(f"{v:g}" for v in c.recovery)
        if c.recovery_option is not None:
            lines += ["options:", f"  {c.recovery_option}:", f"    recovery: [{values}]"]
        else:
            lines.append(f"# the extras together: recovery [{values}]")
    return "\n".join(lines) + "\n"


# --- rendering -------------------------------------------------------------------------------
# One JSON-ready dict (`Review.to_json`) is the source of every format; the HTML page
# (`remedy.review_html`, registered in RENDERERS) renders the same dict.


def _fit_json(result: ClvResult) -> dict[str, Any]:
    return {
        "customers": result.customers,
        "bgnbd": {
            k: v
            for k, v in result.bgnbd.to_json().items()
            if k in ("r", "alpha", "a", "b", "log_likelihood")
        },
        "spend_model": "gamma-gamma"
        if result.gamma_gamma is not None
        else "mean transaction value",
        "time_unit": "week",
    }


def _status_words(status: str) -> str:
    return {
        "precise": "precise enough to plan with",
        "direction": "the direction is clear, the size is not",
        "too_wide": "too wide to conclude anything",
    }[status]


def _pct(value: float | None, sign: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.1%}" if sign else f"{value:.1%}"


def _advice(interval: Interval, unit: str) -> str:
    """What would make a wide interval precise: more customers, or more weeks of orders."""
    if interval.status == "precise":
        return ""
    parts = []
    if interval.more_customers is not None:
        parts.append(f"about {interval.more_customers:,} more {unit}")
    if interval.more_weeks is not None:
        parts.append(f"about {interval.more_weeks} more weeks of orders")
    elif interval.more_customers is not None:
        parts.append("more weeks alone would not do")
    if not parts:
        return ""
    return f"to reach +-{interval.target:.0%}: " + ", or ".join(parts)


def _loss_line(name: str, interval: Interval | None) -> list[str]:
    if interval is None:
        return [f"  {name:<10} not measured (too few expected purchases in the window)"]
    head = (
        f"  {name:<10} {_pct(interval.estimate):>7}  (90%: {_pct(interval.low)} to "
        f"{_pct(interval.high)})  {_status_words(interval.status)}"
    )
    out = [head]
    advice = _advice(interval, f"{name} customers")
    if advice:
        out.append(f"{'':13}{advice}")
    return out


def _money(value: float | None, currency: str) -> str:
    from remedy.money import format_money

    if value is None:
        return "n/a"
    return format_money(value, currency)


def to_text(review: Review) -> str:
    """The table format: a plain-text report."""
    data = review
    lines = [
        f"remedy review: {data.incident_id} ({data.title})",
        f"incident {data.occurred_on.isoformat()}; window {data.window_from.isoformat()} to "
        f"{data.window_to.isoformat()} ({data.weeks:.1f} weeks); {data.customers:,} customers "
        f"with a purchase before it; BG/NBD on the history",
        "",
        f"{'group':<11}{'customers':>10}{'expected':>11}{'observed':>11}{'ratio':>8}  90% interval",
    ]
    for g in data.groups:
        indent = "  " if g.group in ("treated", "holdout") else ""
        lines.append(
            f"{indent + g.group:<11}{g.customers:>10,}{g.expected_purchases:>11,.0f}"
            f"{g.observed_purchases:>11,.0f}{_num(g.ratio):>8}  "
            f"{_num(g.ratio_low)} to {_num(g.ratio_high)}"
        )
    lines += [
        "",
        "loss: the share of expected purchases not made, against matched unaffected customers",
    ]
    for name in ("affected", "treated", "holdout"):
        if name in data.loss:
            lines += _loss_line(name, data.loss[name])
    matched = next((g.matched for g in data.groups if g.group == "affected"), {})
    if matched:
        lines.append(
            "  matched on frequency and days since last purchase: "
            f"{_pct(matched.get('frequency_and_recency'))} of the affected customers' expected "
            f"purchases; recency only {_pct(matched.get('recency_only'))}; all unaffected "
            f"{_pct(matched.get('all_unaffected'))}"
        )
    if data.naive_loss is not None:
        naive = data.naive_loss
        lines.append(
            "  (purchases per customer, without the model or the matching, would say the "
            f"affected bought {_pct(abs(naive))} {'less' if naive >= 0 else 'more'}: a "
            "comparison biased by who was hit)"
        )
    if data.recovery is not None:
        r = data.recovery
        lines += [
            "",
            f"recovery: the remedy won back {_pct(r.estimate)} of the holdout's loss "
            f"(90%: {_pct(r.low)} to {_pct(r.high)})  {_status_words(r.status)}",
        ]
        if r.note:
            lines.append(f"  {r.note}")
        advice = _advice(r, "holdout customers (and treated ones in proportion)")
        if advice:
            lines.append(f"  {advice}")
    elif data.assignments is None:
        lines += ["", "recovery: not measured (no --assignments from drafts --holdout)"]
    else:
        lines += [
            "",
            "recovery: not measured (the holdout or the treated arm is empty or too small)",
        ]
    v = data.value
    cur = v.currency
    lines += ["", f"value ({cur}, revenue in the window)"]
    if v.lost is not None:
        lines.append(
            f"  lost by the affected     {_money(v.lost.estimate, cur):>12}  "
            f"(90%: {_money(v.lost.low, cur)} to {_money(v.lost.high, cur)})"
        )
    if v.recovered is not None:
        lines.append(
            f"  won back by the remedy   {_money(v.recovered.estimate, cur):>12}  "
            f"(90%: {_money(v.recovered.low, cur)} to {_money(v.recovered.high, cur)})"
        )
    if v.plan_cost is not None:
        lines.append(
            f"  the plan cost            {_money(v.plan_cost, cur):>12}  "
            f"(its extras beyond the obligations: {_money(v.extras_cost, cur)})"
        )
    if v.recovered is not None and v.recovered.estimate is not None and v.extras_cost:
        margin = v.recovered.estimate * v.gross_margin
        lines.append(
            f"  in gross margin ({v.gross_margin:.0%}) the remedy won back "
            f"{_money(margin, cur)} in the window for extras that cost "
            f"{_money(v.extras_cost, cur)} ({margin / v.extras_cost:.1f}x)"
        )
    if v.projected_lost is not None:
        text = (
            f"  if the loss lasts {v.horizon_weeks:g} weeks ({v.clv_basis}): lost "
            f"{_money(v.projected_lost.estimate, cur)}"
        )
        if v.projected_recovered is not None:
            text += f", won back {_money(v.projected_recovered.estimate, cur)}"
        lines.append(text)
    c = data.calibration
    if c.delta is not None:
        lines += [
            "",
            f"for the next incident (--write-assumptions): assumptions.delta "
            f"[{', '.join(f'{x:g}' for x in c.delta)}] ({c.delta_source})"
            + (
                f"; recovery [{', '.join(f'{x:g}' for x in c.recovery)}]"
                if c.recovery is not None
                else ""
            ),
        ]
    return "".join(_wrap(line) for line in lines)


def _wrap(line: str, width: int = 100) -> str:
    """A long line wrapped, its continuation indented under its text."""
    import textwrap

    if len(line) <= width:
        return line + "\n"
    indent = " " * (len(line) - len(line.lstrip()) + 2)
    return textwrap.fill(line, width, subsequent_indent=indent, break_on_hyphens=False) + "\n"


def to_markdown(review: Review) -> str:
    """A Markdown report for a post-mortem."""
    d = review
    cur = d.value.currency
    lines = [
        f"# Review: {d.title}",
        "",
        f"Incident `{d.incident_id}` on {d.occurred_on.isoformat()}; window "
        f"{d.window_from.isoformat()} to {d.window_to.isoformat()} ({d.weeks:.1f} weeks); "
        f"{d.customers:,} customers with a purchase before it.",
        "",
        "| group | customers | expected | observed | ratio | 90% interval |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for g in d.groups:
        lines.append(
            f"| {g.group} | {g.customers:,} | {g.expected_purchases:,.0f} | "
            f"{g.observed_purchases:,.0f} | {_num(g.ratio)} | {_num(g.ratio_low)} to "
            f"{_num(g.ratio_high)} |"
        )
    lines += ["", "| loss | estimate | 90% interval | reading |", "|---|---:|---|---|"]
    for name, interval in d.loss.items():
        if interval is None:
            lines.append(f"| {name} | n/a | | not measured |")
            continue
        advice = _advice(interval, f"{name} customers")
        lines.append(
            f"| {name} | {_pct(interval.estimate)} | {_pct(interval.low)} to "
            f"{_pct(interval.high)} | {_status_words(interval.status)}"
            + (f"; {advice}" if advice else "")
            + " |"
        )
    if d.recovery is not None:
        r = d.recovery
        advice = _advice(r, "holdout customers (and treated ones in proportion)")
        reading = "; ".join(x for x in (_status_words(r.status), r.note, advice) if x)
        lines.append(
            f"| **recovery** | {_pct(r.estimate)} | {_pct(r.low)} to {_pct(r.high)} | {reading} |"
        )
    v = d.value
    lines += ["", "## Value (revenue in the window)", ""]
    if v.lost is not None:
        lines.append(
            f"- Lost by the affected customers: {_money(v.lost.estimate, cur)} "
            f"(90%: {_money(v.lost.low, cur)} to {_money(v.lost.high, cur)})"
        )
    if v.recovered is not None:
        lines.append(
            f"- Won back by the remedy: {_money(v.recovered.estimate, cur)} "
            f"(90%: {_money(v.recovered.low, cur)} to {_money(v.recovered.high, cur)})"
        )
    if v.plan_cost is not None:
        lines.append(
            f"- The plan cost {_money(v.plan_cost, cur)}; its extras beyond the obligations "
            f"{_money(v.extras_cost, cur)}"
        )
    lines += ["", "## For the next incident", "", "```yaml", assumptions_yaml(d).rstrip(), "```"]
    if d.warnings:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in d.warnings]
    return "\n".join(lines) + "\n"


def to_html(review: Review) -> str:
    """One self-contained HTML page with a chart (`remedy.review_html`; imports matplotlib)."""
    from remedy.review_html import review_to_html

    return review_to_html(review)


RENDERERS: dict[str, Callable[[Review], str]] = {
    "table": to_text,
    "markdown": to_markdown,
    "html": to_html,
}


# --- helpers ---------------------------------------------------------------------------------


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _round(value: float | None, digits: int = 4) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
