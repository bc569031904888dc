"""Reports of a plan: the JSON contract of `remedy plan --format json` and Markdown.

JSON (docs: cli.md) is the stable interface for scripts: `schema_version` 1; keys are only added,
never renamed, within a version. Floats are rounded (money to cents, probabilities to 4 places)
and every list has a fixed order, so the same file and seed give byte-identical output.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from remedy.money import format_money
from remedy.plan import APOLOGY, Plan

SCHEMA_VERSION = 1


def _money(value: float | None) -> float | None:
    if value is None:
        return None
    out = round(float(value), 2)
    return 0.0 if out == 0 else out


def _share(value: float) -> float:
    out = round(float(value), 4)
    return 0.0 if out == 0 else out


def _exact(amount: Decimal | None) -> float | None:
    return None if amount is None else float(amount)


def _field(message: Any, name: str) -> Any:
    if isinstance(message, Mapping):
        return message.get(name)
    return getattr(message, name, None)


def message_dicts(messages: Iterable[Any]) -> list[dict[str, Any]]:
    """Messages (objects with .channel .segment .subject .body, or dicts) as JSON objects."""
    out = []
    for message in messages:
        out.append(
            {
                "channel": _field(message, "channel"),
                "segment": _field(message, "segment"),
                "subject": _field(message, "subject"),
                "body": _field(message, "body"),
            }
        )
    return out


def _obligation_text(rule: Any) -> str:
    status = " (waived by the file)" if rule.waived else ""
    return f"{rule.text}{status} ({rule.source})"


def plan_to_json(plan: Plan, messages: Sequence[Any] = ()) -> dict[str, Any]:
    """The plan as the JSON object of cli.md's contract (schema_version 1).

    Net values are over the floor (the cheapest plan meeting every obligation); costs include
    the floor. `candidates` lists each segment's candidate plans (P(best) sums to 1 per
    segment); `options` scores one option at a time inside the best candidate containing it.
    """
    floor_options = sorted({o for _, options in plan.floor.segments for o in options})
    return {
        "schema_version": SCHEMA_VERSION,
        "incident": {"id": plan.incident_id, "title": plan.title, "kind": plan.kind},
        "currency": plan.currency,
        "draws": plan.draws,
        "seed": plan.seed,
        "candidates": [
            {
                "segment": c.segment,
                "options": list(c.options) or [APOLOGY],
                "customers": c.customers,
                "calls": c.calls,
                "cost": _money(c.cost),
                "retained_value": _money(c.retained_value),
                "net_value": _money(c.net_value),
                "p_best": _share(c.p_best),
                "net_p10": _money(c.net_p10),
                "net_p50": _money(c.net_p50),
                "net_p90": _money(c.net_p90),
                "in_plan": c.in_plan,
                "floor": c.floor,
                "feasible": c.feasible,
                "within_budget": c.within_budget,
                "choice": c.choice,
            }
            for c in plan.candidates
        ],
        "options": [
            {
                "option": o.option,
                "segment": o.segment,
                "customers": o.customers,
                "scored_with": list(o.scored_with),
                "cost": _money(o.cost),
                "retained_value": _money(o.retained_value),
                "net_value": _money(o.net_value),
                "break_even_clv": _money(o.break_even_clv),
                "pays_when": o.pays_when,
                "p_best": _share(o.p_best),
                "p_pays": _share(o.p_pays),
                "net_p10": _money(o.net_p10),
                "net_p50": _money(o.net_p50),
                "net_p90": _money(o.net_p90),
                "recovery": _share(o.recovery),
                "feasible": o.feasible,
                "in_plan": o.in_plan,
            }
            for o in plan.options
        ],
        "plan": {
            "summary": plan.summary,
            "actions": [
                {
                    "option": a.option,
                    "segment": a.segment,
                    "customers": a.customers,
                    "cost": _money(a.cost),
                }
                for a in plan.actions
            ],
            "total_cost": _money(plan.total_cost),
            "expected_net_value": _money(plan.expected_net_value),
            "net_p10": _money(plan.net_p10),
            "net_p50": _money(plan.net_p50),
            "net_p90": _money(plan.net_p90),
            "value_at_stake": _money(plan.value_at_stake),
            "floor": {
                "options": floor_options,
                "segments": [
                    {"segment": name, "options": list(options) or [APOLOGY]}
                    for name, options in plan.floor.segments
                ],
                "cost": _money(plan.floor.cost),
                "retained_value": _money(plan.floor.retained_value),
                "net_value": _money(plan.floor.value),
            },
            "baseline": {
                "option": "floor",
                "options": floor_options,
                "net_value": 0.0,
                "cost": _money(plan.floor.cost),
            },
            "budget": _money(plan.budget),
            "call_capacity": plan.call_capacity,
            "optimality_gap": _money(plan.optimality_gap),
            "binding_constraints": [
                {
                    "constraint": c.constraint,
                    "detail": c.detail,
                    "cost_in_value": _money(c.cost_in_value),
                }
                for c in plan.binding_constraints
            ],
            "segments": [
                {
                    "segment": s.segment,
                    "customers": s.customers,
                    "options": list(s.options) or [APOLOGY],
                    "choice": s.choice,
                    "calls": s.calls,
                    "clv": _money(s.clv),
                    "delta": _share(s.delta),
                    "spillover": _share(s.spillover),
                    "value_at_stake": _money(s.value_at_stake),
                    "cost": _money(s.cost),
                    "retained_value": _money(s.retained_value),
                    "net_value": _money(s.net_value),
                    "floor_options": list(s.floor_options) or [APOLOGY],
                    "floor_cost": _money(s.floor_cost),
                    "baseline_value": _money(s.floor_value),
                }
                for s in plan.segments
            ],
            "offers": [
                {
                    "segment": o.segment,
                    "options": list(o.options),
                    "customers": o.customers,
                    "calls": o.calls,
                    "refund_amount": _exact(o.refund_amount),
                    "credit_amount": _exact(o.credit_amount),
                    "custom_labels": dict(sorted(o.custom_labels.items())),
                    "order_fate": o.order_fate,
                    "on_request": list(o.on_request),
                    "choice": o.choice,
                    "caller": o.caller,
                }
                for o in plan.offers
            ],
            "obligations": [_obligation_text(rule) for rule in plan.obligations],
            "obligation_rules": [
                {
                    "id": rule.id,
                    "text": rule.text,
                    "source": rule.source,
                    "legal": rule.legal,
                    "waived": rule.waived,
                }
                for rule in plan.obligations
            ],
        },
        "sensitivity": [
            {
                "input": s.input,
                "low": s.low,
                "high": s.high,
                "plan_at_low": s.plan_at_low,
                "plan_at_high": s.plan_at_high,
                "changes": s.changes,
                "net_at_low": _money(s.net_at_low),
                "net_at_high": _money(s.net_at_high),
            }
            for s in plan.sensitivity
        ],
        "assumptions": [
            {"name": a.name, "value": a.value, "source": a.source} for a in plan.assumptions
        ],
        "notes": list(plan.notes),
        "messages": message_dicts(messages),
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _be(plan: Plan, value: float | None, pays_when: str) -> str:
    if value is None:
        return "never"
    if pays_when == "always":
        return "always"
    side = ">" if pays_when == "clv_above" else "<"
    return f"CLV {side} {format_money(value, plan.currency)}"


def _named(options: Sequence[str], calls: int = 0) -> str:
    text = " + ".join(options) if options else APOLOGY
    if calls:
        text += f" ({calls:,} call{'s' if calls != 1 else ''})"
    return text


def plan_to_markdown(plan: Plan, messages: Sequence[Any] = ()) -> str:
    """The plan as Markdown, for pasting into a postmortem."""
    m = plan.currency

    def money(x: float) -> str:
        return format_money(x, m)

    floor = "; ".join(
        f"{name}: {_named(options)}" if len(plan.floor.segments) > 1 else _named(options)
        for name, options in plan.floor.segments
    )
    out = [f"# Remediation plan: {plan.title}", ""]
    out.append(
        f"Incident `{plan.incident_id}` ({plan.kind}). **Recommended: {_cell(plan.summary)}**, "
        f"costing **{money(plan.total_cost)}** in all. It adds an expected "
        f"**{money(plan.expected_net_value)}** (P10 {money(plan.net_p10)}, P90 "
        f"{money(plan.net_p90)}) over the floor, {_cell(floor)} ({money(plan.floor.cost)}), the "
        f"cheapest plan that meets every obligation. Future value at stake with only an "
        f"apology: {money(plan.value_at_stake)}."
    )
    out += ["", "## The plan", "", "| segment | option | customers | cost |", "|---|---|---:|---:|"]
    for a in plan.actions:
        out.append(f"| {a.segment} | {a.option} | {a.customers:,} | {money(a.cost)} |")
    out.append(f"| **total** | | | **{money(plan.total_cost)}** |")
    if any(s.choice for s in plan.segments):
        out += ["", "Refund and goods are offered as a choice: each customer takes one."]
    if plan.obligations:
        out += ["", "Obligations (in the floor, whatever they score):", ""]
        out += [f"- {_obligation_text(o)}" for o in plan.obligations]
    out += [
        "",
        "## Candidate plans",
        "",
        "Net value is over the floor; P(best) is the share of draws in which a candidate is the "
        "segment's best choice.",
        "",
        "| segment | candidate | cost | value kept | net | P(best) | P10 .. P90 |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for c in plan.candidates:
        marks = [x for x, on in (("plan", c.in_plan), ("floor", c.floor)) if on]
        if not c.feasible:
            marks.append("not allowed")
        elif not c.within_budget:
            marks.append("over budget")
        mark = f" ({', '.join(marks)})" if marks else ""
        label = f"**{_named(c.options, c.calls)}**" if c.in_plan else _named(c.options, c.calls)
        out.append(
            f"| {c.segment} | {label}{mark} | {money(c.cost)} | {money(c.retained_value)} | "
            f"{money(c.net_value)} | {c.p_best:.0%} | {money(c.net_p10)} .. {money(c.net_p90)} |"
        )
    out += [
        "",
        "## Options one at a time",
        "",
        "| segment | option | best plan with it | net | break-even | pays off in |",
        "|---|---|---|---:|---|---:|",
    ]
    for o in plan.options:
        mark = " (in plan)" if o.in_plan else ("" if o.feasible else " (not allowed)")
        out.append(
            f"| {o.segment} | {o.option}{mark} | {_named(o.scored_with)} | "
            f"{money(o.net_value)} | {_be(plan, o.break_even_clv, o.pays_when)} | "
            f"{o.p_pays:.0%} |"
        )
    if plan.binding_constraints:
        out += ["", "## Binding constraints", ""]
        for bound in plan.binding_constraints:
            out.append(
                f"- **{bound.constraint}**: {bound.detail} (costs {money(bound.cost_in_value)})"
            )
    if plan.sensitivity:
        out += [
            "",
            "## Sensitivity",
            "",
            "| input | low .. high | plan at low | plan at high | net at low .. high |",
            "|---|---|---|---|---|",
        ]
        for s in plan.sensitivity:
            flag = " **changes**" if s.changes else ""
            out.append(
                f"| {s.input}{flag} | {s.low:g} .. {s.high:g} | {_cell(s.plan_at_low)} | "
                f"{_cell(s.plan_at_high)} | {money(s.net_at_low)} .. {money(s.net_at_high)} |"
            )
    out += ["", "## Assumptions", "", "| input | value | source |", "|---|---|---|"]
    for item in plan.assumptions:
        out.append(f"| {item.name} | {_cell(item.value)} | {_cell(item.source)} |")
    if plan.notes:
        out += ["", "## Notes", ""]
        out += [f"- {n}" for n in plan.notes]
    drafts = message_dicts(messages)
    if drafts:
        out += ["", "## Drafts"]
        for d in drafts:
            title = f"{d['segment']}, {d['channel']}"
            out += ["", f"### {title}", ""]
            if d["subject"]:
                out += [f"**Subject:** {d['subject']}", ""]
            out += ["```text", str(d["body"]).rstrip("\n"), "```"]
    out.append(f"\n_{plan.draws:,} Monte Carlo draws, seed {plan.seed}; remedy scoring model._")
    return "\n".join(out) + "\n"
