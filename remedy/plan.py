"""The decision: which remedies each segment gets, within the budget and the call capacity.

Scoring model section 4 and 5. The expected net value of a set of options for a segment is the
Monte Carlo mean of n * (delta * rho(S) * CLV - cost(S)). For each choice of the incident-wide
options (honor, refund, replacement: everyone gets the same), each segment gets its best feasible
set; personal calls go to the highest-CLV segments first while the capacity lasts; if the plan
breaks the budget, the segment choices that lose the least value per unit of money saved are
scaled back first. The best incident-wide choice wins; ties go to the cheaper plan. Obligations
are hard constraints on the candidates, never scored.

Everything is deterministic for a given incident and seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from remedy import defaults
from remedy.errors import InputError
from remedy.incident import Estimate, Incident
from remedy.money import format_money
from remedy.offer import Offer
from remedy.score import (
    Evaluation,
    Model,
    build_model,
    credit_amount_default,
    evaluate,
    option_cost_shares,
    structure,
)
from remedy.value import sample, scenarios

APOLOGY = "apology_only"


# --- Results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OptionScore:
    """One option for one segment, scored inside the best set of options that contains it."""

    option: str
    segment: str
    customers: int
    scored_with: tuple[str, ...]  # the set it was scored in (the option and its companions)
    cost: float
    retained_value: float
    net_value: float
    break_even_clv: float | None  # the CLV at which the option's extra cost = the value it keeps
    pays_when: str  # "clv_above" / "clv_below" the break-even, "always" or "never"
    p_best: float  # share of draws in which the best set for the segment includes the option
    p_pays: float  # share of draws in which the option adds more value than it costs
    net_p10: float
    net_p50: float
    net_p90: float
    recovery: float  # expected share of the value at stake the set keeps
    feasible: bool  # False: the set breaks an obligation (shown for comparison only)
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
    clv: float  # expected CLV
    delta: float  # expected share of future value lost with only an apology
    value_at_stake: float
    options: tuple[str, ...]
    calls: int
    choice: bool  # the customer picks between a refund and the goods
    cost: float
    retained_value: float
    net_value: float
    baseline_value: float  # net value of an apology only


@dataclass(frozen=True)
class Constraint:
    """A constraint that changed the plan, and what it cost in expected value."""

    constraint: str  # "budget", "call_capacity" or "obligation"
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
    changes: bool  # the recommendation differs from the plan at either end
    net_at_low: float  # the recommended plan's expected net value with the input at low
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
    options: tuple[OptionScore, ...]
    actions: tuple[Action, ...]
    total_cost: float
    expected_net_value: float
    net_p10: float
    net_p50: float
    net_p90: float
    value_at_stake: float
    baseline_value: float  # expected net value of an apology only, for comparison
    binding_constraints: tuple[Constraint, ...]
    sensitivity: tuple[Sensitivity, ...]
    assumptions: tuple[Assumption, ...]
    obligations: tuple[str, ...]
    offers: tuple[Offer, ...]
    notes: tuple[str, ...]
    budget: float | None
    call_capacity: int | None


# --- The decision -------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """Per segment: the candidate picked and how many of its customers get a call."""

    picks: tuple[int, ...]
    calls: tuple[int, ...]
    value: float
    cost: float
    within_budget: bool


def _tolerance(x: float) -> float:
    return 1e-9 * max(1.0, abs(x))


def _better(value: float, cost: float, size: int, best: tuple[float, float, int] | None) -> bool:
    if best is None:
        return True
    bv, bc, bs = best
    if value > bv + _tolerance(bv):
        return True
    if value < bv - _tolerance(bv):
        return False
    if cost < bc - _tolerance(bc):
        return True
    if cost > bc + _tolerance(bc):
        return False
    return size < bs


class _Decider:
    """Chooses a plan from expected per-customer net values and costs of every candidate.

    For each choice of the incident-wide options: every segment takes its best candidate (highest
    value, then cheapest, then fewest options); calls go to segments in order of CLV while the
    capacity lasts; over budget, a Lagrange multiplier on cost (value - lambda * cost, bisected
    until the plan fits) scales the segments back, then any money left buys the upgrades with the
    most value per unit of cost. Vectorised over segments and candidates.
    """

    def __init__(self, model: Model) -> None:
        self.model = model
        self.sizes = [s.customers for s in model.valuation.segments]
        self.n = np.array(self.sizes, dtype=float)
        self.feasible = np.array([c.feasible for c in model.candidates])
        self.has_call = np.array([c.call for c in model.candidates])
        self.lengths = np.array([len(c.options) for c in model.candidates], dtype=int)

    def decide(
        self,
        net: np.ndarray,  # (K, M) expected net value per customer
        cost: np.ndarray,  # (M,) expected cost per customer
        clv: np.ndarray,  # (K,) expected CLV, for the order in which calls are given
        capacity: int | None,
        budget: float | None,
        feasible: np.ndarray | None = None,
    ) -> Decision:
        model = self.model
        allowed = self.feasible if feasible is None else feasible
        order = sorted(range(len(self.sizes)), key=lambda k: (-clv[k], k))
        plans: list[Decision] = []
        for ci in range(len(model.cores)):
            ms = np.flatnonzero((model.core_index == ci) & allowed)
            if ms.size == 0:
                continue
            everyone = self._pick(*self._table(net, cost, ms, self.n), ms)
            nobody = self._pick(*self._table(net, cost, ms, np.zeros_like(self.n)), ms)
            picks = [0] * len(self.sizes)
            calls = [0] * len(self.sizes)
            remaining = capacity
            for k in order:
                n = self.sizes[k]
                if remaining is None or remaining >= n:
                    picks[k] = int(everyone[k])
                elif remaining == 0:
                    picks[k] = int(nobody[k])
                else:
                    called = np.zeros_like(self.n)
                    called[k] = remaining
                    picks[k] = int(self._pick(*self._table(net, cost, ms, called), ms)[k])
                if self.has_call[picks[k]]:
                    calls[k] = n if remaining is None else min(n, remaining)
                if remaining is not None:
                    remaining -= calls[k]
            plans.append(self._fit_budget(net, cost, ms, picks, calls, budget))
        if not plans:
            raise InputError("no set of options meets the obligations and required options")
        within = [p for p in plans if p.within_budget]
        pool = within or [min(plans, key=lambda p: (p.cost, -p.value))]
        best_plan = pool[0]
        for plan in pool[1:]:
            size = int(self.lengths[list(plan.picks)].sum())
            current = (
                best_plan.value,
                best_plan.cost,
                int(self.lengths[list(best_plan.picks)].sum()),
            )
            if _better(plan.value, plan.cost, size, current):
                best_plan = plan
        return best_plan

    def _table(
        self, net: np.ndarray, cost: np.ndarray, ms: np.ndarray, called: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(K, len(ms)) value and cost of each candidate per segment, when `called[k]` of the
        segment's customers can get a call (the rest get the candidate without it)."""
        share = np.divide(called, self.n, out=np.zeros_like(self.n), where=self.n > 0)[:, None]
        base = self.model.base_index[ms]
        with_call = self.has_call[ms][None, :]
        per = np.where(with_call, (1 - share) * net[:, base] + share * net[:, ms], net[:, ms])
        spend = np.where(
            with_call, (1 - share) * cost[base][None, :] + share * cost[ms][None, :], cost[ms]
        )
        return self.n[:, None] * per, self.n[:, None] * spend

    def _pick(self, values: np.ndarray, spend: np.ndarray, ms: np.ndarray) -> np.ndarray:
        """Per row: the highest value, then the cheapest, then the fewest options, then first."""
        top = values.max(axis=1, keepdims=True)
        pool = values >= top - 1e-9 * np.maximum(1.0, np.abs(top))
        cheapest = np.where(pool, spend, np.inf).min(axis=1, keepdims=True)
        pool &= spend <= cheapest + 1e-9 * np.maximum(1.0, np.abs(cheapest))
        lengths = np.broadcast_to(self.lengths[ms][None, :], pool.shape)
        fewest = np.where(pool, lengths, np.iinfo(int).max).min(axis=1, keepdims=True)
        pool &= lengths == fewest
        return np.asarray(ms[pool.argmax(axis=1)])

    def _value(
        self, net: np.ndarray, cost: np.ndarray, k: int, m: int, calls: int
    ) -> tuple[float, float]:
        n = self.sizes[k]
        if not self.has_call[m]:
            return n * float(net[k, m]), n * float(cost[m])
        b = int(self.model.base_index[m])
        share = calls / n if n else 0.0
        value = n * ((1 - share) * float(net[k, b]) + share * float(net[k, m]))
        spend = n * ((1 - share) * float(cost[b]) + share * float(cost[m]))
        return value, spend

    def _fit_budget(
        self,
        net: np.ndarray,
        cost: np.ndarray,
        ms: np.ndarray,
        picks: list[int],
        calls: list[int],
        budget: float | None,
    ) -> Decision:
        parts = [self._value(net, cost, k, picks[k], calls[k]) for k in range(len(picks))]
        total_value = sum(v for v, _ in parts)
        total_cost = sum(c for _, c in parts)
        if budget is None or total_cost <= budget + _tolerance(budget):
            return Decision(tuple(picks), tuple(calls), total_value, total_cost, True)
        # Calls stay where they were given (or are dropped); nothing is re-allocated.
        values, spend = self._table(net, cost, ms, np.array(calls, dtype=float))
        rows = np.arange(len(picks))

        def choose(lam: float) -> np.ndarray:
            return self._pick(values - lam * spend, spend, ms)

        def position(chosen: np.ndarray) -> np.ndarray:
            return np.searchsorted(ms, chosen)

        def total(chosen: np.ndarray) -> float:
            return float(spend[rows, position(chosen)].sum())

        low, high = 0.0, 1.0
        while total(choose(high)) > budget + _tolerance(budget) and high < 1e12:
            low, high = high, high * 4
        if total(choose(high)) > budget + _tolerance(budget):
            # Even the cheapest sets break the budget: the obligations cost more than it.
            cheapest = self._pick(-spend, -values, ms)
            return self._decision(cheapest, calls, values, spend, ms, within=False)
        for _ in range(40):
            mid = (low + high) / 2
            if total(choose(mid)) > budget + _tolerance(budget):
                low = mid
            else:
                high = mid
        chosen = choose(high).copy()
        # Spend what is left on the upgrades with the most value per unit of cost.
        for _ in range(4 * len(picks) + 4):
            at = position(chosen)
            slack = budget - float(spend[rows, at].sum())
            gain = values - values[rows, at][:, None]
            extra = spend - spend[rows, at][:, None]
            fits = (gain > 1e-9) & (extra <= slack + _tolerance(budget))
            if not fits.any():
                break
            ratio = np.where(fits, gain / np.maximum(extra, 1e-12), -np.inf)
            k, j = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
            chosen[k] = ms[j]
        return self._decision(chosen, calls, values, spend, ms, within=True)

    def _decision(
        self,
        chosen: np.ndarray,
        calls: list[int],
        values: np.ndarray,
        spend: np.ndarray,
        ms: np.ndarray,
        within: bool,
    ) -> Decision:
        at = np.searchsorted(ms, chosen)
        rows = np.arange(len(chosen))
        kept = tuple(c if self.has_call[m] else 0 for c, m in zip(calls, chosen, strict=True))
        return Decision(
            tuple(int(m) for m in chosen),
            kept,
            float(values[rows, at].sum()),
            float(spend[rows, at].sum()),
            within,
        )


# --- Monte Carlo summaries -------------------------------------------------------------------


def _plan_draws(model: Model, ev: Evaluation, decision: Decision) -> np.ndarray:
    """Net value of a decision in every draw (D,)."""
    total = np.zeros(ev.cost.shape[0])
    for k, segment in enumerate(model.valuation.segments):
        m = decision.picks[k]
        n = segment.customers
        if n == 0:
            continue
        share = decision.calls[k] / n
        b = int(model.base_index[m])
        pair = ev.net_of(k, [b, m])
        total += n * ((1 - share) * pair[:, 0] + share * pair[:, 1])
    return total


def _effective(model: Model, net: np.ndarray, k: int) -> np.ndarray:
    """Net values (any leading shape, candidates last) with each call set's call given to as
    many of segment k's customers as the capacity allows on its own."""
    share = _call_share(model, k)
    calls = np.flatnonzero([c.call for c in model.candidates])
    out = net.copy()
    if calls.size:
        base = model.base_index[calls]
        out[..., calls] = (1 - share) * net[..., base] + share * net[..., calls]
    return out


def _call_share(model: Model, k: int) -> float:
    n = model.valuation.segments[k].customers
    if model.call_capacity is None or n == 0:
        return 1.0
    return min(1.0, model.call_capacity / n)


def _summary(model: Model, decision: Decision) -> str:
    """A short text of a decision: `honor` or `vip: refund + personal_call; regular: refund`."""
    parts = []
    for k, segment in enumerate(model.valuation.segments):
        options = _chosen(model, decision, k)
        text = " + ".join(options) if options else APOLOGY
        parts.append((segment.name, text))
    if len(parts) == 1:
        return parts[0][1]
    return "; ".join(f"{name}: {text}" for name, text in parts)


def _chosen(model: Model, decision: Decision, k: int) -> tuple[str, ...]:
    candidate = model.candidates[decision.picks[k]]
    if decision.calls[k] == 0:
        return tuple(o for o in candidate.options if o != "personal_call")
    return candidate.options


def _pct(values: np.ndarray) -> tuple[float, float, float]:
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return float(p10), float(p50), float(p90)


def _row_values(values: Mapping[str, np.ndarray], row: int) -> dict[str, np.ndarray]:
    return {k: v[row : row + 1] for k, v in values.items()}


# --- The plan ------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Planned:
    """A plan with the model and the draws behind it (for `remedy explain`)."""

    plan: Plan
    model: Model
    values: Mapping[str, np.ndarray]  # the Monte Carlo draws
    likely: Mapping[str, np.ndarray]  # every input at its likely value (one row)


def plan_in_detail(
    incident: Incident,
    *,
    draws: int = 10_000,
    seed: int = 0,
    clv_override: Mapping[str, Estimate] | None = None,
) -> Planned:
    """`make_plan`, returning also the model and the draws it used."""
    model = build_model(incident, clv_override)
    values = sample(model.inputs, draws, seed)
    ev = evaluate(model, values)
    net = ev.mean_net  # (K, M)
    cost = ev.cost.mean(axis=0)
    clv = ev.clv.mean(axis=1)
    budget = float(incident.business.budget) if incident.business.budget is not None else None
    capacity = model.call_capacity
    decider = _Decider(model)
    decision = decider.decide(net, cost, clv, capacity, budget)

    labels, scenario_values = scenarios(model.inputs)
    sc = evaluate(model, scenario_values)
    sc_net = sc.net()
    likely = _row_values(scenario_values, 0)

    segments, actions, offers = _segments(model, ev, decision, values)
    options = _option_scores(model, ev, values, likely, decision, budget)
    plan_draws = _plan_draws(model, ev, decision)
    p10, p50, p90 = _pct(plan_draws)
    sensitivity = _sensitivity(model, decider, decision, labels, sc, sc_net, capacity, budget)
    constraints = _constraints(model, decider, decision, net, cost, clv, capacity, budget)
    currency = incident.currency
    notes = [f"{option} left out: {why}" for option, why in model.unavailable]
    base = _summary(
        model, decider.decide(sc_net[:, 0, :], sc.cost[0], sc.clv[:, 0], capacity, budget)
    )
    if base != _summary(model, decision):
        notes.append(
            f"with every input at its likely value the best plan would be: {base} "
            "(the plan above maximises the expected value over the uncertainty)"
        )
    if any(s.choice for s in segments):
        take_up = model.inputs["refund_take_up"].estimate
        notes.append(
            "a choice: each customer takes the refund or the goods; costs assume a share "
            f"{take_up} (low, likely, high) takes the refund"
        )
    if budget is not None and not decision.within_budget:
        notes.append(
            f"the obligations alone cost {format_money(decision.cost, currency)}, more than the "
            f"budget of {format_money(budget, currency)}: planned anyway"
        )
    plan = Plan(
        incident_id=incident.id,
        title=incident.title,
        kind=incident.kind,
        currency=currency,
        draws=draws,
        seed=seed,
        segments=segments,
        options=options,
        actions=actions,
        total_cost=sum(a.cost for a in actions),
        expected_net_value=sum(s.net_value for s in segments),
        net_p10=p10,
        net_p50=p50,
        net_p90=p90,
        value_at_stake=sum(s.value_at_stake for s in segments),
        baseline_value=sum(s.baseline_value for s in segments),
        binding_constraints=constraints,
        sensitivity=sensitivity,
        assumptions=assumptions(model),
        obligations=model.obligations,
        offers=offers,
        notes=tuple(notes),
        budget=budget,
        call_capacity=capacity,
    )
    return Planned(plan, model, values, likely)


def _segments(
    model: Model, ev: Evaluation, decision: Decision, values: Mapping[str, np.ndarray]
) -> tuple[tuple[SegmentPlan, ...], tuple[Action, ...], tuple[Offer, ...]]:
    incident = model.incident
    empty = model.candidate_index(())
    segments: list[SegmentPlan] = []
    actions: list[Action] = []
    offers: list[Offer] = []
    retained = ev.mean_retained  # (K, M)
    cost = ev.cost.mean(axis=0)
    net = ev.mean_net
    for k, segment in enumerate(model.valuation.segments):
        n = segment.customers
        m = decision.picks[k]
        calls = decision.calls[k]
        b = int(model.base_index[m])
        share = calls / n if n else 0.0
        chosen = _chosen(model, decision, k)
        seg_cost = n * ((1 - share) * cost[b] + share * cost[m])
        seg_retained = n * ((1 - share) * retained[k, b] + share * retained[k, m])
        baseline = n * float(net[k, empty]) if empty is not None else 0.0
        segments.append(
            SegmentPlan(
                segment=segment.name,
                customers=n,
                clv=float(ev.clv[k].mean()),
                delta=float(ev.delta.mean()),
                value_at_stake=n * float(ev.stake[k].mean()),
                options=chosen,
                calls=calls,
                choice=model.candidates[m].choice,
                cost=float(seg_cost),
                retained_value=float(seg_retained),
                net_value=float(seg_retained - seg_cost),
                baseline_value=baseline,
            )
        )
        base_options = model.candidates[b].options
        shares = option_cost_shares(model, base_options, values) if base_options else {}
        if not chosen:
            actions.append(Action(APOLOGY, segment.name, n, 0.0))
        for option in chosen:
            if option == "personal_call":
                call_cost = option_cost_shares(model, ("personal_call",), values)
                spent = calls * float(call_cost["personal_call"].mean())
                actions.append(Action(option, segment.name, calls, spent))
            else:
                actions.append(Action(option, segment.name, n, n * float(shares[option].mean())))
        offers.append(_offer(model, incident, segment.name, n, chosen, calls))
    return tuple(segments), tuple(actions), tuple(offers)


def _offer(
    model: Model,
    incident: Incident,
    segment: str,
    customers: int,
    chosen: Sequence[str],
    calls: int,
) -> Offer:
    refund_amount = None
    credit_amount = None
    if "refund" in chosen:
        refund_amount = incident.options.refund.amount
        if refund_amount is None:
            refund_amount = incident.affected.order_value
    if "store_credit" in chosen:
        credit_amount = incident.options.store_credit.amount
        if credit_amount is None and incident.affected.order_value is not None:
            credit_amount = credit_amount_default(incident.affected.order_value, incident.currency)
    labels = {o: model.options[o].label for o in chosen if o in incident.options.custom}
    return Offer(
        segment=segment,
        options=tuple(chosen) if chosen else (APOLOGY,),
        customers=customers,
        calls=calls,
        refund_amount=_exact(refund_amount),
        credit_amount=_exact(credit_amount),
        custom_labels=labels,
    )


def _exact(amount: Decimal | None) -> Decimal | None:
    return None if amount is None else Decimal(amount)


def _option_scores(
    model: Model,
    ev: Evaluation,
    values: Mapping[str, np.ndarray],
    likely: Mapping[str, np.ndarray],
    decision: Decision,
    budget: float | None,
) -> tuple[OptionScore, ...]:
    """Each option per segment inside the best set containing it, with P(best) and break-even."""
    candidates = model.candidates
    cost_mean = ev.cost.mean(axis=0)
    rows: list[tuple[int, str, int, int, int]] = []  # (segment, option, set, with, without)
    pair_sets: list[tuple[str, ...]] = []
    pair_index: dict[frozenset[str], int] = {}

    def pair_position(options: tuple[str, ...]) -> int:
        key = frozenset(options)
        if key not in pair_index:
            pair_index[key] = len(pair_sets)
            pair_sets.append(options)
        return pair_index[key]

    for k in range(len(model.valuation.segments)):
        means = _effective(model, ev.mean_net[k], k)
        for option in (APOLOGY, *[o for o in model.order if o in model.options]):
            if option == APOLOGY:
                pool = [m for m, c in enumerate(candidates) if not c.options]
            else:
                having = [m for m, c in enumerate(candidates) if option in c.options]
                pool = [m for m in having if candidates[m].feasible] or having
            if not pool:
                continue
            pick = pool[0]
            for m in pool[1:]:
                current = (
                    float(means[pick]),
                    float(cost_mean[pick]),
                    len(candidates[pick].options),
                )
                if _better(
                    float(means[m]), float(cost_mean[m]), len(candidates[m].options), current
                ):
                    pick = m
            without = tuple(o for o in candidates[pick].options if o != option)
            rows.append(
                (k, option, pick, pair_position(candidates[pick].options), pair_position(without))
            )

    st = structure(
        pair_sets,
        model.options,
        model.incident.kind,
        model.incident.repeat,
        model.ship_carries_goods,
    )
    pairs = evaluate(model, values, st)
    pairs_likely = evaluate(model, likely, st)

    membership = {
        option: np.array(
            [(not c.options) if option == APOLOGY else (option in c.options) for c in candidates]
        )
        for option in {row[1] for row in rows}
    }
    scores: list[OptionScore] = []
    for k, segment in enumerate(model.valuation.segments):
        n = segment.customers
        eff = _effective(model, ev.net_of(k), k)  # (D, M)
        allowed = [
            m
            for m, c in enumerate(candidates)
            if c.feasible and (budget is None or n * cost_mean[m] <= budget + _tolerance(budget))
        ] or [m for m, c in enumerate(candidates) if c.feasible]
        best = np.asarray(allowed)[np.argmax(eff[:, allowed], axis=1)]
        chosen = _chosen(model, decision, k)
        for row_k, option, pick, j, j_without in rows:
            if row_k != k:
                continue
            cand = candidates[pick]
            p_best = float(membership[option][best].mean())
            share = _call_share(model, k) if cand.call else 0.0
            b = int(model.base_index[pick])
            called = option == "personal_call"
            people = round(n * share) if called else n
            retained = ev.mean_retained[k, [b, pick]]
            spend = cost_mean[[b, pick]]
            if cand.call:
                seg_retained = n * ((1 - share) * retained[0] + share * retained[1])
                seg_cost = n * ((1 - share) * spend[0] + share * spend[1])
            else:
                seg_retained, seg_cost = n * retained[1], n * spend[1]
            p10, p50, p90 = _pct(n * eff[:, pick])
            break_even, pays_when, p_pays = None, "never", 0.0
            if option != APOLOGY:
                gain = pairs_likely.recovery[k][0, j] - pairs_likely.recovery[k][0, j_without]
                extra = pairs_likely.cost[0, j] - pairs_likely.cost[0, j_without]
                delta = float(pairs_likely.delta[0])
                break_even, pays_when = _break_even(extra, delta * gain)
                marginal = pairs.stake[k] * (
                    pairs.recovery[k][:, j] - pairs.recovery[k][:, j_without]
                ) - (pairs.cost[:, j] - pairs.cost[:, j_without])
                p_pays = float((marginal > 0).mean())
            in_plan = (option in chosen) if option != APOLOGY else not chosen
            scores.append(
                OptionScore(
                    option=option,
                    segment=segment.name,
                    customers=people,
                    scored_with=cand.options,
                    cost=float(seg_cost),
                    retained_value=float(seg_retained),
                    net_value=float(seg_retained - seg_cost),
                    break_even_clv=break_even,
                    pays_when=pays_when,
                    p_best=p_best,
                    p_pays=p_pays,
                    net_p10=p10,
                    net_p50=p50,
                    net_p90=p90,
                    recovery=float(ev.recovery[k][:, pick].mean()),
                    feasible=cand.feasible,
                    in_plan=in_plan,
                )
            )
    order = {s.name: i for i, s in enumerate(model.valuation.segments)}
    scores.sort(key=lambda s: (order[s.segment], -round(s.net_value, 6), s.option))
    return tuple(scores)


def _break_even(extra_cost: float, stake_share: float) -> tuple[float | None, str]:
    """The CLV at which an option's extra cost per customer equals the value it keeps,
    cost / (delta * rho), and on which side of it the option pays."""
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


def _sensitivity(
    model: Model,
    decider: _Decider,
    decision: Decision,
    labels: Sequence[tuple[str, str]],
    sc: Evaluation,
    sc_net: np.ndarray,
    capacity: int | None,
    budget: float | None,
) -> tuple[Sensitivity, ...]:
    planned = _summary(model, decision)
    rows: dict[str, dict[str, tuple[str, float, float]]] = {}
    for r, (key, end) in enumerate(labels, start=1):
        found = decider.decide(sc_net[:, r, :], sc.cost[r], sc.clv[:, r], capacity, budget)
        # The recommended plan's value in this scenario (same picks and calls).
        value = 0.0
        for k in range(len(model.valuation.segments)):
            value += decider._value(
                sc_net[:, r, :], sc.cost[r], k, decision.picks[k], decision.calls[k]
            )[0]
        estimate = model.inputs[key].estimate
        at = estimate.low if end == "low" else estimate.high
        rows.setdefault(key, {})[end] = (_summary(model, found), value, at)
    out = []
    for key, ends in rows.items():
        low_plan, low_value, low = ends["low"]
        high_plan, high_value, high = ends["high"]
        changes = low_plan != planned or high_plan != planned
        if not changes and abs(high_value - low_value) <= _tolerance(low_value):
            continue  # the input does not matter for this plan
        out.append(
            Sensitivity(
                input=key,
                low=low,
                high=high,
                plan_at_low=low_plan,
                plan_at_high=high_plan,
                changes=changes,
                net_at_low=float(low_value),
                net_at_high=float(high_value),
            )
        )
    out.sort(key=lambda s: (-round(abs(s.net_at_high - s.net_at_low), 6), s.input))
    return tuple(out)


def _constraints(
    model: Model,
    decider: _Decider,
    decision: Decision,
    net: np.ndarray,
    cost: np.ndarray,
    clv: np.ndarray,
    capacity: int | None,
    budget: float | None,
) -> tuple[Constraint, ...]:
    currency = model.incident.currency
    found: list[Constraint] = []
    if budget is not None:
        free = decider.decide(net, cost, clv, capacity, None)
        if not decision.within_budget:
            found.append(
                Constraint(
                    "budget",
                    f"the obligations alone cost {format_money(decision.cost, currency)}, over "
                    f"the budget of {format_money(budget, currency)}",
                    max(0.0, free.value - decision.value),
                )
            )
        elif free.cost > budget + _tolerance(budget):
            found.append(
                Constraint(
                    "budget",
                    f"budget {format_money(budget, currency)}: the best plan without it costs "
                    f"{format_money(free.cost, currency)} ({_summary(model, free)})",
                    max(0.0, free.value - decision.value),
                )
            )
    if capacity is not None:
        free = decider.decide(net, cost, clv, None, budget)
        wanted = sum(free.calls)
        if wanted > capacity:
            hours = model.incident.options.personal_call.capacity_hours
            found.append(
                Constraint(
                    "call_capacity",
                    f"{capacity} calls fit in {hours:g} hours; {wanted} customers would be "
                    f"worth a call ({sum(decision.calls)} get one)",
                    max(0.0, free.value - decision.value),
                )
            )
    if model.obligations:
        everything = np.ones(len(model.candidates), dtype=bool)
        free = decider.decide(net, cost, clv, capacity, budget, feasible=everything)
        lost = free.value - decision.value
        if lost > _tolerance(decision.value) and decision.within_budget:
            found.append(
                Constraint(
                    "obligation",
                    "; ".join(model.obligations)
                    + f" (without them the best plan would be: {_summary(model, free)})",
                    lost,
                )
            )
    return tuple(found)


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
    if model.valuation.group:
        items["group incident"] = Assumption(
            "group incident",
            f"x scaled by {defaults.value('g.group_shift'):g}",
            defaults.cite("g.group_shift"),
        )
    if "personal_call" in model.options:
        for name in ("rho_call.with_remedy", "rho_call.alone"):
            items[name] = Assumption(name, f"{defaults.value(name):g}", defaults.cite(name))
    if "replacement" in model.options:
        name = "timeliness.standard_shipping"
        items[name] = Assumption(name, f"{defaults.value(name):g}", defaults.cite(name))
    if incident.repeat:
        items["apology_backfire"] = Assumption(
            "apology_backfire",
            f"{defaults.value('apology_backfire'):g}",
            defaults.cite("apology_backfire"),
        )
    return tuple(items[k] for k in sorted(items))
