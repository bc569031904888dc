"""Charts for the HTML reports, drawn by matplotlib and rendered to inline SVG.

Imported only for `-f html` (matplotlib costs about half a second to import). Each function
returns a `Chart`: the SVG text ready to inline, and what a reader without sight of it needs (a
title, a description and the numbers as a table).

Accessible and printable: the Okabe-Ito palette (distinct under the common colour-vision
deficiencies) with hatching, marker shapes and direct labels, so nothing depends on colour
alone, and the charts survive greyscale printing. Every axis names its unit and currency.

Deterministic: fixed figure sizes and fonts (matplotlib's own DejaVu Sans, drawn as paths, so
the chart looks the same on every machine), `svg.hashsalt` set per chart, no date or creator in
the metadata, and every id in the SVG prefixed with the chart's id, so several charts in one
page never share an id and the same data gives the same bytes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from markupsafe import escape

from remedy.money import format_money, format_money_short

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from remedy.clv import ClvResult
    from remedy.holdout import HoldoutReport
    from remedy.plan import CandidatePlan, OptionScore, Plan

# Okabe & Ito (2008), "Color Universal Design": distinguishable with any common colour-vision
# deficiency. Order: the plan first (blue), then the rest.
BLUE = "#0072B2"
ORANGE = "#E69F00"
SKY = "#56B4E9"
GREEN = "#009E73"
YELLOW = "#F0E442"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
BLACK = "#000000"
GREY = "#999999"
PALETTE = (BLUE, ORANGE, GREEN, VERMILLION, SKY, PURPLE, YELLOW, GREY)
HATCHES = ("", "//", "..", "xx", "\\\\", "oo", "--", "++")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)))

WIDTH = 7.5  # inches; the SVG scales to the page, this fixes proportions and font size

_RC: dict[str, Any] = {
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 10.5,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 10.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#333333",
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.8,
    "legend.frameon": False,
    "legend.fontsize": 9.5,
    "hatch.linewidth": 0.8,
    "hatch.color": BLACK,
    "path.simplify": False,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
}


@dataclass(frozen=True)
class Chart:
    """One chart: its id (unique in the page), title, inline SVG, how to read it (`caption`),
    a one-paragraph text alternative (`description`) and its numbers as a table."""

    id: str
    title: str
    svg: str
    caption: str
    description: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[int, ...] = ()


# --- rendering -------------------------------------------------------------------------------


@contextmanager
def _style(chart_id: str) -> Iterator[None]:
    import matplotlib

    settings: Any = {**_RC, "svg.hashsalt": f"remedy-{chart_id}", "svg.id": "svg"}
    with matplotlib.rc_context(settings):
        yield


def _figure(height: float, width: float = WIDTH) -> Figure:
    from matplotlib.figure import Figure

    # The OO interface, not pyplot: no global state, no GUI backend, nothing left open.
    return Figure(figsize=(width, height), layout="constrained")


_ID_ATTR = re.compile(r'\bid="([^"]+)"')


def _to_svg(fig: Figure, chart_id: str, title: str, description: str) -> str:
    """The figure as an SVG element to inline in HTML: no XML prolog, every id prefixed with the
    chart's, and a title and description for assistive technology."""
    import io

    from matplotlib.backends.backend_svg import FigureCanvasSVG

    FigureCanvasSVG(fig)
    buffer = io.StringIO()
    fig.savefig(
        buffer,
        format="svg",
        metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
    )
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    ids = set(_ID_ATTR.findall(text))

    def prefixed(name: str) -> str:
        return f"{chart_id}-{name}" if name in ids else name

    text = _ID_ATTR.sub(lambda m: f'id="{prefixed(m.group(1))}"', text)
    text = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefixed(m.group(1))}"', text)
    text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefixed(m.group(1))})", text)
    head_end = text.index(">") + 1
    # Inline in HTML the SVG namespace is implied (and xlink:href understood), so the root's
    # namespace URLs go: the page then holds no address at all.
    root = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", text[:head_end])
    root = root.replace(
        "<svg ",
        f'<svg role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" ',
        1,
    )
    labels = (
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>'
    )
    return root + labels + text[head_end:].rstrip() + "\n"


def _title(fig: Figure, title: str) -> None:
    """The chart's title at the top left of the figure (not of the axes: long tick labels would
    push an axes title off the edge)."""
    fig.suptitle(title, x=0.01, ha="left", fontsize=12, fontweight="bold")


def _money_axis(ax: Axes, currency: str, axis: str = "x") -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    def tick(value: float, _pos: int | None) -> str:
        text = format_money_short(value, currency)
        return text.removesuffix(".00")  # a whole amount on an axis needs no cents

    formatter = FuncFormatter(tick)
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(formatter)
    target.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))


def _named(options: Sequence[str], calls: int = 0) -> str:
    text = " + ".join(options) if options else "apology_only"
    if calls:
        text += f" ({calls:,} call{'s' if calls != 1 else ''})"
    return text


def _short_money(currency: str) -> Callable[[float], str]:
    return lambda x: format_money_short(x, currency)


# --- 1. the distribution of net value of each candidate plan ---------------------------------


def _quantiles(c: CandidatePlan) -> tuple[float, float, float, float, float]:
    """P10, P25, P50, P75, P90 of a candidate's net value over the floor."""
    q = c.net_quantiles
    if len(q) == 101:
        return (c.net_p10, float(q[25]), c.net_p50, float(q[75]), c.net_p90)
    return (c.net_p10, c.net_p10, c.net_p50, c.net_p90, c.net_p90)


def _candidate_label(c: CandidatePlan, several: bool) -> str:
    import textwrap

    marks = [m for m, on in (("plan", c.in_plan), ("floor", c.floor)) if on]
    if not c.feasible:
        marks.append("not allowed")
    suffix = f" [{', '.join(marks)}]" if marks else ""
    text = (f"{c.segment}: " if several else "") + _named(c.options, c.calls) + suffix
    # Wrapped, not cut: two candidates may differ only at the end of their names.
    return textwrap.fill(text, 32, break_on_hyphens=False)


def chart_candidates(plan: Plan, limit: int = 40) -> tuple[list[CandidatePlan], bool]:
    """The candidates the distribution chart shows: all of them, or when there are more than
    `limit`, each segment's plan, floor and most likely winner (the table lists all)."""
    candidates = list(plan.candidates)
    if len(candidates) <= limit:
        return candidates, False
    kept: list[CandidatePlan] = []
    for segment in dict.fromkeys(c.segment for c in candidates):
        mine = [c for c in candidates if c.segment == segment]
        best = max(mine, key=lambda c: c.p_best)
        kept.extend(c for c in mine if c.in_plan or c.floor or c is best)
    return kept, True


def net_distribution(plan: Plan) -> Chart:
    """Chart 1: a box for each candidate plan: P25-P75 box, P10-P90 whiskers, median line and
    the expected value, on the net value over the floor; P(best) labelled at the right."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.transforms import blended_transform_factory

    chart_id = "net"
    currency = plan.currency
    candidates, trimmed = chart_candidates(plan)
    several = len(plan.segments) > 1
    title = "How sure is each plan? Net value over the floor"
    n = len(candidates)
    with _style(chart_id):
        labels = [_candidate_label(c, several) for c in candidates]
        lines = sum(label.count("\n") + 1 for label in labels)
        fig = _figure(1.9 + 0.3 * n + 0.16 * lines)
        ax = fig.subplots()
        for y, c in enumerate(candidates):
            p10, p25, p50, p75, p90 = _quantiles(c)
            if c.in_plan:
                face, hatch = BLUE, ""
            elif c.floor:
                face, hatch = "#d9d9d9", "//"
            elif not c.feasible:
                face, hatch = "white", "xx"
            else:
                face, hatch = SKY, ".."
            ax.hlines(y, p10, p90, color=BLACK, linewidth=1.2, zorder=2)
            ax.vlines([p10, p90], y - 0.14, y + 0.14, color=BLACK, linewidth=1.2, zorder=2)
            ax.barh(
                y,
                max(p75 - p25, 0.0),
                left=p25,
                height=0.56,
                color=face,
                edgecolor=BLACK,
                hatch=hatch,
                linewidth=0.9,
                zorder=3,
            )
            ax.vlines(
                p50,
                y - 0.28,
                y + 0.28,
                color=BLACK if not c.in_plan else "white",
                linewidth=2.2,
                zorder=4,
            )
            ax.plot(
                c.net_value,
                y,
                marker="D",
                markersize=6.5,
                color=ORANGE,
                markeredgecolor=BLACK,
                zorder=5,
                linestyle="none",
            )
        right = blended_transform_factory(ax.transAxes, ax.transData)
        for y, c in enumerate(candidates):
            ax.text(
                1.01,
                y,
                f"{c.p_best:.0%}",
                transform=right,
                va="center",
                ha="left",
                fontweight="bold" if c.in_plan else "normal",
            )
        ax.text(1.01, -0.9, "P(best)", transform=right, va="center", ha="left", fontsize=9)
        ax.axvline(0, color=BLACK, linewidth=1.0, zorder=1)
        ax.set_yticks(range(n), labels)
        ax.set_ylim(n - 0.4, -1.3)
        ax.grid(axis="y", visible=False)
        _money_axis(ax, currency)
        ax.set_xlabel(f"Net value over the floor, {currency} (0 = the floor)")
        _title(fig, title)
        handles = [
            Patch(facecolor=BLUE, edgecolor=BLACK, label="recommended: P25–P75"),
            Patch(facecolor=SKY, edgecolor=BLACK, hatch="..", label="other plans"),
            Patch(facecolor="#d9d9d9", edgecolor=BLACK, hatch="//", label="the floor"),
            Line2D([], [], color=BLACK, linewidth=1.2, label="whiskers: P10–P90"),
            Line2D(
                [],
                [],
                color=ORANGE,
                marker="D",
                markeredgecolor=BLACK,
                linestyle="none",
                label="expected value",
            ),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=3)
        best = next((c for c in candidates if c.in_plan), candidates[0])
        money = _short_money(currency)
        description = (
            f"Box plot of the net value over the floor of {n} candidate plans, from "
            f"{plan.draws:,} Monte Carlo draws. The recommended plan, {_named(best.options)}"
            f"{f' for {best.segment}' if several else ''}, expects {money(best.net_value)} "
            f"(P10 {money(best.net_p10)}, P90 {money(best.net_p90)}) and is the best choice in "
            f"{best.p_best:.0%} of draws."
        )
        svg = _to_svg(fig, chart_id, title, description)
    caption = (
        "Each row is a candidate plan. The box spans the middle half of the Monte Carlo draws "
        "(P25 to P75), the whiskers P10 to P90, the line inside the box is the median and the "
        "diamond the expected value. Right of the chart: P(best), the share of draws in which "
        "the plan is its segment's best choice. The vertical line at 0 is the floor, the "
        "cheapest plan meeting every obligation."
        + (
            " With this many candidates the chart shows each segment's plan, floor and most "
            "likely winner; the table above lists them all."
            if trimmed
            else ""
        )
    )
    rows = tuple(
        (
            c.segment,
            _named(c.options, c.calls),
            format_money(c.net_value, currency),
            format_money(c.net_p10, currency),
            format_money(_quantiles(c)[1], currency),
            format_money(c.net_p50, currency),
            format_money(_quantiles(c)[3], currency),
            format_money(c.net_p90, currency),
            f"{c.p_best:.1%}",
        )
        for c in candidates
    )
    return Chart(
        chart_id,
        title,
        svg,
        caption,
        description,
        ("segment", "candidate", "expected", "P10", "P25", "median", "P75", "P90", "P(best)"),
        rows,
        (2, 3, 4, 5, 6, 7, 8),
    )


# --- 2. the sensitivity tornado ----------------------------------------------------------------


def _crossing(low: float, high: float, net_low: float, net_high: float) -> float | None:
    """The input value where the plan's net value over the floor reaches 0, interpolated
    linearly between the ends (exact for the inputs the value is linear in: CLV, delta, costs),
    or None when it does not change sign."""
    if (net_low > 0) == (net_high > 0) or net_high == net_low:
        return None
    return low + (high - low) * (0.0 - net_low) / (net_high - net_low)


def _input_number(value: float) -> str:
    return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"


def tornado(plan: Plan) -> Chart | None:
    """Chart 2: the recommended plan's net value over the floor with each uncertain input at its
    low and at its high end (the others at their likely values), widest swing first, marking
    where the recommendation changes. None when nothing is uncertain."""
    from matplotlib.lines import Line2D
    from matplotlib.transforms import blended_transform_factory

    rows_in = list(plan.sensitivity)
    if not rows_in:
        return None
    chart_id = "tornado"
    currency = plan.currency
    money = _short_money(currency)
    title = "What would change the answer? Each input from low to high"
    n = len(rows_in)
    flips: list[str] = []
    with _style(chart_id):
        both = any(
            s.changes and s.plan_at_low != plan.summary and s.plan_at_high != plan.summary
            for s in rows_in
        )
        fig = _figure(2.0 + (0.95 if both else 0.75) * n)
        ax = fig.subplots()
        span = max(
            [abs(s.net_at_low) for s in rows_in] + [abs(s.net_at_high) for s in rows_in] + [1.0]
        )
        for y, s in enumerate(rows_in):
            lo, hi = sorted((s.net_at_low, s.net_at_high))
            changes_low = s.changes and s.plan_at_low != plan.summary
            changes_high = s.changes and s.plan_at_high != plan.summary
            ax.barh(
                y,
                hi - lo,
                left=lo,
                height=0.5,
                color=VERMILLION if s.changes else SKY,
                alpha=0.35 if s.changes else 0.6,
                edgecolor=BLACK,
                linewidth=0.8,
                hatch="//" if s.changes else "",
                zorder=2,
            )
            for net, value, changed, marker, face, end in (
                (s.net_at_low, s.low, changes_low, "o", ORANGE, "low"),
                (s.net_at_high, s.high, changes_high, "s", BLUE, "high"),
            ):
                ax.plot(
                    net,
                    y,
                    marker="X" if changed else marker,
                    markersize=10 if changed else 8,
                    color=VERMILLION if changed else face,
                    markeredgecolor=BLACK,
                    linestyle="none",
                    zorder=4,
                )
                left_side = net <= (s.net_at_high if end == "low" else s.net_at_low)
                ax.annotate(
                    _input_number(value),
                    (net, y),
                    xytext=(-7 if left_side else 7, 0),
                    textcoords="offset points",
                    va="center",
                    ha="right" if left_side else "left",
                    fontsize=9,
                    fontweight="bold" if changed else "normal",
                )
            # Under the bar, the plan recommended at each end where it changes.
            named = [
                f"at {_input_number(value)} → {other}"
                for value, other, changed in (
                    (s.low, s.plan_at_low, changes_low),
                    (s.high, s.plan_at_high, changes_high),
                )
                if changed
            ]
            if named:
                note = ax.text(
                    0.01,
                    y + 0.28,
                    "\n".join(line if len(line) <= 90 else line[:89] + "…" for line in named),
                    transform=blended_transform_factory(ax.transAxes, ax.transData),
                    va="top",
                    ha="left",
                    fontsize=8.5,
                    fontweight="bold",
                )
                note.set_in_layout(False)  # inside the axes: it must not shrink them
            cross = _crossing(s.low, s.high, s.net_at_low, s.net_at_high) if s.changes else None
            if cross is not None:
                ax.plot(0, y, marker="|", markersize=18, markeredgewidth=2.5, color=BLACK, zorder=5)
                ax.annotate(
                    f"≈ {_input_number(cross)}",
                    (0, y - 0.3),
                    xytext=(3, 0),
                    textcoords="offset points",
                    ha="left",
                    va="bottom",
                    fontsize=8.5,
                )
            if s.changes:
                flips.append(
                    s.input
                    + (
                        f" (plan breaks even with the floor at about {_input_number(cross)})"
                        if cross is not None
                        else ""
                    )
                )
        ax.axvline(0, color=BLACK, linewidth=1.2, zorder=1)
        ax.axvline(plan.expected_net_value, color=GREEN, linewidth=1.5, linestyle="--", zorder=1)
        ax.set_yticks(
            range(n),
            [f"{s.input}\n{_input_number(s.low)} – {_input_number(s.high)}" for s in rows_in],
        )
        ax.set_ylim(n - 0.3, -0.75)
        ax.set_xlim(-span * 1.25, span * 1.25)
        ax.grid(axis="y", visible=False)
        _money_axis(ax, currency)
        ax.set_xlabel(
            f"Net value of the recommended plan over the floor, {currency} (0 = the floor)"
        )
        _title(fig, title)
        handles = [
            Line2D(
                [],
                [],
                marker="o",
                color=ORANGE,
                markeredgecolor=BLACK,
                linestyle="none",
                label="input at its low",
            ),
            Line2D(
                [],
                [],
                marker="s",
                color=BLUE,
                markeredgecolor=BLACK,
                linestyle="none",
                label="input at its high",
            ),
            Line2D(
                [],
                [],
                marker="X",
                color=VERMILLION,
                markeredgecolor=BLACK,
                markersize=9,
                linestyle="none",
                label="recommendation changes (to the plan named)",
            ),
            Line2D([], [], color=GREEN, linestyle="--", label="expected net, all uncertain"),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=2)
        description = (
            f"Tornado chart of {n} uncertain inputs. The recommended plan ({plan.summary}) "
            f"expects {money(plan.expected_net_value)} over the floor. "
            + (
                f"The recommendation changes within the range of: {'; '.join(flips)}."
                if flips
                else "No input changes the recommendation within its range."
            )
        )
        svg = _to_svg(fig, chart_id, title, description)
    caption = (
        "Each row swings one uncertain input from its low to its high value with every other "
        "input at its likely value, widest swing first. The bar is the recommended plan's net "
        "value over the floor across that range. A cross and a bold label mark an end where "
        "another plan would be recommended (named); a black tick at 0 marks where the plan "
        "falls to the floor's value (≈ the input value there, by linear interpolation). "
        "The dashed line is the expected net value with all inputs uncertain at once."
    )
    rows = tuple(
        (
            s.input,
            _input_number(s.low),
            _input_number(s.high),
            s.plan_at_low,
            s.plan_at_high,
            format_money(s.net_at_low, currency),
            format_money(s.net_at_high, currency),
            "yes" if s.changes else "no",
        )
        for s in rows_in
    )
    return Chart(
        chart_id,
        title,
        svg,
        caption,
        description,
        (
            "input",
            "low",
            "high",
            "plan at low",
            "plan at high",
            "net at low",
            "net at high",
            "changes",
        ),
        rows,
        (1, 2, 5, 6),
    )


# --- 3. cost by remedy and segment ---------------------------------------------------------------


def cost_by_remedy(plan: Plan) -> Chart | None:
    """Chart 3: the plan's cost as one stacked bar per segment, a part per remedy."""
    from matplotlib.patches import Patch

    actions = [a for a in plan.actions if a.cost > 0]
    if not actions:
        return None
    chart_id = "cost"
    currency = plan.currency
    money = _short_money(currency)
    title = "Where the money goes: cost by remedy and segment"
    segments = list(dict.fromkeys(a.segment for a in plan.actions))
    options = list(dict.fromkeys(a.option for a in actions))
    style = {
        o: (PALETTE[i % len(PALETTE)], HATCHES[i % len(HATCHES)]) for i, o in enumerate(options)
    }
    totals = {s: sum(a.cost for a in actions if a.segment == s) for s in segments}
    peak = max(totals.values()) or 1.0
    with _style(chart_id):
        fig = _figure(1.9 + 0.6 * len(segments))
        ax = fig.subplots()
        for y, segment in enumerate(segments):
            left = 0.0
            for a in actions:
                if a.segment != segment:
                    continue
                color, hatch = style[a.option]
                ax.barh(
                    y,
                    a.cost,
                    left=left,
                    height=0.6,
                    color=color,
                    hatch=hatch,
                    edgecolor=BLACK,
                    linewidth=0.8,
                    zorder=2,
                )
                if a.cost >= 0.14 * peak:
                    ax.text(
                        left + a.cost / 2,
                        y,
                        f"{a.option}\n{money(a.cost)}",
                        ha="center",
                        va="center",
                        fontsize=8.5,
                        zorder=3,
                        bbox={
                            "boxstyle": "round,pad=0.2",
                            "facecolor": "white",
                            "edgecolor": "none",
                            "alpha": 0.85,
                        },
                    )
                left += a.cost
            ax.annotate(
                money(totals[segment]),
                (left, y),
                xytext=(5, 0),
                textcoords="offset points",
                va="center",
                fontweight="bold",
            )
        ax.set_yticks(range(len(segments)), segments)
        ax.set_ylim(len(segments) - 0.4, -0.6)
        ax.set_xlim(0, peak * 1.18)
        ax.grid(axis="y", visible=False)
        _money_axis(ax, currency)
        ax.set_xlabel(f"Cost, {currency}")
        _title(fig, title)
        handles = [
            Patch(facecolor=style[o][0], hatch=style[o][1], edgecolor=BLACK, label=o)
            for o in options
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=min(4, len(handles)))
        description = (
            f"Stacked bar chart of the plan's cost, {format_money(plan.total_cost, currency)} in "
            "all: "
            + "; ".join(
                f"{s}: "
                + ", ".join(f"{a.option} {money(a.cost)}" for a in actions if a.segment == s)
                for s in segments
                if totals[s] > 0
            )
            + "."
        )
        svg = _to_svg(fig, chart_id, title, description)
    caption = (
        "One bar per segment, split by remedy (colour and hatching name the remedy; the label "
        "at the end is the segment's total). Costs include the floor's obligations."
    )
    rows = tuple(
        (a.segment, a.option, f"{a.customers:,}", format_money(a.cost, currency))
        for a in plan.actions
    )
    return Chart(
        chart_id,
        title,
        svg,
        caption,
        description,
        ("segment", "remedy", "customers", "cost"),
        rows,
        (2, 3),
    )


# --- 4. break-even CLV against the CLV distribution --------------------------------------------


def pert_density(low: float, likely: float, high: float, points: int = 241) -> tuple[Any, Any]:
    """x and the PERT density over [low, high] (the distribution remedy samples [low, likely,
    high] inputs from: Beta(1 + 4(m-a)/(b-a), 1 + 4(b-m)/(b-a)) scaled to [a, b])."""
    import numpy as np

    span = high - low
    x = np.linspace(low, high, points)
    if span <= 0:
        return x, np.zeros_like(x)
    alpha = 1.0 + 4.0 * (likely - low) / span
    beta = 1.0 + 4.0 * (high - likely) / span
    u = np.clip((x - low) / span, 0.0, 1.0)
    log_norm = math.lgamma(alpha + beta) - math.lgamma(alpha) - math.lgamma(beta)
    with np.errstate(divide="ignore"):
        log_pdf = (alpha - 1) * np.log(u) + (beta - 1) * np.log1p(-u) + log_norm
    return x, np.exp(log_pdf) / span


def _share_paying(
    be: float, pays_when: str, clv_range: tuple[float, float, float], samples: Any | None
) -> float:
    """The share of customers for whom the option pays: CLV above (or below) its break-even."""
    import numpy as np

    if samples is not None and len(samples):
        above = float(np.mean(np.asarray(samples) > be))
    else:
        x, pdf = pert_density(*clv_range, points=2001)
        if clv_range[2] <= clv_range[0]:
            above = 1.0 if clv_range[1] > be else 0.0
        else:
            # The density's integral above `be` (trapezoids: the Beta CDF without scipy).
            mass = np.concatenate([[0.0], np.cumsum((pdf[1:] + pdf[:-1]) / 2 * np.diff(x))])
            total = mass[-1] or 1.0
            above = 1.0 - float(np.interp(be, x, mass)) / total
    return above if pays_when == "clv_above" else 1.0 - above


@dataclass(frozen=True)
class ClvView:
    """The CLV of one segment's customers: the planner's [low, likely, high] estimate and,
    when CLV came from an order history, the customers' own values."""

    segment: str
    clv_range: tuple[float, float, float]
    samples: Any | None = None  # numpy array of per-customer CLV, or None


def break_even(
    scores: Sequence[OptionScore],
    views: Sequence[ClvView],
    currency: str,
    *,
    chart_id: str = "breakeven",
    max_panels: int = 6,
) -> Chart | None:
    """Chart 4: each remedy's break-even CLV against the distribution of the customers' CLV,
    one panel per segment, with the share of customers for whom it pays labelled."""
    import numpy as np

    money = _short_money(currency)
    by_segment: dict[str, list[OptionScore]] = {}
    for s in scores:
        if s.break_even_clv is not None and s.pays_when in ("clv_above", "clv_below"):
            by_segment.setdefault(s.segment, []).append(s)
    shown = [v for v in views if v.segment in by_segment][:max_panels]
    if not shown:
        return None
    options = list(dict.fromkeys(s.option for v in shown for s in by_segment[v.segment]))
    style = {
        o: (PALETTE[(i + 1) % len(PALETTE)], LINESTYLES[i % len(LINESTYLES)])
        for i, o in enumerate(options)
    }
    title = "Who is worth it? Break-even CLV against the customers' CLV"
    table_rows: list[tuple[str, ...]] = []
    summary: list[str] = []
    with _style(chart_id):
        fig = _figure(0.9 + 2.1 * len(shown))
        axes = fig.subplots(len(shown), 1, squeeze=False)[:, 0]
        for ax, view in zip(axes, shown, strict=True):
            low, likely, high = view.clv_range
            marks = by_segment[view.segment]
            if view.samples is not None and len(view.samples):
                data = np.asarray(view.samples, dtype=float)
                top = float(np.percentile(data, 99)) if len(data) > 20 else float(data.max())
                edge = max(top, high, 1e-9)
                ax.hist(
                    np.clip(data, None, edge),
                    bins=40,
                    range=(min(0.0, float(data.min())), edge),
                    color=SKY,
                    edgecolor=BLACK,
                    linewidth=0.4,
                    hatch="..",
                    zorder=2,
                )
                ax.set_ylabel("customers")
                source = f"{len(data):,} customers' CLV from the order history"
                x_high = edge
            else:
                x, pdf = pert_density(low, likely, high)
                ax.fill_between(
                    x,
                    pdf,
                    color=SKY,
                    alpha=0.7,
                    hatch="..",
                    edgecolor=BLACK,
                    linewidth=0.0,
                    zorder=2,
                )
                ax.plot(x, pdf, color=BLACK, linewidth=1.0, zorder=3)
                ax.set_yticks([])
                ax.set_ylabel("share of customers")
                source = (
                    f"estimate {money(low)} / {money(likely)} / {money(high)} (low, likely, high)"
                )
                x_high = high
            limit = max(x_high * 1.08, 1.0)
            far = max([s.break_even_clv or 0.0 for s in marks] + [0.0])
            limit = max(limit, min(far * 1.1, x_high * 2.5))
            ax.set_xlim(min(0.0, low), limit)
            for i, s in enumerate(marks):
                be = float(s.break_even_clv or 0.0)
                share = _share_paying(be, s.pays_when, view.clv_range, view.samples)
                color, dash = style[s.option]
                side = ">" if s.pays_when == "clv_above" else "<"
                label = f"{s.option}: pays when CLV {side} {money(be)} ({share:.0%} of customers)"
                table_rows.append(
                    (
                        view.segment,
                        s.option,
                        format_money(be, currency),
                        "above" if s.pays_when == "clv_above" else "below",
                        f"{share:.1%}",
                    )
                )
                summary.append(f"{view.segment}: {label}")
                shown_at = min(be, limit * 0.995)
                ax.axvline(shown_at, color=color, linestyle=dash, linewidth=2.2, zorder=4)
                off = "" if be <= limit else " (off the scale →)"
                ax.annotate(
                    label + off,
                    (shown_at, 1.0 - 0.16 * (i % 5)),
                    xycoords=("data", "axes fraction"),
                    xytext=(-5 if shown_at > limit * 0.55 else 5, -4),
                    textcoords="offset points",
                    ha="right" if shown_at > limit * 0.55 else "left",
                    va="top",
                    fontsize=8.5,
                    color=BLACK,
                    bbox={
                        "boxstyle": "round,pad=0.2",
                        "facecolor": "white",
                        "edgecolor": color,
                        "linewidth": 1.2,
                    },
                )
            _money_axis(ax, currency)
            ax.set_title(f"{view.segment}: {source}", fontsize=10, fontweight="normal")
            ax.grid(axis="y", visible=False)
        axes[-1].set_xlabel(f"Customer lifetime value (future margin), {currency}")
        _title(fig, title)
        description = (
            "For each segment, the distribution of the customers' CLV with each remedy's "
            "break-even CLV marked: " + "; ".join(summary) + "."
        )
        svg = _to_svg(fig, chart_id, title, description)
    caption = (
        "The shaded area is how the customers' lifetime value is spread (the estimate's PERT "
        "curve, or a histogram of each customer's value when CLV comes from an order history). "
        "Each vertical line is a remedy's break-even CLV: the remedy pays for itself for the "
        "customers on the side the label names, and the label gives their share."
        + (f" The first {max_panels} segments are shown." if len(by_segment) > max_panels else "")
    )
    return Chart(
        chart_id,
        title,
        svg,
        caption,
        description,
        ("segment", "remedy", "break-even CLV", "pays when CLV is", "customers it pays for"),
        tuple(table_rows),
        (2, 4),
    )


# --- remedy clv: the value tiers histogram and the holdout check ---------------------------------


def clv_histogram(result: ClvResult) -> Chart:
    """The customers' CLV on log-spaced bins (CLV is heavily skewed), the value tiers marked."""
    import numpy as np

    chart_id = "clv-histogram"
    values = np.asarray(result.clv, dtype=float)
    unit = "margin" if result.gross_margin is not None else "revenue"
    title = "How customer value is spread"
    positive = values[values > 0]
    zeros = int(len(values) - len(positive))
    tiers = result.tiers()
    with _style(chart_id):
        fig = _figure(3.8)
        ax = fig.subplots()
        if len(positive):
            low = max(float(positive.min()), float(positive.max()) * 1e-6)
            edges = np.logspace(math.log10(low), math.log10(float(positive.max()) * 1.0001), 41)
            ax.hist(
                np.clip(positive, low, None),
                bins=edges.tolist(),
                color=SKY,
                edgecolor=BLACK,
                linewidth=0.4,
                hatch="..",
                zorder=2,
            )
            ax.set_xscale("log")
            from matplotlib.ticker import FuncFormatter

            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.4g}"))
            for i, tier in enumerate(tiers[:-1]):
                cut = float(tier["min_clv"])
                if cut > 0:
                    ax.axvline(
                        cut,
                        color=(BLUE, VERMILLION)[i % 2],
                        linestyle=LINESTYLES[i + 1],
                        linewidth=2,
                        zorder=3,
                    )
                    ax.annotate(
                        f"{tier['tier']} from {cut:,.4g}",
                        (cut, 0.97),
                        xycoords=("data", "axes fraction"),
                        xytext=(4, -2 - 14 * i),
                        textcoords="offset points",
                        va="top",
                        fontsize=9,
                        bbox={
                            "boxstyle": "round,pad=0.2",
                            "facecolor": "white",
                            "edgecolor": "none",
                            "alpha": 0.85,
                        },
                    )
        ax.set_xlabel(f"Customer lifetime value ({unit}, log scale)")
        ax.set_ylabel("customers")
        _title(fig, title)
        description = (
            f"Histogram of the lifetime value of {result.customers:,} customers on a log scale"
            + (f" ({zeros:,} with a value of 0 are not shown)" if zeros else "")
            + ". "
            + "; ".join(
                f"{t['tier']}: {t['customers']:,} customers, mean {t['mean_clv']:,.4g}, "
                f"{t['share_of_total']:.0%} of the total"
                for t in tiers
            )
            + "."
        )
        svg = _to_svg(fig, chart_id, title, description)
    caption = (
        "Customers per range of lifetime value, on a logarithmic axis; the lines mark where the "
        "top 5% and the next 15% begin."
        + (f" {zeros:,} customers with a value of 0 are left off the log axis." if zeros else "")
    )
    counts, edges_out = (
        np.histogram(
            positive,
            bins=np.logspace(
                math.log10(max(float(positive.min()), float(positive.max()) * 1e-6)),
                math.log10(float(positive.max()) * 1.0001),
                11,
            ),
        )
        if len(positive)
        else (np.array([], dtype=int), np.array([0.0]))
    )
    rows = tuple(
        (f"{edges_out[i]:,.4g} – {edges_out[i + 1]:,.4g}", f"{int(count):,}")
        for i, count in enumerate(counts)
    )
    if zeros:
        rows = (("0", f"{zeros:,}"), *rows)
    return Chart(chart_id, title, svg, caption, description, ("CLV range", "customers"), rows, (1,))


def holdout_chart(report: HoldoutReport, time_unit: str) -> Chart:
    """Predicted against actual purchases per customer in the holdout window, by the number of
    repeat purchases in the calibration period (Fader, Hardie & Lee 2005, Figure 4)."""
    chart_id = "holdout"
    title = "Does the model predict what it did not see?"
    labels = list(report.bucket_labels)
    x = list(range(len(labels)))
    with _style(chart_id):
        fig = _figure(3.6)
        ax = fig.subplots()
        ax.plot(
            x,
            [float(v) for v in report.bucket_actual],
            color=BLACK,
            marker="o",
            linewidth=2,
            label="actual",
        )
        ax.plot(
            x,
            [float(v) for v in report.bucket_predicted],
            color=VERMILLION,
            marker="s",
            linestyle="--",
            linewidth=2,
            label="predicted (BG/NBD)",
        )
        ax.set_xticks(x, labels)
        ax.set_xlabel("Repeat purchases before the holdout (calibration period)")
        ax.set_ylabel(f"Purchases per customer in the holdout\n({report.length:.4g} {time_unit}s)")
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left")
        _title(fig, title)
        error = report.relative_error
        off = f"{error:+.1%}" if math.isfinite(error) else "n/a"
        description = (
            f"Line chart of mean purchases per customer from {report.holdout_from.isoformat()} "
            f"to {report.holdout_end.isoformat()}, actual against predicted, by calibration "
            f"frequency. In total {report.total_predicted:,.1f} predicted against "
            f"{report.total_actual:,} actual ({off})."
        )
        svg = _to_svg(fig, chart_id, title, description)
    caption = (
        "The model is fitted on the orders before the holdout date; the lines are the mean "
        "purchases per customer after it, predicted and actual, for customers grouped by how "
        "often they bought before. Close lines mean the model can be trusted for CLV."
    )
    rows = tuple(
        (label, f"{int(count):,}", f"{float(pred):.3f}", f"{float(act):.3f}")
        for label, count, pred, act in zip(
            report.bucket_labels,
            report.bucket_customers,
            report.bucket_predicted,
            report.bucket_actual,
            strict=True,
        )
    )
    return Chart(
        chart_id,
        title,
        svg,
        caption,
        description,
        ("repeat purchases", "customers", "predicted per customer", "actual per customer"),
        rows,
        (1, 2, 3),
    )


# --- remedy review: each group's ratio of observed to expected purchases -------------------------

_GROUP_STYLE = {  # colour, marker, label: shape and a direct label tell groups apart, not colour
    "unaffected": (GREY, "o", "unaffected"),
    "affected": (VERMILLION, "D", "affected"),
    "treated": (BLUE, "s", "treated (got the plan)"),
    "holdout": (ORANGE, "^", "holdout (the floor only)"),
}


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def review_ratios(groups: Sequence[Mapping[str, Any]], weeks: float) -> Chart | None:
    """Each group's observed / expected purchases in the window (`remedy review -f json`'s
    `groups`): a point with its 90% interval as an error bar, a reference line at the unaffected
    ratio (what the affected would show had the incident cost nothing) and one at 1 (as the
    model forecast). None when no group has a ratio."""
    shown = [g for g in groups if g.get("ratio") is not None]
    if not shown:
        return None
    chart_id = "ratios"
    title = "Did the affected buy less than expected? Observed / expected purchases"
    base = next((g["ratio"] for g in shown if g["group"] == "unaffected"), None)
    n = len(shown)
    with _style(chart_id):
        fig = _figure(1.9 + 0.62 * n)
        ax = fig.subplots()
        for y, g in enumerate(shown):
            color, marker, _ = _GROUP_STYLE.get(g["group"], (BLACK, "o", g["group"]))
            ratio, low, high = g["ratio"], g.get("ratio_low"), g.get("ratio_high")
            if low is not None and high is not None:
                ax.errorbar(
                    ratio,
                    y,
                    xerr=[[max(ratio - low, 0.0)], [max(high - ratio, 0.0)]],
                    fmt="none",
                    ecolor=BLACK,
                    elinewidth=1.4,
                    capsize=5,
                    capthick=1.4,
                    zorder=3,
                )
            ax.plot(
                ratio,
                y,
                marker=marker,
                markersize=9,
                color=color,
                markeredgecolor=BLACK,
                linestyle="none",
                zorder=4,
            )
            ax.annotate(
                f"{_ratio(ratio)}  ({_ratio(low)} – {_ratio(high)})",
                (high if high is not None else ratio, y),
                xytext=(8, 0),
                textcoords="offset points",
                va="center",
                ha="left",
                fontsize=9,
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"},
                zorder=5,
            )
        values = [v for g in shown for v in (g["ratio"], g.get("ratio_low"), g.get("ratio_high"))]
        found = [float(v) for v in values if v is not None] + [1.0]
        low_edge, high_edge = min(found), max(found)
        span = max(high_edge - low_edge, 0.05)
        ax.set_xlim(max(0.0, low_edge - 0.12 * span), high_edge + 0.45 * span)
        ax.axvline(1.0, color=BLACK, linewidth=1.0, linestyle=":", zorder=1)
        ax.annotate(
            "1 = as forecast",
            (1.0, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -2),
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize=8.5,
        )
        if base is not None:
            ax.axvline(base, color=GREEN, linewidth=1.8, linestyle="--", zorder=2)
        ax.set_yticks(
            range(n),
            [
                f"{_GROUP_STYLE.get(g['group'], ('', '', g['group']))[2]}\n"
                f"{g['customers']:,} customers"
                for g in shown
            ],
        )
        ax.set_ylim(n - 0.4, -0.6)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(f"Observed / expected purchases in the {weeks:.1f}-week window (ratio)")
        _title(fig, title)
        from matplotlib.lines import Line2D

        handles = [
            Line2D([], [], color=BLACK, marker="|", markersize=10, label="90% interval"),
        ]
        if base is not None:
            handles.append(
                Line2D(
                    [],
                    [],
                    color=GREEN,
                    linestyle="--",
                    linewidth=1.8,
                    label=f"unaffected ratio {_ratio(base)}: no loss",
                )
            )
        fig.legend(handles=handles, loc="outside lower center", ncols=2)
        description = (
            f"Dot plot of observed against expected purchases in the {weeks:.1f}-week window, "
            "one row per group, with 90% intervals: "
            + "; ".join(
                f"{g['group']} ({g['customers']:,} customers) {_ratio(g['ratio'])}, "
                f"90% {_ratio(g.get('ratio_low'))} to {_ratio(g.get('ratio_high'))}"
                for g in shown
            )
            + (
                f". A group left of the unaffected ratio ({_ratio(base)}) bought less than "
                "customers the incident did not touch."
                if base is not None
                else "."
            )
        )
        svg = _to_svg(fig, chart_id, title, description)
    caption = (
        "Each row is a group of customers: the point is the purchases they made in the window "
        "divided by the purchases the model expected from their own history, the bar its 90% "
        "interval. The dashed line is the unaffected customers' ratio: a season or the model's "
        "own misfit moves it, and it moves the affected alike, so a group left of it lost "
        "purchases to the incident (the loss below also matches customers who bought alike). "
        "The dotted line at 1 is the model's forecast."
    )
    rows = tuple(
        (
            str(g["group"]),
            f"{g['customers']:,}",
            f"{g['expected_purchases']:,.1f}",
            f"{g['observed_purchases']:,.0f}",
            _ratio(g["ratio"]),
            _ratio(g.get("ratio_low")),
            _ratio(g.get("ratio_high")),
        )
        for g in shown
    )
    return Chart(
        chart_id,
        title,
        svg,
        caption,
        description,
        ("group", "customers", "expected", "observed", "ratio", "90% low", "90% high"),
        rows,
        (1, 2, 3, 4, 5, 6),
    )
