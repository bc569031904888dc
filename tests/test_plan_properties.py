"""Properties of the decision engine on generated incidents (hypothesis)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remedy.incident import Incident
from remedy.plan import Plan, make_plan
from remedy.report import plan_to_json

DRAWS = 2000
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
KINDS = ("pricing_error", "late_delivery", "outage", "quality_defect", "other")


@st.composite
def estimates(draw: st.DrawFn, low: int, high: int) -> list[int]:
    values = sorted(draw(st.lists(st.integers(low, high), min_size=3, max_size=3)))
    return values


@st.composite
def incidents(draw: st.DrawFn, kinds: tuple[str, ...] = KINDS) -> dict[str, Any]:
    """Incident data (a dict, so tests can derive counterfactuals from it)."""
    kind = draw(st.sampled_from(kinds))
    customers = draw(st.integers(1, 5000))
    order_value = draw(st.integers(5, 300))
    affected: dict[str, Any] = {"customers": customers, "order_value": order_value}
    options: dict[str, Any] = {
        "store_credit": {"amount": draw(st.integers(1, 100))},
        "ship_upgrade": {"cost_per_order": draw(st.integers(1, 40))},
        "replacement": {"cost_per_order": draw(st.integers(1, 300))},
        "personal_call": {
            "caller": draw(st.sampled_from(["founder", "support"])),
            "capacity_hours": draw(st.integers(0, 60)),
        },
    }
    if kind == "pricing_error":
        affected["list_price"] = order_value + draw(st.integers(1, 200))
        options["honor"] = {"cost_per_order": draw(st.integers(1, 200))}
    data: dict[str, Any] = {
        "id": "generated",
        "title": "A generated incident",
        "kind": kind,
        "fault": draw(st.sampled_from(["ours", "partner", "customer"])),
        "occasion": draw(st.sampled_from([None, "a birthday"])),
        "affected": affected,
        "business": {
            "clv": draw(estimates(1, 3000)),
            "support_cost_per_hour": draw(st.integers(5, 80)),
            "founder_cost_per_hour": draw(st.integers(50, 400)),
        },
        "options": options,
    }
    if draw(st.booleans()):
        data["segments"] = [
            {"name": "vip", "share": 0.2, "clv": draw(estimates(100, 5000))},
            {"name": "regular", "share": 0.8},
        ]
    if draw(st.booleans()):
        data["business"]["budget"] = draw(st.integers(0, 200_000))
    return data


def plan_of(data: dict[str, Any]) -> Plan:
    return make_plan(Incident.model_validate(data), draws=DRAWS, seed=11)


def nets(plan: Plan) -> dict[tuple[str, str], float]:
    return {(o.option, o.segment): o.net_value for o in plan.options}


def scaled(data: dict[str, Any], factor: float, where: list[tuple[str, ...]]) -> dict[str, Any]:
    out = json.loads(json.dumps(data))
    for path in where:
        node = out
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else node[int(key)]
            if node is None:
                break
        if node is None or path[-1] not in node:
            continue
        value = node[path[-1]]
        node[path[-1]] = [v * factor for v in value] if isinstance(value, list) else value * factor
    return out


def clv_paths(data: dict[str, Any]) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = [("business", "clv")]
    for i, segment in enumerate(data.get("segments", [])):
        if "clv" in segment:
            paths.append(("segments", str(i), "clv"))
    return paths


def close_or_above(a: float, b: float) -> bool:
    return a >= b - 1e-6 * max(1.0, abs(b))


@SETTINGS
@given(incidents(), st.floats(1.0, 5.0))
def test_more_clv_never_lowers_an_options_net_value(data: dict[str, Any], factor: float) -> None:
    before = nets(plan_of(data))
    after = nets(plan_of(scaled(data, factor, clv_paths(data))))
    assert before.keys() == after.keys()
    for key, value in before.items():
        assert close_or_above(after[key], value), key


@SETTINGS
@given(incidents(), st.floats(1.0, 5.0))
def test_higher_cost_never_raises_an_options_net_value(data: dict[str, Any], factor: float) -> None:
    costs = [
        ("business", "support_cost_per_hour"),
        ("business", "founder_cost_per_hour"),
        ("options", "honor", "cost_per_order"),
        ("options", "replacement", "cost_per_order"),
    ]
    before = nets(plan_of(data))
    after = nets(plan_of(scaled(data, factor, costs)))
    for key, value in before.items():
        assert close_or_above(value, after[key]), key


@SETTINGS
@given(incidents())
def test_plan_respects_budget_and_call_capacity(data: dict[str, Any]) -> None:
    plan = plan_of(data)
    budget = data["business"].get("budget")
    if budget is not None:  # these kinds carry no obligation that could force a breach
        assert plan.total_cost <= budget + 1e-6
    capacity = plan.call_capacity
    assert capacity is not None
    assert capacity == data["options"]["personal_call"]["capacity_hours"] * 6
    assert sum(o.calls for o in plan.offers) <= capacity
    for offer, segment in zip(plan.offers, plan.segments, strict=True):
        assert offer.calls <= segment.customers
        assert (offer.calls > 0) == ("personal_call" in offer.options)


@SETTINGS
@given(incidents(kinds=("not_fulfilled", "lost_in_transit", "billing_error")))
def test_obligations_are_always_met(data: dict[str, Any]) -> None:
    plan = plan_of(data)
    for offer in plan.offers:
        if data["kind"] == "billing_error":
            assert "refund" in offer.options
        else:
            assert {"refund", "replacement"} & set(offer.options)
            if data["occasion"] and data["fault"] != "customer":
                assert "refund" in offer.options


@settings(max_examples=10, deadline=None, derandomize=True)
@given(incidents(), st.integers(0, 2**31))
def test_same_input_and_seed_give_identical_output(data: dict[str, Any], seed: int) -> None:
    incident = Incident.model_validate(data)
    one = make_plan(incident, draws=500, seed=seed)
    two = make_plan(incident, draws=500, seed=seed)
    assert json.dumps(plan_to_json(one)) == json.dumps(plan_to_json(two))
