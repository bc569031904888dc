"""`remedy review`: the method on synthetic samples, the inputs it refuses, and the command."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner, Result

from remedy.cli import app
from remedy.errors import InputError
from remedy.load import load_incident
from remedy.review import (
    AFFECTED,
    HOLDOUT,
    LOSS_PRECISION,
    TREATED,
    UNAFFECTED,
    Sample,
    interval_of,
    measure,
    naive_loss,
    read_assignments,
)

from .review_simulation import START, simulate

# --- the method on synthetic samples ---------------------------------------------------------


def synthetic(
    seed: int,
    n: int = 6000,
    *,
    affected_share: float = 0.2,
    loss: float = 0.0,
    misfit_recent: float = 1.0,
) -> Sample:
    """Customers whose expected window purchases E are known; observed ~ Poisson(E x factor).

    `misfit_recent` scales the truth for recent buyers (0-13 days since the last purchase): a
    model misfit that only matching on recency removes. The affected are mostly recent buyers.
    """
    rng = np.random.default_rng(seed)
    frequency = rng.integers(0, 10, n)
    idle = rng.integers(0, 400, n)
    recent = idle < 14
    idle[: n // 3] = rng.integers(0, 14, n // 3)
    recent = idle < 14
    expected = rng.gamma(2.0, 0.5, n) * (1 + frequency / 5)
    chance = np.where(recent, affected_share * 2.5, affected_share * 0.2)
    group = np.where(rng.random(n) < chance, AFFECTED, UNAFFECTED).astype(np.int8)
    truth = expected * np.where(recent, misfit_recent, 1.0) * 0.9
    truth = np.where(group == AFFECTED, truth * (1 - loss), truth)
    observed = rng.poisson(truth).astype(float)
    spend = rng.gamma(5.0, 6.0, n)
    return Sample(
        observed=observed,
        expected=expected,
        observed_revenue=observed * spend,
        expected_revenue=expected * spend,
        group=group,
        frequency=frequency,
        idle_days=idle,
    )


def test_no_loss_gives_an_interval_around_zero() -> None:
    m = measure(synthetic(1), seed=1, replicates=400)
    point, replicates = m.point["loss_affected"], m.replicates["loss_affected"]
    estimate, low, high, _ = interval_of(point, replicates, 0.05)
    assert low is not None and high is not None and estimate is not None
    assert low < 0 < high and abs(estimate) < 0.05
    # The model's misfit (all customers buy 10% less than forecast) shows in every ratio.
    assert m.point["ratio_unaffected"] == pytest.approx(0.9, abs=0.03)


def test_matching_removes_a_misfit_that_follows_who_was_hit() -> None:
    """Recent buyers buy 30% more than the model says, and the affected are mostly recent
    buyers: against all unaffected customers the loss would look negative; matched on recency
    it is the true 20%."""
    sample = synthetic(2, loss=0.2, misfit_recent=1.3)
    m = measure(sample, seed=2, replicates=400)
    assert m.point["loss_affected"] == pytest.approx(0.2, abs=0.04)
    unmatched = 1 - m.point["ratio_affected"] / m.point["ratio_unaffected"]
    assert unmatched < 0.1  # without matching, more than half of the loss goes unseen
    assert m.matched[-1]["frequency_and_recency"] > 0.9


def test_recovery_and_value_from_arms() -> None:
    sample = synthetic(3, loss=0.0)
    rng = np.random.default_rng(3)
    affected = np.flatnonzero(sample.group == AFFECTED)
    held = rng.random(len(affected)) < 0.4
    group = sample.group.copy()
    group[affected[held]] = HOLDOUT
    group[affected[~held]] = TREATED
    observed = sample.observed.copy()
    # The holdout loses 40% of its purchases, the treated 10%: recovery 0.75.
    observed[affected[held]] = rng.binomial(observed[affected[held]].astype(int), 0.6)
    observed[affected[~held]] = rng.binomial(observed[affected[~held]].astype(int), 0.9)
    spend = sample.observed_revenue / np.maximum(sample.observed, 1)
    arms = Sample(
        observed,
        sample.expected,
        observed * spend,
        sample.expected_revenue,
        group,
        sample.frequency,
        sample.idle_days,
    )
    m = measure(arms, seed=3, replicates=400)
    assert m.point["loss_holdout"] == pytest.approx(0.4, abs=0.06)
    assert m.point["loss_treated"] == pytest.approx(0.1, abs=0.05)
    _, low, high, _ = interval_of(m.point["recovery"], m.replicates["recovery"], 0.15)
    assert low is not None and high is not None and low > 0 and low < 0.75 < high
    assert m.point["value_lost"] > 0 and m.point["value_recovered"] > 0


def test_bootstrap_is_seeded() -> None:
    sample = synthetic(4, loss=0.1)
    first = measure(sample, seed=9, replicates=300).replicates["loss_affected"]
    again = measure(sample, seed=9, replicates=300).replicates["loss_affected"]
    other = measure(sample, seed=10, replicates=300).replicates["loss_affected"]
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_interval_rules() -> None:
    narrow = np.linspace(0.18, 0.22, 101)
    assert interval_of(0.2, narrow, LOSS_PRECISION)[3] == "precise"
    wide = np.linspace(0.05, 0.45, 101)
    assert interval_of(0.2, wide, LOSS_PRECISION)[3] == "direction"
    across = np.linspace(-0.2, 0.4, 101)
    assert interval_of(0.1, across, LOSS_PRECISION)[3] == "too_wide"
    # A few undefined replicates widen both ends; more than the tail leave it unbounded.
    some = np.concatenate([np.linspace(0.4, 0.6, 97), [np.nan] * 3])
    _, low, high, _ = interval_of(0.5, some, 0.15)
    assert low is not None and high is not None and low < 0.41 and high > 0.59
    many = np.concatenate([np.linspace(0.4, 0.6, 90), [np.nan] * 10])
    assert interval_of(0.5, many, 0.15)[1:] == (None, None, "too_wide")


def test_naive_comparison_has_no_model() -> None:
    sample = synthetic(5)
    affected = sample.group == AFFECTED
    expected = 1 - sample.observed[affected].mean() / sample.observed[~affected].mean()
    assert naive_loss(sample) == pytest.approx(expected)


# --- assignments -----------------------------------------------------------------------------


def assignments(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "arms.csv"
    path.write_text(text)
    return path


def test_assignments_from_another_incident_are_refused_naming_both(tmp_path: Path) -> None:
    path = assignments(tmp_path, "customer_id,segment,arm,incident_id\nc1,all,treated,other-one\n")
    with pytest.raises(InputError) as caught:
        read_assignments(path, "mine", "mine.yaml")
    message = caught.value.message
    assert message.startswith(f"{path}:2:") and "'other-one'" in message and "'mine'" in message


def test_assignments_without_a_segment_column_are_one_segment(tmp_path: Path) -> None:
    path = assignments(tmp_path, "customer_id,arm,incident_id\nc1,holdout,x\nc2,treated,x\n")
    found = read_assignments(path, "x", "x.yaml")
    assert not found.has_segment and set(found.segments.values()) == {"all"}
    assert found.arms == {"c1": HOLDOUT, "c2": TREATED}


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("customer_id,segment,incident_id\nc1,all,x\n", ":1:", "missing column arm"),
        ("customer_id,segment,arm,incident_id\nc1,all,control,x\n", ":2:", "'control'"),
        ("customer_id,segment,arm,incident_id\n,all,treated,x\n", ":2:", "empty"),
        ("customer_id,segment,arm,incident_id\n", "", "no customers"),
        ("customer_id,segment,arm,incident_id\nc1,all\n", ":2:", "expected 4 fields"),
        ("", "", "is empty"),
    ],
)
def test_bad_assignments_name_the_line(tmp_path: Path, text: str, where: str, words: str) -> None:
    path = assignments(tmp_path, text)
    with pytest.raises(InputError) as caught:
        read_assignments(path, "x", "x.yaml")
    assert caught.value.message.startswith(f"{path}{where}") and words in caught.value.message


def test_a_customer_in_both_arms_counts_as_treated(tmp_path: Path) -> None:
    path = assignments(
        tmp_path,
        "customer_id,segment,arm,incident_id\nc1,a,holdout,x\nc1,b,treated,x\nc2,a,holdout,x\n",
    )
    found = read_assignments(path, "x", "x.yaml")
    assert found.arms == {"c1": TREATED, "c2": HOLDOUT}
    assert found.warnings and f"{path}:3:" in found.warnings[0]


# --- the command -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small simulated shop (4,000 customers): orders, affected customers, arms, incident."""
    folder = tmp_path_factory.mktemp("shop")
    return simulate(11, customers=4000, hit_share=0.8).write(folder)


def review(runner: CliRunner, shop: dict[str, Path], *args: str) -> Result:
    return runner.invoke(
        app,
        ["review", str(shop["incident"]), "--orders", str(shop["orders"]), "--replicates", "300"]
        + list(args),
    )


def test_review_json_holds_the_contract(runner: CliRunner, shop: dict[str, Path]) -> None:
    result = review(runner, shop, "--assignments", str(shop["assignments"]), "-f", "json")
    assert result.exit_code == 0, result.output
    text = result.stdout
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    assert data["schema_version"] == 1
    assert data["incident"]["id"] == "sim-late"
    assert {"from", "to", "weeks"} <= set(data["window"])
    assert data["window"]["from"] == (START + dt.timedelta(days=601)).isoformat()
    assert [g["group"] for g in data["groups"]] == ["unaffected", "affected", "treated", "holdout"]
    keys = {"group", "customers", "expected_purchases", "observed_purchases", "ratio"}
    assert all(keys | {"ratio_low", "ratio_high"} <= set(g) for g in data["groups"])
    assert set(data["loss"]) == {"affected", "treated", "holdout"}
    for loss in data["loss"].values():
        assert {"estimate", "low", "high"} <= set(loss)
        assert loss["low"] <= loss["estimate"] <= loss["high"]
    assert {"estimate", "low", "high"} <= set(data["recovery"])
    assert {"lost", "recovered", "plan_cost"} <= set(data["value"])
    assert data["value"]["currency"] == "USD" and data["value"]["plan_cost"] > 0
    delta = data["assumptions"]["delta"]
    assert len(delta) == 3 and delta == sorted(delta) and delta[0] >= 0 and delta[2] <= 1


def test_review_without_assignments_has_no_recovery(
    runner: CliRunner, shop: dict[str, Path]
) -> None:
    result = review(runner, shop, "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["loss"]) == {"affected"} and data["recovery"] is None
    assert data["assumptions"]["delta_source"] == "affected (net of the remedy)"
    assert data["value"]["recovered"] is None


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_review_renders_for_people(runner: CliRunner, shop: dict[str, Path], fmt: str) -> None:
    result = review(runner, shop, "--assignments", str(shop["assignments"]), "-f", fmt)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "holdout" in text and "recovery" in text.lower() and "90%" in text


def test_written_assumptions_load_into_an_incident(
    runner: CliRunner, shop: dict[str, Path], tmp_path: Path
) -> None:
    snippet = tmp_path / "next.yaml"
    result = review(
        runner, shop, "--assignments", str(shop["assignments"]), "--write-assumptions", str(snippet)
    )
    assert result.exit_code == 0, result.output
    text = snippet.read_text()
    assert text.startswith("# Calibrated by `remedy review` of incident 'sim-late'")
    data = yaml.safe_load(text)
    assert len(data["assumptions"]["delta"]) == 3
    base = shop["incident"].read_text().replace("options:\n  store_credit:\n    amount: 10\n", "")
    merged = tmp_path / "next-incident.yaml"
    merged.write_text(base.replace("id: sim-late", "id: next-one") + text)
    (tmp_path / "affected.csv").write_text(shop["customers"].read_text())
    incident = load_incident(str(merged))
    assert incident.assumptions.delta is not None
    again = review(runner, shop, "--write-assumptions", str(snippet))
    assert again.exit_code == 2 and "already exists" in again.stderr


def test_review_is_reproducible(runner: CliRunner, shop: dict[str, Path]) -> None:
    first = review(runner, shop, "-f", "json", "--seed", "3")
    second = review(runner, shop, "-f", "json", "--seed", "3")
    assert first.stdout == second.stdout


# --- bad input -------------------------------------------------------------------------------


def small_history(tmp_path: Path, incident_day: str, *, extra: str = "") -> tuple[Path, Path]:
    orders = tmp_path / "orders.csv"
    lines = ["customer_id,date,amount"]
    for c in range(60):
        for d in (3, 40, 80, 130):
            lines.append(f"u{c},2024-{1 + (d + c) // 31 % 6:02d}-{1 + (d + c) % 28:02d},20")
    orders.write_text("\n".join(lines) + "\n")
    (tmp_path / "people.csv").write_text(
        "id,name,email,order_id,order_value\n"
        + "".join(f"u{c},P {c},p{c}@example.com,O{c},20\n" for c in range(10))
    )
    incident = tmp_path / "i.yaml"
    incident.write_text(
        f"id: small\ntitle: Small\nkind: late_delivery\n{incident_day}"
        "affected:\n  order_value: 20\nbusiness:\n  clv: 100\n"
        f"customers:\n  file: people.csv\n{extra}"
    )
    return incident, orders


@pytest.mark.parametrize(
    ("when", "words"),
    [
        ("occurred_on: 2023-06-01\n", "is before the first order"),
        ("occurred_on: 2025-06-01\n", "is not before the last order date"),
        ("", "occurred_on: the review needs the incident's date"),
    ],
)
def test_an_incident_date_outside_the_history_is_invalid_input(
    runner: CliRunner, tmp_path: Path, when: str, words: str
) -> None:
    incident, orders = small_history(tmp_path, when)
    result = runner.invoke(app, ["review", str(incident), "--orders", str(orders)])
    assert result.exit_code == 1, result.output
    assert words in result.stderr and result.stderr.count("\n") == 1
    assert result.stderr.startswith(str(incident))


def test_an_incident_date_outside_a_gzip_history_is_invalid_input(
    runner: CliRunner, tmp_path: Path
) -> None:
    import gzip

    incident, orders = small_history(tmp_path, "occurred_on: 2025-06-01\n")
    packed = tmp_path / "orders.csv.gz"
    packed.write_bytes(gzip.compress(orders.read_bytes()))
    result = runner.invoke(app, ["review", str(incident), "--orders", str(packed)])
    assert result.exit_code == 1 and "is not before the last order date" in result.stderr


def test_as_of_before_the_incident_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    incident, orders = small_history(tmp_path, "occurred_on: 2024-03-01\n")
    result = runner.invoke(
        app, ["review", str(incident), "--orders", str(orders), "--as-of", "2024-02-01"]
    )
    assert result.exit_code == 2
    assert "--as-of: 2024-02-01 is not after the incident" in result.stderr


def test_a_window_too_short_says_how_long_to_wait(runner: CliRunner, tmp_path: Path) -> None:
    incident, orders = small_history(tmp_path, "occurred_on: 2024-03-01\n")
    result = runner.invoke(
        app, ["review", str(incident), "--orders", str(orders), "--as-of", "2024-03-04"]
    )
    assert result.exit_code == 1, result.output
    assert "fewer than the 20 needed" in result.stderr and "wait about" in result.stderr


def test_assignment_customers_missing_from_the_history(
    runner: CliRunner, shop: dict[str, Path], tmp_path: Path
) -> None:
    arms = tmp_path / "arms.csv"
    arms.write_text(shop["assignments"].read_text() + "ghost-1,all,holdout,sim-late\n")
    result = review(runner, shop, "--assignments", str(arms), "-f", "json")
    assert result.exit_code == 0, result.output
    lines = arms.read_text().count("\n")
    assert f"{arms}:{lines}: customer 'ghost-1'" in result.stderr
    nobody = tmp_path / "nobody.csv"
    nobody.write_text("customer_id,segment,arm,incident_id\nghost-1,all,holdout,sim-late\n")
    incident = tmp_path / "no-file.yaml"
    text = shop["incident"].read_text().replace("customers:\n  file: affected.csv\n", "")
    incident.write_text(text.replace("  order_value: 40\n", "  order_value: 40\n  customers: 1\n"))
    args = ["review", str(incident), "--orders", str(shop["orders"]), "--assignments", str(nobody)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and f"{nobody}:2: none of the 1 affected" in result.stderr


def test_assignments_of_another_incident_through_the_command(
    runner: CliRunner, shop: dict[str, Path], tmp_path: Path
) -> None:
    arms = tmp_path / "arms.csv"
    arms.write_text(shop["assignments"].read_text().replace("sim-late", "last-year"))
    result = review(runner, shop, "--assignments", str(arms))
    assert result.exit_code == 1
    stderr = result.stderr
    assert "'last-year'" in stderr and "'sim-late'" in stderr and stderr.count("\n") == 1


def test_no_orders_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    incident, _ = small_history(tmp_path, "occurred_on: 2024-03-01\n")
    result = runner.invoke(app, ["review", str(incident)])
    assert result.exit_code == 2 and "give --orders" in result.stderr


def test_window_spend_is_the_same_from_memory_and_from_duckdb(
    shop: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`holdout_spend`, the one addition to `remedy.rfm`: both readers sum the purchase days."""
    from remedy import rfm
    from remedy.orders import read_orders

    day = dt.date(2024, 8, 25)
    path = str(shop["orders"])
    memory = rfm.summarise_orders(read_orders(path), 7.0, holdout_from=day)
    duck = rfm.summarise_with_duckdb(path, "csv", 7.0, (None, None, None), holdout_from=day)
    assert memory.holdout_spend is not None and duck.holdout_spend is not None
    order = {c: i for i, c in enumerate(duck.customer_ids)}
    position = [order[c] for c in memory.customer_ids]
    assert np.allclose(memory.holdout_spend, duck.holdout_spend[position])
    assert np.array_equal(memory.holdout_purchases, duck.holdout_purchases[position])
    assert memory.holdout_spend.sum() > 0


def test_calibrated_delta_undoes_the_floor_and_the_modifiers() -> None:
    """Mother's Day bags: the floor is a refund or a resend (credited with some recovery by the
    plan) and a missed occasion multiplies delta by 2.5; the file's delta is before both."""
    from remedy.plan import plan_incident
    from remedy.review import Assignment, Interval, _floor_recovery, calibrate

    from .conftest import ROOT

    incident = load_incident(str(ROOT / "incidents" / "mothers-day-bags.yaml"))
    plan = plan_incident(incident, draws=500).plan
    rho = _floor_recovery(plan)
    assert 0 < rho < 0.95
    held = Interval(0.5, 0.4, 0.6, "direction", 0.05)
    treated = Interval(0.3, 0.2, 0.4, "direction", 0.05)
    recovery = Interval(0.4, 0.1, 0.7, "direction", 0.15)
    loss = {"affected": treated, "treated": treated, "holdout": held}
    arms = Assignment("arms.csv", {"c1": HOLDOUT}, {"c1": "all"}, {"c1": 2}, True)
    found = calibrate(incident, loss, recovery, plan, arms, None, None)  # type: ignore[arg-type]
    assert found.delta_source == "holdout"
    expected = [v / (1 - rho) / 2.5 for v in (0.4, 0.5, 0.6)]
    assert found.delta == pytest.approx(expected, abs=1e-3)
    assert found.recovery == (0.1, 0.4, 0.7) and found.recovery_option == "personal_call"
    assert any("x2.5" in c for c in found.comments)
    without = calibrate(incident, loss, None, plan, None, None, None)  # type: ignore[arg-type]
    assert without.delta_source == "affected (net of the remedy)"
    assert without.delta == pytest.approx([v / 2.5 for v in (0.2, 0.3, 0.4)], abs=1e-3)
    assert without.recovery is None


def test_rows_drafts_would_refuse_are_still_affected(
    runner: CliRunner, shop: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "copy"
    folder.mkdir()
    for key in ("orders", "incident"):
        (folder / shop[key].name).write_text(shop[key].read_text())
    header, first, *rest = shop["customers"].read_text().splitlines()
    broken = first.replace("@example.com", "-at-example.com")
    (folder / "affected.csv").write_text("\n".join([header, broken, *rest, ",No id,,,"]) + "\n")
    args = ["review", str(folder / "incident.yaml"), "--orders", str(folder / "orders.csv")]
    result = runner.invoke(app, [*args, "-f", "json", "--replicates", "200"])
    assert result.exit_code == 0, result.output
    affected = next(g for g in json.loads(result.stdout)["groups"] if g["group"] == "affected")
    assert affected["customers"] == len(rest) + 1
    assert "1 row(s) of the customers file have no id" in result.stderr


def test_assignments_without_a_holdout_measure_no_recovery(
    runner: CliRunner, shop: dict[str, Path], tmp_path: Path
) -> None:
    arms = tmp_path / "arms.csv"
    arms.write_text(shop["assignments"].read_text().replace(",holdout,", ",treated,"))
    result = review(runner, shop, "--assignments", str(arms), "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["loss"]) == {"affected", "treated"} and data["recovery"] is None
    text = review(runner, shop, "--assignments", str(arms)).stdout
    assert "recovery: not measured (the holdout or the treated arm is empty" in text
