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
    """Print the plan: the recommendation, each segment's candidate plans against the floor,
    binding constraints, obligations, sensitivity, notes, then the drafts."""
    from rich import box
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    def money(x: float) -> str:
        return format_money(x, plan.currency)

    def short(x: float) -> str:
        return format_money_short(x, plan.currency)

    def named(options: Sequence[str], calls: int = 0) -> str:
        text = " + ".join(options) if options else APOLOGY
        return text + (f" ({calls:,} calls)" if calls else "")

    several = len(plan.segments) > 1
    console.print(
        Text.assemble(
            ("Plan: ", "bold"), (plan.title, "bold"), f"  ({plan.incident_id}, {plan.kind})"
        )
    )
    # Text objects, not markup strings: names and notes can carry text from the user's files.
    console.print(Text.assemble(("Recommended: ", "bold green"), plan.summary))
    floor = "; ".join(
        (f"{name}: " if several else "") + named(options) for name, options in plan.floor.segments
    )
    console.print(
        Text(
            f"Costs {money(plan.total_cost)} in all; adds {money(plan.expected_net_value)} "
            f"(P10 {money(plan.net_p10)}, P90 {money(plan.net_p90)}) over the floor, "
            f"{floor} at {money(plan.floor.cost)}: the cheapest plan meeting every obligation."
        )
    )

    lo = min([c.net_p10 for c in plan.candidates] + [0.0])
    hi = max([c.net_p90 for c in plan.candidates] + [0.0])
    narrow = console.width < 90
    bar_width = 10 if narrow else BAR_WIDTH
    table = Table(
        title="Candidate plans (net over the floor)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    columns = [("segment", "left")] if several else []
    columns += [
        ("candidate", "left"),
        ("cost", "right"),
        ("kept", "right"),
        ("net", "right"),
        ("P(best)", "right"),
        ("P10 .. P90", "left"),
    ]
    for name, justify in columns:
        if name == "P10 .. P90":
            table.add_column(name, no_wrap=True, min_width=bar_width)
        elif name == "candidate":
            table.add_column(name, ratio=1)
        else:
            table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for c in plan.candidates:
        marks = [x for x, on in (("plan", c.in_plan), ("floor", c.floor)) if on]
        if not c.feasible:
            marks.append("not allowed")
        elif not c.within_budget:
            marks.append("over budget")
        label = named(c.options, c.calls) + (f"  [{', '.join(marks)}]" if marks else "")
        style = "bold green" if c.in_plan else ("dim" if not c.feasible else "")
        cells = [c.segment] if several else []
        cells += [
            label,
            short(c.cost),
            short(c.retained_value),
            short(c.net_value),
            f"{c.p_best:.0%}",
            spread_bar(c.net_p10, c.net_p90, lo, hi, bar_width),
        ]
        table.add_row(*(Text(c) for c in cells), style=style)  # data, never markup
    console.print(table)

    seg = Table(title="The plan by segment", title_justify="left", box=box.SIMPLE_HEAD)
    for name in ("segment", "customers", "remedies", "cost", "net", "floor"):
        seg.add_column(
            name, justify="left" if name in ("segment", "remedies", "floor") else "right"
        )
    for s in plan.segments:
        remedies = named(s.options, s.calls)
        if s.choice:
            remedies += " (customer's choice)"
        seg.add_row(
            *(
                Text(c)
                for c in (
                    s.segment,
                    f"{s.customers:,}",
                    remedies,
                    short(s.cost),
                    short(s.net_value),
                    named(s.floor_options),
                )
            )
        )
    if several:
        seg.add_row(
            "total",
            f"{sum(s.customers for s in plan.segments):,}",
            "",
            short(plan.total_cost),
            short(plan.expected_net_value),
            "",
            style="bold",
        )
    console.print(seg)
    console.print(
        Text(
            f"Value at stake with only an apology: {money(plan.value_at_stake)}. "
            "Break-even CLV and the options one at a time: remedy explain FILE OPTION."
        )
    )
    for rule in plan.obligations:
        status = " (waived by the file)" if rule.waived else ""
        console.print(Text.assemble(("Obligation: ", "bold"), f"{rule.text}{status}"))
    for bound in plan.binding_constraints:
        console.print(
            Text.assemble(
                (f"Binding {bound.constraint}: ", "bold yellow"),
                f"{bound.detail} (costs {money(bound.cost_in_value)} in expected value)",
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
                *(
                    Text(c)
                    for c in (
                        row.input,
                        f"{row.low:g} .. {row.high:g}",
                        row.plan_at_low,
                        row.plan_at_high,
                        f"{short(row.net_at_low)} .. {short(row.net_at_high)}",
                    )
                ),
                style="yellow" if row.changes else "",
            )
        console.print(sens)
    for note in plan.notes:
        console.print(Text(f"Note: {note}", style="dim"))

    for d in message_dicts(messages):
        title = f"{d['segment']} - {d['channel']}"
        body = (f"Subject: {d['subject']}\n\n" if d["subject"] else "") + str(d["body"])
        console.print(Panel(Text(body), title=title, title_align="left"))
