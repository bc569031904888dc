"""`remedy explain FILE OPTION`: the arithmetic behind one option's score, step by step.

Each step shows a number, how it was computed from the numbers before it, and where each input
came from ("file: business.clv" or "default: 0.2 (Knox & van Oest, J. Marketing 2014)"). The
arithmetic is shown at the likely value of every input; the Monte Carlo summary (expected value,
P10/P90, probability of being best) follows.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from remedy import defaults
from remedy.errors import InputError, UsageError
from remedy.incident import Estimate, Incident
from remedy.money import format_money
from remedy.plan import APOLOGY, OptionScore, Planned, plan_in_detail
from remedy.score import (
    Model,
    Term,
    arms_of,
    call_recovery,
    column_cost,
    columns_of,
    evaluate,
    option_cost_shares,
    option_recovery,
    recovery_curve,
    structure,
)

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Step:
    """One step of the arithmetic."""

    label: str
    value: str
    detail: str = ""  # how it was computed
    source: str = ""  # where the input came from


@dataclass(frozen=True)
class SegmentExplanation:
    """The steps for one segment, and the Monte Carlo summary of the option there."""

    segment: str
    customers: int
    steps: tuple[Step, ...]
    score: OptionScore


@dataclass(frozen=True)
class Explanation:
    """Why an option scores what it scores, segment by segment."""

    incident_id: str
    option: str
    label: str
    currency: str
    draws: int
    seed: int
    segments: tuple[SegmentExplanation, ...]
    plan_summary: str
    notes: tuple[str, ...]

    def to_text(self) -> str:
        """Plain text for the terminal or a postmortem."""
        money = self._money
        lines = [f"{self.option}: {self.label}  (incident {self.incident_id})"]
        for seg in self.segments:
            lines.append("")
            lines.append(f"Segment {seg.segment} ({seg.customers:,} customers)")
            width = max(len(s.label) for s in seg.steps)
            for step in seg.steps:
                text = f"  {step.label.ljust(width)}  {step.value}"
                if step.detail:
                    text += f"  = {step.detail}"
                lines.append(text)
                if step.source:
                    lines.append(f"  {' ' * width}    from {step.source}")
            s = seg.score
            lines.append(
                f"  Monte Carlo ({self.draws:,} draws, seed {self.seed}): expected net "
                f"{money(s.net_value)}, P10 {money(s.net_p10)}, P90 {money(s.net_p90)}; "
                f"best choice in {s.p_best:.0%} of draws; pays for itself in {s.p_pays:.0%}"
            )
            lines.append(f"  in the plan: {'yes' if s.in_plan else 'no'}")
        lines.append("")
        lines.append(f"Plan: {self.plan_summary}")
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        """The explanation as a JSON-ready dict: stable keys, rounded numbers, so the same
        input and seed dump to the same bytes."""
        return {
            "schema_version": SCHEMA_VERSION,
            "incident": {"id": self.incident_id},
            "currency": self.currency,
            "option": self.option,
            "label": self.label,
            "draws": self.draws,
            "seed": self.seed,
            "segments": [
                {
                    "segment": seg.segment,
                    "customers": seg.customers,
                    "steps": [
                        {
                            "step": s.label,
                            "value": s.value,
                            "detail": s.detail,
                            "source": s.source,
                        }
                        for s in seg.steps
                    ],
                    "net_value": _round(seg.score.net_value, 2),
                    "net_p10": _round(seg.score.net_p10, 2),
                    "net_p50": _round(seg.score.net_p50, 2),
                    "net_p90": _round(seg.score.net_p90, 2),
                    "break_even_clv": _round(seg.score.break_even_clv, 2),
                    "pays_when": seg.score.pays_when,
                    "p_best": _round(seg.score.p_best, 4),
                    "p_pays": _round(seg.score.p_pays, 4),
                    "in_plan": seg.score.in_plan,
                }
                for seg in self.segments
            ],
            "plan": self.plan_summary,
            "notes": list(self.notes),
        }

    def _money(self, amount: float) -> str:
        return format_money(amount, self.currency)


def _round(value: float | None, places: int) -> float | None:
    if value is None:
        return None
    out = round(float(value), places)
    return 0.0 if out == 0 else out


def valid_options(incident: Incident) -> list[str]:
    """Every option id the file knows: the built-in ones, then the custom ones."""
    return incident.options.names()


def _check_known(incident: Incident, option: str) -> None:
    known = valid_options(incident)
    if option not in known:
        close = difflib.get_close_matches(option, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        # A bad argument, not a bad file: a usage error (exit 2).
        raise UsageError(f"unknown option '{option}'{hint}; valid: {', '.join(known)}")


def _check_usable(incident: Incident, model: Model, option: str) -> None:
    if option == APOLOGY:
        return
    if not incident.options.get(option).enabled:
        raise InputError(f"option '{option}' is disabled in the file (options.{option}: false)")
    if option not in model.options:
        why = dict(model.unavailable).get(
            option, f"it does not apply to a {incident.kind} incident"
        )
        raise InputError(f"option '{option}' cannot be scored: {why}")


def explain_option(
    incident: Incident,
    option: str,
    *,
    draws: int = 10_000,
    seed: int = 0,
    clv_override: Mapping[str, Estimate] | None = None,
) -> Explanation:
    """The arithmetic behind `option`'s score for each segment, with the inputs' sources.

    Raises InputError for an unknown option (listing the valid ids, with a did-you-mean), a
    disabled one, or one that cannot be scored for this incident.
    """
    _check_known(incident, option)  # before any work
    detail = plan_in_detail(incident, draws=draws, seed=seed, clv_override=clv_override)
    model = detail.model
    _check_usable(incident, model, option)
    plan = detail.plan
    label = "Apology only" if option == APOLOGY else model.options[option].label
    segments = []
    for k, segment in enumerate(model.valuation.segments):
        score = next(s for s in plan.options if s.option == option and s.segment == segment.name)
        steps = _steps(detail, k, option, score)
        segments.append(SegmentExplanation(segment.name, segment.customers, tuple(steps), score))
    summary = "; ".join(
        f"{s.segment}: {' + '.join(s.options) if s.options else APOLOGY}"
        + (f" ({s.calls:,} calls)" if s.calls else "")
        for s in plan.segments
    )
    return Explanation(
        incident_id=incident.id,
        option=option,
        label=label,
        currency=incident.currency,
        draws=draws,
        seed=seed,
        segments=tuple(segments),
        plan_summary=summary,
        notes=plan.notes,
    )


def _num(x: float) -> str:
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:,.4g}" if abs(x) < 1000 else f"{x:,.2f}"


def _estimate_text(model: Model, key: str) -> str:
    estimate = model.inputs[key].estimate
    return "" if not estimate.uncertain else f" (range {estimate})"


def _terms_text(terms: tuple[Term, ...], likely: Mapping[str, np.ndarray]) -> list[str]:
    parts = []
    for term in terms:
        value = float(term.evaluate(likely, likely["delta"])[0])
        parts.append(f"{term.label} = {_num(value)}")
    return parts


def _sources(model: Model, terms: tuple[Term, ...]) -> str:
    keys = sorted({k for t in terms for k in t.keys})
    return "; ".join(f"{k}: {model.inputs[k].source}" for k in keys if k in model.inputs)


def _steps(detail: Planned, k: int, option: str, score: OptionScore) -> list[Step]:
    model = detail.model
    likely = detail.likely
    incident = model.incident
    currency = incident.currency
    segment = model.valuation.segments[k]

    def money(x: float) -> str:
        return format_money(x, currency)

    def one(a: np.ndarray) -> float:
        return float(np.asarray(a).reshape(-1)[0])

    steps: list[Step] = []
    if incident.segments:
        declared = next(s for s in incident.segments if s.name == segment.name)
        how = (
            f"file: segments.{segment.name}.count"
            if declared.count is not None
            else f"file: segments.{segment.name}.share x affected.customers"
        )
    else:
        how = "file: affected.customers"
    steps.append(Step("customers", f"{segment.customers:,}", source=how))

    clv = one(likely[segment.clv_key])
    steps.append(
        Step(
            "CLV",
            money(clv) + _estimate_text(model, segment.clv_key),
            source=model.inputs[segment.clv_key].source,
        )
    )
    base = one(likely["delta"])
    delta = one(model.valuation.delta(likely))
    factors = " ".join(f"x {m.factor:g} ({m.name})" for m in model.valuation.modifiers)
    mod_sources = "; ".join(m.source for m in model.valuation.modifiers)
    capped = f", capped at {model.valuation.delta_cap:g}" if delta < base * _product(model) else ""
    steps.append(
        Step(
            "delta (share of future value lost with only an apology)",
            f"{delta:.4g}",
            f"{base:.4g} {factors}{capped}".strip() if factors else "",
            model.inputs["delta"].source + (f"; {mod_sources}" if mod_sources else ""),
        )
    )
    stake = delta * clv
    steps.append(
        Step(
            "value at stake per customer",
            money(stake),
            f"delta x CLV = {delta:.4g} x {money(clv)}; for the segment "
            f"{money(stake * segment.customers)}",
        )
    )
    if option == APOLOGY:
        penalty = float(defaults.value("apology_backfire")) if incident.repeat else 0.0
        steps.append(
            Step(
                "recovery",
                f"{0.0 - penalty:g}" if penalty else "0",
                "the baseline: an apology alone keeps nothing beyond what delta assumes"
                + (" and backfires on a repeat failure" if penalty else ""),
                defaults.cite("apology_backfire") if penalty else "scoring model section 1",
            )
        )
        steps.append(Step("net value", money(-penalty * stake * segment.customers)))
        return steps

    scored_with = score.scored_with
    without = tuple(o for o in scored_with if o != option)
    arms = arms_of(scored_with, model.options, model.ship_carries_goods)
    arm = next(a for a in reversed(arms) if option in a)
    columns = columns_of(arm, model.options, incident.kind, model.ship_carries_goods)
    column = columns[arm.index(option)]
    spec = model.options[option]

    if option == "personal_call":
        companions = [o for o in arm if model.options[o].tangible]
        best_quality = 0.0
        for companion in companions:
            col = columns[arm.index(companion)]
            best_quality = max(
                best_quality, one(option_recovery(model, companion, k, likely, col).quality)
            )
        if spec.recovery_key is not None:
            rho = one(likely[spec.recovery_key])
            steps.append(Step("recovery of the call", f"{rho:.4g}", source="file"))
        else:
            rho = one(call_recovery(np.array([best_quality])))
            steps.append(
                Step(
                    "recovery of the call",
                    f"{rho:.4g}",
                    f"0.1 alone, up to 0.3 with a full remedy: 0.1 + 0.2 x min(1, "
                    f"{best_quality:.3g} / {float(recovery_curve(1.0)):.3g}) (quality of "
                    f"{' + '.join(companions) or 'no tangible remedy'})",
                    f"{defaults.cite('rho_call.alone')}; {defaults.cite('rho_call.with_remedy')}",
                )
            )
    elif column == "ship_upgrade@express":
        steps.append(
            Step(
                "effect of express shipping",
                "timeliness 0.8 -> 1",
                "it speeds up the replacement: its value is in the set's recovery below",
                defaults.cite("timeliness.standard_shipping"),
            )
        )
    else:
        found = option_recovery(model, option, k, likely, column)
        if found.overridden:
            steps.append(
                Step(
                    "recovery of the option",
                    f"{one(found.rho):.4g}",
                    source=model.inputs[spec.recovery_key or ""].source,
                )
            )
        else:
            if segment.loss_key is not None:
                loss = one(likely[segment.loss_key])
                steps.append(
                    Step(
                        "customer's loss",
                        money(loss) + _estimate_text(model, segment.loss_key),
                        source=model.inputs[segment.loss_key].source,
                    )
                )
            if found.x is not None and spec.worth is not None and segment.loss_key is not None:
                worth = sum(float(t.evaluate(likely, likely["delta"])[0]) for t in spec.worth)
                steps.append(
                    Step(
                        "value to the customer",
                        money(worth),
                        "; ".join(_terms_text(spec.worth, likely)),
                        _sources(model, spec.worth),
                    )
                )
            x = one(found.x) if found.x is not None else 1.0
            shift = float(defaults.value("g.group_shift")) if model.valuation.group else 1.0
            group = f", x {shift:g} in a group incident = {x * shift:.3g}" if shift != 1 else ""
            steps.append(
                Step(
                    "x (value / loss)",
                    f"{x:.3g}",
                    ("value / loss" if segment.loss_key else "loss unknown: taken as 1") + group,
                    defaults.cite("g.group_shift") if shift != 1 else "",
                )
            )
            if found.g is not None:
                steps.append(
                    Step(
                        "g(x)",
                        f"{one(found.g):.3g}",
                        "logistic rise 0.6 -> 1.2, plateau by 1.5, decline past it",
                        defaults.DEFAULTS["g.rise_midpoint"].source,
                    )
                )
            source = (
                "file: the option's matches"
                if spec.match_source == "match.custom"
                else defaults.cite(spec.match_source)
            )
            steps.append(
                Step(f"match ({option} for {incident.kind})", f"{spec.match:g}", "", source)
            )
            steps.append(
                Step(
                    f"fault factor ({incident.fault})",
                    f"{found.fault:g}",
                    source=defaults.cite(f"fault.{incident.fault}"),
                )
            )
            if found.timeliness != 1.0:
                steps.append(
                    Step(
                        "timeliness",
                        f"{found.timeliness:g}",
                        "standard shipping (express would be 1)",
                        defaults.cite("timeliness.standard_shipping"),
                    )
                )
            material = one(found.material_share)
            if material != 1.0:
                steps.append(
                    Step(
                        "share of the loss compensation can answer",
                        f"{material:.3g}",
                        "a missed occasion multiplies the loss; money or goods answer only the "
                        "part without it",
                        defaults.cite("delta.occasion"),
                    )
                )
            steps.append(
                Step(
                    "recovery of the option",
                    f"{one(found.rho):.4g}",
                    "g(x) x match x fault"
                    + (" x timeliness" if found.timeliness != 1.0 else "")
                    + (" x share" if material != 1.0 else ""),
                )
            )

    # The set it is scored in, with and without the option.
    st = structure(
        [scored_with, without],
        model.options,
        incident.kind,
        incident.repeat,
        model.ship_carries_goods,
    )
    pair = evaluate(model, likely, st)
    with_rho = float(pair.recovery[k][0, 0])
    without_rho = float(pair.recovery[k][0, 1])
    rho_max = incident.assumptions.rho_max
    set_text = " + ".join(scored_with)
    choice = len(arms) == 2
    how = (
        f"choice: take-up {one(likely['refund_take_up']):.3g} x refund arm + the rest x goods arm; "
        if choice
        else ""
    ) + f"min({rho_max:g}, 1 - prod(1 - rho_i))"
    steps.append(
        Step(
            f"recovery of the set ({set_text})",
            f"{with_rho:.4g}",
            how,
            "file: assumptions.rho_max"
            if "rho_max" in incident.assumptions.model_fields_set
            else defaults.cite("rho_max"),
        )
    )
    steps.append(
        Step(
            f"recovery without {option}",
            f"{without_rho:.4g}",
            f"{' + '.join(without) or APOLOGY}; the option adds {with_rho - without_rho:.4g}",
        )
    )
    shares = option_cost_shares(model, scored_with, likely)
    own = float(shares[option][0])
    extra = float(pair.cost[0, 0] - pair.cost[0, 1])
    cost_detail = "; ".join(_terms_text(spec.cost, likely))
    if choice and option in ("refund", "replacement", "ship_upgrade"):
        cost_detail += " (weighted by the share taking this arm)"
    steps.append(
        Step(
            "cost per customer",
            money(own),
            cost_detail
            + (
                f"; + support contact {_num(float(_contact(model, likely)))}"
                if _brings_contact(model, arm, option)
                else ""
            ),
            _sources(model, spec.cost),
        )
    )
    if abs(extra - own) > 0.005:
        steps.append(
            Step("extra cost of the set with it", money(extra), "cost with - cost without")
        )
    gain = with_rho - without_rho
    if score.break_even_clv is None:
        be_text = "never pays"
    elif score.pays_when == "always":
        be_text = "pays at any CLV"
    else:
        side = "above" if score.pays_when == "clv_above" else "below"
        be_text = f"{money(score.break_even_clv)} (pays when CLV is {side} it)"
    steps.append(
        Step(
            "break-even CLV",
            be_text,
            f"extra cost / (delta x added recovery) = {money(extra)} / ({delta:.4g} x {gain:.4g})"
            if gain
            else "",
        )
    )
    n = segment.customers
    per_customer = stake * with_rho - float(pair.cost[0, 0])
    how = (
        f"customers x (value at stake x recovery - cost) = {n:,} x ({money(stake)} x "
        f"{with_rho:.4g} - {money(float(pair.cost[0, 0]))})"
    )
    net_likely = n * per_customer
    if "personal_call" in scored_with and model.call_capacity is not None and n:
        called = min(n, model.call_capacity)
        if called < n:
            # Customers beyond the call capacity get the set without the call.
            if option == "personal_call":
                rest = stake * without_rho - float(pair.cost[0, 1])
            else:
                third = evaluate(
                    model,
                    likely,
                    structure(
                        [tuple(o for o in scored_with if o != "personal_call")],
                        model.options,
                        incident.kind,
                        incident.repeat,
                        model.ship_carries_goods,
                    ),
                )
                rest = stake * float(third.recovery[k][0, 0]) - float(third.cost[0, 0])
            net_likely = called * per_customer + (n - called) * rest
            how = f"{called:,} customers called (capacity), {n - called:,} not; " + how
    steps.append(Step("net value of the set (likely inputs)", money(net_likely), how))
    return steps


def _product(model: Model) -> float:
    out = 1.0
    for m in model.valuation.modifiers:
        out *= m.factor
    return out


def _contact(model: Model, likely: Mapping[str, np.ndarray]) -> float:
    return float(column_cost(model, "contact", likely)[0])


def _brings_contact(model: Model, arm: tuple[str, ...], option: str) -> bool:
    first = next((o for o in arm if model.options[o].contact), None)
    return first == option
