"""The apology check: does a message contain what makes an apology work, and nothing that erodes it?

What makes an apology work, most important first (Lewicki, Polin & Lount 2016; see
docs/scoring-model.md section 2): acknowledging responsibility, an offer of repair, regret, an
explanation, and (when the company has taken one) a concrete step that stops it happening again.
A message to a customer also needs a way to reach a person. Hedges erode all of that: "sorry for
any inconvenience", "if you were affected", "mistakes were made", minimising ("a little hiccup"),
deflecting ("beyond our control") and vague promises ("we'll do better").

The check is a set of phrase rules, not a language model: it is meant to catch the common failures
of a draft (a template edited into a non-apology, a hedge slipped in), not to grade prose. Every
rule is listed in `COMPONENT_RULES` and `HEDGE_RULES` below. It runs on any text: the built-in
drafts (each must pass), a user's templates, and `remedy lint MESSAGE_FILE`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

# Components in the order of their weight (Lewicki et al. 2016), then the practical ones.
COMPONENTS = ("acknowledgement", "repair", "regret", "explanation", "prevention", "contact")

COMPONENT_HELP = {
    "acknowledgement": 'say plainly that it was your mistake ("this was our mistake")',
    "repair": "say what you are doing to make it right (refund, replacement, credit...)",
    "regret": "say you are sorry, without 'if' or 'any'",
    "explanation": 'say what happened ("Here\'s what happened: ...")',
    "prevention": "name the concrete step taken so it won't happen again",
    "contact": "give a direct way to reach a person (email, phone, or 'reply to this email')",
}

_I = r"(?:we|i)"
_WE_ARE = r"(?:we're|we are|i'm|i am)"

COMPONENT_RULES: dict[str, tuple[str, ...]] = {
    "acknowledgement": (
        r"\b(?:our|my) (?:own )?(?:mistake|fault|error|doing|responsibility)\b",
        rf"\b{_I} (?:made|caused) (?:a|this|the|that|an) (?:mistake|error|mess|problem)\b",
        rf"\b{_I}(?:'ve| have)? (?:messed|screwed|mucked|slipped) (?:this |it |that )?up\b",
        rf"\b{_I}(?:'ve| have)? let you down\b",
        rf"\b{_I}(?:'ve| have)? (?:failed|dropped the ball)\b",
        r"\b(?:this|that|it)(?: one)?(?:'s| is| was) (?:all |entirely |completely |squarely )?"
        r"on (?:us|me)\b",
        r"\b(?:the|this|that) (?:mistake|error|fault) (?:was|is) (?:ours|mine|all ours)\b",
        rf"\b{_I}(?:'ve| have)? (?:got|gotten) (?:\w+ ){{1,5}}?wrong\b",
        r"\bon us, not (?:on )?you\b",
        rf"\b{_I} (?:take|accept) (?:full |complete )?responsibility\b",
        rf"\b{_I} own (?:this|it|that|the mistake)\b",
        rf"\b{_WE_ARE} (?:fully )?responsible\b",
        rf"\b{_I} should have\b",
        rf"\b{_I} could have made\b",
        r"\bno excuse\b",
        r"\b(?:our|my) (?:job|responsibility) to\b",
    ),
    "repair": (
        r"\brefund",
        r"\breplacement\b",
        r"\breplac(?:e|ing) (?:it|your|the)\b",
        r"\b(?:store |account |service )?credit\b",
        r"\bupgrad",
        r"\bhonou?r(?:ing|ed)?\b",
        r"\bat no (?:extra |additional )?(?:cost|charge)\b",
        r"\bfree of charge\b",
        r"\bfree (?:express |overnight |expedited |faster |priority )?(?:shipping|delivery)\b",
        r"\bfor free\b",
        r"\b(?:make|making|put|putting|set|setting) (?:it|this|things|that) right\b",
        r"\bre-?ship",
        r"\b(?:order|price) stands\b",
        r"\bstands at the price\b",
        rf"\b{_I}(?:'ll| will|'re| are) (?:cover|pay for|send|ship)",
    ),
    "regret": (r"\b(?:sorry|apologi[sz]e[sd]?|apologi[sz]ing|apolog(?:y|ies)|regret)\b",),
    "explanation": (
        r"\bwhat happened\b",
        r"\bwhat went wrong\b",
        r"\bhere'?s why\b",
        r"\bthe reason\b",
        r"\bbecause\b",
        r"\bdue to\b",
        r"\bcaused by\b",
        r"\bthe cause\b",
        r"\b(?:this|it) happened\b",
        r"\bhow it happened\b",
    ),
    "prevention": (
        r"\bso (?:that )?(?:it|this) (?:won't|will not|can't|cannot|doesn't|does not) "
        r"happen again\b",
        r"\bto (?:stop|prevent) (?:it|this|that)\b",
        r"\bprevent(?:s|ed|ing)? (?:a repeat|it|this|that)\b",
        r"\bwhat (?:we|i)(?:'ve| have) changed\b",
        rf"\b{_I}(?:'ve| have) (?:now )?(?:changed|fixed|added|introduced|put in|set up|built)\b",
        r"\bfrom now on\b",
        r"\bnow (?:goes|go|runs|run|checks|check|passes|pass|requires|require)\b",
    ),
    "contact": (
        r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
        r"(?<![\w.])\+?\(?\d{1,4}\)?[ .-]?\d{2,4}[ .-]?\d{3,4}(?:[ .-]?\d{2,4})?(?![\w.])",
        r"\breply (?:to (?:this|me|us)|here)\b",
        r"\bjust reply\b",
        r"\b(?:call|text|email|write to|ring) (?:me|us)\b",
        r"\bcall (?:me |us )?back\b",
        r"\breach (?:me|us)\b",
    ),
}


@dataclass(frozen=True)
class HedgeRule:
    """A phrase that erodes an apology, what kind of erosion it is, and what to do instead."""

    pattern: str
    kind: str  # hedge | minimising | deflection | vague_promise | grudging
    advice: str


HEDGE_RULES: tuple[HedgeRule, ...] = (
    HedgeRule(
        r"\b(?:for|about|regret|of) any (?:inconvenience|confusion|frustration|trouble|"
        r"disappointment|issues?|problems?)\b",
        "hedge",
        "name the actual harm instead of 'any ...'",
    ),
    HedgeRule(r"\bany inconvenience\b", "hedge", "name the actual harm"),
    HedgeRule(r"\b(?:the|this|that) inconvenience\b", "minimising", "name the actual harm"),
    HedgeRule(
        r"\bif (?:you|anyone|any customers?|some customers?|some of you) (?:were|was|have been|"
        r"has been|felt|feel|got|were left) (?:affected|impacted|inconvenienced|confused|upset|"
        r"frustrated|offended|disappointed|hurt)\b",
        "hedge",
        "say who was affected and how; don't make it conditional",
    ),
    HedgeRule(
        r"\b(?:mistakes?|errors?) (?:were|was|have been|has been|had been) made\b",
        "hedge",
        "say who made it: 'we made a mistake'",
    ),
    HedgeRule(
        rf"\b(?:{_I} )?(?:apologi[sz]e|{_WE_ARE} sorry|sorry) if\b",
        "hedge",
        "apologise without 'if'",
    ),
    HedgeRule(
        r"\b(?:sorry|apologi[sz]e|apologies) for any(?: \w+)?",
        "hedge",
        "name what you are sorry for",
    ),
    HedgeRule(
        r"\b(?:may|might|could) have (?:been )?(?:caused|affected|experienced|had)\b",
        "hedge",
        "state what happened, not what may have",
    ),
    HedgeRule(r"\bmay have\b", "hedge", "state what happened, not what may have"),
    HedgeRule(r"\bmight have\b", "hedge", "state what happened, not what might have"),
    HedgeRule(
        r"\bto (?:anyone|those|any customers?|everyone) (?:who|that) (?:was|were|may|might|felt|"
        r"feels)\b",
        "hedge",
        "speak to the customer directly",
    ),
    HedgeRule(
        r"\bsorry (?:that )?you (?:feel|felt|are upset|were upset|'re upset)\b",
        "hedge",
        "apologise for what you did, not for how they feel",
    ),
    HedgeRule(r"\b(?:sorry|apologi[sz]e),? but\b", "hedge", "drop the 'but'"),
    HedgeRule(
        r"\b(?:little|minor|slight|small|tiny) (?:hiccup|issue|glitch|problem|mix-up|error|"
        r"snafu|blip)\b",
        "minimising",
        "don't shrink it; the customer decides how big it was",
    ),
    HedgeRule(r"\bhiccups?\b", "minimising", "don't shrink it"),
    HedgeRule(
        r"\b(?:beyond|outside|out of) (?:our|my) (?:control|hands)\b",
        "deflection",
        "own it, even if a partner was involved",
    ),
    HedgeRule(r"\bnot (?:our|my) fault\b", "deflection", "own it"),
    HedgeRule(r"\bno fault of (?:our|my) own\b", "deflection", "own it"),
    HedgeRule(
        r"\b(?:the|our|a) (?:carrier|courier|supplier|vendor|partner|shipping company|delivery "
        r"company|third[- ]party|provider)(?:'s)? (?:fault|mistake|error|failure)\b",
        "deflection",
        "don't blame a partner; the customer chose you",
    ),
    HedgeRule(
        r"\b(?:blame|fault|responsibility) (?:lies|lay|rests|rested) with\b",
        "deflection",
        "own it",
    ),
    HedgeRule(
        rf"\b{_I}(?:'ll| will) (?:do|try to do|try and do) better\b",
        "vague_promise",
        "name the concrete step you took instead",
    ),
    HedgeRule(
        r"\b(?:this|it|that) will never happen again\b|\bnever (?:to )?happen again\b",
        "vague_promise",
        "name the concrete step you took instead",
    ),
    HedgeRule(
        rf"\b{_WE_ARE} (?:committed|working hard|striving|dedicated) to\b",
        "vague_promise",
        "say what you changed, not what you aspire to",
    ),
    HedgeRule(
        r"\bas a (?:one-time |one time |special )?(?:courtesy|gesture of goodwill|goodwill "
        r"gesture)\b",
        "grudging",
        "the remedy is owed, not a favour",
    ),
)

_FLAGS = re.IGNORECASE
_COMPONENT_RES = {
    name: re.compile("|".join(f"(?:{p})" for p in patterns), _FLAGS)
    for name, patterns in COMPONENT_RULES.items()
}
_HEDGE_RES = tuple((re.compile(rule.pattern, _FLAGS), rule) for rule in HEDGE_RULES)
# Typographic apostrophes and dashes count as their ASCII forms; same length, so positions hold.
_NORMALISE = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2011": "-"})


@dataclass(frozen=True)
class Found:
    """Where a component or a hedge was found: the phrase, its offset, 1-based line and column."""

    phrase: str
    position: int
    line: int
    column: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "phrase": self.phrase,
            "position": self.position,
            "line": self.line,
            "column": self.column,
        }


@dataclass(frozen=True)
class Hedge(Found):
    """A phrase that erodes the apology."""

    kind: str = "hedge"
    advice: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "kind": self.kind, "advice": self.advice}


@dataclass(frozen=True)
class ApologyCheck:
    """The result of checking one message.

    `ok` is true when every required component is present and there is no hedge. `required` holds
    the components the message needed (`prevention` only when the incident gives one), `present`
    and `missing` partition them, `found` says where each present component was seen.
    """

    required: tuple[str, ...]
    present: tuple[str, ...]
    missing: tuple[str, ...]
    hedges: tuple[Hedge, ...]
    found: dict[str, Found] = field(default_factory=dict, compare=False)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.hedges

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (stable keys)."""
        return {
            "ok": self.ok,
            "required": list(self.required),
            "present": list(self.present),
            "missing": list(self.missing),
            "hedges": [h.as_dict() for h in self.hedges],
            "found": {name: f.as_dict() for name, f in self.found.items()},
        }

    def to_json(self) -> str:
        """The check as one JSON document."""
        return json.dumps(self.as_dict(), ensure_ascii=False, sort_keys=True)

    def to_text(self, source: str = "") -> str:
        """A human summary, one finding per line (`source:line:col: ...` for hedges)."""
        prefix = f"{source}:" if source else ""
        lines = [f"{prefix} apology check: {'ok' if self.ok else 'needs work'}".lstrip()]
        if self.present:
            lines.append(f"  present: {', '.join(self.present)}")
        for name in self.missing:
            lines.append(f"  missing {name}: {COMPONENT_HELP[name]}")
        for hedge in self.hedges:
            lines.append(
                f"  {prefix}{hedge.line}:{hedge.column}: {hedge.kind} '{hedge.phrase}': "
                f"{hedge.advice}"
            )
        return "\n".join(lines)


def _where(text: str, position: int) -> tuple[int, int]:
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return line, column


def lint_text(text: str, *, prevention_given: bool = False) -> ApologyCheck:
    """Check an apology message: components present or missing, and hedges.

    `prevention_given` says the incident names a concrete prevention step, so the message must
    mention one. Regret inside a hedge ("sorry if ...") does not count as regret.
    """
    normal = text.translate(_NORMALISE)
    matches = sorted(
        (match.start(), -match.end(), order, rule)
        for order, (regex, rule) in enumerate(_HEDGE_RES)
        for match in regex.finditer(normal)
    )
    hedges: list[Hedge] = []
    spans: list[tuple[int, int]] = []
    for start, negative_end, _, rule in matches:
        end = -negative_end
        if spans and start < spans[-1][1]:
            continue  # one phrase, one finding: the earliest, then the longest, wins
        spans.append((start, end))
        line, column = _where(text, start)
        hedges.append(Hedge(text[start:end], start, line, column, rule.kind, rule.advice))

    required = tuple(c for c in COMPONENTS if c != "prevention" or prevention_given)
    found: dict[str, Found] = {}
    for name in required:
        for match in _COMPONENT_RES[name].finditer(normal):
            start, end = match.span()
            if any(s <= start < e for s, e in spans):
                continue  # "sorry if" is not regret, "we may have" is not an acknowledgement
            line, column = _where(text, start)
            found[name] = Found(text[start:end], start, line, column)
            break
    present = tuple(c for c in required if c in found)
    missing = tuple(c for c in required if c not in found)
    return ApologyCheck(required, present, missing, tuple(hedges), found)
