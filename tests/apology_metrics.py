"""The labelled apology corpus (tests/apology_corpus/) and how the check is scored against it.

Used by tests/test_apology_corpus.py (which asserts the goals) and bench/apology.py (which prints
the figures for BENCHMARKS.md). A case's truth is its label (good or flawed) and its complete list
of flaws: `missing:<component>` and `hedge:<kind>`. What the check predicts for it is the same
list, read off `lint_text`: the required components it reports missing and the kinds of the
hedges (severity error) it finds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from remedy.apology import COMPONENTS, HEDGE_KINDS, ApologyCheck, lint_text

CORPUS = Path(__file__).resolve().parent / "apology_corpus"
PARTS = ("tuning", "heldout")
# The first four held-out parts were each measured once, then used for tuning (BENCHMARKS.md);
# tuning-wording*.yaml were written as tuning material. The held-out part is written blind by
# another writer and added to the tree by the lead, who measures it once: until then it is absent
# and the held-out part is empty.
FILES = {
    "tuning": (
        "tuning",
        "tuning-first-heldout",
        "tuning-second-heldout",
        "tuning-third-heldout",
        "tuning-fourth-heldout",
        "tuning-wording",
        "tuning-wording-2",
        "tuning-wording-3",
    ),
    "heldout": ("heldout-v5",),
}
OPTIONAL = frozenset({"heldout-v5"})
GOAL_ACCURACY = 0.90


@dataclass(frozen=True)
class Case:
    """One labelled message."""

    part: str
    id: str
    label: str
    channel: str
    prevention: bool
    flaws: frozenset[str]
    forgiveness: bool
    circumstance: str
    register: str
    text: str

    def check(self) -> ApologyCheck:
        """The check's verdict on this message."""
        return lint_text(self.text, prevention_given=self.prevention, channel=self.channel)


def load(part: str) -> list[Case]:
    """The cases of one part of the corpus (its files, each in file order; a held-out file not
    yet in the tree is skipped)."""
    cases = []
    for name in FILES.get(part, (part,)):
        if name in OPTIONAL and not (CORPUS / f"{name}.yaml").exists():
            continue
        cases.extend(load_file(name, part))
    return cases


def load_file(name: str, part: str) -> list[Case]:
    """The cases of one corpus file."""
    data = yaml.safe_load((CORPUS / f"{name}.yaml").read_text(encoding="utf-8"))
    cases = []
    for raw in data["cases"]:
        cases.append(
            Case(
                part=part,
                id=raw["id"],
                label=raw["label"],
                channel=raw.get("channel", "email"),
                prevention=bool(raw.get("prevention", False)),
                flaws=frozenset(raw.get("flaws", ())),
                forgiveness=bool(raw.get("forgiveness", False)),
                circumstance=raw.get("circumstance", ""),
                register=raw.get("register", ""),
                text=raw["text"],
            )
        )
    return cases


def predicted_flaws(check: ApologyCheck) -> frozenset[str]:
    """The flaws the check reports, in the corpus's vocabulary."""
    return frozenset(
        [f"missing:{name}" for name in check.missing] + [f"hedge:{h.kind}" for h in check.hedges]
    )


@dataclass
class Counts:
    """True and false positives and negatives of one yes/no question."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, truth: bool, predicted: bool) -> None:
        if truth and predicted:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif truth:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def accuracy(self) -> float:
        total = self.tp + self.fp + self.fn + self.tn
        return (self.tp + self.tn) / total if total else 0.0


@dataclass
class Score:
    """How the check did on a set of cases."""

    cases: int
    flawed: Counts  # "this message is flawed" (the check's ok is false)
    exact: int  # cases whose predicted flaws are exactly the labelled ones
    components: dict[str, Counts]  # "component X is missing", where X is required
    forgiveness: Counts  # "the message asks for forgiveness"
    hedges: dict[str, Counts]  # "the message has a hedge of kind K"
    wrong: list[tuple[Case, frozenset[str]]]  # verdict wrong: case, predicted flaws

    def as_dict(self) -> dict[str, Any]:
        def pr(counts: Counts) -> dict[str, Any]:
            return {
                "support": counts.support,
                "precision": counts.precision,
                "recall": counts.recall,
            }

        return {
            "cases": self.cases,
            "accuracy": self.flawed.accuracy,
            "flawed": pr(self.flawed),
            "exact": self.exact,
            "components": {name: pr(c) for name, c in self.components.items()},
            "forgiveness": pr(self.forgiveness),
            "hedges": {kind: pr(c) for kind, c in self.hedges.items()},
        }


def score(cases: Iterable[Case]) -> Score:
    """Run the check on every case and count what it got right."""
    flawed = Counts()
    components = {name: Counts() for name in COMPONENTS if name != "forgiveness"}
    forgiveness = Counts()
    hedges = {kind: Counts() for kind in HEDGE_KINDS}
    exact = 0
    wrong = []
    listed = list(cases)
    for case in listed:
        check = case.check()
        predicted = predicted_flaws(check)
        flawed.add(case.label == "flawed", not check.ok)
        if (case.label == "flawed") == check.ok:
            wrong.append((case, predicted))
        exact += predicted == case.flaws
        for name, counts in components.items():
            if name in check.required:
                counts.add(f"missing:{name}" in case.flaws, name in check.missing)
        forgiveness.add(case.forgiveness, "forgiveness" in check.present)
        for kind, counts in hedges.items():
            counts.add(f"hedge:{kind}" in case.flaws, f"hedge:{kind}" in predicted)
    return Score(len(listed), flawed, exact, components, forgiveness, hedges, wrong)
