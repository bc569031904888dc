"""`explain_option`: the arithmetic behind one option's score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from remedy.errors import InputError, UsageError
from remedy.explain import Explanation, Step, explain_option
from remedy.incident import Incident
from remedy.load import load_incident

INCIDENTS = Path(__file__).resolve().parent.parent / "incidents"
DRAWS = 2000


def seed(name: str) -> Incident:
    return load_incident(INCIDENTS / f"{name}.yaml")


def steps(explanation: Explanation, segment: int = 0, after: str = "") -> dict[str, Step]:
    """The steps by label (the first of each label), from the heading starting with `after`."""
    found: dict[str, Step] = {}
    started = not after
    for step in explanation.segments[segment].steps:
        started = started or step.label.startswith(after)
        if started:
            found.setdefault(step.label, step)
    return found


def test_honor_shows_the_worked_example_with_sources() -> None:
    found = explain_option(seed("6pm-price-cap"), "honor", draws=DRAWS)
    by_label = steps(found)
    assert by_label["CLV"].source == "file: business.clv"
    delta = by_label["delta (share of future value lost with only an apology)"]
    assert delta.value == "0.2"
    assert delta.source.startswith("default: [0.1, 0.2, 0.35]")
    honored = steps(found, after="With honor")
    assert honored["    recovery share"].value == "0.85"
    assert "Knox & van Oest" in honored["    recovery share"].source
    # Honoring against the floor (cancel and refund, $0.30): $49.70 / (0.2 x 1.2 x 0.85).
    assert by_label["break-even CLV"].value.startswith("$243.63")
    text = found.to_text()
    assert "$49.70 / (0.24 x 0.85)" in text
    assert "Without honor: refund" in text
    assert "file: options.honor.cost_per_order" in text or "honor $50.00" in text
    assert "in the plan: yes" in text


def test_explanation_matches_the_plan_score() -> None:
    found = explain_option(seed("stolen-parcel"), "ship_upgrade", draws=DRAWS)
    score = found.segments[0].score
    assert score.option == "ship_upgrade" and score.in_plan
    by_label = steps(found)
    assert score.break_even_clv is not None
    assert by_label["break-even CLV"].value.startswith(f"${score.break_even_clv:,.2f}")
    text = found.to_text()
    assert "Without ship_upgrade: replacement + store_credit" in text
    assert "timeliness" in text  # standard shipping of the replacement


def test_personal_call_explains_its_dependence_on_the_remedy() -> None:
    found = explain_option(seed("mothers-day-bags"), "personal_call", draws=DRAWS)
    by_label = steps(found)
    assert "Hill & Boyd" in by_label["    recovery of the call"].source
    text = found.to_text()
    assert "with a personal call for 40% of them" in text  # 48 of 120 customers
    assert "per customer called" in text


def test_unknown_option_lists_valid_ids_with_a_did_you_mean() -> None:
    with pytest.raises(UsageError) as caught:
        explain_option(seed("6pm-price-cap"), "hnor", draws=DRAWS)
    message = str(caught.value)
    assert "did you mean 'honor'?" in message
    assert "apology_only, honor, refund" in message
    assert "\n" not in message


def test_disabled_or_inapplicable_options_are_input_errors() -> None:
    with pytest.raises(InputError, match="disabled"):
        explain_option(seed("6pm-price-cap"), "personal_call", draws=DRAWS)
    with pytest.raises(InputError, match="only when the file lists it"):
        explain_option(seed("stolen-parcel"), "pay_difference", draws=DRAWS)
    with pytest.raises(InputError, match=r"cannot be scored: set options\.ship_upgrade\.cost"):
        explain_option(
            Incident.model_validate(
                {
                    "id": "x",
                    "title": "x",
                    "kind": "late_delivery",
                    "affected": {"customers": 3, "order_value": 10},
                    "business": {"clv": 100},
                }
            ),
            "ship_upgrade",  # no cost_per_order: cannot be priced
            draws=DRAWS,
        )


def test_apology_only_is_measured_against_the_floor() -> None:
    found = explain_option(seed("warehouse-delay"), "apology_only", draws=DRAWS)
    assert steps(found)["recovery share, all customers"].value == "0"
    assert steps(found)["net over the floor per customer"].value == "$0.00"
    owed = explain_option(seed("stolen-parcel"), "apology_only", draws=DRAWS)
    assert "is not allowed" in steps(owed)["net over the floor per customer"].detail


def test_json_is_deterministic_and_complete() -> None:
    incident = seed("bereavement-flowers")
    one = json.dumps(explain_option(incident, "flowers", draws=DRAWS, seed=5).to_json())
    two = json.dumps(explain_option(incident, "flowers", draws=DRAWS, seed=5).to_json())
    assert one == two
    data = json.loads(one)
    assert data["schema_version"] == 1
    assert data["option"] == "flowers"
    (segment,) = data["segments"]
    labels = [s["step"] for s in segment["steps"]]
    assert labels[:6] == [
        "Value at stake",
        "customers",
        "CLV",
        "delta (share of future value lost with only an apology)",
        "word of mouth (share of CLV)",
        "value at stake per customer",
    ]
    assert segment["in_plan"] is True
    match = next(s for s in segment["steps"] if s["step"].strip().startswith("match"))
    assert match["source"] == "file: the option's matches"
