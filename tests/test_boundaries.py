"""Limits met exactly and missed by one cent: the places where a loosened comparison would
otherwise ship unnoticed (issue 8, section 5: mutants that survived the earlier suite)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from remedy.cli import app
from remedy.drafts import PUBLIC_POST_MIN_CUSTOMERS, draft_messages
from remedy.incident import Incident
from remedy.load import load_incident
from remedy.options import credit_amount_default
from remedy.plan import make_plan
from remedy.score import build_model

from .conftest import ROOT

INCIDENTS = ROOT / "incidents"
DRAWS = 2000
CENT = 0.01


def bundled(name: str, **changes: Any) -> Incident:
    data = load_incident(INCIDENTS / f"{name}.yaml").model_dump(exclude_unset=True)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return Incident.model_validate(data)


def test_a_budget_exactly_met_buys_the_plan_and_a_cent_less_does_not() -> None:
    free = make_plan(bundled("warehouse-delay"), draws=DRAWS)
    assert "store_credit" in free.offers[0].options
    cost = Decimal(str(round(free.total_cost, 2)))
    # Exactly enough (rounded up to the cent): the same plan.
    enough = make_plan(
        bundled("warehouse-delay", business={"budget": cost + Decimal("0.01")}), draws=DRAWS
    )
    assert enough.offers[0].options == free.offers[0].options
    # One cent below what the plan costs: it cannot be bought, and the plan keeps within it.
    short = cost - Decimal("0.01")
    tight = make_plan(bundled("warehouse-delay", business={"budget": short}), draws=DRAWS)
    assert tight.total_cost <= float(short) + 1e-6
    assert tight.offers[0].options != free.offers[0].options
    assert any(c.constraint == "budget" for c in tight.binding_constraints)


def test_honor_and_refund_never_go_together() -> None:
    # With a high CLV everything pays; honoring and cancelling the same order still exclude
    # each other, in every candidate and in the plan.
    incident = bundled(
        "6pm-price-cap",
        business={"clv": [5000, 8000, 12000]},
        options={"honor": {"cost_per_order": 50}, "refund": {}, "store_credit": {"amount": 20}},
    )
    model = build_model(incident)
    for candidate in model.candidates:
        assert not {"honor", "refund"} <= set(candidate.options)
    plan = make_plan(incident, draws=DRAWS)
    assert "honor" in plan.offers[0].options and "refund" not in plan.offers[0].options


def plan_output(runner: CliRunner, *flags: str) -> Any:
    return runner.invoke(
        app,
        ["plan", str(INCIDENTS / "6pm-price-cap.yaml"), "-f", "json", "--draws", "500", *flags],
    )


def test_max_cost_exactly_met_passes_and_a_cent_under_fails(runner: CliRunner) -> None:
    cost = json.loads(plan_output(runner).stdout)["plan"]["total_cost"]
    assert plan_output(runner, "--max-cost", f"{cost:.2f}").exit_code == 0
    under = plan_output(runner, "--max-cost", f"{cost - CENT:.2f}")
    assert under.exit_code == 3 and "more than --max-cost" in under.stderr


def strict(runner: CliRunner, budget: str) -> Any:
    text = (INCIDENTS / "mothers-day-bags.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "  founder_cost_per_hour: 100", f"  founder_cost_per_hour: 100\n  budget: {budget}"
    )
    text = text.replace("mothers-day-bags.customers.csv", str(INCIDENTS / "none.csv"))
    return runner.invoke(
        app,
        ["plan", "-", "-f", "json", "--strict", "--draws", "500", "--allow-outside", "/"],
        input=text,
    )


def test_strict_passes_at_the_floors_cost_and_fails_a_cent_under(runner: CliRunner) -> None:
    floor = json.loads(strict(runner, "1000000").stdout)["plan"]["floor"]["cost"]
    at = strict(runner, f"{floor + CENT:.2f}")  # the floor fits (rounded up to the cent)
    assert at.exit_code == 0, at.stderr
    assert json.loads(at.stdout)["plan"]["total_cost"] <= floor + CENT
    under = strict(runner, f"{floor - CENT:.2f}")
    assert under.exit_code == 3 and "(its obligations alone exceed it)" in under.stderr


def test_the_public_post_starts_at_twenty_customers() -> None:
    assert PUBLIC_POST_MIN_CUSTOMERS == 20

    def channels(customers: int) -> set[str]:
        incident = bundled("warehouse-delay", affected={"customers": customers})
        plan = make_plan(incident, draws=500)
        return {m.channel for m in draft_messages(incident, plan.offers)}

    assert "post" not in channels(19)
    assert "post" in channels(20)


@pytest.mark.parametrize(
    ("order_value", "currency", "expected"),
    [
        ("12.34", "USD", "2.47"),  # 2.468: nearest cent
        ("12.325", "USD", "2.47"),  # 2.465: half rounds up, not to even
        ("10.02", "USD", "2.00"),  # 2.004: down when below half
        ("1234", "JPY", "247"),  # 246.8 yen: whole yen
        ("1232.5", "JPY", "247"),  # 246.5 yen: half up
    ],
)
def test_default_store_credit_rounds_half_up_to_the_minor_unit(
    order_value: str, currency: str, expected: str
) -> None:
    assert credit_amount_default(Decimal(order_value), currency) == Decimal(expected)


def test_segment_counts_from_shares_add_up_exactly(tmp_path: Path) -> None:
    # Largest remainder: 1001 customers at 1/3 each are 334 + 334 + 333, never 1002 or 1000.
    incident = bundled(
        "warehouse-delay",
        affected={"customers": 1001},
        segments=[
            {"name": "a", "share": 0.3333333333},
            {"name": "b", "share": 0.3333333333},
            {"name": "c", "share": 0.3333333334},
        ],
    )
    plan = make_plan(incident, draws=500)
    assert sum(s.customers for s in plan.segments) == 1001
    assert sorted(s.customers for s in plan.segments) == [333, 334, 334]
