"""CLV from an order history feeds the plan: value tiers, named segments, the source noted."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from remedy.cli import app
from remedy.errors import InputError
from remedy.history import value_from_history
from remedy.load import load_incident
from remedy.plan import make_plan


def write_history(path: Path, customers: int, seed: int = 1) -> None:
    """Customers who buy again at different rates: the frequent ones are worth more."""
    rng = random.Random(seed)
    start = dt.date(2024, 1, 1)
    lines = ["customer_id,date,amount"]
    for c in range(customers):
        first = start + dt.timedelta(days=rng.randrange(0, 120))
        repeats = c % 7  # 0..6 repeat purchases
        day = first
        for _ in range(repeats + 1):
            lines.append(
                f"c{c},{day.isoformat()},{rng.randrange(20, 120)}.{rng.randrange(100):02d}"
            )
            day += dt.timedelta(days=rng.randrange(7, 40))
            if day > dt.date(2024, 12, 31):
                break
    path.write_text("\n".join(lines) + "\n")


def incident_file(folder: Path, extra: str = "", customers: int = 400) -> Path:
    path = folder / "incident.yaml"
    path.write_text(
        "id: late\ntitle: Late orders\nkind: late_delivery\n"
        f"affected:\n  customers: {customers}\n  order_value: 60\n"
        "options:\n  ship_upgrade:\n    cost_per_order: 8\n"
        "customers:\n  orders: orders.csv\n" + extra
    )
    return path


def test_no_history_means_no_valuation(tmp_path: Path) -> None:
    path = tmp_path / "i.yaml"
    path.write_text("id: x\ntitle: t\nkind: other\naffected:\n  customers: 3\n")
    assert value_from_history(load_incident(path)) is None


def test_value_tiers_are_made_when_the_file_has_no_segments(tmp_path: Path) -> None:
    write_history(tmp_path / "orders.csv", 400)
    incident = load_incident(incident_file(tmp_path))
    valuation = value_from_history(incident)
    assert valuation is not None
    names = [s.name for s in valuation.incident.segments]
    assert names == ["top_5", "next_15", "rest"]
    assert sum(s.count or 0 for s in valuation.incident.segments) == 400
    top, mid, rest = (valuation.clv_by_segment[n] for n in names)
    assert top.likely > mid.likely > rest.likely > 0
    assert all(e.low <= e.likely <= e.high for e in (top, mid, rest))
    plan = make_plan(valuation.incident, draws=500, clv_override=valuation.clv_by_segment)
    assert {s.segment for s in plan.segments} == set(names)


def test_the_plan_says_where_clv_came_from(tmp_path: Path) -> None:
    write_history(tmp_path / "orders.csv", 400)
    path = incident_file(tmp_path)
    result = CliRunner().invoke(app, ["plan", str(path), "-f", "json", "--draws", "500"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert any("orders.csv" in note for note in data["notes"])


def test_affected_customers_are_matched_by_id(tmp_path: Path) -> None:
    write_history(tmp_path / "orders.csv", 400)
    people = tmp_path / "people.csv"
    # c6, c13, ... buy most often (6 repeats); c0, c7, ... never come back.
    frequent = [f"c{c}" for c in range(6, 400, 7)][:30]
    once = [f"c{c}" for c in range(0, 400, 7)][:30]
    rows = ["id,name,email,order_id,order_value"]
    rows += [f"{cid},N,{cid}@example.com,O{cid},60" for cid in frequent + once]
    people.write_text("\n".join(rows) + "\n")
    path = incident_file(tmp_path, "  file: people.csv\n", customers=60)
    valuation = value_from_history(load_incident(path))
    assert valuation is not None
    total = valuation.incident.affected.customers
    assert total == 60
    tiers = valuation.clv_by_segment
    assert tiers["top_5"].likely > tiers["rest"].likely


def test_named_segments_keep_their_own_clv(tmp_path: Path) -> None:
    write_history(tmp_path / "orders.csv", 300)
    extra = (
        "segments:\n  - name: vip\n    share: 0.1\n    clv: 5000\n"
        "  - name: regular\n    share: 0.9\n"
    )
    path = incident_file(tmp_path, "", 300)
    path.write_text(path.read_text() + extra)
    valuation = value_from_history(load_incident(path))
    assert valuation is not None
    assert set(valuation.clv_by_segment) == {"regular"}  # vip keeps the file's 5000


def test_unknown_customers_are_an_input_error(tmp_path: Path) -> None:
    write_history(tmp_path / "orders.csv", 400)
    people = tmp_path / "people.csv"
    people.write_text("id,name,email,order_id,order_value\nzz,N,z@example.com,O1,60\n")
    path = incident_file(tmp_path, "  file: people.csv\n", customers=1)
    with pytest.raises(InputError, match="none of the 1 affected customers"):
        value_from_history(load_incident(path))


def test_drafts_use_history_clv_to_fill_value_tiers(tmp_path: Path) -> None:
    write_history(tmp_path / "orders.csv", 400)
    people = tmp_path / "people.csv"
    rows = ["id,name,email,order_id,order_value"]
    rows += [f"c{c},N{c},c{c}@example.com,O{c},60.00" for c in range(0, 400, 2)]
    people.write_text("\n".join(rows) + "\n")
    path = incident_file(tmp_path, "  file: people.csv\n", customers=200)
    path.write_text(path.read_text() + "sender:\n  name: A\n  company: C\n  email: a@example.com\n")
    out = tmp_path / "m.jsonl"
    args = ["drafts", str(path), "--out", str(out), "--draws", "500"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    emails = [json.loads(line) for line in out.read_text().splitlines()]
    segments = {m["segment"] for m in emails if m["channel"] == "email"}
    assert segments == {"top_5", "next_15", "rest"}


def test_customer_count_comes_from_the_customers_file(tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text(
        "id,name,email,order_id,order_value\n1,A,a@example.com,O1,5\n2,B,b@x.io,O2,5\n"
    )
    path = tmp_path / "i.yaml"
    path.write_text(
        "id: x\ntitle: t\nkind: late_delivery\naffected:\n  order_value: 5\nbusiness:\n  clv: 50\n"
        "customers:\n  file: people.csv\n"
    )
    runner = CliRunner()
    assert runner.invoke(app, ["check", str(path)]).exit_code == 0
    result = runner.invoke(app, ["plan", str(path), "-f", "json", "--draws", "500"])
    assert result.exit_code == 0, result.output
    assert sum(a["customers"] for a in json.loads(result.stdout)["plan"]["actions"][:1]) == 2


def test_check_refuses_what_plan_refuses(tmp_path: Path) -> None:
    path = tmp_path / "i.yaml"
    path.write_text(
        "id: x\ntitle: t\nkind: billing_error\naffected:\n  customers: 5\n  order_value: 10\n"
        "business:\n  clv: 100\noptions:\n  refund: false\n"
    )
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code == 1 and "refund is an obligation" in result.stdout
    path.write_text("id: x\ntitle: t\nkind: other\naffected:\n  customers: 5\n")
    assert "add business.clv" in CliRunner().invoke(app, ["check", str(path)]).stdout
