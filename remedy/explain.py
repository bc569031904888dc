"""`remedy explain FILE OPTION`: the arithmetic behind one option's score, step by step.

For each segment: the value at stake (CLV, delta, word of mouth), the floor the plan is measured
against (its obligations and their sources), then the best candidate plan containing the option
against the same plan without it: each group of customers and the package it receives, the
package's worth over the customer's loss (x), g(x), match, fault, timeliness, the call, the
recovery share and the cost per customer; finally the break-even CLV and the Monte Carlo
summary. Every number shows how it was computed and where its inputs came from ("file: ..." or
"default: ... (citation)"). The arithmetic is at the likely value of every input.
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
from remedy.options import total
from remedy.plan import APOLOGY, OptionScore, Planned, plan_in_detail, without_option
from remedy.score import (
    CALL,
    CONTACT,
    Model,
    contact_cost,
    package_scores,
    recovery_curve,
    reply_cost,
    weight_of,
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
    obligations: tuple[str, ...]
    notes: tuple[str, ...]

    def to_text(self) -> str:
        """Plain text for the terminal or a postmortem."""
        money = self._money
        lines = [f"{self.option}: {self.label}  (incident {self.incident_id})"]
        for seg in self.segments:
            lines.append("")
            lines.append(f"Segment {seg.segment} ({seg.customers:,} customers)")
            width = max(len(s.label) for s in seg.steps if s.value or s.detail)
            shown: set[str] = set()  # a long source is printed once per segment
            for step in seg.steps:
                if not step.value and not step.detail:  # a heading
                    lines.append(f"  {step.label}")
                    continue
                text = f"    {step.label.ljust(width)}  {step.value}"
                if step.detail:
                    text += f"  = {step.detail}"
                lines.append(text)
                if step.source and step.source not in shown:
                    shown.add(step.source)
                    lines.append(f"    {' ' * width}    from {step.source}")
            s = seg.score
            lines.append(
                f"  Monte Carlo ({self.draws:,} draws, seed {self.seed}): expected net over the "
                f"floor {money(s.net_value)}, P10 {money(s.net_p10)}, P90 {money(s.net_p90)}; "
                f"best choice in {s.p_best:.0%} of draws; pays for itself in {s.p_pays:.0%}"
            )
            lines.append(f"  in the plan: {'yes' if s.in_plan else 'no'}")
        lines.append("")
        lines.append(f"Plan: {self.plan_summary}")
        lines += [f"Obligation: {o}" for o in self.obligations]
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
                    "scored_with": list(seg.score.scored_with),
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
            "obligations": list(self.obligations),
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
    if option not in incident.enabled_options():
        if not incident.options.get(option).enabled:
            raise InputError(f"option '{option}' is disabled in the file (options.{option}: false)")
        raise InputError(
            f"option '{option}' is used only when the file lists it (add 'options: "
            f"{{{option}: {{}}}}')"
        )
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
    notes: tuple[str, ...] = (),
) -> Explanation:
    """The arithmetic behind `option`'s score for each segment, with the inputs' sources.

    Raises UsageError for an unknown option (listing the valid ids, with a did-you-mean) and
    InputError for a disabled one or one that cannot be scored for this incident.
    """
    _check_known(incident, option)  # before any work
    detail = plan_in_detail(incident, draws=draws, seed=seed, clv_override=clv_override)
    model = detail.model
    _check_usable(incident, model, option)
    plan = detail.plan
    label = "Apology only" if option == APOLOGY else model.options[option].label
    segments = []
    for k, segment in enumerate(model.valuation.segments):
        score = next(
            (s for s in plan.options if s.option == option and s.segment == segment.name), None
        )
        if score is None:
            raise InputError(f"option '{option}' has no candidate plan in segment {segment.name}")
        steps = _steps(detail, k, option, score)
        segments.append(SegmentExplanation(segment.name, segment.customers, tuple(steps), score))
    return Explanation(
        incident_id=incident.id,
        option=option,
        label=label,
        currency=incident.currency,
        draws=draws,
        seed=seed,
        segments=tuple(segments),
        plan_summary=plan.summary,
        obligations=tuple(
            f"{r.text}{' (waived by the file)' if r.waived else ''} "
            f"({'law' if r.legal else 'policy'}: {r.source})"
            for r in model.obligations
        ),
        notes=(*notes, *plan.notes),
    )


def _num(x: float) -> str:
    if np.isinf(x):
        return "infinite"
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:,.4g}" if abs(x) < 1000 else f"{x:,.2f}"


def _one(a: Any) -> float:
    return float(np.asarray(a, dtype=float).reshape(-1)[0])


class _Writer:
    """Collects steps for one segment, at the likely value of every input."""

    def __init__(self, detail: Planned, k: int) -> None:
        self.detail = detail
        self.model = detail.model
        self.likely = detail.likely
        self.k = k
        self.segment = self.model.valuation.segments[k]
        self.steps: list[Step] = []

    def money(self, x: float) -> str:
        return format_money(x, self.model.incident.currency)

    def add(self, label: str, value: str = "", detail: str = "", source: str = "") -> None:
        self.steps.append(Step(label, value, detail, source))

    def uncertain(self, key: str) -> str:
        estimate = self.model.inputs[key].estimate
        return f" (range {estimate})" if estimate.uncertain else ""

    def stake(self) -> float:
        """CLV, delta, word of mouth: the value at stake per customer."""
        model, likely, segment = self.model, self.likely, self.segment
        incident = model.incident
        if incident.segments:
            declared = next(s for s in incident.segments if s.name == segment.name)
            how = (
                f"file: segments.{segment.name}.count"
                if declared.count is not None
                else f"file: segments.{segment.name}.share x affected.customers"
            )
        else:
            how = "file: affected.customers"
        self.add("Value at stake")
        self.add("customers", f"{segment.customers:,}", source=how)
        clv = _one(likely[segment.clv_key])
        self.add(
            "CLV",
            self.money(clv) + self.uncertain(segment.clv_key),
            source=model.inputs[segment.clv_key].source,
        )
        base = _one(likely["delta"])
        delta = _one(model.valuation.delta(likely))
        factors = " ".join(f"x {m.factor:g} ({m.name})" for m in model.valuation.modifiers)
        sources = "; ".join(m.source for m in model.valuation.modifiers)
        capped = (
            f", capped at {model.valuation.delta_cap:g}"
            if factors
            and delta
            < base * (float(np.prod([m.factor for m in model.valuation.modifiers]))) - 1e-12
            else ""
        )
        self.add(
            "delta (share of future value lost with only an apology)",
            f"{delta:.4g}",
            f"{base:.4g} {factors}{capped}".strip() if factors else "",
            model.inputs["delta"].source + (f"; {sources}" if sources else ""),
        )
        spill = 0.0
        for key in model.valuation.spillover_keys:
            share = _one(likely[key])
            spill += share
            name = "word of mouth" if key.endswith("word_of_mouth") else "publicity"
            self.add(
                f"{name} (share of CLV)",
                f"{share:.4g}" + self.uncertain(key),
                source=model.inputs[key].source,
            )
        stake = delta * clv * (1 + spill)
        self.add(
            "value at stake per customer",
            self.money(stake),
            f"delta x CLV x (1 + word of mouth + publicity) = {delta:.4g} x {self.money(clv)} "
            f"x {1 + spill:.4g}; for the segment {self.money(stake * segment.customers)}",
        )
        return stake

    def candidate(
        self, title: str, m: int, share: float, call: int, stake: float
    ) -> tuple[float, float]:
        """The recovery and cost per customer of candidate m (its call variant `call` given to
        a share `share`), part by part. Returns (recovery, cost)."""
        model, likely = self.model, self.likely
        candidate = model.candidates[m]
        name = " + ".join(candidate.options) or APOLOGY
        if call >= 0 and share > 0:
            name += f", with a personal call for {share:.0%} of them"
        self.add(f"{title}: {name}")
        rho, cost = self._parts(m)
        if call >= 0 and share > 0:
            self.add(f"  The {share:.0%} of customers who also get a call:")
            rho_c, cost_c = self._parts(call)
            rho = rho + share * (rho_c - rho)
            cost = cost + share * (cost_c - cost)
        replies = _one(reply_cost(likely))
        self.add(
            "replies to the message (every plan)",
            self.money(replies),
            f"reply share x contact minutes x support cost / 60 = "
            f"{_one(likely['assumptions.reply_share']):.3g} x "
            f"{_one(likely['assumptions.contact_minutes']):g} x "
            f"{self.money(_one(likely['business.support_cost_per_hour']))} / 60",
            model.inputs["assumptions.reply_share"].source,
        )
        self.add(
            "recovery share, all customers",
            f"{rho:.4g}",
            f"value kept per customer {self.money(rho * stake)}",
        )
        self.add("cost per customer", self.money(cost))
        return rho, cost

    def _parts(self, m: int) -> tuple[float, float]:
        model, likely = self.model, self.likely
        candidate = model.candidates[m]
        packages = [model.packages[p.package] for p in candidate.parts]
        scores = package_scores(model, packages, likely, self.segment.loss_key)
        rho_total = 0.0
        cost_total = _one(reply_cost(likely))
        loss_key = self.segment.loss_key
        for i, part in enumerate(candidate.parts):
            weight = _one(weight_of(part.weight, likely))
            package = model.packages[part.package]
            received = [o for o in package if o != CONTACT]
            share_text = (
                f"{weight:.0%} of customers: " if len(candidate.parts) > 1 or part.weight else ""
            )
            self.add(f"  {share_text}{' + '.join(received) or 'the apology only'}")
            for key in part.weight:
                name = key.lstrip("~")
                self.add(
                    f"    share {'not ' if key.startswith('~') else ''}taking it ({name})",
                    f"{_one(weight_of((key,), likely)):.4g}",
                    source=model.inputs[name].source,
                )
            tangible = [o for o in received if o in model.options and model.options[o].tangible]
            if tangible:
                worth = _one(scores.worth[i])
                loss = None if loss_key is None else _one(likely[loss_key])
                for option in tangible:
                    spec = model.options[option]
                    if spec.recovery_key is not None:
                        continue
                    if spec.worth is None:
                        self.add(
                            f"    worth of {option}",
                            "taken to make good the loss",
                            "no value stated in the file (its x counts as 1)",
                        )
                    else:
                        self.add(
                            f"    worth of {option} to the customer",
                            self.money(_one(total(spec.worth, likely))),
                            "; ".join(
                                f"{t.label} = {_num(_one(t.evaluate(likely)))}" for t in spec.worth
                            ),
                        )
                if loss is not None:
                    self.add(
                        "    customer's loss",
                        self.money(loss),
                        source=model.inputs[loss_key or ""].source,
                    )
                group = model.valuation.group
                x = _one(scores.x[i])
                shift = float(defaults.value("g.group_shift"))
                self.add(
                    "    x = worth / loss",
                    _num(x) + (f" (read as {_num(x * shift)}: a group incident)" if group else ""),
                    "",
                    defaults.cite("g.group_shift") if group else "",
                )
                g_source = f"{defaults.cite('g.rise_midpoint')}; {defaults.cite('g.decline_depth')}"
                self.add("    g(x)", f"{_one(scores.g[i]):.4g}", "", g_source)
                if not bool(np.asarray(scores.meaningful[i]).reshape(-1)[0]):
                    floor_share = _one(likely["assumptions.min_offer_share"])
                    self.add(
                        "    meaningful?",
                        "no: recovers nothing",
                        f"worth {self.money(worth)} is under {floor_share:g} x the order value",
                        model.inputs["assumptions.min_offer_share"].source,
                    )
                self.add(
                    "    match (worth-weighted)",
                    f"{_one(scores.match[i]):.4g}",
                    "; ".join(f"{o} {model.options[o].match:g}" for o in tangible),
                    "; ".join(
                        "file: the option's matches"
                        if model.options[o].match_source == "match.custom"
                        else defaults.cite(model.options[o].match_source)
                        for o in tangible
                        if model.options[o].match_source
                    ),
                )
                fault = model.incident.fault
                self.add(
                    "    fault factor",
                    f"{defaults.value(f'fault.{fault}'):g}",
                    source=defaults.cite(f"fault.{fault}"),
                )
                if _one(scores.timeliness[i]) != 1.0:
                    self.add(
                        "    timeliness",
                        f"{_one(scores.timeliness[i]):.4g}",
                        source=defaults.cite("timeliness.standard_shipping"),
                    )
                material = _one(model.valuation.material_share(likely))
                if material != 1.0:
                    self.add(
                        "    share compensation can answer",
                        f"{material:.4g}",
                        "money or goods cannot bring back the missed occasion",
                        defaults.cite("delta.occasion"),
                    )
                self.add(
                    "    recovery from the remedy",
                    f"{_one(scores.rho_tangible[i]):.4g}",
                    "g x match x fault x timeliness x share",
                )
            if CALL in received:
                q = _one(scores.quality[i])
                self.add(
                    "    recovery of the call",
                    f"{_one(scores.rho_call[i]):.4g}",
                    f"0.1 alone, up to 0.3 with a full remedy: 0.1 + 0.2 x min(1, {q:.3g} / "
                    f"{float(recovery_curve(1.0)):.3g})",
                    f"{defaults.cite('rho_call.alone')}; {defaults.cite('rho_call.with_remedy')}",
                )
            rho = _one(scores.rho[i])
            cap = model.incident.assumptions.rho_max
            capped = rho >= cap - 1e-12
            details = ["1 - (1 - remedy) x (1 - call)"] if CALL in received else []
            if capped:
                details.append(f"capped at {cap:g}")
            if model.incident.repeat and not tangible:
                details.append("an apology alone after a repeat failure backfires")
            self.add(
                "    recovery share",
                f"{rho:.4g}",
                ", ".join(details),
                defaults.cite("rho_max") if capped else "",
            )
            cost = 0.0
            parts = []
            for option in package:
                if option == CONTACT:
                    amount = _one(contact_cost(likely))
                    parts.append(f"a reply {self.money(amount)}")
                else:
                    amount = _one(total(model.options[option].cost, likely))
                    parts.append(f"{option} {self.money(amount)}")
                cost += amount
            self.add("    cost per customer", self.money(cost), " + ".join(parts) or "nothing")
            rho_total += weight * rho
            cost_total += weight * cost
        return rho_total, cost_total


def _steps(detail: Planned, k: int, option: str, score: OptionScore) -> list[Step]:
    model = detail.model
    w = _Writer(detail, k)
    stake = w.stake()
    floor_m = detail.floor.picks[k]
    w.add("The floor: the cheapest plan meeting every obligation")
    for rule in model.obligations:
        status = "waived by the file" if rule.waived else ("law" if rule.legal else "policy")
        w.add("  obligation", rule.text, status, rule.source)
    floor_rho, floor_cost = w.candidate("  floor", floor_m, 0.0, -1, stake)
    floor_net = floor_rho * stake - floor_cost
    w.add("  floor net per customer", w.money(floor_net), "value kept - cost")

    if option == APOLOGY:
        m = model.candidate_index(())
        if m is None:  # pragma: no cover - the empty set is always a candidate
            return w.steps
        rho, cost = w.candidate("Apology only", m, 0.0, -1, stake)
        net = rho * stake - cost - floor_net
        w.add(
            "net over the floor per customer",
            w.money(net),
            "an apology alone"
            + (
                ""
                if model.candidates[m].feasible
                else f" is not allowed: {model.candidates[m].why_not}"
            ),
        )
        return w.steps

    with_options = score.scored_with
    base = model.candidate_index([o for o in with_options if o != CALL])
    called = CALL in with_options
    call = int(model.call_index[base]) if base is not None and called else -1
    share = _call_share(detail, k, base, score) if called else 0.0
    if base is None:  # pragma: no cover - scored_with comes from a candidate
        return w.steps
    rho1, cost1 = w.candidate(
        f"With {option} (the best plan containing it)", base, share, call, stake
    )
    if option == CALL:
        rho0, cost0 = w.candidate(f"Without {option}", base, 0.0, -1, stake)
    else:
        rest = without_option(
            model, with_options, option, model.candidates[detail.floor.picks[k]].options
        )
        if rest is None:
            return w.steps
        rest_call = int(model.call_index[rest]) if called else -1
        rho0, cost0 = w.candidate(f"Without {option}", rest, share, rest_call, stake)
    extra = cost1 - cost0
    gain = rho1 - rho0
    per = 1.0
    if option == CALL and share > 0:
        per = share  # per called customer
        extra, gain = extra / share, gain / share
    spill_share = stake / max(_one(detail.likely[w.segment.clv_key]), 1e-12)
    w.add("The option's margin")
    w.add(
        "extra cost per customer" + (" called" if per != 1.0 else ""),
        w.money(extra),
        f"{w.money(cost1 if per == 1.0 else cost0 + extra)} - {w.money(cost0)}",
    )
    w.add(
        "added recovery" + (" per customer called" if per != 1.0 else ""),
        f"{gain:.4g}",
        f"{rho0 + gain:.4g} - {rho0:.4g}; value kept {w.money(gain * stake)}",
    )
    net_over = (rho1 * stake - cost1) - floor_net
    w.add(
        "net over the floor per customer (likely inputs)",
        w.money(net_over),
        f"for the segment {w.money(net_over * w.segment.customers)}",
    )
    if score.break_even_clv is None:
        be = "never pays" if score.pays_when == "never" else "-"
    elif score.pays_when == "always":
        be = "always pays (it saves money)"
    else:
        side = "above" if score.pays_when == "clv_above" else "below"
        be = f"{w.money(score.break_even_clv)} (pays when CLV is {side} it)"
    w.add(
        "break-even CLV",
        be,
        f"extra cost / (delta x (1 + spillover) x added recovery) = {w.money(extra)} / "
        f"({spill_share:.4g} x {gain:.4g})",
    )
    return w.steps


def _call_share(detail: Planned, k: int, base: int | None, score: OptionScore) -> float:
    """The share of the segment called in the option's best plan."""
    n = detail.model.valuation.segments[k].customers
    if base is None or n == 0:
        return 0.0
    calls = next(
        (
            c.calls
            for c in detail.plan.candidates
            if c.segment == score.segment and c.options == score.scored_with
        ),
        None,
    )
    if calls is None:
        calls = score.customers if score.option == CALL else n
    per = float(detail.expectations.calls[int(detail.model.call_index[base])])
    return min(1.0, calls / max(n * per, 1e-12))
