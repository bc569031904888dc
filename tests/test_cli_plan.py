"""`remedy plan`, `explain`, `drafts` and `lint` through CliRunner: formats, gates, files."""

from __future__ import annotations

import csv
import email
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from remedy.cli import app
from remedy.money import format_money

from .conftest import ROOT

PRICE_CAP = str(ROOT / "incidents" / "6pm-price-cap.yaml")
BAGS = str(ROOT / "incidents" / "mothers-day-bags.yaml")
FAST = ["--draws", "500"]


def plan_json(runner: CliRunner, *args: str) -> dict:
    result = runner.invoke(app, ["plan", *args, "--format", "json", *FAST])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_plan_json_holds_the_contract(runner: CliRunner) -> None:
    data = plan_json(runner, PRICE_CAP)
    assert data["schema_version"] == 1
    assert data["incident"]["id"] == "6pm-price-cap" and data["currency"] == "USD"
    option_keys = {"option", "segment", "cost", "retained_value", "net_value"}
    option_keys |= {"break_even_clv", "p_best", "net_p10", "net_p90"}
    for row in data["options"]:
        assert option_keys <= set(row)
    plan = data["plan"]
    assert {"actions", "total_cost", "expected_net_value", "binding_constraints"} <= set(plan)
    # Every plan sends the apology (handling replies); the remedy is honoring.
    assert [a["option"] for a in plan["actions"]] == ["apology_only", "honor"]
    honor = plan["actions"][1]
    assert honor == {"option": "honor", "segment": "all", "customers": 32000, "cost": 1600000.0}
    assert plan["total_cost"] == pytest.approx(1_600_000, rel=0.01)
    assert plan["floor"]["options"] == ["refund"] and plan["floor"]["cost"] < 15_000
    (row,) = [c for c in data["candidates"] if c["in_plan"]]
    assert row["options"] == ["honor"] and row["net_value"] == plan["expected_net_value"]
    assert sum(c["p_best"] for c in data["candidates"]) == pytest.approx(1.0, abs=1e-3)
    channels = {m["channel"] for m in data["messages"]}
    assert {"email", "sms", "post"} <= channels
    assert all(m["body"] for m in data["messages"])


def test_plan_is_byte_identical_for_a_seed(runner: CliRunner) -> None:
    args = ["plan", BAGS, "--format", "json", "--seed", "7", *FAST]
    first, second = runner.invoke(app, args), runner.invoke(app, args)
    assert first.exit_code == 0 and first.stdout == second.stdout
    other = runner.invoke(app, ["plan", BAGS, "--format", "json", "--seed", "8", *FAST])
    assert other.stdout != first.stdout


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_plan_human_formats_on_every_incident(
    runner: CliRunner, incident_path: Path, fmt: str
) -> None:
    result = runner.invoke(app, ["plan", str(incident_path), "--format", fmt, *FAST])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    data = plan_json(runner, str(incident_path))
    summary = data["plan"]["summary"]
    # The table wraps long cells and draws panels round the drafts: compare the words.
    text = " ".join(result.stdout.translate(str.maketrans("", "", "│╭╮╰╯─")).split())
    # The human formats name the same plan and the same total as the JSON.
    if fmt == "markdown":
        assert f"**Recommended: {summary}**" in text
        total = format_money(data["plan"]["total_cost"], data["currency"])
        assert f"**{total}**" in text
    else:
        assert f"Recommended: {summary}" in text
    for message in data["messages"]:
        first = message["body"].splitlines()[0]
        assert " ".join(first.split()) in text


def test_plan_markdown_states_the_break_even(runner: CliRunner) -> None:
    result = runner.invoke(app, ["plan", PRICE_CAP, "--format", "markdown", *FAST])
    assert "CLV > $243.63" in result.stdout  # honor's break-even, against the floor
    assert "**Recommended: honor**" in result.stdout


def test_plan_reads_stdin(runner: CliRunner) -> None:
    text = Path(PRICE_CAP).read_text()
    result = runner.invoke(app, ["plan", "-", "--format", "json", *FAST], input=text)
    assert result.exit_code == 0, result.stderr
    from_stdin = json.loads(result.stdout)
    from_file = plan_json(runner, PRICE_CAP)
    assert from_stdin["plan"] == from_file["plan"]
    assert from_stdin["candidates"] == from_file["candidates"]


def test_plan_bad_file_exits_1_with_one_line(runner: CliRunner) -> None:
    result = runner.invoke(app, ["plan", str(ROOT / "tests" / "broken" / "typo-key.yaml")])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and ":5:1: affectd: unknown key" in result.stderr


def test_plan_missing_file_exits_2(runner: CliRunner) -> None:
    result = runner.invoke(app, ["plan", "missing.yaml"])
    assert result.exit_code == 2 and "no such file" in result.stderr


def test_max_cost_gate_exits_3_after_printing(runner: CliRunner) -> None:
    result = runner.invoke(app, ["plan", PRICE_CAP, "-f", "json", "--max-cost", "1000", *FAST])
    assert result.exit_code == 3
    assert json.loads(result.stdout)["plan"]["total_cost"] > 1000
    assert "more than --max-cost $1,000.00" in result.stderr
    ok = runner.invoke(app, ["plan", PRICE_CAP, "-f", "json", "--max-cost", "2000000", *FAST])
    assert ok.exit_code == 0


def test_strict_gate_when_obligations_exceed_the_budget(runner: CliRunner) -> None:
    text = (
        Path(BAGS)
        .read_text()
        .replace("  founder_cost_per_hour: 100", "  founder_cost_per_hour: 100\n  budget: 500")
    )
    text = text.replace("mothers-day-bags.customers.csv", str(ROOT / "incidents" / "x.csv"))
    lax = runner.invoke(app, ["plan", "-", "-f", "json", *FAST], input=text)
    assert lax.exit_code == 0, lax.output
    strict = runner.invoke(app, ["plan", "-", "-f", "json", "--strict", *FAST], input=text)
    assert strict.exit_code == 3 and "over the budget of $500.00" in strict.stderr


def test_output_file_is_atomic_and_not_overwritten(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    args = ["plan", PRICE_CAP, "-f", "json", "-o", str(out), *FAST]
    assert runner.invoke(app, args).exit_code == 0
    first = out.read_bytes()
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "--force" in again.stderr
    assert out.read_bytes() == first
    assert runner.invoke(app, [*args, "--force"]).exit_code == 0
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]  # no temporary files left


def test_output_to_a_missing_folder_is_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "nope" / "plan.json"
    result = runner.invoke(app, ["plan", PRICE_CAP, "-o", str(out), *FAST])
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_explain_shows_the_arithmetic(runner: CliRunner) -> None:
    result = runner.invoke(app, ["explain", PRICE_CAP, "honor", *FAST])
    assert result.exit_code == 0, result.output
    assert "break-even CLV" in result.stdout and "$243.63" in result.stdout
    assert "from file: business.clv" in result.stdout
    as_json = runner.invoke(app, ["explain", PRICE_CAP, "honor", "-f", "json", *FAST])
    assert as_json.exit_code == 0
    explained = json.loads(as_json.stdout)
    (segment,) = explained["segments"]
    assert explained["option"] == "honor" and segment["in_plan"] is True
    assert segment["break_even_clv"] == 243.63 and segment["pays_when"] == "clv_above"
    steps = {s["step"].strip(): s for s in segment["steps"]}
    assert steps["break-even CLV"]["value"].startswith("$243.63")


def test_explain_unknown_option_suggests(runner: CliRunner) -> None:
    result = runner.invoke(app, ["explain", PRICE_CAP, "honour", *FAST])
    assert result.exit_code == 2 and "did you mean 'honor'" in result.stderr


def test_drafts_jsonl_one_message_per_customer_and_channel(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "m.jsonl"
    result = runner.invoke(app, ["drafts", BAGS, "--out", str(out), *FAST])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    emails = [r for r in rows if r["channel"] == "email"]
    assert len(emails) == 120
    assert len({r["customer_id"] for r in emails}) == 120
    first = emails[0]
    assert {"customer_id", "channel", "to", "subject", "body"} <= set(first)
    assert first["body"].startswith("Hi ") and "MD-4" in first["subject"]
    calls = [r for r in rows if r["channel"] == "phone"]
    assert 0 < len(calls) < 120  # capacity-bound: the highest-value customers only


def test_drafts_csv_and_eml(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "m.csv"
    result = runner.invoke(app, ["drafts", BAGS, "--out", str(out), "-f", "csv", *FAST])
    assert result.exit_code == 0, result.output
    with out.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert {"customer_id", "channel", "to", "subject", "body"} <= set(rows[0])
    folder = tmp_path / "outbox"
    result = runner.invoke(
        app, ["drafts", BAGS, "--out", str(folder), "-f", "eml", "--limit", "3", *FAST]
    )
    assert result.exit_code == 0, result.output
    files = sorted(folder.iterdir())
    assert len(files) == 3
    parsed = email.message_from_bytes(files[0].read_bytes())
    assert parsed["To"].endswith("@example.com") and parsed["Subject"]


def test_drafts_without_customers_file_is_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(app, ["drafts", PRICE_CAP, "--out", "-", *FAST])
    assert result.exit_code == 2 and "no customers file" in result.stderr


def test_drafts_bad_row_fails_or_is_skipped(runner: CliRunner, tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text(
        "id,name,email,order_id,order_value\n"
        "1,Ann,ann@example.com,A1,10.00\n"
        "2,Bob,not-an-email,A2,10.00\n"
        "=1+1,{{ 7*7 }},cy@example.com,A3,10.00\n"
    )
    incident = tmp_path / "i.yaml"
    incident.write_text(
        "id: t\ntitle: t\nkind: late_delivery\naffected:\n  customers: 3\n  order_value: 10\n"
        "business:\n  clv: 100\ncustomers:\n  file: people.csv\n"
        "sender:\n  name: Al\n  company: Co\n  email: al@example.com\n"
    )
    out = tmp_path / "m.csv"
    failed = runner.invoke(app, ["drafts", str(incident), "--out", str(out), "-f", "csv", *FAST])
    assert failed.exit_code == 1 and ":3:" in failed.stderr and not out.exists()
    skipped = runner.invoke(
        app,
        ["drafts", str(incident), "--out", str(out), "-f", "csv", "--on-bad-row", "skip", *FAST],
    )
    assert skipped.exit_code == 0, skipped.output
    assert "skipped" in skipped.stderr and ":3" in skipped.stderr
    text = out.read_text()
    assert "Bob" not in text
    assert "\n'=1+1,email," in text  # the id cell is neutralised, not run as a formula
    # A name is data, never template code ("{{ 7*7 }}" is no name to greet anyone by).
    assert "Hi there," in text and "49" not in text


LINT_GOOD = """Hi Sam,

We shipped your order late, and that was our fault. I'm sorry.
What happened: a warehouse scanner failed and we missed it.
We've refunded your shipping, $7.95, today.
Reply to this email or call me on 555-0100 if there's anything else.
Alex, Founder
"""


def test_lint_passes_a_good_apology_and_fails_a_hedged_one(
    runner: CliRunner, tmp_path: Path
) -> None:
    good = tmp_path / "good.txt"
    good.write_text(LINT_GOOD)
    result = runner.invoke(app, ["lint", str(good)])
    assert result.exit_code == 0, result.output
    hedged = tmp_path / "hedged.txt"
    hedged.write_text("We apologize for any inconvenience if you were affected.\n")
    bad = runner.invoke(app, ["lint", str(hedged), "-f", "json"])
    assert bad.exit_code == 1
    data = json.loads(bad.stdout)
    assert data["ok"] is False and data["hedges"]


def test_model_level_errors_name_the_file(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "noclv.yaml"
    path.write_text("id: x\ntitle: t\nkind: other\naffected:\n  customers: 10\n")
    result = runner.invoke(app, ["plan", str(path), *FAST])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}: no customer lifetime value")
    assert "add business.clv" in result.stderr


def test_odd_but_valid_incidents_plan_without_a_traceback(
    runner: CliRunner, tmp_path: Path
) -> None:
    cases = {
        "zero": "kind: other\naffected:\n  customers: 0\nbusiness:\n  clv: 100\n",
        "yen": "kind: outage\ncurrency: JPY\naffected:\n  customers: 10\n  order_value: 1500\n"
        "business:\n  clv: 20000\noptions:\n  store_credit:\n    amount: 500\n    required: true\n",
        "all-off": "kind: other\naffected:\n  customers: 10\nbusiness:\n  clv: 100\noptions:\n"
        + "".join(
            f"  {o}: false\n"
            for o in ("honor", "refund", "ship_upgrade", "personal_call", "store_credit")
        ),
        "huge": "kind: billing_error\naffected:\n  customers: 100000000\n  order_value: 999999\n"
        "business:\n  clv: [0, 1000000, 1000000000000]\n  budget: 1\n",
    }
    for name, body in cases.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"id: {name}\ntitle: t\n{body}")
        result = runner.invoke(app, ["plan", str(path), "-f", "json", *FAST])
        assert result.exit_code == 0, (name, result.output)
        assert json.loads(result.stdout)["plan"]["actions"], name


def test_yen_store_credit_is_whole_yen_in_plan_and_message(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "yen.yaml"
    path.write_text(
        "id: x\ntitle: t\nkind: outage\ncurrency: JPY\naffected:\n  customers: 30\n"
        "  order_value: 1499\nbusiness:\n  clv: 20000\n"
    )
    result = runner.invoke(app, ["plan", str(path), "-f", "json", *FAST])
    assert result.exit_code == 0, result.output
    assert "¥300" in result.stdout and "299.8" not in result.stdout


def test_drafts_eml_to_stdout_is_refused(runner: CliRunner) -> None:
    result = runner.invoke(app, ["drafts", BAGS, "--out", "-", "-f", "eml", *FAST])
    assert result.exit_code == 2 and "folder" in result.stderr
