"""HTML reports: `remedy plan -f html`, `remedy explain -f html` and `remedy clv -f html`.

Each builds the sections of one page (`remedy.page`) with charts from `remedy.charts`. The
numbers in the plan page's tables come from the JSON report (`remedy.report.plan_to_json`), so
the page and `-f json` always agree, to the cent; each carries its number in `data-value`.

Imported only for `-f html`: it pulls in matplotlib (through `remedy.charts`) and Jinja2.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from remedy import charts
from remedy.money import format_money
from remedy.page import (
    Cell,
    Fact,
    Section,
    bullets,
    card,
    code,
    facts,
    figure,
    notice,
    paragraph,
    render_page,
    strong,
    table,
)
from remedy.report import message_dicts, plan_to_json

if TYPE_CHECKING:
    from remedy.clv import ClvResult
    from remedy.explain import Explanation
    from remedy.incident import Incident
    from remedy.plan import Plan

APOLOGY = "apology_only"


def _named(options: Sequence[str], calls: int = 0) -> str:
    text = " + ".join(options) if options else APOLOGY
    if calls:
        text += f" ({calls:,} call{'s' if calls != 1 else ''})"
    return text


def _tags(item: Mapping[str, Any]) -> Markup:
    out = Markup("")
    if item.get("in_plan"):
        out += Markup('<span class="tag plan">plan</span>')
    if item.get("floor"):
        out += Markup('<span class="tag floor">floor</span>')
    if item.get("feasible") is False:
        out += Markup('<span class="tag no">not allowed</span>')
    elif item.get("within_budget") is False:
        out += Markup('<span class="tag no">over budget</span>')
    return out


# --- remedy plan -------------------------------------------------------------------------------


def clv_views(
    plan: Plan,
    incident: Incident | None = None,
    clv_by_customer: Mapping[str, float] | None = None,
) -> list[charts.ClvView]:
    """Each segment's CLV for the break-even chart: the customers' own values when CLV came
    from an order history (split the way the planner split them), else the planner's estimate."""
    return _with_samples(
        [charts.ClvView(s.segment, s.clv_range) for s in plan.segments],
        incident,
        clv_by_customer,
    )


def clv_views_of(
    incident: Incident,
    clv_override: Mapping[str, Any] | None = None,
    clv_by_customer: Mapping[str, float] | None = None,
) -> list[charts.ClvView]:
    """`clv_views` without a plan, from the incident as valued (`remedy.plan.Valued`): the
    planner's model gives each segment's CLV estimate (cheap: no sampling)."""
    from remedy.score import build_model

    model = build_model(incident, clv_override)
    views = [
        charts.ClvView(
            seg.name,
            tuple(model.inputs[seg.clv_key].estimate.as_list()),  # type: ignore[arg-type]
        )
        for seg in model.valuation.segments
    ]
    return _with_samples(views, incident, clv_by_customer)


def _with_samples(
    views: list[charts.ClvView],
    incident: Incident | None,
    clv_by_customer: Mapping[str, float] | None,
) -> list[charts.ClvView]:
    if not clv_by_customer or incident is None:
        return views
    samples = _history_samples([v.segment for v in views], incident, clv_by_customer)
    return [
        charts.ClvView(v.segment, v.clv_range, samples[v.segment])
        if v.segment in samples and len(samples[v.segment])
        else v
        for v in views
    ]


def _history_samples(
    names: Sequence[str], incident: Incident, clv_by_customer: Mapping[str, float]
) -> dict[str, Any]:
    """Per-segment CLV of the affected customers, as the planner valued them
    (`remedy.history`): value tiers by rank, named segments by the customers file's column;
    a segment whose CLV the file gives itself keeps the estimate."""
    import numpy as np

    from remedy.history import TIERS, affected_clv

    found = affected_clv(incident, clv_by_customer)
    if found is None:
        pairs: list[tuple[float, str | None]] = [(v, None) for v in clv_by_customer.values()]
    else:
        pairs = list(zip((float(v) for v in found[0]), found[1], strict=True))
    if not pairs:
        return {}
    values = np.array([v for v, _ in pairs], dtype=float)
    if names == [name for name, _ in TIERS]:
        ranked = np.sort(values)[::-1]
        out: dict[str, Any] = {}
        start = 0
        for name, share in TIERS:
            stop = (
                len(ranked) if name == TIERS[-1][0] else start + max(1, round(share * len(ranked)))
            )
            out[name] = ranked[start:stop]
            start = stop
        return out
    own = {s.name for s in incident.segments if s.clv is not None}
    if len(names) == 1 and not own:
        return {names[0]: values}
    out = {}
    for name in names:
        if name in own:
            continue
        mine = [v for v, seg in pairs if seg == name]
        out[name] = np.array(mine if mine else values, dtype=float)
    return out


def _incident_lines(plan: Plan, incident: Incident | None) -> Markup:
    """The incident in two lines: what it is, then what happened."""
    first = [code(plan.incident_id), Markup(" · "), plan.kind.replace("_", " ")]
    if incident is not None:
        if incident.occurred_on is not None:
            first += [Markup(" · "), incident.occurred_on.isoformat()]
        if incident.affected.customers is not None:
            first += [Markup(" · "), f"{incident.affected.customers:,} customers affected"]
    else:
        first += [Markup(" · "), f"{sum(s.customers for s in plan.segments):,} customers"]
    out = paragraph(*first)
    summary = " ".join((incident.summary or "").split()) if incident is not None else ""
    if summary:
        out += paragraph(summary)
    return out


def _recommendation(plan: Plan, data: Mapping[str, Any]) -> Section:
    m = plan.currency
    p = data["plan"]
    several = len(p["segments"]) > 1
    floor_text = "; ".join(
        (f"{s['segment']}: " if several else "") + _named(s["options"])
        for s in p["floor"]["segments"]
    )
    body = facts(
        [
            Fact(
                "Total cost",
                format_money(p["total_cost"], m),
                "including the floor",
                p["total_cost"],
                "plan.total_cost",
            ),
            Fact(
                "Expected net value",
                format_money(p["expected_net_value"], m),
                "over the floor",
                p["expected_net_value"],
                "plan.expected_net_value",
            ),
            Fact(
                "P10 – P90",
                f"{format_money(p['net_p10'], m)} to {format_money(p['net_p90'], m)}",
                "net over the floor: 8 in 10 outcomes fall here",
            ),
            Fact(
                "At stake with only an apology",
                format_money(p["value_at_stake"], m),
                "future customer value",
                p["value_at_stake"],
                "plan.value_at_stake",
            ),
        ]
    )
    chosen = {(c["segment"]): c for c in data["candidates"] if c["in_plan"]}
    for s in p["segments"]:
        c = chosen.get(s["segment"])
        remedies = _named(s["options"], s["calls"] if "personal_call" in s["options"] else 0)
        spread = (
            f"P10 {format_money(c['net_p10'], m)}, P90 {format_money(c['net_p90'], m)}; "
            f"best choice in {c['p_best']:.0%} of draws"
            if c
            else ""
        )
        lines = [
            Markup('<p class="remedies">{}</p>').format(remedies),
            paragraph(
                f"{s['customers']:,} customers · cost ",
                strong(format_money(s["cost"], m)),
                " · expected net over the floor ",
                strong(format_money(s["net_value"], m)),
                f" ({spread})" if spread else "",
            ),
        ]
        if s["choice"]:
            lines.append(
                paragraph("Refund and goods are offered as a choice: each customer takes one.")
            )
        lines.append(
            paragraph(
                f"The floor here: {_named(s['floor_options'])} "
                f"({format_money(s['floor_cost'], m)}). Mean CLV {format_money(s['clv'], m)} per "
                "customer.",
                cls="small",
            )
        )
        body += Markup('<div class="recommend" data-segment="{}"><h3>{}</h3>{}</div>\n').format(
            s["segment"],
            f"Segment {s['segment']}" if several else "Recommended",
            Markup("").join(lines),
        )
    body += table(
        ["segment", "remedy", "customers", "cost"],
        [
            [
                a["segment"],
                a["option"],
                f"{a['customers']:,}",
                Cell(format_money(a["cost"], m), a["cost"], "action.cost"),
            ]
            for a in p["actions"]
        ]
        + [
            [
                "total",
                "",
                "",
                Cell(format_money(p["total_cost"], m), p["total_cost"], "", strong=True),
            ]
        ],
        caption="What to do",
        numeric=(2, 3),
    )
    body += paragraph(
        f"Net values are measured over the floor: {floor_text} "
        f"({format_money(p['floor']['cost'], m)}), the cheapest plan that meets every "
        "obligation. Costs include it.",
        cls="small",
    )
    if p.get("budget") is not None:
        body += paragraph(f"Budget: {format_money(p['budget'], m)}.", cls="small")
    return Section(
        "recommendation",
        "Recommendation",
        body,
        lead=f"{plan.summary}: {format_money(p['total_cost'], m)} in all.",
    )


def _candidates(plan: Plan, data: Mapping[str, Any]) -> Section:
    m = plan.currency
    several = len(plan.segments) > 1
    rows: list[list[Any]] = []
    classes: list[str] = []
    for c in data["candidates"]:
        calls = c["calls"] if "personal_call" in c["options"] else 0
        label = Markup("{}{}").format(_named(c["options"], calls), _tags(c))
        row: list[Any] = [c["segment"]] if several else []
        row += [
            label,
            Cell(format_money(c["cost"], m), c["cost"], "candidate.cost"),
            Cell(
                format_money(c["retained_value"], m),
                c["retained_value"],
                "candidate.retained_value",
            ),
            Cell(format_money(c["net_value"], m), c["net_value"], "candidate.net_value"),
            Cell(f"{c['p_best']:.0%}", c["p_best"], "candidate.p_best"),
            Cell(format_money(c["net_p10"], m), c["net_p10"], "candidate.net_p10"),
            Cell(format_money(c["net_p90"], m), c["net_p90"], "candidate.net_p90"),
        ]
        rows.append(row)
        classes.append("plan" if c["in_plan"] else ("muted" if not c["feasible"] else ""))
    columns = (["segment"] if several else []) + [
        "candidate",
        "cost",
        "value kept",
        "net over floor",
        "P(best)",
        "P10",
        "P90",
    ]
    first = 1 if several else 0
    body = table(columns, rows, numeric=tuple(range(first + 1, first + 7)), row_classes=classes)
    body += paragraph(
        "P(best) is the share of Monte Carlo draws in which a candidate is its segment's best "
        "choice (it sums to 100% per segment). P10 and P90: in 8 of 10 draws the net value "
        "falls between them.",
        cls="small",
    )
    return Section(
        "candidates",
        "Candidate plans",
        body,
        lead="Every plan the planner weighed, against the floor.",
    )


def _options_table(plan: Plan, data: Mapping[str, Any]) -> Markup:
    m = plan.currency
    rows = []
    for o in data["options"]:
        if o["break_even_clv"] is None or o["pays_when"] == "never":
            be = "never pays" if o["pays_when"] == "never" else "—"
        elif o["pays_when"] == "always":
            be = "always pays"
        else:
            side = "above" if o["pays_when"] == "clv_above" else "below"
            be = f"CLV {side} {format_money(o['break_even_clv'], m)}"
        rows.append(
            [
                o["segment"],
                Markup("{}{}").format(o["option"], _tags(o)),
                _named(o["scored_with"]),
                Cell(format_money(o["net_value"], m), o["net_value"], "option.net_value"),
                Cell(be, o["break_even_clv"], "option.break_even_clv", numeric=False),
                Cell(f"{o['p_pays']:.0%}", o["p_pays"], "option.p_pays"),
            ]
        )
    return table(
        ["segment", "remedy", "best plan with it", "net over floor", "pays when", "pays off in"],
        rows,
        caption="Each remedy on its own",
        numeric=(3, 5),
    )


def _constraints(plan: Plan, data: Mapping[str, Any]) -> Section:
    m = plan.currency
    p = data["plan"]
    body = Markup("")
    if p["binding_constraints"]:
        body += table(
            ["constraint", "what it changed", "costs in expected value"],
            [
                [
                    b["constraint"],
                    b["detail"],
                    Cell(
                        format_money(b["cost_in_value"], m), b["cost_in_value"], "constraint.cost"
                    ),
                ]
                for b in p["binding_constraints"]
            ],
            caption="Binding constraints",
            numeric=(2,),
        )
    else:
        body += paragraph(
            "No constraint binds: the budget and the callers' hours (if set) do not "
            "change the plan."
        )
    if p["obligation_rules"]:
        body += table(
            ["obligation", "kind", "source"],
            [
                [
                    r["text"] + (" (waived by the file)" if r["waived"] else ""),
                    "law" if r["legal"] else "policy",
                    r["source"],
                ]
                for r in p["obligation_rules"]
            ],
            caption="Obligations (in the floor, whatever they score)",
        )
    else:
        body += paragraph("No obligations apply.")
    limits = []
    if p.get("budget") is not None:
        limits.append(f"budget {format_money(p['budget'], m)}")
    if p.get("call_capacity") is not None:
        limits.append(f"call capacity {p['call_capacity']:,} calls")
    if limits:
        body += paragraph("Limits from the file: " + ", ".join(limits) + ".", cls="small")
    if data["notes"]:
        body += Markup("<h3>Notes</h3>\n") + bullets(data["notes"])
    return Section("constraints", "Constraints and obligations", body)


def _assumptions(plan: Plan) -> Section:
    body = table(
        ["input", "value", "source"],
        [[a.name, a.value, a.source] for a in plan.assumptions],
    )
    body += paragraph(
        "Defaults come from published research on average effects; set any of them in the "
        "incident file. ",
        code("remedy explain FILE OPTION"),
        " shows the arithmetic step by step.",
        cls="small",
    )
    return Section(
        "assumptions",
        "Assumptions and their sources",
        body,
        lead="Every input of the plan, and where it came from.",
    )


def _drafts(messages: Sequence[Any], several: bool) -> Section | None:
    drafts = message_dicts(messages)
    if not drafts:
        return None
    cards = Markup("").join(
        card(
            (f"{d['segment']} · " if several else "") + str(d["channel"]),
            str(d["body"]),
            subject=str(d["subject"] or ""),
            copy_id=f"draft-{i + 1}",
        )
        for i, d in enumerate(drafts)
    )
    return Section(
        "drafts",
        "Draft messages",
        Markup('<div class="cards">{}</div>\n').format(cards),
        lead=(
            "Each passes the apology check. Copy one, or select its text."
            if all(getattr(getattr(m, "checks", None), "ok", True) for m in messages)
            else "Copy one, or select its text. Some need work: remedy plan lists them on stderr."
        ),
    )


def _chart_section(
    section_id: str,
    title: str,
    chart: charts.Chart | None,
    extra: Markup = Markup(""),
    lead: str = "",
    empty: str = "",
) -> Section:
    body = figure(chart) if chart is not None else paragraph(empty)
    return Section(section_id, title, body + extra, lead=lead)


def plan_to_html(
    plan: Plan,
    messages: Sequence[Any] = (),
    *,
    incident: Incident | None = None,
    clv_by_customer: Mapping[str, float] | None = None,
) -> str:
    """The plan as one self-contained HTML page with charts (`remedy plan -f html`).

    `incident` (the incident as planned: `PlanRun.incident`) adds its date, count and summary to
    the heading and, with `clv_by_customer`, lets the break-even chart show the customers' own
    CLV from the order history.
    """
    data = plan_to_json(plan, messages)
    several = len(plan.segments) > 1
    views = clv_views(plan, incident, clv_by_customer)
    sections = [
        _recommendation(plan, data),
        _candidates(plan, data),
        _chart_section(
            "uncertainty",
            "How sure the plan is",
            charts.net_distribution(plan),
            lead="The spread of each candidate's net value across the Monte Carlo draws.",
        ),
        _chart_section(
            "sensitivity",
            "What would change the answer",
            charts.tornado(plan),
            lead="One uncertain input at a time, from its low to its high value.",
            empty="Every input is certain: there is nothing to swing.",
        ),
        _chart_section(
            "cost",
            "Where the money goes",
            charts.cost_by_remedy(plan),
            empty="The plan costs nothing beyond the apology.",
        ),
        _chart_section(
            "break-even",
            "Who each remedy is worth it for",
            charts.break_even(plan.options, views, plan.currency),
            extra=_options_table(plan, data),
            lead="A remedy pays for itself when the customer's lifetime value is past its "
            "break-even.",
            empty="No remedy's payoff depends on CLV here.",
        ),
        _constraints(plan, data),
        _assumptions(plan),
    ]
    drafts = _drafts(messages, several)
    if drafts is not None:
        sections.append(drafts)
    return render_page(
        plan.title,
        sections,
        kicker="Remediation plan",
        intro=_incident_lines(plan, incident),
        footer=(
            f"{plan.draws:,} Monte Carlo draws, seed {plan.seed}: the same file and seed give "
            "the same page. Net values are over the floor, the cheapest plan meeting every "
            "obligation."
        ),
    )


# --- remedy explain ----------------------------------------------------------------------------


def explanation_to_html(explanation: Explanation, views: Sequence[charts.ClvView] = ()) -> str:
    """One option's arithmetic as an HTML page (`remedy explain -f html`): per segment the steps
    with their sources, the Monte Carlo summary, and the break-even CLV against the customers'
    CLV (`views`, one per segment)."""
    m = explanation.currency
    sections: list[Section] = []
    for i, seg in enumerate(explanation.segments):
        s = seg.score
        rows: list[list[Any]] = []
        classes: list[str] = []
        for step in seg.steps:
            if not step.value and not step.detail:
                rows.append([strong(step.label), "", "", ""])
                classes.append("muted")
                continue
            rows.append([step.label, step.value, step.detail, step.source])
            classes.append("")
        if s.break_even_clv is None:
            be = "never"
        elif s.pays_when == "always":
            be = "always"
        else:
            side = "above" if s.pays_when == "clv_above" else "below"
            be = f"CLV {side} {format_money(s.break_even_clv, m)}"
        body = facts(
            [
                Fact(
                    "Expected net over the floor",
                    format_money(s.net_value, m),
                    f"P10 {format_money(s.net_p10, m)}, P90 {format_money(s.net_p90, m)}",
                    round(s.net_value, 2),
                    "net_value",
                ),
                Fact("Pays for itself", be, f"in {s.p_pays:.0%} of draws"),
                Fact(
                    "Best choice",
                    f"{s.p_best:.0%} of draws",
                    "in the plan" if s.in_plan else "not in the plan",
                ),
            ]
        )
        body += table(["step", "value", "how", "source"], rows, row_classes=classes)
        chart = charts.break_even(
            [s], [v for v in views if v.segment == seg.segment], m, chart_id=f"breakeven-{i + 1}"
        )
        if chart is not None:
            body += figure(chart)
        sections.append(
            Section(
                f"segment-{i + 1}",
                f"Segment {seg.segment} ({seg.customers:,} customers)",
                body,
                lead=f"Scored with: {_named(s.scored_with)}. The arithmetic is at the likely "
                "value of every input; the Monte Carlo summary varies them all.",
            )
        )
    summary = paragraph("Plan: ", strong(explanation.plan_summary))
    if explanation.obligations:
        summary += bullets(explanation.obligations)
    if explanation.notes:
        summary += Markup("<h3>Notes</h3>\n") + bullets(explanation.notes)
    sections.append(Section("plan", "The plan and its obligations", summary))
    return render_page(
        f"{explanation.option}: {explanation.label}",
        sections,
        kicker="Why a remedy scores what it scores",
        intro=paragraph("Incident ", code(explanation.incident_id)),
        footer=f"{explanation.draws:,} Monte Carlo draws, seed {explanation.seed}.",
    )


# --- remedy clv ----------------------------------------------------------------------------------


def _num(value: float) -> str:
    return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"


def clv_to_html(result: ClvResult) -> str:
    """The CLV estimate as an HTML page (`remedy clv -f html`): the fit, the value tiers and
    their histogram, the top customers and, after `--holdout-from`, the holdout check."""
    import math

    summary = result.summary()
    bg = result.bgnbd
    unit = result.time_unit
    as_of = "as given in the summary" if result.as_of is None else result.as_of.isoformat()
    money_kind = (
        f"expected margin ({result.gross_margin:.0%} of revenue)"
        if result.gross_margin is not None
        else "expected revenue"
    )
    intro = paragraph(
        f"As of {as_of}; horizon {_num(result.horizon)} {unit}s; discount "
        f"{result.discount_rate:.1%} a year; CLV = {money_kind}."
    )
    counts = facts(
        [
            Fact(
                "Customers",
                f"{result.customers:,}",
                f"{result.repeat_customers:,} bought again",
                result.customers,
                "customers",
            ),
            Fact("Total CLV", _num(summary["total_clv"]), "", summary["total_clv"], "total_clv"),
            Fact(
                "Mean CLV",
                _num(summary["mean_clv"]),
                f"median {_num(summary['median_clv'])}",
                summary["mean_clv"],
                "mean_clv",
            ),
        ]
        + (
            [Fact("Orders", f"{result.orders:,}", f"{result.transactions:,} purchase days")]
            if result.orders is not None and result.transactions is not None
            else []
        )
    )

    def se(errors: Mapping[str, float], name: str) -> str:
        value = errors.get(name, math.nan)
        return f"± {_num(value)}" if math.isfinite(value) else ""

    params = [
        ["BG/NBD", name, _num(value), se(bg.standard_errors, name)]
        for name, value in zip(("r", "alpha", "a", "b"), bg.params, strict=True)
    ]
    gg = result.gamma_gamma
    if gg is not None:
        params += [
            ["Gamma-Gamma", name, _num(value), se(gg.standard_errors, name)]
            for name, value in zip(("p", "q", "v"), gg.params, strict=True)
        ]
    fit = table(["model", "parameter", "estimate", "standard error"], params, numeric=(2, 3))
    fits = [("BG/NBD", bg.log_likelihood, bg.convergence)]
    if gg is not None:
        fits.append(("Gamma-Gamma", gg.log_likelihood, gg.convergence))
    fit += bullets(
        f"{name}: log-likelihood {ll:,.2f}; "
        f"{'converged' if conv.converged else 'NOT converged'} in {conv.iterations} iterations"
        for name, ll, conv in fits
    )
    if gg is None:
        fit += notice(
            f"Gamma-Gamma not used: spend is the mean transaction value "
            f"{_num(result.mean_transaction_value)}."
        )
    shown_later = set(result.holdout.warnings) if result.holdout is not None else set()
    for warning in result.warnings:
        if warning not in shown_later:  # the holdout section shows its own
            fit += notice(f"Warning: {warning}")
    sections = [Section("fit", "The fit", counts + fit)]
    tiers = table(
        ["tier", "customers", "mean CLV", "from", "to", "share of total"],
        [
            [
                t["tier"],
                Cell(f"{t['customers']:,}", t["customers"], "tier.customers"),
                Cell(_num(t["mean_clv"]), t["mean_clv"], "tier.mean_clv"),
                _num(t["min_clv"]),
                _num(t["max_clv"]),
                f"{t['share_of_total']:.1%}",
            ]
            for t in result.tiers()
        ],
        numeric=(1, 2, 3, 4, 5),
    )
    sections.append(
        Section(
            "tiers",
            "Value tiers",
            tiers + figure(charts.clv_histogram(result)),
            lead="The top 5% of customers, the next 15% and the rest, by lifetime value.",
        )
    )
    top = result.top_customers(10)
    sections.append(
        Section(
            "top",
            "The customers worth most",
            table(
                [
                    "customer",
                    "repeat purchases",
                    "P(alive)",
                    "expected purchases",
                    "expected spend",
                    "CLV",
                ],
                [
                    [
                        str(r["customer_id"]),
                        f"{r['frequency']:,}",
                        f"{r['p_alive']:.3f}",
                        _num(r["expected_purchases"]),
                        _num(r["expected_spend"]),
                        _num(r["clv"]),
                    ]
                    for r in top
                ],
                numeric=(1, 2, 3, 4, 5),
            ),
        )
    )
    if result.holdout is not None:
        h = result.holdout
        error = h.relative_error
        off = f"{error:+.1%}" if math.isfinite(error) else "n/a"
        body = paragraph(
            f"Fitted on the orders before {h.holdout_from.isoformat()}; from then to "
            f"{h.holdout_end.isoformat()} the model predicts {h.total_predicted:,.1f} purchases "
            f"and {h.total_actual:,} happened ({off}); mean absolute error "
            f"{h.mean_absolute_error:.3f} purchases per customer."
        )
        for warning in h.warnings:
            body += notice(f"Weak fit: {warning}")
        body += figure(charts.holdout_chart(h, unit))
        sections.append(Section("holdout", "Holdout check", body))
    return render_page(
        result.source,
        sections,
        kicker="Customer lifetime value (BG/NBD and Gamma-Gamma)",
        intro=intro,
        footer="Fader, Hardie & Lee (2005) BG/NBD; Fader, Hardie & Lee (2005) Gamma-Gamma spend.",
    )
