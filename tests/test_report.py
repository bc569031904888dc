"""Reports: the JSON contract of `remedy plan --format json`, Markdown, money, the terminal."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from remedy.load import load_incident
from remedy.money import format_money
from remedy.plan import Plan, make_plan
from remedy.report import plan_to_json, plan_to_markdown

INCIDENTS = Path(__file__).resolve().parent.parent / "incidents"


@dataclass(frozen=True)
class Draft:
    channel: str
    segment: str
    subject: str | None
    body: str


@pytest.fixture(scope="module")
def plan() -> Plan:
    return make_plan(load_incident(INCIDENTS / "mothers-day-bags.yaml"), draws=2000)


MESSAGES = [
    Draft("email", "all", "Your Mother's Day bag", "Dear customer,\nThis was our mistake."),
    {"channel": "sms", "segment": "all", "subject": None, "body": "Sorry | our mistake"},
]


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (Decimal("49.95"), "USD", "$49.95"),
        (49.95, "USD", "$49.95"),
        (1_600_000, "USD", "$1,600,000.00"),
        (Decimal("300"), "EUR", "€300.00"),
        (6, "GBP", "£6.00"),
        (Decimal("1500.4"), "JPY", "¥1,500"),
        (12, "CHF", "CHF 12.00"),
        (-1234.5, "USD", "-$1,234.50"),
        (Decimal("0.005"), "USD", "$0.01"),  # half up, to the cent
        (-0.001, "USD", "$0.00"),  # never "-$0.00"
        (Decimal("2.675"), "USD", "$2.68"),  # exact decimal, not binary drift
    ],
)
def test_format_money(amount: Decimal | float, currency: str, expected: str) -> None:
    assert format_money(amount, currency) == expected


def test_json_holds_the_contract(plan: Plan) -> None:
    data = plan_to_json(plan, MESSAGES)
    assert data["schema_version"] == 1
    assert data["incident"]["id"] == "mothers-day-bags"
    assert data["currency"] == "USD"
    for option in data["options"]:
        for key in (
            "option",
            "segment",
            "cost",
            "retained_value",
            "net_value",
            "break_even_clv",
            "p_best",
            "net_p10",
            "net_p90",
        ):
            assert key in option
    for action in data["plan"]["actions"]:
        assert set(action) == {"option", "segment", "customers", "cost"}
    assert {"total_cost", "expected_net_value", "binding_constraints"} <= set(data["plan"])
    for constraint in data["plan"]["binding_constraints"]:
        assert set(constraint) == {"constraint", "detail", "cost_in_value"}
    assert data["messages"] == [
        {
            "channel": "email",
            "segment": "all",
            "subject": "Your Mother's Day bag",
            "body": "Dear customer,\nThis was our mistake.",
        },
        {"channel": "sms", "segment": "all", "subject": None, "body": "Sorry | our mistake"},
    ]
    actions = {a["option"]: a for a in data["plan"]["actions"]}
    assert set(actions) == {"apology_only", "refund", "ship_upgrade", "personal_call"}
    assert actions["personal_call"]["customers"] == 48
    assert data["plan"]["offers"][0]["refund_amount"] == 110.0


def test_json_numbers_are_rounded_and_the_output_is_byte_identical(plan: Plan) -> None:
    text = json.dumps(plan_to_json(plan, MESSAGES), indent=2)
    again = make_plan(load_incident(INCIDENTS / "mothers-day-bags.yaml"), draws=2000)
    assert text == json.dumps(plan_to_json(again, MESSAGES), indent=2)
    data = json.loads(text)
    for option in data["options"]:
        for key in ("cost", "net_value", "net_p10", "net_p90"):
            assert round(option[key], 2) == option[key]
        assert round(option["p_best"], 4) == option["p_best"]
    assert data["plan"]["total_cost"] == pytest.approx(
        sum(a["cost"] for a in data["plan"]["actions"]), abs=0.05
    )


def test_markdown_for_a_postmortem(plan: Plan) -> None:
    text = plan_to_markdown(plan, MESSAGES)
    assert text.startswith("# Remediation plan: A third of the Mother's Day photo bag orders")
    for heading in ("## The plan", "## Candidate plans", "## Options one at a time",
                    "## Binding constraints", "## Sensitivity", "## Assumptions",
                    "## Drafts"):  # fmt: skip
        assert heading in text
    assert "| all | personal_call | 48 |" in text
    assert "**Subject:** Your Mother's Day bag" in text
    assert "Sorry \\| our mistake" not in text  # bodies are quoted in code blocks, not cells
    assert "Sorry | our mistake" in text
    assert "$" in text and "nan" not in text.lower()


def test_terminal_rendering(plan: Plan) -> None:
    from rich.console import Console

    from remedy.tables import render_plan, spread_bar

    out = io.StringIO()
    render_plan(plan, MESSAGES, Console(file=out, width=160, color_system=None))
    text = out.getvalue()
    assert "Candidate plans (net over the floor)" in text
    assert "Recommended: refund + ship_upgrade + personal_call (48 calls)" in text
    assert "[plan]" in text and "[floor]" in text
    assert "The plan by segment" in text
    assert "customer's choice" in text
    assert "Binding call_capacity" in text
    assert "Your Mother's Day bag" in text
    assert spread_bar(-10, 10, -20, 20, width=9) == "··━━┿━━··"


def test_importing_tables_does_not_import_rich() -> None:
    import subprocess
    import sys

    code = "import sys, remedy.tables; print('rich' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
