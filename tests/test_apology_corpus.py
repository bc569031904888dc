"""The apology check against its labelled corpus, and every rule against its phrasings.

The corpus (tests/apology_corpus/: the tuning files, and the blind held-out part heldout-v5.yaml
once the lead adds it) is scored as in BENCHMARKS.md (`bench/apology.py` prints the figures).
The phrasing bank (phrasings.yaml) ties every rule of remedy/apology.py to a text that needs it:
leaving any single rule out fails a test.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

import pytest
import yaml

from remedy.apology import (
    COMPONENT_RULES,
    COMPONENTS,
    HEDGE_KINDS,
    HEDGE_RULES,
    ApologyCheck,
    _compile,
    _Text,
    lint_text,
)
from tests.apology_metrics import (
    CORPUS,
    GOAL_ACCURACY,
    PARTS,
    Case,
    Score,
    load,
    load_file,
    score,
)

CASES = {part: load(part) for part in PARTS}
ALL = [case for part in PARTS for case in CASES[part]]
PHRASINGS: list[dict[str, Any]] = yaml.safe_load(
    (CORPUS / "phrasings.yaml").read_text(encoding="utf-8")
)["cases"]
RULES = (*COMPONENT_RULES, *HEDGE_RULES)
REQUIRED_SOMEWHERE = [name for name in COMPONENTS if name != "forgiveness"]


@cache
def scored(part: str) -> Score:
    """The score of a part ("all": the whole corpus), computed once per test run."""
    return score(ALL if part == "all" else CASES[part])


# --- the corpus itself --------------------------------------------------------------------


def test_the_corpus_is_big_balanced_and_varied() -> None:
    assert len(ALL) >= 60
    assert len({case.id for case in ALL}) == len(ALL)
    for part in PARTS:  # about half good, half flawed (one tuning label was corrected)
        labels = Counter(case.label for case in CASES[part])
        assert abs(labels["good"] - labels["flawed"]) <= 0.02 * len(CASES[part]), part
    assert {case.channel for case in ALL} == {"email", "sms", "phone", "post"}
    assert {"formal", "casual", "warm", "playful"} <= {case.register for case in ALL}
    lengths = sorted(len(case.text) for case in ALL)
    assert lengths[0] < 200 and lengths[-1] > 1200  # SMS-length to long email
    circumstances = " ".join(case.circumstance for case in ALL)
    for words in ("late", "pricing", "double charge", "outage", "bereavement", "own mistake"):
        assert words in circumstances


@pytest.mark.parametrize("case", ALL, ids=lambda c: c.id)
def test_every_case_is_labelled_in_the_checks_vocabulary(case: Case) -> None:
    assert case.label in ("good", "flawed")
    assert case.channel in ("email", "sms", "phone", "post")
    assert bool(case.flaws) == (case.label == "flawed")
    for flaw in case.flaws:
        kind, _, name = flaw.partition(":")
        assert kind in ("missing", "hedge"), flaw
        assert name in (REQUIRED_SOMEWHERE if kind == "missing" else HEDGE_KINDS), flaw


# --- the goal: at least 90% right on each part ----------------------------------------------


# The fourth held-out round (tuning-fourth-heldout.yaml) was measured once at 31/40 (77.5%)
# before it became tuning material; BENCHMARKS.md keeps that figure. The blind held-out part
# (heldout-v5.yaml, written by another writer who never saw the rules) was measured once, on
# 2026-12-01, at 43/50 (86.0%): short of the 90% goal. The goal stays an expected failure, and
# a second test keeps the check from falling below what was measured.
HELD_OUT = CASES["heldout"]
HELD_OUT_MEASURED = 43 / 50


def test_the_check_is_right_on_at_least_90_percent_of_the_tuning_part() -> None:
    result = scored("tuning")
    wrong = [case.id for case, _ in result.wrong]
    assert result.flawed.accuracy >= GOAL_ACCURACY, wrong
    assert result.flawed.recall == 1.0, wrong  # every flawed message caught


def test_the_fourth_round_now_tuning_is_not_below_its_measurement() -> None:
    fourth = load_file("tuning-fourth-heldout", "tuning")
    assert len(fourth) == 40
    assert score(fourth).flawed.accuracy > 31 / 40


@pytest.mark.xfail(
    strict=True, reason="measured once at 86.0% on the blind held-out part (goal 90%)"
)
def test_the_check_is_right_on_at_least_90_percent_of_the_held_out_part() -> None:
    result = scored("heldout")
    wrong = [case.id for case, _ in result.wrong]
    assert result.flawed.accuracy >= GOAL_ACCURACY, wrong


def test_the_held_out_part_is_not_below_its_one_measurement() -> None:
    assert len(HELD_OUT) == 50
    assert scored("heldout").flawed.accuracy >= HELD_OUT_MEASURED


def test_on_the_tuning_part_the_flaws_found_are_the_flaws_labelled() -> None:
    result = scored("tuning")
    assert result.exact >= GOAL_ACCURACY * result.cases


@pytest.mark.parametrize("component", REQUIRED_SOMEWHERE)
def test_each_component_has_a_missing_case_and_the_check_finds_it(component: str) -> None:
    flaw = f"missing:{component}"
    labelled = [case for case in ALL if flaw in case.flaws]
    assert labelled, f"no corpus case lacks {component}"
    found = [case.id for case in labelled if component in case.check().missing]
    assert found, f"no case missing {component} was caught"
    result = scored("all").components[component]
    assert result.recall is not None and result.recall >= 0.75


@pytest.mark.parametrize("kind", list(HEDGE_KINDS))
def test_each_hedge_kind_has_a_flawed_case_and_the_check_finds_it(kind: str) -> None:
    labelled = [case for case in ALL if f"hedge:{kind}" in case.flaws]
    assert labelled, f"no corpus case has a {kind} hedge"
    assert any(kind in {h.kind for h in case.check().hedges} for case in labelled)


def test_forgiveness_is_recognised_where_it_is_asked() -> None:
    asking = [case for case in ALL if case.forgiveness]
    assert asking
    result = scored("all").forgiveness
    assert result.recall == 1.0 and result.precision == 1.0


# --- every rule, needed and exercised -----------------------------------------------------


def _holds(check: ApologyCheck, expect: str) -> bool:
    if expect == "clean":
        return not check.hedges and not check.notes
    kind, _, what = expect.partition(":")
    if kind == "no":
        return what not in check.present
    if kind == "hedge":
        return any(h.kind == what for h in check.hedges)
    if kind == "note":
        return any(n.kind == what for n in check.notes)
    return expect in check.present


# Ids are short, unique and plain (number and expectation), so each case can be run by its id.
@pytest.mark.parametrize(
    "entry", PHRASINGS, ids=[f"{i:03d}-{e['expect']}" for i, e in enumerate(PHRASINGS)]
)
def test_each_phrasing_gives_what_it_says(entry: dict[str, Any]) -> None:
    check = lint_text(entry["text"])
    assert _holds(check, entry["expect"]), check.to_text()
    if "rule" in entry:
        without = lint_text(entry["text"], disabled=frozenset([entry["rule"]]))
        assert not _holds(without, entry["expect"]), f"{entry['rule']} is not needed here"


@pytest.mark.parametrize("rule", [rule.id for rule in RULES])
def test_every_rule_has_a_phrasing_that_needs_it(rule: str) -> None:
    """So that removing any single rule (a hedge or a component pattern) fails a test."""
    assert any(entry.get("rule") == rule for entry in PHRASINGS)


def test_the_speed_shortcuts_lose_nothing_on_the_corpus() -> None:
    """Each rule runs only in sentences holding one of its `needs` words: on every corpus text
    and phrasing, a scan of the whole text finds nothing that this misses."""
    texts = [case.text for case in ALL] + [entry["text"] for entry in PHRASINGS]
    for text in texts:
        t = _Text(text)
        for rule in RULES:
            if not rule.pattern:
                continue
            for match in _compile(rule.pattern).finditer(t.lowered):
                if rule.needs:
                    assert any(word in match.group(0) for word in rule.needs), (rule.id, match)
                sentence = t.sentence(match.start())
                assert match.end() <= sentence[1] or rule.id == "opening.unfortunately", (
                    rule.id,
                    match,
                )
