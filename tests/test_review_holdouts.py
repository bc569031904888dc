"""`remedy drafts --holdout`: a seeded, stratified holdout that gets the obligations and the
apology only, each message's arm, and the assignment file `remedy review` reads."""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from remedy.cli import app
from remedy.holdouts import HoldoutDraw, check_share, withheld
from remedy.offer import Offer

from .conftest import ROOT

BAGS = str(ROOT / "incidents" / "mothers-day-bags.yaml")
FAST = ["--draws", "500"]


def write_incident(folder: Path, rows: int = 400, *, kind: str = "late_delivery") -> Path:
    """Two named segments (a segment column), a late delivery: the floor is the apology, the
    plan adds store credit (and for vip a call)."""
    people = folder / "people.csv"
    with people.open("w") as stream:
        stream.write("id,name,email,order_id,order_value,segment\n")
        for i in range(rows):
            segment = "vip" if i % 10 == 0 else "regular"
            stream.write(f"p{i},Person {i},p{i}@example.com,O{i},80.00,{segment}\n")
    incident = folder / "late.yaml"
    incident.write_text(
        "id: late-parcels\ntitle: Parcels a week late\n"
        f"kind: {kind}\noccurred_on: 2024-03-04\n"
        "summary: Our warehouse shipped your order a week late.\n"
        "affected:\n  order_value: 80\n"
        "business:\n  clv: [200, 400, 800]\n"
        "segments:\n"
        f"  - name: vip\n    count: {rows // 10}\n    clv: 3000\n"
        f"  - name: regular\n    count: {rows - rows // 10}\n"
        "options:\n  store_credit:\n    amount: 20\n    required: false\n"
        "customers:\n  file: people.csv\n"
        "sender:\n  name: Al\n  company: Co\n  email: al@example.com\n"
    )
    return incident


def run_drafts(
    runner: CliRunner, incident: Path | str, out: Path, *args: str
) -> tuple[list[dict], list[dict]]:
    arms = out.with_suffix(".arms.csv")
    result = runner.invoke(
        app,
        ["drafts", str(incident), "--out", str(out), "--assignments", str(arms), *args, *FAST],
    )
    assert result.exit_code == 0, result.output
    messages = [json.loads(line) for line in out.read_text().splitlines()]
    with arms.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    return messages, rows


def test_holdout_is_stratified_exact_and_gets_the_floor(runner: CliRunner, tmp_path: Path) -> None:
    incident = write_incident(tmp_path)
    messages, rows = run_drafts(runner, incident, tmp_path / "m.jsonl", "--holdout", "0.25")
    assert list(rows[0]) == ["customer_id", "segment", "arm", "incident_id"]
    assert {r["incident_id"] for r in rows} == {"late-parcels"}
    counts = Counter((r["segment"], r["arm"]) for r in rows)
    # Exact counts per segment: round(0.25 x 40) and round(0.25 x 360).
    assert counts == {
        ("vip", "holdout"): 10,
        ("vip", "treated"): 30,
        ("regular", "holdout"): 90,
        ("regular", "treated"): 270,
    }
    arm_of = {r["customer_id"]: r["arm"] for r in rows}
    emails = [m for m in messages if m["channel"] == "email"]
    assert all(m["arm"] == arm_of[m["customer_id"]] for m in messages)
    held = [m for m in emails if m["arm"] == "holdout"]
    treated = [m for m in emails if m["arm"] == "treated"]
    assert len(held) == 100 and len(treated) == 300
    # The plan's extra (store credit) is withheld from the holdout, never the apology.
    assert all("$20.00" in m["body"] for m in treated)
    assert not any("$20.00" in m["body"] for m in held)
    assert all("sorry" in m["body"].lower() for m in held)
    assert not any(m["channel"] == "phone" and m["arm"] == "holdout" for m in messages)


def test_same_seed_same_assignment_whatever_the_file_order(
    runner: CliRunner, tmp_path: Path
) -> None:
    incident = write_incident(tmp_path)
    _, first = run_drafts(runner, incident, tmp_path / "a.jsonl", "--holdout", "0.2")
    people = tmp_path / "people.csv"
    header, *lines = people.read_text().splitlines()
    random.Random(5).shuffle(lines)
    people.write_text("\n".join([header, *lines]) + "\n")
    _, shuffled = run_drafts(runner, incident, tmp_path / "b.jsonl", "--holdout", "0.2")
    assert {r["customer_id"]: r["arm"] for r in first} == {
        r["customer_id"]: r["arm"] for r in shuffled
    }
    _, other = run_drafts(runner, incident, tmp_path / "c.jsonl", "--holdout", "0.2", "--seed", "1")
    assert {r["customer_id"]: r["arm"] for r in other} != {
        r["customer_id"]: r["arm"] for r in first
    }


def test_an_owed_refund_is_never_withheld(runner: CliRunner, tmp_path: Path) -> None:
    # Mother's Day bags: goods paid for and not made, so the floor is a refund or a resend;
    # the holdout loses only the founder's call.
    out = tmp_path / "m.jsonl"
    messages, rows = run_drafts(runner, BAGS, out, "--holdout", "0.3", "-f", "jsonl")
    held = [m for m in messages if m["arm"] == "holdout" and m["channel"] == "email"]
    assert len(held) == sum(r["arm"] == "holdout" for r in rows) == 36
    assert all("full refund" in m["body"] for m in held)
    assert not any(m["channel"] == "phone" and m["arm"] == "holdout" for m in messages)


def test_without_holdout_everyone_is_treated(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "m.csv"
    result = runner.invoke(app, ["drafts", BAGS, "--out", str(out), "-f", "csv", *FAST])
    assert result.exit_code == 0, result.output
    with out.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert {r["arm"] for r in rows} == {"treated"}
    assert {"customer_id", "channel", "to", "subject", "body", "segment"} <= set(rows[0])


def test_eml_carries_the_arm(runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "outbox"
    arms = tmp_path / "arms.csv"
    result = runner.invoke(
        app,
        ["drafts", BAGS, "--out", str(folder), "-f", "eml", "--holdout", "0.5"]
        + ["--assignments", str(arms), *FAST],
    )
    assert result.exit_code == 0, result.output
    headers = {f.read_bytes().split(b"X-Remedy-Arm: ")[1][:7] for f in folder.iterdir()}
    assert headers == {b"holdout", b"treated"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--holdout", "0.2"], "--holdout needs --assignments"),
        (["--holdout", "0.7", "--assignments", "a.csv"], "between 0 and 0.5"),
        (["--holdout", "-0.1", "--assignments", "a.csv"], "between 0 and 0.5"),
        (["--holdout", "0.2", "--assignments", "-"], "give a file name"),
    ],
)
def test_bad_holdout_flags_are_usage_errors(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    args = [str(tmp_path / a) if a == "a.csv" else a for a in args]
    result = runner.invoke(app, ["drafts", BAGS, "--out", str(tmp_path / "m.jsonl"), *args])
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert not (tmp_path / "m.jsonl").exists()


def test_existing_assignments_are_kept_without_force(runner: CliRunner, tmp_path: Path) -> None:
    arms = tmp_path / "arms.csv"
    arms.write_text("keep me\n")
    out = tmp_path / "m.jsonl"
    result = runner.invoke(
        app, ["drafts", BAGS, "--out", str(out), "--holdout", "0.1", "--assignments", str(arms)]
    )
    assert result.exit_code == 2 and "already exists" in result.stderr
    assert arms.read_text() == "keep me\n" and not out.exists()


def test_a_holdout_of_a_plan_that_is_its_floor_is_refused(
    runner: CliRunner, tmp_path: Path
) -> None:
    incident = write_incident(tmp_path)
    text = incident.read_text().replace("    required: false\n", "    required: true\n")
    # Store credit required and the other extras disabled: the plan can only be its floor.
    text = text.replace("options:\n", "options:\n  personal_call: false\n  ship_upgrade: false\n")
    incident.write_text(text)
    result = runner.invoke(
        app,
        ["drafts", str(incident), "--out", str(tmp_path / "m.jsonl"), "--holdout", "0.2"]
        + ["--assignments", str(tmp_path / "a.csv"), *FAST],
    )
    assert result.exit_code == 2, result.output
    assert "withhold nothing" in result.stderr


def test_draw_counts_distinct_customers_and_is_keyed() -> None:
    draw = HoldoutDraw(0.5, 3, "inc", ["all"])
    assert draw.key("a") == HoldoutDraw(0.5, 3, "inc", ["all"]).key("a")
    assert draw.key("a") != HoldoutDraw(0.5, 4, "inc", ["all"]).key("a")
    assert draw.key("a") != HoldoutDraw(0.5, 3, "other", ["all"]).key("a")

    class Run:
        def allocation(self):  # type: ignore[no-untyped-def]
            return iter([("a", 0), ("b", 0), ("a", 0), ("c", 0), ("d", 0)])

    draw.prepare(Run())  # type: ignore[arg-type]
    assert draw.customers == [4] and draw.held == [2]
    held = [c for c in "abcd" if draw.is_held(c, 0)]
    assert len(held) == 2
    assert check_share(0.0) == 0.0
    plan = Offer("all", ("store_credit", "refund"), 10, calls=2)
    floor = Offer("all", ("refund",), 10)
    assert withheld(plan, floor) == ("store_credit", "personal_call")
    assert withheld(floor, floor) == ()
