"""`remedy review -f html`: the review as one self-contained page with a chart.

Built on the shared frame (`remedy.page`) and chart conventions (`remedy.charts`), like the plan
page (`remedy.report_html`). Every number comes from the one JSON-ready result that feeds every
format (`Review.to_json`), so the page and `-f json` agree to the last digit; each number in a
table carries it in `data-value` under a `data-key` (`group.ratio`, `loss.holdout.low`,
`value.lost`, `assumptions.delta`, ...). Only the calibrated snippet (`assumptions_yaml`) and the
naive comparison come from the `Review` itself, as in the text format.

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

if TYPE_CHECKING:
    from remedy.review import Review

ARMS = ("affected", "treated", "holdout")
_WHO = {
    "affected": "affected customers",
    "treated": "treated customers (got the plan)",
    "holdout": "holdout customers (the floor and the apology only)",
}
_STATUS = {
    "precise": "precise enough to plan with",
    "direction": "the direction is clear, the size is not",
    "too_wide": "too wide to conclude anything",
}


def _pct(value: float | None, sign: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.1%}" if sign else f"{value:.1%}"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _money(value: float | None, currency: str) -> str:
    return "n/a" if value is None else format_money(value, currency)


def _advice(interval: Mapping[str, Any], unit: str) -> str:
    """What would make a wide interval precise (as `remedy.review` words it in the text)."""
    if interval["status"] == "precise":
        return ""
    parts = []
    if interval.get("more_customers") is not None:
        parts.append(f"about {interval['more_customers']:,} more {unit}")
    if interval.get("more_weeks") is not None:
        parts.append(f"about {interval['more_weeks']} more weeks of orders")
    elif interval.get("more_customers") is not None:
        parts.append("more weeks alone would not do")
    if not parts:
        return ""
    return f"To reach ±{interval['target_half_width']:.0%}: " + ", or ".join(parts) + "."


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _intro(data: Mapping[str, Any]) -> Markup:
    """The incident and the window, in two lines."""
    incident, window = data["incident"], data["window"]
    affected = next((g for g in data["groups"] if g["group"] == "affected"), None)
    first: list[str | Markup] = [
        code(incident["id"]),
        Markup(" · "),
        str(incident["kind"]).replace("_", " "),
        Markup(" · "),
        f"occurred {incident['occurred_on']}",
    ]
    if affected is not None:
        first += [Markup(" · "), f"{affected['customers']:,} affected customers measured"]
    arms = "with a holdout" if data["assignments"] else "no holdout (no --assignments)"
    second = (
        f"Window {window['from']} to {window['to']} ({window['weeks']:.1f} weeks) · "
        f"{data['customers']:,} customers with a purchase before the incident · {arms}"
    )
    return paragraph(*first) + paragraph(second)


def _groups(data: Mapping[str, Any]) -> Section:
    rows: list[list[Any]] = []
    classes: list[str] = []
    for g in data["groups"]:
        name = str(g["group"])
        rows.append(
            [
                Markup("&emsp;{}").format(name) if name in ("treated", "holdout") else name,
                Cell(f"{g['customers']:,}", g["customers"], "group.customers"),
                Cell(
                    f"{g['expected_purchases']:,.0f}",
                    g["expected_purchases"],
                    "group.expected_purchases",
                ),
                Cell(
                    f"{g['observed_purchases']:,.0f}",
                    g["observed_purchases"],
                    "group.observed_purchases",
                ),
                Cell(_ratio(g["ratio"]), g["ratio"], "group.ratio", strong=True),
                Cell(_ratio(g["ratio_low"]), g["ratio_low"], "group.ratio_low"),
                Cell(_ratio(g["ratio_high"]), g["ratio_high"], "group.ratio_high"),
            ]
        )
        classes.append("plan" if name == "affected" else "")
    body = table(
        [
            "group",
            "customers",
            "expected purchases",
            "observed purchases",
            "ratio",
            "90% from",
            "to",
        ],
        rows,
        numeric=(1, 2, 3, 4, 5, 6),
        row_classes=classes,
    )
    body += paragraph(
        "Expected: what each customer would have bought in the window given their own history "
        "(BG/NBD fitted on the orders up to the incident). Observed: the purchase days they had. "
        "The ratio is observed / expected; a season, a price change or the model's own misfit "
        "moves the unaffected ratio too, and the loss below compares against it.",
        cls="small",
    )
    chart = charts.review_ratios(data["groups"], float(data["window"]["weeks"]))
    if chart is not None:
        body += figure(chart)
    return Section(
        "groups",
        "Purchases against the forecast",
        body,
        lead="Each group of customers: the purchases the model expected in the window, and "
        "those made.",
    )


def _interval_cells(interval: Mapping[str, Any] | None, key: str) -> list[Cell]:
    if interval is None:
        return [Cell("n/a"), Cell(""), Cell("")]
    return [
        Cell(_pct(interval["estimate"]), interval["estimate"], f"{key}.estimate", strong=True),
        Cell(_pct(interval["low"]), interval["low"], f"{key}.low"),
        Cell(_pct(interval["high"]), interval["high"], f"{key}.high"),
    ]


def _reading(interval: Mapping[str, Any] | None, unit: str) -> Markup:
    if interval is None:
        return Markup("not measured: too few purchases were expected in the window")
    words = [strong(_STATUS[interval["status"]])]
    for extra in (interval.get("note") or "", _advice(interval, unit)):
        if extra:
            words.append(Markup("<br>{}").format(extra))
    return Markup("").join(words)


def _headline(label: str, interval: Mapping[str, Any] | None) -> Fact:
    if interval is None:
        return Fact(label, "not measured", "too few purchases expected in the window")
    return Fact(
        label,
        _pct(interval["estimate"]),
        f"90%: {_pct(interval['low'])} to {_pct(interval['high'])}; {_STATUS[interval['status']]}",
    )


def _loss(data: Mapping[str, Any], review: Review) -> Section:
    loss: Mapping[str, Any] = data["loss"]
    recovery = data["recovery"]
    tiles = [_headline("Loss of the affected customers", loss.get("affected"))]
    if "holdout" in loss:
        tiles.append(_headline("Loss of the holdout", loss.get("holdout")))
    if recovery is not None:
        tiles.append(_headline("Won back by the remedy", recovery))
    body = facts(tiles)
    rows: list[list[Any]] = []
    classes: list[str] = []
    for name in ARMS:
        if name not in loss:
            continue
        interval = loss[name]
        label = f"loss of the {_WHO[name]}"
        rows.append(
            [
                label,
                *_interval_cells(interval, f"loss.{name}"),
                _reading(interval, f"{name} customers"),
            ]
        )
        classes.append("plan" if name == "affected" else "")
    if recovery is not None:
        rows.append(
            [
                "recovery: the share of the holdout's loss the plan's extras won back",
                *_interval_cells(recovery, "recovery"),
                _reading(recovery, "holdout customers (and treated ones in proportion)"),
            ]
        )
        classes.append("")
    body += table(
        ["", "estimate", "90% from", "to", "reading"],
        rows,
        numeric=(1, 2, 3),
        row_classes=classes,
    )
    if recovery is None:
        body += paragraph(
            "Recovery: not measured "
            + (
                "(no --assignments from remedy drafts --holdout)."
                if data["assignments"] is None
                else "(the holdout or the treated arm is empty or too small)."
            )
        )
    method = data["method"]
    body += paragraph(
        f"A loss is precise when its 90% interval is within ±{method['precision']['loss']:.0%} "
        f"(±{method['precision']['recovery']:.0%} for the recovery): enough to choose between "
        "the planner's low, likely and high. Wider but clear of zero, the direction is known "
        "and not the size. The customers or weeks needed assume the interval narrows like one "
        "over the square root of the customers (or of the expected purchases): read them as a "
        "lower bound.",
        cls="small",
    )
    matched: Mapping[str, float] = next(
        (g["matched"] for g in data["groups"] if g["group"] == "affected"), {}
    )
    if matched:
        body += paragraph(
            "Matched on frequency and days since the last purchase: "
            f"{_pct(matched.get('frequency_and_recency'))} of the affected customers' expected "
            f"purchases; on days since the last purchase only "
            f"{_pct(matched.get('recency_only'))}; against all unaffected customers "
            f"{_pct(matched.get('all_unaffected'))}.",
            cls="small",
        )
    if review.naive_loss is not None:
        naive = review.naive_loss
        body += paragraph(
            "Purchases per customer, without the model or the matching, would say the affected "
            f"bought {_pct(abs(naive))} {'less' if naive >= 0 else 'more'}: a comparison biased "
            "by who was hit.",
            cls="small",
        )
    return Section(
        "loss",
        "What the incident cost, and what the remedy won back",
        body,
        lead="Loss: the share of the purchases expected that did not happen, against "
        "unaffected customers who bought alike before the incident.",
    )


def _value(data: Mapping[str, Any]) -> Section:
    v: Mapping[str, Any] = data["value"]
    m = str(v["currency"])

    def row(label: str, key: str) -> list[Any]:
        return [
            label,
            Cell(_money(v[key], m), v[key], f"value.{key}", strong=True),
            Cell(_money(v[f"{key}_low"], m), v[f"{key}_low"], f"value.{key}_low"),
            Cell(_money(v[f"{key}_high"], m), v[f"{key}_high"], f"value.{key}_high"),
        ]

    tiles = []
    if v["lost"] is not None:
        tiles.append(
            Fact(
                "Revenue lost in the window",
                _money(v["lost"], m),
                f"90%: {_money(v['lost_low'], m)} to {_money(v['lost_high'], m)}",
            )
        )
    if v["recovered"] is not None:
        tiles.append(
            Fact(
                "Won back by the remedy",
                _money(v["recovered"], m),
                f"90%: {_money(v['recovered_low'], m)} to {_money(v['recovered_high'], m)}",
            )
        )
    if v["plan_cost"] is not None:
        tiles.append(
            Fact(
                "The plan cost",
                _money(v["plan_cost"], m),
                f"its extras beyond the obligations: {_money(v['extras_cost'], m)}",
            )
        )
    body = facts(tiles) if tiles else Markup("")
    rows: list[list[Any]] = []
    if v["lost"] is not None:
        rows.append(row("revenue the affected customers did not spend in the window", "lost"))
    if v["recovered"] is not None:
        rows.append(row("revenue won back by the remedy in the window", "recovered"))
    if v["projected_lost"] is not None:
        rows.append(row("if the loss lasts: lost", "projected_lost"))
    if v["projected_recovered"] is not None:
        rows.append(row("if the loss lasts: won back", "projected_recovered"))
    if rows:
        body += table(["", "estimate", "90% from", "to"], rows, numeric=(1, 2, 3))
    else:
        body += paragraph("Nothing was measured to put a value on.")
    cost_rows: list[list[Any]] = []
    if v["plan_cost"] is not None:
        cost_rows.append(
            [
                "the plan (as planned for this incident)",
                Cell(_money(v["plan_cost"], m), v["plan_cost"], "value.plan_cost"),
            ]
        )
    if v["extras_cost"] is not None:
        cost_rows.append(
            [
                "its extras beyond the obligations",
                Cell(_money(v["extras_cost"], m), v["extras_cost"], "value.extras_cost"),
            ]
        )
    if cost_rows:
        body += table(["what it cost", "cost"], cost_rows, numeric=(1,))
    else:
        body += paragraph("The plan's cost is left out: the plan could not be computed.")
    if v["recovered"] is not None and v["extras_cost"]:
        margin = v["recovered"] * v["gross_margin"]
        body += paragraph(
            f"In gross margin ({v['gross_margin']:.0%}) the remedy won back ",
            strong(_money(margin, m)),
            f" in the window for extras that cost {_money(v['extras_cost'], m)} "
            f"({margin / v['extras_cost']:.1f}x).",
        )
    body += paragraph(
        f"Money is revenue in the window, against matched unaffected customers, in {m}. "
        f"{_sentence(str(v['projection']))}.",
        cls="small",
    )
    return Section(
        "value",
        "In money: lost, won back, and what the plan cost",
        body,
        lead="The same measurement on revenue instead of purchases.",
    )


def _assumptions(data: Mapping[str, Any], review: Review) -> Section:
    from remedy.review import assumptions_yaml

    a: Mapping[str, Any] = data["assumptions"]
    body = Markup("")
    rows: list[list[Any]] = []
    if a["delta"] is not None:
        rows.append(
            [
                "assumptions.delta",
                *(Cell(f"{x:g}", x, "assumptions.delta") for x in a["delta"]),
                str(a["delta_source"]),
            ]
        )
    if a["recovery"] is not None:
        where = (
            f"options.{a['recovery_option']}.recovery"
            if a["recovery_option"]
            else "recovery of the extras together"
        )
        rows.append(
            [
                where,
                *(Cell(f"{x:g}", x, "assumptions.recovery") for x in a["recovery"]),
                ", ".join(a["recovery_options"]) or "beyond the floor",
            ]
        )
    if rows:
        body += table(["input", "low", "likely", "high", "measured on"], rows, numeric=(1, 2, 3))
    else:
        body += paragraph("Nothing was measured precisely enough to calibrate an input.")
    body += card(
        "assumptions.yaml",
        assumptions_yaml(review),
        copy_id="assumptions-yaml",
    )
    body += paragraph(
        "Paste it into the next incident file, or write it with ",
        code("--write-assumptions PATH"),
        ". assumptions.delta is the share of future value lost with only an apology, before "
        "the incident's modifiers.",
        cls="small",
    )
    return Section(
        "assumptions",
        "For the next incident: the calibrated assumptions",
        body,
        lead="Your own numbers in place of the published averages.",
    )


def _notes(data: Mapping[str, Any]) -> Section:
    warnings: Sequence[str] = data["warnings"]
    body = (
        Markup("").join(notice(f"Warning: {w}") for w in warnings)
        if warnings
        else paragraph("No warnings.")
    )
    method, fit = data["method"], data["fit"]
    bg = fit["bgnbd"]
    notes = [
        f"BG/NBD fitted on {fit['customers']:,} customers' orders up to the incident "
        f"(r {bg['r']:.4g}, alpha {bg['alpha']:.4g}, a {bg['a']:.4g}, b {bg['b']:.4g}); "
        f"spend per purchase: {fit['spend_model']}.",
        f"{method['level']:.0%} intervals: {method['bootstrap']}, "
        f"{method['replicates']:,} replicates, seed {method['seed']}.",
        "Matching cells with fewer than "
        f"{method['matching']['min_unaffected_per_cell']} unaffected customers borrow the ratio "
        "of their days-since-last-purchase band, and failing that of all unaffected customers.",
        f"A group needs {method['min_expected_purchases']:g} expected purchases in the window "
        "to be measured.",
        f"Orders: {data['orders']}"
        + (f"; assignments: {data['assignments']}" if data["assignments"] else "")
        + ".",
    ]
    body += Markup("<h3>How it was measured</h3>\n") + bullets(notes)
    return Section("notes", "Notes and warnings", body)


def review_to_html(review: Review) -> str:
    """The review as one self-contained HTML page (`remedy review -f html`)."""
    data = review.to_json()
    sections = [
        _groups(data),
        _loss(data, review),
        _value(data),
        _assumptions(data, review),
        _notes(data),
    ]
    return render_page(
        str(data["incident"]["title"]),
        sections,
        kicker="Incident review: what it cost, and what the remedy won back",
        intro=_intro(data),
        footer=(
            f"{data['method']['replicates']:,} bootstrap replicates, seed "
            f"{data['method']['seed']}: the same orders, incident and seed give the same page. "
            "Expected purchases: BG/NBD (Fader, Hardie & Lee 2005)."
        ),
    )
