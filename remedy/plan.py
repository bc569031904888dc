"""The plan: what each segment gets, what it costs, what it keeps, and how sure we are.

Scoring model sections 4 and 5 with revision 2. Every plan is measured against the *floor*, the
cheapest plan that meets every obligation: money owed back (a double charge, goods never
delivered) is the floor's cost, not a loss. The plan's net value is what it adds over the floor;
its total cost includes the floor.

The steps:
1. Expected value kept and cost of every candidate in every segment (a first pass over the
   Monte Carlo draws, a chunk at a time, so memory does not grow with the draws).
2. The decision (`remedy.decide`) within the budget and the call capacity; the floor.
3. The candidate plans of each segment (`CandidatePlan`): the floor, the plan's own, the best
   others and any that win in some draw, with P10-P90 of their net value over the floor and the
   probability that each is the segment's best choice (a second pass; P(best) sums to 1).
4. One option at a time (`OptionScore`, the older view kept in the JSON): the best candidate
   containing it, its break-even CLV and how often it pays for itself.
5. Sensitivity (each uncertain input low and high), the binding constraints, and the offers the
   drafts are written from.

Everything is deterministic for a given incident and seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from remedy import defaults
from remedy.decide import Decider, Decision, Table
from remedy.incident import Estimate, Incident
from remedy.money import format_money
from remedy.offer import Offer
from remedy.options import GOODS_KINDS, credit_amount_default, refund_amount
from remedy.score import (
    CALL,
    Evaluation,
    Model,
    Obligation,
    build_model,
    chunks,
    evaluate,
    mix,
)
from remedy.stake import Draws, Values, scenarios

APOLOGY = "apology_only"
SHOWN_PER_SEGMENT = 6  # candidate plans listed per segment, besides the floor and the plan's
SENSITIVITY_INPUTS = 12  # inputs swung through the decision again (the ones that move it most)


# --- Results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CandidatePlan:
    """One candidate plan for a segment: a set of remedies (calls to `calls` customers)."""

    segment: str
    options: tuple[str, ...]  # remedies, personal_call included when anyone is called
    customers: int
    calls: int
    cost: float
    retained_value: float
    net_value: float  # over the segment's floor
    p_best: float  # share of draws in which it is the segment's best choice
    net_p10: float
    net_p50: float
    net_p90: float
    in_plan: bool
    floor: bool  # the segment's part of the floor
    feasible: bool  # meets every obligation
    within_budget: bool
    choice: bool
    why_not: str = ""
    # Net value over the floor at every percentile 0..100 of the draws: the distribution, for
    # charts (not in the JSON).
    net_quantiles: tuple[float, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class OptionScore:
    """One option for one segment, scored inside the best candidate plan containing it."""

    option: str
    segment: str
    customers: int
    scored_with: tuple[str, ...]
    cost: float
    retained_value: float
    net_value: float  # over the floor
    break_even_clv: float | None  # the CLV at which the option's extra cost = the value it keeps
    pays_when: str  # "clv_above" / "clv_below" the break-even, "always" or "never"
    p_best: float  # share of draws in which the segment's best candidate includes the option
    p_pays: float  # share of draws in which the option adds more value than it costs
    net_p10: float
    net_p50: float
    net_p90: float
    recovery: float  # expected share of the value at stake the candidate keeps
    feasible: bool
    in_plan: bool


@dataclass(frozen=True)
class Action:
    """One thing to do: an option for a segment, how many customers, what it costs."""

    option: str
    segment: str
    customers: int
    cost: float


@dataclass(frozen=True)
class SegmentPlan:
    """What one segment gets and what it is worth."""

    segment: str
    customers: int
    clv: float
    delta: float
    spillover: float  # word of mouth and publicity, as a share of CLV
    value_at_stake: float
    options: tuple[str, ...]  # personal_call included when anyone is called
    calls: int
    choice: bool
    cost: float
    retained_value: float
    net_value: float  # over the floor
    floor_options: tuple[str, ...]
    floor_cost: float
    floor_value: float  # kept minus cost of the floor (absolute)
    clv_range: tuple[float, float, float] = (0.0, 0.0, 0.0)  # the CLV input: low, likely, high


@dataclass(frozen=True)
class Floor:
    """The cheapest plan meeting every obligation: what every plan is measured against."""

    segments: tuple[tuple[str, tuple[str, ...]], ...]  # (segment, options)
    cost: float
    retained_value: float

    @property
    def value(self) -> float:
        return self.retained_value - self.cost


@dataclass(frozen=True)
class Constraint:
    """A constraint that changed the plan, and what it cost in expected value."""

    constraint: str  # "budget", "call_capacity" or "required"
    detail: str
    cost_in_value: float


@dataclass(frozen=True)
class Sensitivity:
    """One uncertain input swung from low to high with the others at their likely values."""

    input: str
    low: float
    high: float
    plan_at_low: str
    plan_at_high: str
    changes: bool
    net_at_low: float  # the recommended plan's net value (over its floor) at the input's low
    net_at_high: float


@dataclass(frozen=True)
class Assumption:
    """An input of the plan: its value and where it came from."""

    name: str
    value: str
    source: str


@dataclass(frozen=True)
class Plan:
    """The recommended remediation plan for an incident, with its uncertainty."""

    incident_id: str
    title: str
    kind: str
    currency: str
    draws: int
    seed: int
    segments: tuple[SegmentPlan, ...]
    candidates: tuple[CandidatePlan, ...]
    options: tuple[OptionScore, ...]
    actions: tuple[Action, ...]
    floor: Floor
    total_cost: float
    expected_net_value: float  # over the floor
    net_p10: float
    net_p50: float
    net_p90: float
    value_at_stake: float
    binding_constraints: tuple[Constraint, ...]
    sensitivity: tuple[Sensitivity, ...]
    assumptions: tuple[Assumption, ...]
    obligations: tuple[Obligation, ...]
    offers: tuple[Offer, ...]
    notes: tuple[str, ...]
    budget: float | None
    call_capacity: int | None
    optimality_gap: float = 0.0
    floor_offers: tuple[Offer, ...] = ()  # what each segment gets in the floor (a holdout arm)

    @property
    def summary(self) -> str:
        """The whole plan in a few words: `refund + personal_call (48 calls)` per segment."""
        return _summary_of([(s.segment, s.options, s.calls) for s in self.segments])


# --- expectations (pass 1) -------------------------------------------------------------------


@dataclass(frozen=True)
class Expectations:
    """Expected values per customer over the draws."""

    retained: np.ndarray  # (K, M) value kept
    cost: np.ndarray  # (M,)
    calls: np.ndarray  # (M,) calls per customer
    stake: np.ndarray  # (K,)
    clv: np.ndarray  # (K,)
    delta: float
    spillover: float
    penalty: np.ndarray  # (K,) fairness cost per customer, when it applies


def _sum_over_draws(a: np.ndarray, b: np.ndarray, count: int) -> np.ndarray:
    """sum over draws of a (M, D|1) times b (D|1,), for `count` draws."""
    if a.shape[1] == 1 and b.size == 1:
        return np.asarray(a[:, 0] * float(b[0]) * count)
    if a.shape[1] == 1:
        return np.asarray(a[:, 0] * float(b.sum()))
    if b.size == 1:
        return np.asarray(a.sum(axis=1) * float(b[0]))
    return np.asarray(a @ b)


def _total(a: np.ndarray, count: int) -> np.ndarray:
    """sum over draws of a (..., D|1)."""
    return np.asarray(a[..., 0] * count if a.shape[-1] == 1 else a.sum(axis=-1))


def _calls_per_customer(model: Model, values: Mapping[str, np.ndarray]) -> np.ndarray:
    """(M, D): the share of each candidate's customers who get a call (an on-request call
    reaches only those who ask)."""
    has_call = np.array([[CALL in p] for p in model.packages], dtype=float)
    return mix(model, has_call, values)


def expectations(model: Model, values: Values | Draws, draws: int) -> Expectations:
    """Pass 1: the expected value kept, cost and calls of every candidate per customer, over
    `draws` draws (full arrays, or a `Draws` that makes them a chunk at a time)."""
    k_count = len(model.valuation.segments)
    m_count = len(model.candidates)
    retained = np.zeros((k_count, m_count))
    cost = np.zeros(m_count)
    calls = np.zeros(m_count)
    stake = np.zeros(k_count)
    clv = np.zeros(k_count)
    penalty = np.zeros(k_count)
    delta = spill = 0.0
    for window, part, ev in chunks(model, values):
        n = window.stop - window.start
        fairness = np.atleast_1d(part["assumptions.fairness_penalty"])
        for k in range(k_count):
            retained[k] += _sum_over_draws(ev.recovery[k], ev.stake[k], n)
            stake[k] += float(_total(ev.stake[k][None, :], n)[0])
            clv[k] += float(_total(ev.clv[k][None, :], n)[0])
            penalty[k] += float(_sum_over_draws(ev.stake[k][None, :], fairness, n)[0])
        cost += _total(ev.cost, n)
        calls += _total(_calls_per_customer(model, part), n)
        delta += float(_total(ev.delta[None, :], n)[0])
        spill += float(_total(np.atleast_1d(model.valuation.spillover(part))[None, :], n)[0])
    return Expectations(
        retained / draws,
        cost / draws,
        calls / draws,
        stake / draws,
        clv / draws,
        delta / draws,
        spill / draws - 1.0,
        penalty / draws if model.fairness else np.zeros(k_count),
    )


def table_of(model: Model, ex: Expectations) -> Table:
    """Whole-segment expected totals for the decider."""
    n = np.array([s.customers for s in model.valuation.segments], dtype=float)[:, None]
    return Table(
        value=n * (ex.retained - ex.cost[None, :]),
        cost=n * ex.cost[None, :],  # (K, M): the same cost per customer in every segment
        calls=n * ex.calls[None, :],
        penalty=n[:, 0] * ex.penalty,
    )


# --- rows: a segment's candidate plans ----------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """A candidate plan of one segment: candidate `base` (no call), its call variant `call`
    (or -1) given to a share `share` of the customers."""

    k: int
    base: int
    call: int
    share: float
    within_budget: bool = True


def _whole_calls(decider: Decider, table: Table, decision: Decision) -> Decision:
    """Round each segment's calls down to whole calls (keeps within capacity and budget)."""
    shares = []
    for k, (m, share) in enumerate(zip(decision.picks, decision.shares, strict=True)):
        c = int(decider.call_of[m])
        full = float(table.calls[k, c]) if c >= 0 else 0.0
        if share <= 0 or full <= 0:
            shares.append(0.0)
            continue
        whole = np.floor(share * full + 1e-6)
        shares.append(float(whole / full))
    value, cost, calls = decider.totals(table, decision.picks, shares)
    return replace(decision, shares=tuple(shares), value=value, cost=cost, calls=calls)


def _rows(
    model: Model,
    decider: Decider,
    table: Table,
    decision: Decision,
    floor: Decision,
    budget: float | None,
    capacity: int | None,
) -> list[list[Row]]:
    """Each segment's candidate plans with the rest of the plan fixed: every lawful candidate,
    without and (where capacity allows) with calls."""
    out: list[list[Row]] = []
    plan_calls = [
        decision.shares[k] * float(table.calls[k, max(0, int(decider.call_of[m]))])
        if decider.call_of[m] >= 0
        else 0.0
        for k, m in enumerate(decision.picks)
    ]
    for k in range(decider.k):
        others_cost = decision.cost - _segment_cost(decider, table, decision, k)
        room_calls = None if capacity is None else capacity - (sum(plan_calls) - plan_calls[k])
        rows: list[Row] = []
        for m in decider.bases:
            m = int(m)
            # Candidates that break an obligation are kept only as the apology-only row, so
            # the options table can show what an apology alone would do.
            if not model.candidates[m].feasible and model.candidates[m].options != ():
                continue
            cost0 = float(table.cost[k, m])
            fits = budget is None or cost0 + others_cost <= budget + 1e-9 * max(1.0, budget)
            rows.append(Row(k, m, -1, 0.0, fits))
            c = int(decider.call_of[m])
            if c < 0:
                continue
            if m == decision.picks[k] and decision.shares[k] > 0:
                share = decision.shares[k]
            else:
                share = 1.0
                full = float(table.calls[k, c])
                if room_calls is not None and full > 0:
                    share = min(share, max(0.0, room_calls) / full)
                extra = float(table.cost[k, c]) - cost0
                if budget is not None and extra > 0:
                    share = min(share, max(0.0, (budget - others_cost - cost0) / extra))
                if full > 0:
                    share = float(np.floor(share * full + 1e-6) / full)
            if share > 0:
                rows.append(Row(k, m, c, share, fits))
        out.append(rows)
    return out


def _segment_cost(decider: Decider, table: Table, decision: Decision, k: int) -> float:
    m = decision.picks[k]
    c = int(decider.call_of[m])
    cost = float(table.cost[k, m])
    if c >= 0 and decision.shares[k] > 0:
        cost += decision.shares[k] * (float(table.cost[k, c]) - cost)
    return cost


def _row_net(ev: Evaluation, k: int, rows: Sequence[Row], n: int) -> np.ndarray:
    """(R, D) net value of each row per draw (whole segment, not over the floor)."""
    net = ev.net(k)
    base = np.array([r.base for r in rows], dtype=int)
    out = net[base]
    calls = [i for i, r in enumerate(rows) if r.call >= 0]
    if calls:
        idx = np.array(calls)
        share = np.array([rows[i].share for i in calls])[:, None]
        called = net[np.array([rows[i].call for i in calls])]
        out = np.broadcast_to(out, (len(rows), net.shape[1])).copy()
        out[idx] = (1 - share) * out[idx] + share * called
    return n * out


class _Summary:
    """The distribution of one quantity over the draws, in bounded memory: every value while
    there are at most `CAP` (percentiles then exactly as `numpy.percentile`), beyond that a
    summary of `CAP` equally weighted order statistics plus the draws since (percentiles
    within about 1/`CAP`). At most 1.5 x `CAP` values are held."""

    CAP = 10_000

    def __init__(self) -> None:
        self.values: list[np.ndarray] = []
        self.stored = 0
        self.summary: np.ndarray | None = None  # CAP order statistics, once compressed
        self.summarised = 0.0  # how many draws the summary stands for

    def add(self, values: np.ndarray) -> None:
        chunk = np.array(values, dtype=float).ravel()
        self.values.append(chunk)
        self.stored += chunk.size
        if self.stored > (3 * self.CAP // 2 if self.summary is None else self.CAP // 2):
            self._compress()

    def _weighted(self) -> tuple[np.ndarray, np.ndarray]:
        fresh = np.concatenate(self.values) if self.values else np.zeros(0)
        if self.summary is None:
            return fresh, np.ones(fresh.size)
        weight = self.summarised / self.summary.size
        values = np.concatenate([self.summary, fresh])
        weights = np.concatenate([np.full(self.summary.size, weight), np.ones(fresh.size)])
        return values, weights

    def _compress(self) -> None:
        values, weights = self._weighted()
        order = np.argsort(values, kind="stable")
        values, weights = values[order], weights[order]
        total = float(weights.sum())
        targets = (np.arange(self.CAP) + 0.5) * total / self.CAP
        picked = np.minimum(np.searchsorted(np.cumsum(weights), targets), values.size - 1)
        self.summary = values[picked]
        self.summarised = total
        self.values = []
        self.stored = 0

    def percentiles(self, qs: Sequence[float] | np.ndarray) -> np.ndarray:
        values, weights = self._weighted()
        if self.summary is None:
            return np.asarray(np.percentile(values, qs))
        order = np.argsort(values, kind="stable")
        values, weights = values[order], weights[order]
        position = (np.cumsum(weights) - weights / 2) / weights.sum()
        return np.asarray(np.interp(np.asarray(qs, dtype=float) / 100, position, values))


@dataclass
class _DrawStats:
    """Pass 2 (and 3): per segment, how often each row is the best; the distribution of the
    rows asked for; how often an option pays (its row against the row without it); and the
    distribution of the whole plan's net value."""

    wins: list[np.ndarray]
    kept: dict[tuple[int, int], _Summary] = field(default_factory=dict)
    pays: dict[tuple[int, int, int], int] = field(default_factory=dict)
    plan: _Summary = field(default_factory=_Summary)
    draws: int = 0

    def pct(self, k: int, r: int) -> tuple[float, float, float]:
        p10, p50, p90 = self.kept[(k, r)].percentiles([10, 50, 90])
        return float(p10), float(p50), float(p90)


def _pass(
    model: Model,
    values: Values | Draws,
    rows: list[list[Row]],
    wanted: set[tuple[int, int]],
    offsets: Sequence[tuple[int, np.ndarray]],
    *,
    count_wins: bool,
    pairs: Sequence[tuple[int, int, int]] = (),
    plan_row: Sequence[int] | None = None,
) -> _DrawStats:
    """One pass over the draws: wins per row, the distribution of the `wanted` rows, how often
    each (segment, with, without) pair pays, and the plan's total net value (`plan_row`)."""
    stats = _DrawStats([np.zeros(len(r)) for r in rows])
    for key in wanted:
        stats.kept[key] = _Summary()
    for pair_key in pairs:
        stats.pays[pair_key] = 0
    by_segment: dict[int, list[tuple[int, int, int]]] = {}
    for pair in pairs:
        by_segment.setdefault(pair[0], []).append(pair)
    sizes = [s.customers for s in model.valuation.segments]
    for window, _, ev in chunks(model, values):
        n_draws = window.stop - window.start
        stats.draws += n_draws
        plan_total = np.zeros(n_draws)
        for k, segment_rows in enumerate(rows):
            if not segment_rows:
                continue
            keep = [r for r in range(len(segment_rows)) if (k, r) in wanted]
            if not (count_wins or keep or k in by_segment or plan_row is not None):
                continue
            floor_at, fair = offsets[k]
            raw = _row_net(ev, k, segment_rows, sizes[k])
            net = raw - raw[floor_at][None, :] - fair[:, None]
            net = np.broadcast_to(net, (len(segment_rows), max(net.shape[1], n_draws)))
            if count_wins:
                allowed = np.array(
                    [r.within_budget and model.candidates[r.base].feasible for r in segment_rows]
                )
                # The floor is planned even when it alone breaks the budget (every lawful row
                # costs at least as much): it is then the only candidate that can be best.
                allowed[floor_at] = True
                masked = np.where(allowed[:, None], net, -np.inf)
                best = np.argmax(masked, axis=0)
                stats.wins[k] += np.bincount(best, minlength=len(segment_rows))
            for r in keep:
                stats.kept[(k, r)].add(net[r])
            for pair in by_segment.get(k, ()):
                stats.pays[pair] += int((net[pair[1]] - net[pair[2]] > 1e-9).sum())
            if plan_row is not None:
                plan_total += net[plan_row[k]]
        if plan_row is not None:
            stats.plan.add(plan_total)
    return stats


# --- the plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    """A plan with the model and the draws behind it (for `remedy explain`)."""

    plan: Plan
    model: Model
    values: Draws  # the Monte Carlo draws, made a chunk at a time
    likely: Mapping[str, np.ndarray]
    expectations: Expectations
    decision: Decision
    floor: Decision


def make_plan(
    incident: Incident,
    *,
    draws: int = 10_000,
    seed: int = 0,
    clv_override: Mapping[str, Estimate] | None = None,
) -> Plan:
    """Score the options of `incident` and recommend a plan per segment.

    `draws` Monte Carlo draws of every uncertain input (PERT), seeded by `seed`; the same
    incident and seed give the same plan. `clv_override` maps segment names to CLV estimates
    (e.g. from an order history) that take precedence over the file's `clv`.
    """
    return plan_in_detail(incident, draws=draws, seed=seed, clv_override=clv_override).plan


def plan_in_detail(
    incident: Incident,
    *,
    draws: int = 10_000,
    seed: int = 0,
    clv_override: Mapping[str, Estimate] | None = None,
) -> Planned:
    """`make_plan`, returning also the model, the draws and the decision behind it."""
    model = build_model(incident, clv_override)
    values = Draws(model.inputs, draws, seed)
    ex = expectations(model, values, draws)
    table = table_of(model, ex)
    decider = Decider(model)
    budget = float(incident.business.budget) if incident.business.budget is not None else None
    capacity = model.call_capacity
    decision = _whole_calls(decider, table, decider.decide(table, budget, capacity))
    floor = decider.floor(table)
    rows = _rows(model, decider, table, decision, floor, budget, capacity)
    sizes = [s.customers for s in model.valuation.segments]
    plan_row = [_find(rows[k], decision.picks[k], decision.shares[k]) for k in range(decider.k)]
    floor_row = [_find(rows[k], floor.picks[k], 0.0) for k in range(decider.k)]
    # Nets over the floor: in each draw, a row's value less the floor's in the same draw (so
    # the floor is 0 in every draw and P10-P90 are those of the difference), and less the
    # fairness cost charged to the row (a constant per row).
    fairness = [_fairness(decider, table, decision, k, rows[k]) for k in range(decider.k)]
    means = [
        np.array([_row_value(table, r) for r in rows[k]])
        - float(table.value[k, floor.picks[k]])
        - fairness[k]
        for k in range(decider.k)
    ]
    offsets = [(floor_row[k], fairness[k]) for k in range(decider.k)]
    listed = _listed(model, rows, means, plan_row, floor_row)
    option_rows = _option_rows(model, rows, means, decision, floor)
    wanted = {(k, r) for k, rs in enumerate(listed) for r in rs}
    pairs: list[tuple[int, int, int]] = []
    for k, found in enumerate(option_rows):
        for with_row, without_row in found.values():
            wanted.add((k, with_row))
            if without_row is not None:
                pairs.append((k, with_row, without_row))
    stats = _pass(
        model,
        values,
        rows,
        wanted,
        offsets,
        count_wins=True,
        pairs=sorted(set(pairs)),
        plan_row=plan_row,
    )
    winners = {(k, int(r)) for k in range(decider.k) for r in np.flatnonzero(stats.wins[k] > 0)}
    extra = winners - wanted
    if extra:  # candidates that win in some draws but were not expected to: their percentiles
        more = _pass(model, values, rows, extra, offsets, count_wins=False)
        stats.kept.update(more.kept)
    for k, r in sorted(winners):
        if r not in listed[k]:
            listed[k].append(r)
    likely_labels, scenario_values = scenarios(model.inputs)
    likely = {key: v[:1] for key, v in scenario_values.items()}
    at_likely = evaluate(model, likely)
    segments, actions, offers = _segments(model, decider, table, ex, decision, floor, values)
    candidates = _candidate_plans(
        model, rows, listed, means, stats, plan_row, floor_row, table, decider
    )
    option_scores = _option_scores(
        model, rows, means, stats, option_rows, decision, at_likely, likely, table, ex
    )
    p10, p50, p90 = (float(q) for q in stats.plan.percentiles([10, 50, 90]))
    sensitivity = _sensitivity(
        model, decider, decision, floor, likely_labels, scenario_values, ex, budget, capacity
    )
    constraints = _constraints(model, decider, table, decision, budget, capacity)
    notes = list(model.notes)
    notes += [f"{option} left out: {why}" for option, why in model.unavailable]
    notes += _plan_notes(model, decider, table, decision, at_likely, ex, budget, capacity)
    currency = incident.currency
    floor_retained = sum(float(sizes[k] * ex.retained[k, floor.picks[k]]) for k in range(decider.k))
    plan = Plan(
        incident_id=incident.id,
        title=incident.title,
        kind=incident.kind,
        currency=currency,
        draws=draws,
        seed=seed,
        segments=segments,
        candidates=candidates,
        options=option_scores,
        actions=actions,
        floor=Floor(
            tuple(
                (s.name, _named(model, floor.picks[k], 0))
                for k, s in enumerate(model.valuation.segments)
            ),
            floor.cost,
            floor_retained,
        ),
        total_cost=decision.cost,
        expected_net_value=decision.value - floor.value,
        net_p10=p10,
        net_p50=p50,
        net_p90=p90,
        value_at_stake=float(sum(sizes[k] * ex.stake[k] for k in range(decider.k))),
        binding_constraints=constraints,
        sensitivity=sensitivity,
        assumptions=assumptions(model),
        obligations=model.obligations,
        offers=offers,
        notes=tuple(notes),
        budget=budget,
        call_capacity=capacity,
        optimality_gap=decision.gap,
        floor_offers=tuple(
            _offer(
                model, incident, s.name, s.customers, model.candidates[floor.picks[k]].options, 0
            )
            for k, s in enumerate(model.valuation.segments)
        ),
    )
    return Planned(plan, model, values, likely, ex, decision, floor)


def _row_value(table: Table, row: Row) -> float:
    """A row's expected value (kept minus cost) for its whole segment."""
    v0 = float(table.value[row.k, row.base])
    if row.call < 0:
        return v0
    return v0 + row.share * (float(table.value[row.k, row.call]) - v0)


def _row_cost(table: Table, row: Row) -> float:
    c0 = float(table.cost[row.k, row.base])
    if row.call < 0:
        return c0
    return c0 + row.share * (float(table.cost[row.k, row.call]) - c0)


def _fairness(
    decider: Decider, table: Table, decision: Decision, k: int, rows: Sequence[Row]
) -> np.ndarray:
    """Per row of segment k, the fairness cost charged to it: the segment's own penalty in the
    plan, plus how much the plan's total fairness cost would change if it took the row."""
    if not decider.fair_options:
        return np.zeros(len(rows))
    plan_total = decider.unfairness(table, decision.picks)
    own = _own_penalty(decider, table, decision.picks, k)
    out = []
    for row in rows:
        picks = list(decision.picks)
        picks[k] = row.base
        out.append(decider.unfairness(table, picks) - plan_total + own)
    return np.array(out)


def _own_penalty(decider: Decider, table: Table, picks: Sequence[int], k: int) -> float:
    if not decider.fair_options:
        return 0.0
    rows = decider.member[list(picks)]
    given = rows.any(axis=0)
    return float(table.penalty[k]) if (given & ~rows[k]).any() else 0.0


def _find(rows: Sequence[Row], base: int, share: float) -> int:
    for i, row in enumerate(rows):
        if row.base == base and (row.call >= 0) == (share > 0):
            return i
    raise ValueError("row not found")  # pragma: no cover - the plan's rows are always listed


def _named(model: Model, base: int, share: float) -> tuple[str, ...]:
    """A row's remedies, with personal_call when anyone in it is called."""
    options = model.candidates[base].options
    if share > 0:
        return tuple(o for o in model.order if o in {*options, CALL})
    return options


def _listed(
    model: Model,
    rows: list[list[Row]],
    means: list[np.ndarray],
    plan_row: list[int],
    floor_row: list[int],
) -> list[list[int]]:
    """Rows to show per segment: the plan's, the floor's and the best allowed others."""
    out = []
    for k, segment_rows in enumerate(rows):
        chosen = [plan_row[k], floor_row[k]]
        order = np.argsort(-means[k], kind="stable")
        for r in order:
            row = segment_rows[int(r)]
            if len(chosen) >= SHOWN_PER_SEGMENT + 2:
                break
            if model.candidates[row.base].feasible and row.within_budget:
                chosen.append(int(r))
        out.append(list(dict.fromkeys(chosen)))
    return out


def without_option(
    model: Model, options: Sequence[str], option: str, floor_options: Sequence[str]
) -> int | None:
    """The candidate an option is compared with: the same set without it; where that breaks
    an obligation (honor without a fate for the order), completed from the floor."""
    rest = [o for o in options if o not in (option, CALL)]
    m = model.candidate_index(rest)
    if m is None or not model.candidates[m].feasible:
        filled = model.candidate_index(sorted({*rest, *floor_options} - {option}))
        if filled is not None and model.candidates[filled].feasible:
            return filled
    return m


def _option_rows(
    model: Model,
    rows: list[list[Row]],
    means: list[np.ndarray],
    decision: Decision,
    floor: Decision,
) -> list[dict[str, tuple[int, int | None]]]:
    """Per segment and option: the best row containing it, and the same row without it."""
    out: list[dict[str, tuple[int, int | None]]] = []
    for k, segment_rows in enumerate(rows):
        found: dict[str, tuple[int, int | None]] = {}
        names = [o for o in model.order if o in model.options]
        for option in (APOLOGY, *names):
            if option == APOLOGY:
                having = [
                    i
                    for i, r in enumerate(segment_rows)
                    if not model.candidates[r.base].options and r.call < 0
                ]
            elif option == CALL:
                having = [i for i, r in enumerate(segment_rows) if r.call >= 0]
            else:
                having = [
                    i
                    for i, r in enumerate(segment_rows)
                    if option in model.candidates[r.base].options
                ]
            if not having:
                continue
            good = (
                [
                    i
                    for i in having
                    if model.candidates[segment_rows[i].base].feasible
                    and segment_rows[i].within_budget
                ]
                or [i for i in having if model.candidates[segment_rows[i].base].feasible]
                or having
            )
            best = max(good, key=lambda i: (round(float(means[k][i]), 6), -i))
            row = segment_rows[best]
            without: int | None = None
            if option == CALL:
                without = next(
                    (i for i, r in enumerate(segment_rows) if r.base == row.base and r.call < 0),
                    None,
                )
            elif option != APOLOGY:
                m = without_option(
                    model,
                    model.candidates[row.base].options,
                    option,
                    model.candidates[floor.picks[k]].options,
                )
                without = next(
                    (
                        i
                        for i, r in enumerate(segment_rows)
                        if r.base == m and (r.call >= 0) == (row.call >= 0)
                    ),
                    None,
                )
            found[option] = (best, without)
        out.append(found)
    return out


def _candidate_plans(
    model: Model,
    rows: list[list[Row]],
    listed: list[list[int]],
    means: list[np.ndarray],
    stats: _DrawStats,
    plan_row: list[int],
    floor_row: list[int],
    table: Table,
    decider: Decider,
) -> tuple[CandidatePlan, ...]:
    out: list[CandidatePlan] = []
    for k, segment in enumerate(model.valuation.segments):
        draws = float(stats.wins[k].sum()) or 1.0
        for r in sorted(listed[k], key=lambda i: (-round(float(means[k][i]), 6), i)):
            row = rows[k][r]
            candidate = model.candidates[row.base]
            cost = _row_cost(table, row)
            p10, p50, p90 = stats.pct(k, r)
            calls = round(row.share * float(table.calls[k, row.call])) if row.call >= 0 else 0
            out.append(
                CandidatePlan(
                    segment=segment.name,
                    options=_named(model, row.base, row.share if row.call >= 0 else 0.0),
                    customers=segment.customers,
                    calls=calls,
                    cost=cost,
                    retained_value=_row_value(table, row) + cost,
                    net_value=float(means[k][r]),
                    p_best=float(stats.wins[k][r]) / draws,
                    net_p10=p10,
                    net_p50=p50,
                    net_p90=p90,
                    in_plan=r == plan_row[k],
                    floor=r == floor_row[k],
                    feasible=candidate.feasible,
                    within_budget=row.within_budget,
                    choice=candidate.choice,
                    why_not=candidate.why_not,
                    net_quantiles=tuple(
                        float(q) for q in stats.kept[(k, r)].percentiles(np.arange(101))
                    ),
                )
            )
    return tuple(out)


def _break_even(extra_cost: float, stake_share: float) -> tuple[float | None, str]:
    """The CLV at which an option's extra cost per customer equals the value it keeps,
    cost / (delta * (1 + spillover) * added recovery), and on which side of it the option pays."""
    tol = 1e-12
    if stake_share > tol:
        if extra_cost <= 0:
            return 0.0, "always"
        return extra_cost / stake_share, "clv_above"
    if stake_share < -tol:
        if extra_cost < 0:  # saves money, keeps less: worth it for customers worth little
            return extra_cost / stake_share, "clv_below"
        return None, "never"
    return (0.0, "always") if extra_cost <= 0 else (None, "never")


def _per_customer(ev: Evaluation, k: int, row: Row) -> tuple[float, float]:
    """(recovery, cost) per customer of a row at one scenario (the first column of `ev`)."""
    rho = float(ev.recovery[k][row.base, 0])
    cost = float(ev.cost[row.base, 0])
    if row.call >= 0:
        rho += row.share * (float(ev.recovery[k][row.call, 0]) - rho)
        cost += row.share * (float(ev.cost[row.call, 0]) - cost)
    return rho, cost


def _option_scores(
    model: Model,
    rows: list[list[Row]],
    means: list[np.ndarray],
    stats: _DrawStats,
    option_rows: list[dict[str, tuple[int, int | None]]],
    decision: Decision,
    at_likely: Evaluation,
    likely: Mapping[str, np.ndarray],
    table: Table,
    ex: Expectations,
) -> tuple[OptionScore, ...]:
    scores: list[OptionScore] = []
    # Value at stake per unit of CLV at the likely inputs: delta x (1 + spillover).
    stake_share = float(at_likely.delta[0]) * float(
        np.atleast_1d(model.valuation.spillover(likely))[0]
    )
    for k, segment in enumerate(model.valuation.segments):
        segment_rows = rows[k]
        total_wins = float(stats.wins[k].sum()) or 1.0
        plan_options = set(_named(model, decision.picks[k], decision.shares[k]))
        for option, (r, without) in option_rows[k].items():
            row = segment_rows[r]
            candidate = model.candidates[row.base]
            if option == APOLOGY:
                containing = [
                    i
                    for i, x in enumerate(segment_rows)
                    if not model.candidates[x.base].options and x.call < 0
                ]
            elif option == CALL:
                containing = [i for i, x in enumerate(segment_rows) if x.call >= 0]
            else:
                containing = [
                    i
                    for i, x in enumerate(segment_rows)
                    if option in model.candidates[x.base].options
                ]
            p_best = float(stats.wins[k][containing].sum()) / total_wins
            p10, p50, p90 = stats.pct(k, r)
            break_even, pays_when, p_pays = None, "never", 0.0
            if without is not None:
                rho1, cost1 = _per_customer(at_likely, k, row)
                rho0, cost0 = _per_customer(at_likely, k, segment_rows[without])
                if option == CALL and row.share > 0:  # per called customer
                    rho1, rho0 = rho0 + (rho1 - rho0) / row.share, rho0
                    cost1, cost0 = cost0 + (cost1 - cost0) / row.share, cost0
                break_even, pays_when = _break_even(cost1 - cost0, stake_share * (rho1 - rho0))
                p_pays = stats.pays[(k, r, without)] / max(1, stats.draws)
            cost = _row_cost(table, row)
            customers = segment.customers
            if option == CALL:
                customers = round(row.share * float(table.calls[k, row.call]))
            in_plan = not (plan_options - {CALL}) if option == APOLOGY else option in plan_options
            retained = _row_value(table, row) + cost
            at_stake = segment.customers * float(ex.stake[k])
            scores.append(
                OptionScore(
                    option=option,
                    segment=segment.name,
                    customers=customers,
                    scored_with=_named(model, row.base, row.share if row.call >= 0 else 0.0),
                    cost=cost,
                    retained_value=retained,
                    net_value=float(means[k][r]),
                    break_even_clv=break_even,
                    pays_when=pays_when,
                    p_best=p_best,
                    p_pays=p_pays,
                    net_p10=p10,
                    net_p50=p50,
                    net_p90=p90,
                    recovery=retained / at_stake if at_stake > 0 else 0.0,
                    feasible=candidate.feasible,
                    in_plan=in_plan,
                )
            )
    order = {s.name: i for i, s in enumerate(model.valuation.segments)}
    scores.sort(key=lambda s: (order[s.segment], -round(s.net_value, 6), s.option))
    return tuple(scores)


# --- segments, actions and offers ---------------------------------------------------------------


def _shares_and_costs(
    model: Model, m: int, values: Values | Draws
) -> tuple[dict[str, float], dict[str, float]]:
    """Per customer of candidate m: the share of customers receiving each option, and each
    option's expected cost (a reply choosing the refund is the refund's; replies to the mass
    message are the apology's). Averaged over the draws a chunk at a time."""
    from remedy.options import total
    from remedy.score import CONTACT, chunk_size, contact_cost, parts, reply_cost, weight_of

    receive: dict[str, float] = {}
    costs: dict[str, float] = {}
    count = 0

    def add(into: dict[str, float], key: str, amounts: np.ndarray, n: int) -> None:
        into[key] = into.get(key, 0.0) + float(np.broadcast_to(amounts, (n,)).sum())

    for window, part in parts(values, chunk_size(model)):
        n = window.stop - window.start
        count += n
        add(costs, APOLOGY, reply_cost(part), n)
        for piece in model.candidates[m].parts:
            weight = weight_of(piece.weight, part)
            for option in model.packages[piece.package]:
                if option == CONTACT:
                    add(costs, "refund", weight * contact_cost(part), n)
                    continue
                add(receive, option, weight, n)
                add(costs, option, weight * total(model.options[option].cost, part), n)
    return (
        {k: v / count for k, v in receive.items()},
        {k: v / count for k, v in costs.items()},
    )


def _segments(
    model: Model,
    decider: Decider,
    table: Table,
    ex: Expectations,
    decision: Decision,
    floor: Decision,
    values: Values | Draws,
) -> tuple[tuple[SegmentPlan, ...], tuple[Action, ...], tuple[Offer, ...]]:
    incident = model.incident
    segments: list[SegmentPlan] = []
    actions: list[Action] = []
    offers: list[Offer] = []
    for k, segment in enumerate(model.valuation.segments):
        n = segment.customers
        m, share = decision.picks[k], decision.shares[k]
        c = int(decider.call_of[m])
        calls = round(share * float(table.calls[k, c])) if c >= 0 and share > 0 else 0
        row = Row(k, m, c if calls else -1, share if calls else 0.0)
        cost = _row_cost(table, row)
        value = _row_value(table, row) - _own_penalty(decider, table, decision.picks, k)
        f = floor.picks[k]
        options = _named(model, m, share if calls else 0.0)
        segments.append(
            SegmentPlan(
                segment=segment.name,
                customers=n,
                clv=float(ex.clv[k]),
                delta=ex.delta,
                spillover=ex.spillover,
                value_at_stake=n * float(ex.stake[k]),
                options=options,
                calls=calls,
                choice=model.candidates[m].choice,
                cost=cost,
                retained_value=_row_value(table, row) + cost,
                net_value=value - float(table.value[k, f]),
                floor_options=model.candidates[f].options,
                floor_cost=float(table.cost[k, f]),
                floor_value=float(table.value[k, f]),
                clv_range=tuple(model.inputs[segment.clv_key].estimate.as_list()),  # type: ignore[arg-type]
            )
        )
        receive, costs = _shares_and_costs(model, m, values)
        actions.append(Action(APOLOGY, segment.name, n, n * costs[APOLOGY]))
        for option in model.candidates[m].options:
            who = n if receive.get(option, 0.0) >= 1 - 1e-9 else round(n * receive[option])
            actions.append(Action(option, segment.name, who, n * costs.get(option, 0.0)))
        if calls:
            _, call_costs = _shares_and_costs(model, c, values)
            per_call = call_costs.get(CALL, 0.0) / max(receive.get(CALL, 1.0), 1e-12)
            actions.append(Action(CALL, segment.name, calls, calls * per_call))
        offers.append(_offer(model, incident, segment.name, n, options, calls))
    return tuple(segments), tuple(actions), tuple(offers)


def _order_fate(
    model: Model, options: Sequence[str], choice: bool, asked: Sequence[str] = ()
) -> str | None:
    """What happens to the affected order, for the drafts to say (`asked`: the options given
    only to those who ask)."""
    kind = model.incident.kind
    chosen = set(options)
    if kind == "pricing_error":
        if "honor" in chosen:
            return "honored"
        if "pay_difference" in chosen:
            return "pay_difference"
        return "cancelled_refunded"
    if kind in GOODS_KINDS or kind == "late_delivery":
        express = "ship_upgrade" in chosen and model.options["ship_upgrade"].goods
        goods = "replacement" in chosen or express
        if choice:
            return "refund_or_goods"
        if goods:
            return "sent_express" if express else "sent"
        if "refund" in chosen and "refund" not in asked:
            return "refunded"
        if kind == "late_delivery":
            return "on_its_way"
    return None


def _offer(
    model: Model,
    incident: Incident,
    segment: str,
    customers: int,
    options: Sequence[str],
    calls: int,
) -> Offer:
    chosen = tuple(o for o in options if o != CALL or calls)
    refund = None
    credit = None
    if "refund" in chosen:
        refund = refund_amount(incident)
    if "store_credit" in chosen:
        credit = incident.options.store_credit.amount
        if credit is None and incident.affected.order_value is not None:
            credit = credit_amount_default(incident.affected.order_value, incident.currency)
    labels = {o: model.options[o].label for o in chosen if o in incident.options.custom}
    index = model.candidate_index([o for o in chosen if o != CALL])
    choice = model.candidates[index].choice if index is not None else False
    # After a missed occasion a late order's refund is offered, not given (as it is scored):
    # the order still arrives, and those for whom it is now useless ask for their money back.
    offered = incident.kind == "late_delivery" and bool(incident.occasion) and not choice
    asked = tuple(o for o in chosen if model.options[o].on_request or (o == "refund" and offered))
    return Offer(
        segment=segment,
        options=chosen or (APOLOGY,),
        customers=customers,
        calls=calls,
        refund_amount=None if refund is None else Decimal(refund),
        credit_amount=None if credit is None else Decimal(credit),
        custom_labels=labels,
        order_fate=_order_fate(model, chosen, choice, asked),
        on_request=asked,
        choice=choice,
        caller=incident.options.personal_call.caller if calls else None,
    )


def _summary_of(parts: Sequence[tuple[str, Sequence[str], int]]) -> str:
    """`honor`, or `vip: refund + personal_call (40 calls); regular: refund`."""
    texts = []
    for name, options, calls in parts:
        text = " + ".join(options) if options else APOLOGY
        if calls and CALL in options:
            text += f" ({calls:,} call{'s' if calls != 1 else ''})"
        texts.append((name, text))
    if len(texts) == 1:
        return texts[0][1]
    return "; ".join(f"{name}: {text}" for name, text in texts)


def _decision_summary(model: Model, table: Table, decider: Decider, decision: Decision) -> str:
    parts = []
    for k, segment in enumerate(model.valuation.segments):
        m, share = decision.picks[k], decision.shares[k]
        c = int(decider.call_of[m])
        calls = int(np.floor(share * float(table.calls[k, c]) + 1e-6)) if c >= 0 else 0
        parts.append((segment.name, _named(model, m, share if calls else 0.0), calls))
    return _summary_of(parts)


# --- sensitivity, constraints, notes ---------------------------------------------------------


def _scenario_table(model: Model, ev: Evaluation, r: int, ex: Expectations) -> Table:
    n = np.array([s.customers for s in model.valuation.segments], dtype=float)
    k_count = len(n)
    value = np.stack(
        [
            n[k]
            * (
                ev.stake[k][min(r, ev.stake.shape[1] - 1)] * _col(ev.recovery[k], r)
                - _col(ev.cost, r)
            )
            for k in range(k_count)
        ]
    )
    cost = n[:, None] * _col(ev.cost, r)[None, :]
    calls = n[:, None] * ex.calls[None, :]
    stake = np.array([ev.stake[k][min(r, ev.stake.shape[1] - 1)] for k in range(k_count)])
    ratio = np.divide(ex.penalty, ex.stake, out=np.zeros(k_count), where=ex.stake > 0)
    return Table(value, cost, calls, n * ratio * stake)


def _col(a: np.ndarray, r: int) -> np.ndarray:
    return a[:, min(r, a.shape[1] - 1)]


def _sensitivity(
    model: Model,
    decider: Decider,
    decision: Decision,
    floor: Decision,
    labels: Sequence[tuple[str, str]],
    scenario_values: Mapping[str, np.ndarray],
    ex: Expectations,
    budget: float | None,
    capacity: int | None,
) -> tuple[Sensitivity, ...]:
    ev = evaluate(model, scenario_values)
    tables = [_scenario_table(model, ev, r, ex) for r in range(1 + len(labels))]

    def plan_net(table: Table) -> float:
        value, _, _ = decider.totals(table, decision.picks, decision.shares)
        floor_value, _, _ = decider.totals(table, floor.picks, floor.shares)
        return value - floor_value

    planned = _decision_summary(model, tables[0], decider, decision)
    ends: dict[str, dict[str, tuple[int, float]]] = {}
    for r, (key, end) in enumerate(labels, start=1):
        ends.setdefault(key, {})[end] = (r, plan_net(tables[r]))
    swing = sorted(ends, key=lambda key: (-abs(ends[key]["high"][1] - ends[key]["low"][1]), key))
    out: list[Sensitivity] = []
    for key in swing[:SENSITIVITY_INPUTS]:
        (r_low, net_low), (r_high, net_high) = ends[key]["low"], ends[key]["high"]
        at_low = _decision_summary(
            model,
            tables[r_low],
            decider,
            decider.decide(tables[r_low], budget, capacity, start=decision),
        )
        at_high = _decision_summary(
            model,
            tables[r_high],
            decider,
            decider.decide(tables[r_high], budget, capacity, start=decision),
        )
        changes = at_low != planned or at_high != planned
        if not changes and abs(net_high - net_low) <= 1e-9 * max(1.0, abs(net_low)):
            continue
        estimate = model.inputs[key].estimate
        out.append(
            Sensitivity(
                input=key,
                low=estimate.low,
                high=estimate.high,
                plan_at_low=at_low,
                plan_at_high=at_high,
                changes=changes,
                net_at_low=net_low,
                net_at_high=net_high,
            )
        )
    return tuple(out)


def _constraints(
    model: Model,
    decider: Decider,
    table: Table,
    decision: Decision,
    budget: float | None,
    capacity: int | None,
) -> tuple[Constraint, ...]:
    currency = model.incident.currency
    found: list[Constraint] = []

    def summary(d: Decision) -> str:
        return _decision_summary(model, table, decider, d)

    if budget is not None:
        if not decision.within_budget:
            found.append(
                Constraint(
                    "budget",
                    f"the obligations alone cost {format_money(decision.cost, currency)}, over "
                    f"the budget of {format_money(budget, currency)}",
                    0.0,
                )
            )
        else:
            free = decider.decide(table, None, capacity, start=decision)
            if free.value > decision.value + 1e-6 * max(1.0, abs(decision.value)):
                found.append(
                    Constraint(
                        "budget",
                        f"budget {format_money(budget, currency)}: the best plan without it "
                        f"costs {format_money(free.cost, currency)} ({summary(free)})",
                        free.value - decision.value,
                    )
                )
    if capacity is not None:
        free = decider.decide(table, budget, None, start=decision)
        if free.calls > capacity + 0.5 and free.value > decision.value + 1e-9:
            hours = model.call_hours or 0.0
            found.append(
                Constraint(
                    "call_capacity",
                    f"{capacity:,} calls fit in {hours:g} hours; {round(free.calls):,} "
                    f"customers would be worth a call ({round(decision.calls):,} get one)",
                    free.value - decision.value,
                )
            )
    if any(spec.required for spec in model.options.values()):
        lawful = np.array([c.lawful for c in model.candidates])
        free = decider.decide(table, budget, capacity, allowed=lawful, start=decision)
        if free.value > decision.value + 1e-6 * max(1.0, abs(decision.value)):
            names = ", ".join(o for o, spec in model.options.items() if spec.required)
            found.append(
                Constraint(
                    "required",
                    f"the file requires {names} (without that the best plan would be: "
                    f"{summary(free)})",
                    free.value - decision.value,
                )
            )
    return tuple(found)


def _plan_notes(
    model: Model,
    decider: Decider,
    table: Table,
    decision: Decision,
    at_likely: Evaluation,
    ex: Expectations,
    budget: float | None,
    capacity: int | None,
) -> list[str]:
    incident = model.incident
    currency = incident.currency
    notes: list[str] = []
    likely_table = _scenario_table(model, at_likely, 0, ex)
    at_likely_plan = _decision_summary(
        model, likely_table, decider, decider.decide(likely_table, budget, capacity, start=decision)
    )
    planned = _decision_summary(model, table, decider, decision)
    if at_likely_plan != planned:
        notes.append(
            f"with every input at its likely value the best plan would be: {at_likely_plan} "
            "(the plan maximises the expected value over the uncertainty)"
        )
    chosen = [model.candidates[m] for m in decision.picks]
    if any(c.choice for c in chosen):
        notes.append(
            "a choice: each customer takes the refund or the goods; costs assume a share "
            f"{model.inputs['refund_take_up'].estimate} (low, likely, high) takes the refund"
        )
    asked = sorted({o for c in chosen for o in c.options if model.options[o].on_request})
    for option in asked:
        key = model.options[option].take_up_key or ""
        notes.append(
            f"{option} is given on request: costs and recovery assume a share "
            f"{model.inputs[key].estimate} of customers asks ({model.inputs[key].source})"
        )
    if budget is not None and not decision.within_budget:
        notes.append(
            f"the obligations alone cost {format_money(decision.cost, currency)}, more than the "
            f"budget of {format_money(budget, currency)}: planned anyway"
        )
    amount = incident.options.refund.amount
    paid = incident.affected.order_value
    if (
        amount is not None
        and paid is not None
        and amount > paid
        and any("refund" in c.options for c in chosen)
    ):
        notes.append(
            f"options.refund.amount {format_money(float(amount), currency)} is more than the "
            f"order value {format_money(float(paid), currency)}: in the mail merge no customer "
            "is refunded more than their order"
        )
    if any(
        "replacement" in c.options
        or ("ship_upgrade" in c.options and model.options["ship_upgrade"].goods)
        for c in chosen
    ):
        notes.append("sending the goods assumes they are in stock for every customer who gets them")
    if decider.fair_options:
        given = {o for c in chosen for o in c.options if o in decider.fair_options}
        lacking = [
            s.name
            for s, c in zip(model.valuation.segments, chosen, strict=True)
            if given - set(c.options)
        ]
        if lacking:
            cost = decider.unfairness(table, decision.picks)
            notes.append(
                f"fairness: {', '.join(sorted(given))} is not given to every segment "
                f"({', '.join(lacking)} go without); customers who compare notes will see it, "
                f"counted as {format_money(cost, currency)} of goodwill (set "
                "segments_private: true if they cannot)"
            )
    if decision.gap > 0:
        notes.append(
            "the budget or call capacity binds across segments: the plan was optimised as a "
            f"mixed-integer program, within {format_money(decision.gap, currency)} of the best"
        )
    return notes


def assumptions(model: Model) -> tuple[Assumption, ...]:
    """Every input of the plan and where it came from, sorted by name."""
    items: dict[str, Assumption] = {}
    for key, item in model.inputs.items():
        items[key] = Assumption(key, str(item.estimate), item.source)
    for modifier in model.valuation.modifiers:
        name = f"delta modifier: {modifier.name}"
        items[name] = Assumption(name, f"x{modifier.factor:g}", modifier.source)
    incident = model.incident
    rho_max_source = (
        "file: assumptions.rho_max"
        if "rho_max" in incident.assumptions.model_fields_set
        else defaults.cite("rho_max")
    )
    items["rho_max"] = Assumption("rho_max", f"{incident.assumptions.rho_max:g}", rho_max_source)
    fault = f"fault.{incident.fault}"
    items["fault factor"] = Assumption(
        "fault factor", f"{defaults.value(fault):g}", defaults.cite(fault)
    )
    for option, spec in model.options.items():
        if spec.tangible and spec.recovery_key is None and spec.match_source:
            name = f"match: {option}"
            source = (
                "file: the option's matches"
                if spec.match_source == "match.custom"
                else defaults.cite(spec.match_source)
            )
            items[name] = Assumption(name, f"{spec.match:g}", source)
    for name in ("g.decline_depth", "g.decline_start"):
        items[name] = Assumption(name, f"{defaults.value(name):g}", defaults.cite(name))
    if model.valuation.group:
        items["group incident"] = Assumption(
            "group incident",
            f"x scaled by {defaults.value('g.group_shift'):g}",
            defaults.cite("g.group_shift"),
        )
    if CALL in model.options:
        for name in ("rho_call.with_remedy", "rho_call.alone"):
            items[name] = Assumption(name, f"{defaults.value(name):g}", defaults.cite(name))
        if model.call_hours is not None:
            source = (
                "file: options.personal_call.capacity_hours"
                if incident.options.personal_call.capacity_hours is not None
                else defaults.cite("personal_call.capacity_hours")
            )
            items["personal_call.capacity_hours"] = Assumption(
                "personal_call.capacity_hours", f"{model.call_hours:g}", source
            )
    if "replacement" in model.options:
        name = "timeliness.standard_shipping"
        items[name] = Assumption(name, f"{defaults.value(name):g}", defaults.cite(name))
    if incident.repeat:
        items["apology_backfire"] = Assumption(
            "apology_backfire",
            f"{defaults.value('apology_backfire'):g}",
            defaults.cite("apology_backfire"),
        )
    for rule in model.obligations:
        name = f"obligation: {rule.id}"
        status = "waived by the file" if rule.waived else ("law" if rule.legal else "policy")
        items[name] = Assumption(name, f"{rule.text} ({status})", rule.source)
    if not model.fairness:
        items.pop("assumptions.fairness_penalty", None)
    return tuple(items[k] for k in sorted(items))


# --- the library's one call ----------------------------------------------------------------------


@dataclass(frozen=True)
class PlanRun:
    """A plan and what it was planned from: the incident as the planner saw it (customers
    counted from the customers file, value tiers added) and each customer's CLV when it came
    from an order history (the mail merge ranks customers by it)."""

    plan: Plan
    incident: Incident
    clv_by_customer: Mapping[str, float] | None
    detail: Planned


@dataclass(frozen=True)
class Valued:
    """An incident ready to plan: customers counted, CLV from its order history if any."""

    incident: Incident
    clv_override: Mapping[str, Estimate] | None
    notes: tuple[str, ...]
    clv_by_customer: Mapping[str, float] | None


def value_incident(incident: Incident, *, progress: Any = None) -> Valued:
    """Count the customers from the customers file when the count is omitted, and value them
    from the order history when the incident names one (`progress(stage)` during the fit)."""
    from remedy.history import value_from_history, with_customer_count

    incident = with_customer_count(incident)
    valuation = value_from_history(incident, progress=progress)
    if valuation is None:
        return Valued(incident, None, (), None)
    return Valued(
        valuation.incident,
        valuation.clv_by_segment,
        tuple(valuation.notes),
        valuation.clv_by_customer,
    )


def plan_incident(
    incident: Incident,
    *,
    draws: int = 10_000,
    seed: int = 0,
    progress: Any = None,
) -> PlanRun:
    """Value the incident's customers (from its order history when it names one) and plan.

    This is what `remedy plan` does; `progress(stage)` is called during a long CLV fit.
    """
    valued = value_incident(incident, progress=progress)
    detail = plan_in_detail(
        valued.incident, draws=draws, seed=seed, clv_override=valued.clv_override
    )
    plan = replace(detail.plan, notes=(*valued.notes, *detail.plan.notes))
    return PlanRun(plan, valued.incident, valued.clv_by_customer, replace(detail, plan=plan))


def plan_file(path: str | Path, *, draws: int = 10_000, seed: int = 0) -> Plan:
    """Load an incident file and plan it: the same plan `remedy plan FILE` prints.

    >>> plan = plan_file("incidents/6pm-price-cap.yaml", draws=2000)
    >>> plan.summary
    'honor'
    """
    from remedy.load import load_incident

    return plan_incident(load_incident(path), draws=draws, seed=seed).plan
