"""Rich rendering of a plan for the terminal (`remedy plan`, format `table`).

Imported only by the CLI; Rich is imported inside the functions so that `import remedy.tables`
costs nothing at start-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from remedy.money import format_money, format_money_short
from remedy.plan import APOLOGY, Plan
from remedy.report import message_dicts

if TYPE_CHECKING:
    from rich.console import Console

BAR_WIDTH = 16


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

    def short(x: float) -> str:
        return format_money_short(x, plan.currency)

    several = len(plan.segments) > 1

    console.print(
        Text.assemble(
            ("Plan: ", "bold"), (plan.title, "bold"), f"  ({plan.incident_id}, {plan.kind})"
        )
    )

    lo = min([o.net_p10 for o in plan.options] + [0.0])
    hi = max([o.net_p90 for o in plan.options] + [0.0])
    from rich import box

    options = Table(
        title="Options, ranked by expected net value",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    narrow = console.width < 110  # drop the widest, least needed column on small terminals
    bar_width = 10 if console.width < 90 else BAR_WIDTH
    columns = [
        ("segment", "left"),
        ("option", "left"),
        ("scored with", "left"),
        ("cost", "right"),
        ("kept", "right"),
        ("net", "right"),
        ("break-even", "right"),
        ("P(best)", "right"),
        ("P10 .. P90", "left"),
    ]
    keep = [several, True, not narrow, True, True, True, True, True, True]
    columns = [c for c, k in zip(columns, keep, strict=True) if k]
    longest = max((len(o.option) for o in plan.options), default=6)
    for name, justify in columns:
        if name == "P10 .. P90":
            options.add_column(name, no_wrap=True, min_width=bar_width)
        elif name == "option":
            options.add_column(name, no_wrap=True, min_width=min(longest, 24))
        elif name == "scored with":
            options.add_column(name, ratio=1)
        else:
            options.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for o in plan.options:
        style = "bold green" if o.in_plan else ("dim" if not o.feasible else "")
        if o.break_even_clv is None:
            be = "never"
        elif o.pays_when == "always":
            be = "always"
        else:
            be = ("> " if o.pays_when == "clv_above" else "< ") + short(o.break_even_clv)
        cells = [
            o.segment,
            o.option + ("" if o.feasible else " (x)"),
            " + ".join(x for x in o.scored_with if x != o.option) or "-",
            short(o.cost),
            short(o.retained_value),
            short(o.net_value),
            be,
            f"{o.p_best:.0%}",
            spread_bar(o.net_p10, o.net_p90, lo, hi, bar_width),
        ]
        options.add_row(*(c for c, k in zip(cells, keep, strict=True) if k), style=style)
    console.print(options)
    if any(not o.feasible for o in plan.options):
        console.print(Text("(x): not allowed here, e.g. an obligation rules it out", style="dim"))

    seg = Table(title="The plan by segment", title_justify="left", box=box.SIMPLE_HEAD)
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
            short(s.cost),
            short(s.net_value),
            short(s.baseline_value),
        )
    seg.add_row(
        "total",
        f"{sum(s.customers for s in plan.segments):,}",
        "",
        f"{sum(s.calls for s in plan.segments):,}",
        short(plan.total_cost),
        short(plan.expected_net_value),
        short(plan.baseline_value),
        style="bold",
    )
    console.print(seg)
    console.print(
        f"Expected net value {money(plan.expected_net_value)} (P10 {money(plan.net_p10)}, "
        f"P90 {money(plan.net_p90)}); value at stake with only an apology "
        f"{money(plan.value_at_stake)}."
    )
    # Text objects, not markup strings: details and notes can carry names from the user's files.
    for obligation in plan.obligations:
        console.print(Text.assemble(("Obligation: ", "bold"), obligation))
    for c in plan.binding_constraints:
        console.print(
            Text.assemble(
                (f"Binding {c.constraint}: ", "bold yellow"),
                f"{c.detail} (costs {money(c.cost_in_value)} in expected value)",
            )
        )

    if plan.sensitivity:
        sens = Table(
            title="Sensitivity (one input low -> high)", title_justify="left", box=box.SIMPLE_HEAD
        )
        for name in ("input", "low .. high", "plan at low", "plan at high", "net low .. high"):
            sens.add_column(name)
        for row in plan.sensitivity:
            sens.add_row(
                row.input,
                f"{row.low:g} .. {row.high:g}",
                row.plan_at_low,
                row.plan_at_high,
                f"{short(row.net_at_low)} .. {short(row.net_at_high)}",
                style="yellow" if row.changes else "",
            )
        console.print(sens)
    for note in plan.notes:
        console.print(Text(f"Note: {note}", style="dim"))

    for d in message_dicts(messages):
        title = f"{d['segment']} - {d['channel']}"
        body = (f"Subject: {d['subject']}\n\n" if d["subject"] else "") + str(d["body"])
        console.print(Panel(Text(body), title=title, title_align="left"))
