"""Value at stake, the defaults table, sampling and the recovery curve."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from remedy import defaults
from remedy.errors import InputError
from remedy.incident import Estimate, Incident
from remedy.offer import ALL
from remedy.options import match
from remedy.score import build_model, recovery_curve
from remedy.stake import sample, scenarios, segment_sizes, valuation

BASE: dict[str, Any] = {
    "id": "test",
    "title": "A test incident",
    "kind": "pricing_error",
    "affected": {"customers": 1000, "order_value": 50, "list_price": 130},
    "business": {"clv": [100, 200, 400]},
}


def incident(**changes: Any) -> Incident:
    data = {**BASE, **changes}
    return Incident.model_validate(data)


def test_no_segments_means_one_segment_called_all() -> None:
    assert segment_sizes(incident()) == [(ALL, 1000)]


def test_shares_become_whole_customers_that_add_up() -> None:
    found = incident(
        affected={"customers": 10},
        segments=[
            {"name": "a", "share": 1 / 3},
            {"name": "b", "share": 1 / 3},
            {"name": "c", "share": 1 / 3},
        ],
    )
    sizes = segment_sizes(found)
    assert sum(n for _, n in sizes) == 10
    assert sorted(n for _, n in sizes) == [3, 3, 4]


def test_segment_clv_wins_over_business_clv_and_override_wins_over_both() -> None:
    found = incident(
        segments=[{"name": "vip", "share": 0.1, "clv": 2400}, {"name": "rest", "share": 0.9}]
    )
    value, inputs = valuation(found)
    keys = {s.name: s.clv_key for s in value.segments}
    assert keys == {"vip": "segments.vip.clv", "rest": "business.clv"}
    assert inputs["segments.vip.clv"].estimate == Estimate.exact(2400)
    value, inputs = valuation(found, {"rest": Estimate(10, 20, 30)})
    rest = next(s for s in value.segments if s.name == "rest")
    assert inputs[rest.clv_key].estimate == Estimate(10, 20, 30)
    assert "orders" in inputs[rest.clv_key].source


def test_missing_clv_is_an_input_error_that_says_what_to_add() -> None:
    with pytest.raises(InputError, match=r"business\.clv"):
        valuation(incident(business={}))


def test_default_delta_comes_from_the_table_with_its_source() -> None:
    _, inputs = valuation(incident(kind="late_delivery", affected={"customers": 5}))
    assert inputs["delta"].estimate == Estimate(0.04, 0.08, 0.12)
    assert "Halperin" in inputs["delta"].source
    _, inputs = valuation(incident(assumptions={"delta": 0.5}))
    assert inputs["delta"].source == "file: assumptions.delta"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, 0.2),
        ({"occasion": "Mother's Day"}, 0.5),
        ({"repeat": True}, 0.3),
        ({"fault": "partner"}, 0.16),
        ({"fault": "customer"}, 0.06),
        ({"occasion": "Mother's Day", "repeat": True}, 0.75),
        ({"assumptions": {"delta": 0.5}, "occasion": "Mother's Day"}, 0.9),  # capped
    ],
)
def test_delta_modifiers(changes: dict[str, Any], expected: float) -> None:
    value, inputs = valuation(incident(**changes))
    likely = {"delta": np.array([inputs["delta"].estimate.likely])}
    assert value.delta(likely)[0] == pytest.approx(expected)


def test_occasion_leaves_compensation_only_the_material_part_of_the_loss() -> None:
    value, _ = valuation(incident(occasion="Mother's Day"))
    likely = {"delta": np.array([0.2])}
    assert value.material_share(likely)[0] == pytest.approx(0.4)
    plain, _ = valuation(incident())
    assert plain.material_share(likely)[0] == 1.0


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("pricing_error", 80.0),  # list_price - order_value
        ("late_delivery", 5.0),  # 10% of order_value
        ("not_fulfilled", 50.0),
        ("lost_in_transit", 50.0),
        ("billing_error", 50.0),
    ],
)
def test_customer_loss_defaults_by_kind(kind: str, expected: float) -> None:
    affected: dict[str, Any] = {"customers": 10, "order_value": 50}
    if kind == "pricing_error":
        affected["list_price"] = 130
    _, inputs = valuation(incident(kind=kind, affected=affected))
    assert inputs["affected.customer_loss"].estimate.likely == pytest.approx(expected)
    assert inputs["affected.customer_loss"].source.startswith("derived")


def test_customer_loss_from_the_file_wins() -> None:
    _, inputs = valuation(incident(affected={"customers": 10, "customer_loss": [1, 2, 3]}))
    assert inputs["affected.customer_loss"].source == "file: affected.customer_loss"


def test_pert_sampling_is_seeded_bounded_and_centred() -> None:
    _, inputs = valuation(incident())
    one = sample(inputs, 20_000, seed=7)
    two = sample(inputs, 20_000, seed=7)
    other = sample(inputs, 20_000, seed=8)
    clv = one["business.clv"]
    assert np.array_equal(clv, two["business.clv"])
    assert not np.array_equal(clv, other["business.clv"])
    assert clv.min() >= 100 and clv.max() <= 400
    assert clv.mean() == pytest.approx((100 + 4 * 200 + 400) / 6, rel=0.01)  # PERT mean


def test_each_input_has_its_own_stream() -> None:
    # Common random numbers: changing one input leaves the others' draws untouched.
    _, a = valuation(incident())
    _, b = valuation(incident(assumptions={"delta": [0.1, 0.3, 0.5]}))
    assert np.array_equal(sample(a, 500, 1)["business.clv"], sample(b, 500, 1)["business.clv"])


def test_scenarios_swing_one_input_at_a_time() -> None:
    _, inputs = valuation(incident())
    labels, values = scenarios(inputs)
    assert labels == [("business.clv", "low"), ("business.clv", "high"),
                      ("delta", "low"), ("delta", "high"),
                      ("spillover.word_of_mouth", "low"),
                      ("spillover.word_of_mouth", "high")]  # fmt: skip
    assert list(values["business.clv"]) == [200, 100, 400, 200, 200, 200, 200]
    assert list(values["delta"]) == [0.2, 0.2, 0.2, 0.1, 0.35, 0.2, 0.2]


def test_recovery_curve_shape() -> None:
    g = recovery_curve
    assert float(g(0.0)) == 0.0
    assert float(g(0.6)) < 0.2 < 0.95 < float(g(1.2))  # steep rise from 0.6 to 1.2
    assert float(g(1.0)) >= 0.85  # exact compensation recovers at least rho_max
    assert abs(float(g(1.5)) - float(g(1.4))) < 0.01  # plateau by 1.5
    assert float(g(3.0)) < float(g(2.0)) < float(g(1.5))  # over-compensation declines
    xs = np.linspace(0, 4, 4001)
    ys = g(xs)
    assert np.all(np.abs(np.diff(ys)) < 0.01)  # smooth: no jumps
    assert np.all(np.diff(ys[xs <= 1.5]) >= -1e-12)  # rising up to the plateau
    assert float(g(1.0, group=True)) == pytest.approx(float(g(1.2)))  # earlier plateau


def test_match_table_and_fallbacks() -> None:
    assert match("pricing_error", "honor")[0] == 1.0
    assert match("late_delivery", "refund")[0] == 0.6
    assert match("not_fulfilled", "store_credit") == (0.7, "match.fallback.store_credit")
    assert match("other", "flowers", ["other"])[0] == 1.0
    assert match("late_delivery", "flowers", ["other"])[0] == 0.5


def test_defaults_agree_with_the_incident_formats_defaults() -> None:
    found = incident()
    assert found.business.gross_margin == defaults.value("business.gross_margin")
    assert found.business.support_cost_per_hour == defaults.value("business.support_cost_per_hour")
    assert found.business.founder_cost_per_hour == defaults.value("business.founder_cost_per_hour")
    assert found.assumptions.rho_max == defaults.value("rho_max")
    assert found.assumptions.contact_minutes.likely == defaults.value("contact_minutes")
    assert found.options.refund.processing_cost.likely == defaults.value("refund.processing_cost")
    assert found.options.store_credit.redemption_rate.likely == defaults.value(
        "store_credit.redemption_rate"
    )
    assert found.options.personal_call.minutes.likely == defaults.value("personal_call.minutes")


def test_every_default_names_a_source() -> None:
    for name, entry in defaults.DEFAULTS.items():
        assert entry.source.strip(), name
    assert defaults.cite("delta.not_fulfilled") == (
        "default: [0.15, 0.3, 0.45] (Knox & van Oest, J. Marketing 2014)"
    )


def test_sources_say_file_or_default() -> None:
    model = build_model(incident(business={"clv": 300, "gross_margin": 0.5}))
    assert model.inputs["business.gross_margin"].source == "file: business.gross_margin"
    assert model.inputs["business.support_cost_per_hour"].source.startswith("default: 30")
    assert model.inputs["options.refund.processing_cost"].source.startswith("default: 0.3")
