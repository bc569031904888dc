"""The apology check: components present or missing, hedges found where they are."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remedy.apology import COMPONENTS, lint_text

GOOD = """Hi Ann,

We got your order wrong. That's our mistake, not yours, and I'm sorry.

Here's what happened: a bug in our pricing engine capped every price for six hours.

We're refunding $49.95 to your card today.

What we've changed so it doesn't happen again: every price change now needs a second check.

You can reach me directly at maya@example.com or on 555-0134.
"""


def test_a_complete_apology_passes() -> None:
    check = lint_text(GOOD, prevention_given=True)
    assert check.ok
    assert check.present == COMPONENTS
    assert check.missing == ()
    assert check.hedges == ()


def test_prevention_is_required_only_when_the_incident_gives_one() -> None:
    text = GOOD.replace(
        "What we've changed so it doesn't happen again: every price change now needs a second "
        "check.",
        "",
    )
    assert lint_text(text).ok
    check = lint_text(text, prevention_given=True)
    assert check.missing == ("prevention",)
    assert not check.ok


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("We are sorry. Here's what happened: a bug. Refund: $5. Call me.", "acknowledgement"),
        ("This was our mistake, I'm sorry. It happened because of a bug. Email me@x.io.", "repair"),
        ("Our mistake. Here's what happened: a bug. We're refunding $5. Call me.", "regret"),
        ("Our mistake, I'm sorry. We're refunding $5. Call me on 555-0134.", "explanation"),
        ("Our mistake, I'm sorry, because of a bug. We're refunding $5.", "contact"),
    ],
)  # fmt: skip
def test_each_missing_component_is_named(text: str, missing: str) -> None:
    check = lint_text(text)
    assert check.missing == (missing,)
    assert missing not in check.present


@pytest.mark.parametrize(
    ("text", "phrase", "kind"),
    [
        (
            "We apologize for any inconvenience this caused.",
            "apologize for any inconvenience",
            "hedge",
        ),
        ("Sorry for the inconvenience.", "the inconvenience", "minimising"),
        ("We're sorry if you were affected by this.", "We're sorry if", "hedge"),
        ("If you were affected, write to us.", "If you were affected", "hedge"),
        ("Mistakes were made in our warehouse.", "Mistakes were made", "hedge"),
        ("We apologize if the delay upset you.", "We apologize if", "hedge"),
        ("Sorry if that was confusing.", "Sorry if", "hedge"),
        ("Sorry for any trouble.", "Sorry for any trouble", "hedge"),
        ("Your order may have been delayed.", "may have", "hedge"),
        ("Some orders might have gone missing.", "might have", "hedge"),
        ("We apologize to anyone that was confused.", "to anyone that was", "hedge"),
        ("Thanks for bearing with our little hiccup.", "little hiccup", "minimising"),
        ("The delay was beyond our control.", "beyond our control", "deflection"),
        ("It was the carrier's fault, not ours.", "the carrier's fault", "deflection"),
        ("We'll do better next time.", "We'll do better", "vague_promise"),
        ("This will never happen again.", "This will never happen again", "vague_promise"),
        ("As a one-time courtesy, here is a credit.", "As a one-time courtesy", "grudging"),
        ("We’re sorry if you were upset.", "We’re sorry if", "hedge"),  # typographic apostrophe
    ],
)
def test_hedges_are_found_with_their_phrase_and_position(text: str, phrase: str, kind: str) -> None:
    prefix = "Hi Ann,\n\nSecond line here. "
    check = lint_text(prefix + text)
    hedge = check.hedges[0]
    assert hedge.phrase == phrase
    assert hedge.kind == kind
    assert hedge.position == len(prefix) + text.index(phrase)
    assert (hedge.line, hedge.column) == (3, len("Second line here. ") + text.index(phrase) + 1)
    assert hedge.advice
    assert not check.ok


def test_regret_inside_a_hedge_does_not_count() -> None:
    check = lint_text("We're sorry if this was our mistake. Refund: $5. Here's why: a bug.")
    assert "regret" in check.missing
    assert [h.phrase for h in check.hedges] == ["We're sorry if"]


def test_one_phrase_gives_one_finding() -> None:
    check = lint_text("We apologize for any inconvenience.")
    assert [h.phrase for h in check.hedges] == ["apologize for any inconvenience"]


def test_a_built_in_style_message_has_no_false_hedges() -> None:
    text = (
        "It was our job to get your order to you, whoever else was involved, so this one is on "
        "us. I know you were counting on it for Mother's Day. Express shipping can't get it there "
        "in time, so the refund is there if you'd rather have it."
    )
    assert lint_text(text).hedges == ()


def test_json_and_text_reports() -> None:
    check = lint_text("Sorry for any inconvenience.\nMistakes were made.", prevention_given=True)
    data = json.loads(check.to_json())
    assert data["ok"] is False
    assert data["missing"] == [
        "acknowledgement",
        "repair",
        "regret",  # "Sorry" inside a hedge does not count
        "explanation",
        "prevention",
        "contact",
    ]
    assert [(h["phrase"], h["line"], h["column"]) for h in data["hedges"]] == [
        ("Sorry for any inconvenience", 1, 1),
        ("Mistakes were made", 2, 1),
    ]
    text = check.to_text("letter.txt")
    assert "needs work" in text
    assert "missing acknowledgement" in text
    assert "letter.txt:2:1: hedge 'Mistakes were made'" in text
    assert lint_text(GOOD).to_text().startswith("apology check: ok")


words = st.sampled_from(
    ["we", "sorry", "any", "inconvenience", "may", "have", "our", "mistake", "if", "you", "were",
     "affected", "refund", "call", "me", "\n", "’", "happened", "because"]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(words, max_size=40).map(" ".join))
def test_any_text_gives_a_consistent_result(text: str) -> None:
    check = lint_text(text, prevention_given=True)
    assert set(check.present) | set(check.missing) == set(COMPONENTS)
    assert not set(check.present) & set(check.missing)
    for hedge in check.hedges:
        assert text[hedge.position : hedge.position + len(hedge.phrase)] == hedge.phrase
        line_start = text.rfind("\n", 0, hedge.position) + 1
        assert hedge.column == hedge.position - line_start + 1
        assert hedge.line == text.count("\n", 0, hedge.position) + 1
    assert check.ok == (not check.missing and not check.hedges)
