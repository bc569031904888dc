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


def plan_to_json(plan: Plan, messages: Sequence[Any] = ()) -> dict[str, Any]:
    """The plan as the JSON object of cli.md's contract (schema_version 1)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "incident": {"id": plan.incident_id, "title": plan.title, "kind": plan.kind},
        "currency": plan.currency,
        "draws": plan.draws,
        "seed": plan.seed,
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
            "baseline": {"option": APOLOGY, "net_value": _money(plan.baseline_value)},
            "budget": _money(plan.budget),
            "call_capacity": plan.call_capacity,
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
                    "value_at_stake": _money(s.value_at_stake),
                    "cost": _money(s.cost),
                    "retained_value": _money(s.retained_value),
                    "net_value": _money(s.net_value),
                    "baseline_value": _money(s.baseline_value),
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
                }
                for o in plan.offers
            ],
            "obligations": list(plan.obligations),
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


def plan_to_markdown(plan: Plan, messages: Sequence[Any] = ()) -> str:
    """The plan as Markdown, for pasting into a postmortem."""
    m = plan.currency

    def money(x: float) -> str:
        return format_money(x, m)

    out = [f"# Remediation plan: {plan.title}", ""]
    out.append(
        f"Incident `{plan.incident_id}` ({plan.kind}). Expected net value of the plan "
        f"**{money(plan.expected_net_value)}** (P10 {money(plan.net_p10)}, P90 "
        f"{money(plan.net_p90)}) for a cost of **{money(plan.total_cost)}**; an apology alone: "
        f"{money(plan.baseline_value)}. Future value at stake with only an apology: "
        f"{money(plan.value_at_stake)}."
    )
    out += ["", "## The plan", "", "| segment | option | customers | cost |", "|---|---|---:|---:|"]
    for a in plan.actions:
        out.append(f"| {a.segment} | {a.option} | {a.customers:,} | {money(a.cost)} |")
    out.append(f"| **total** | | | **{money(plan.total_cost)}** |")
    if any(s.choice for s in plan.segments):
        out += ["", "Refund and goods are offered as a choice: each customer takes one."]
    if plan.obligations:
        out += ["", "Obligations (planned whatever they score):", ""]
        out += [f"- {o}" for o in plan.obligations]
    out += [
        "",
        "## Options",
        "",
        "| segment | option | scored with | cost | value kept | net | break-even | P(best) "
        "| P10 .. P90 |",
        "|---|---|---|---:|---:|---:|---|---:|---|",
    ]
    for o in plan.options:
        mark = " (in plan)" if o.in_plan else ("" if o.feasible else " (not allowed)")
        out.append(
            f"| {o.segment} | {o.option}{mark} | {' + '.join(o.scored_with) or APOLOGY} | "
            f"{money(o.cost)} | {money(o.retained_value)} | {money(o.net_value)} | "
            f"{_be(plan, o.break_even_clv, o.pays_when)} | {o.p_best:.0%} | "
            f"{money(o.net_p10)} .. {money(o.net_p90)} |"
        )
    if plan.binding_constraints:
        out += ["", "## Binding constraints", ""]
        for c in plan.binding_constraints:
            out.append(f"- **{c.constraint}**: {c.detail} (costs {money(c.cost_in_value)})")
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
