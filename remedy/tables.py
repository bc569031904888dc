"""Rich rendering of a plan for the terminal (`remedy plan`, format `table`).

Imported only by the CLI; Rich is imported inside the functions so that `import remedy.tables`
costs nothing at start-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from remedy.money import format_money
from remedy.plan import APOLOGY, Plan
from remedy.report import message_dicts

if TYPE_CHECKING:
    from rich.console import Console

BAR_WIDTH = 24


def spread_bar(low: float, high: float, lo: float, hi: float, width: int = BAR_WIDTH) -> str:
    """A text bar of a P10..P90 range on a common scale [lo, hi], with `|` at zero."""
    if hi <= lo:
        return "─" * width
    cells = ["·"] * width

    def at(x: float) -> int:
        return min(width - 1, max(0, round((x - lo) / (hi - lo) * (width - 1))))

    for i in range(at(low), at(high) + 1):
        cells[i] = "━"
    if lo < 0 < hi:
        cells[at(0.0)] = "│" if cells[at(0.0)] == "·" else "┿"
    return "".join(cells)


def render_plan(plan: Plan, messages: Sequence[Any], console: Console) -> None:
    """Print the plan: options ranked, the plan by segment beside the apology-only baseline,
    binding constraints, sensitivity, then the drafts."""
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    def money(x: float) -> str:
        return format_money(x, plan.currency)

    console.print(
        Text.assemble(
            ("Plan: ", "bold"), (plan.title, "bold"), f"  ({plan.incident_id}, {plan.kind})"
        )
    )

    lo = min([o.net_p10 for o in plan.options] + [0.0])
    hi = max([o.net_p90 for o in plan.options] + [0.0])
    options = Table(title="Options, ranked by expected net value", title_justify="left")
    for name, justify in (
        ("segment", "left"),
        ("option", "left"),
        ("with", "left"),
        ("cost", "right"),
        ("value kept", "right"),
        ("net", "right"),
        ("break-even CLV", "right"),
        ("P(best)", "right"),
        ("P10 .. P90", "left"),
    ):
        if name == "P10 .. P90":
            options.add_column(name, no_wrap=True, min_width=BAR_WIDTH)
        else:
            options.add_column(name, justify=justify)  # type: ignore[arg-type]
    for o in plan.options:
        style = "bold green" if o.in_plan else ("dim" if not o.feasible else "")
        if o.break_even_clv is None:
            be = "never"
        elif o.pays_when == "always":
            be = "always"
        else:
            be = ("> " if o.pays_when == "clv_above" else "< ") + money(o.break_even_clv)
        options.add_row(
            o.segment,
            o.option + ("" if o.feasible else " (not allowed)"),
            " + ".join(x for x in o.scored_with if x != o.option) or "-",
            money(o.cost),
            money(o.retained_value),
            money(o.net_value),
            be,
            f"{o.p_best:.0%}",
            spread_bar(o.net_p10, o.net_p90, lo, hi),
            style=style,
        )
    console.print(options)

    seg = Table(title="The plan by segment", title_justify="left")
    for name in ("segment", "customers", "remedies", "calls", "cost", "net", "apology only"):
        seg.add_column(name, justify="left" if name in ("segment", "remedies") else "right")
    for s in plan.segments:
        remedies = " + ".join(o for o in s.options if o != "personal_call") or APOLOGY
        if s.choice:
            remedies += " (customer's choice)"
        seg.add_row(
            s.segment,
            f"{s.customers:,}",
            remedies,
            f"{s.calls:,}",
            money(s.cost),
            money(s.net_value),
            money(s.baseline_value),
        )
    seg.add_row(
        "total",
        f"{sum(s.customers for s in plan.segments):,}",
        "",
        f"{sum(s.calls for s in plan.segments):,}",
        money(plan.total_cost),
        money(plan.expected_net_value),
        money(plan.baseline_value),
        style="bold",
    )
    console.print(seg)
    console.print(
        f"Expected net value {money(plan.expected_net_value)} (P10 {money(plan.net_p10)}, "
        f"P90 {money(plan.net_p90)}); value at stake with only an apology "
        f"{money(plan.value_at_stake)}."
    )
    for obligation in plan.obligations:
        console.print(f"[bold]Obligation:[/bold] {obligation}", highlight=False)
    for c in plan.binding_constraints:
        console.print(
            f"[bold yellow]Binding {c.constraint}:[/bold yellow] {c.detail} "
            f"(costs {money(c.cost_in_value)} in expected value)",
            highlight=False,
        )

    if plan.sensitivity:
        sens = Table(title="Sensitivity (one input low -> high)", title_justify="left")
        for name in ("input", "low .. high", "plan at low", "plan at high", "net low .. high"):
            sens.add_column(name)
        for row in plan.sensitivity:
            sens.add_row(
                row.input,
                f"{row.low:g} .. {row.high:g}",
                row.plan_at_low,
                row.plan_at_high,
                f"{money(row.net_at_low)} .. {money(row.net_at_high)}",
                style="yellow" if row.changes else "",
            )
        console.print(sens)
    for note in plan.notes:
        console.print(f"[dim]Note: {note}[/dim]", highlight=False)

    for d in message_dicts(messages):
        title = f"{d['segment']} - {d['channel']}"
        body = (f"Subject: {d['subject']}\n\n" if d["subject"] else "") + str(d["body"])
        console.print(Panel(Text(body), title=title, title_align="left"))
