"""The apology check: does a message do what makes an apology work, and nothing that erodes it?

What makes an apology work (Lewicki, Polin & Lount 2016, 755 people; docs/scoring-model.md
section 2), most important first: **acknowledging responsibility**, then an **offer of repair**,
then, about equal, **regret**, an **explanation** of what went wrong and a **declaration of
repentance** (here: the concrete **prevention** step, when the incident names one), and least,
asking **forgiveness**. A message to a customer also needs a **contact**: a way to reach a person.

The check recognises each component by what it means, not by our templates' sentences. Each is a
set of small patterns over meaning-bearing words (`COMPONENT_RULES`): the lemmas and synonyms
("sorry", "apologise", "embarrassing", "unacceptable"), first-person agency ("we charged you
twice", "I misread", "we let you down"), possession and placement ("our mistake", "the fault is
ours", "that one's on us"), and so on. An explanation is a clause that says what caused the
failure: a causal link ("because", "which meant", "..., so it missed the van"), a word about
causes ("the reason", "what went wrong", "it came down to"), or past-tense narration with a
subject on our side: "our" and any noun ("our florist took the wrong ticket"), a system, record,
event or person named by what it is ("a colleague sent", "the baker never saw it"; a role is
also told by its ending, -er, -or, -ist, -ian), a partner, a failure verb ("the card failed"), a
faulty state ("the lock was faulty"), a step left undone ("I didn't tick it", "without
checking"), what we had or believed ("we had two instructors off sick", "we assumed"). The past
is read from the regular "-ed" and a list of irregular verbs. The harm told in the first person
("we sent you the wrong coat") and a remedy told in the past ("our team refunded you") are not
explanations. Then the context is read, as a person would:

- negation cancels a component: "this was not our fault" is a denial (reported as deflection),
  "we cannot refund" is not an offer, "please do not reply" is not a contact;
- a condition cancels acknowledgement and regret: "if we made a mistake" and "if we packed them
  badly, we're sorry" are conditional apologies (reported as a hedge), and a cause inside a
  condition is no explanation;
- sympathy is not regret: "sorry to hear you've been unwell" is no hedge, but no apology for
  the mistake either; a repeat owned is no denial ("this isn't the first time we've let you
  down");
- a remedy the customer pays for is no remedy ("we can reship it for $8");
- an uncommitted offer is not an offer: "we'll look into a refund", "you may be eligible";
- words inside a hedge do not count: "sorry if ..." is not regret, "apologise for any
  inconvenience" is not regret either.

Hedges and minimisers (`HEDGE_RULES`) are the words that undo an apology, in many phrasings:
vague harm ("any inconvenience"), conditional and passive apologies ("if you were affected",
"mistakes were made", "an error occurred"), deflection ("circumstances beyond our control",
"nobody's fault"), blaming a partner or the customer, minimising ("tiny hiccup", "these things
happen", "only a day late"), non-apologies ("sorry you feel", "sorry, but"), hiding behind
policy, grudging remedies ("as a one-time courtesy"), vague promises ("we'll do better"), formulas
in place of a remedy ("we value your business") and "unfortunately" as the opening word. Blaming
a partner is excused when the same sentence owns the failure ("the courier lost it, but getting
it to you was our job"); a promise is not vague when its sentence names the concrete step.

What `ok` means: every component the channel requires is present and no hedge of severity
"error" is found. Required, by channel (`REQUIRED_BY_CHANNEL`): acknowledgement, repair, regret,
explanation and contact for an email, a phone script and a public post, plus prevention when the
incident names a prevention step; an SMS has room only for acknowledgement, repair, regret and
contact (the email carries the explanation and the prevention). Forgiveness is never required
(Lewicki et al.: "the one you can leave out"), only reported. A few stock phrases are notes
(severity "warning"): reported, never failing the check ("thank you for your patience").
`strength` weighs the six Lewicki components present (acknowledgement 3, repair 2, regret,
explanation and prevention 1 each, forgiveness 0.5) as a share of their total.

It is heuristics in pure Python (regular expressions with bounded repetition, no backtracking
traps), deterministic, and linear in the text; a message is analysed up to `MAX_CHARS`
characters (the rest is ignored and the result says so), so a 1 MB file is still quick. Each
rule only runs in the sentences that hold one of its `needs` words.

It catches the common failures of a draft, not every nuance of prose. tests/apology_corpus/
holds the labelled messages it is measured on (BENCHMARKS.md, "Apology check"). Its weak spot
was the explanation worded in a way no rule knew (the fourth held-out round: 77.5%, 9 good
messages rejected); the explanation is now recognised by what it is rather than by phrases, and
a blind held-out part written by someone else measures how far that carries. A good message it
rejects names what it could not find, and an explanation said plainly ("the reason was ...",
"because ...") is always found.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

# --- what a message needs --------------------------------------------------------------------

# Components in the order of their weight (Lewicki et al. 2016), then the practical one.
COMPONENTS = (
    "acknowledgement",
    "repair",
    "regret",
    "explanation",
    "prevention",
    "forgiveness",
    "contact",
)

# Relative importance from Lewicki et al. (2016): responsibility first, repair second, regret,
# explanation and repentance tied third, forgiveness last. Contact is practical, not weighed.
WEIGHTS = {
    "acknowledgement": 3.0,
    "repair": 2.0,
    "regret": 1.0,
    "explanation": 1.0,
    "prevention": 1.0,
    "forgiveness": 0.5,
}

CHANNELS = ("email", "sms", "phone", "post")

REQUIRED_BY_CHANNEL: dict[str, tuple[str, ...]] = {
    "email": ("acknowledgement", "repair", "regret", "explanation", "contact"),
    "phone": ("acknowledgement", "repair", "regret", "explanation", "contact"),
    "post": ("acknowledgement", "repair", "regret", "explanation", "contact"),
    # One 160-character segment: who, that it's ours, sorry, the remedy, where to reply.
    "sms": ("acknowledgement", "repair", "regret", "contact"),
}
# Channels that must name the prevention step when the incident gives one.
PREVENTION_CHANNELS = ("email", "phone", "post")

COMPONENT_HELP = {
    "acknowledgement": 'say plainly that it was your mistake ("that\'s our mistake", "we got '
    'this wrong", "the fault is ours")',
    "repair": "say what you are doing to make it right (refund, replacement, credit, re-sending, "
    "the order honoured), as a commitment",
    "regret": "say you are sorry (or embarrassed, or that it was unacceptable), without 'if' "
    "or 'any'",
    "explanation": "say what went wrong and why, in a sentence or two (the cause, not only the "
    "harm)",
    "prevention": "name the concrete step taken so it won't happen again (what changed)",
    "forgiveness": "you may ask for forgiveness or another chance (optional)",
    "contact": "give a direct way to reach a person (an email address, a phone number, or "
    "'reply to this email')",
}

HEDGE_KINDS = {
    "vague-harm": "names no harm: 'any inconvenience', 'the inconvenience'",
    "conditional": "makes the apology conditional: 'if you were affected', 'sorry if'",
    "passive": "hides who did it: 'mistakes were made', 'an error occurred'",
    "deflection": "pushes the cause away: 'beyond our control', 'nobody's fault'",
    "blame-partner": "blames a carrier, supplier or provider",
    "blame-customer": "blames the customer",
    "minimising": "shrinks the harm: 'tiny hiccup', 'these things happen', 'only a day late'",
    "non-apology": "regrets the customer's feelings, or takes the apology back: 'sorry you "
    "feel', 'sorry, but'",
    "policy": "hides behind policy: 'as per our policy'",
    "empty-formula": "a formula in place of substance: 'we value your business'",
    "unfortunately-first": "opens with 'unfortunately': the failure as bad luck",
    "vague-promise": "promises without a step: 'we'll do better', 'never happen again'",
    "grudging": "gives the remedy as a favour: 'as a one-time courtesy'",
}

# Work is bounded: only the first MAX_CHARS characters are read (an apology is a few thousand
# characters; `remedy lint` accepts 1 MB files), and findings are capped.
MAX_CHARS = 100_000
MAX_HEDGES = 200
MAX_EVIDENCE = 20  # findings kept per component
_MAX_CANDIDATES = 2_000  # matches examined per rule


@dataclass(frozen=True)
class ComponentRule:
    """A pattern that shows a component, and how its context can cancel it."""

    id: str
    component: str
    pattern: str
    negatable: bool = True  # "not our fault", "can't refund", "do not reply" cancel it
    conditional: bool = False  # "if we got it wrong" makes it a conditional apology
    uncommitted: bool = False  # "we'll look into a refund" is not an offer
    not_followed_by: str | None = None  # the next few words that change its meaning
    # Speed: the rule runs only when the lower-cased text contains one of these (none: always).
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class HedgeRule:
    """A phrase that erodes an apology, what kind of erosion it is, and what to do instead."""

    id: str
    kind: str
    pattern: str
    advice: str
    severity: str = "error"  # error fails the check; warning is a note
    excused_by: str | None = None  # a component in the same sentence (or message) excuses it
    excused_in: str = "sentence"  # or "message"
    warning_with: str | None = None  # with this component in the message, only a warning
    # The components its words cannot show ("sorry if" is not regret); none given: all.
    blocks: tuple[str, ...] = ()
    # Speed: the rule runs only when the lower-cased text contains one of these (none: always).
    needs: tuple[str, ...] = ()


# --- the patterns ----------------------------------------------------------------------------
# Written with single spaces; each space matches any run of whitespace (lines wrap anywhere).
# Repetition is always bounded ({0,3}), so no pattern can backtrack badly on long input.

_WE = r"(?:we|i)"
_WE_HAVE = r"(?:we|i)(?:'ve|'d| have| had)?"
_WE_ARE = r"(?:we're|we are|i'm|i am)"
_ADV = (
    r"(?:(?:really|badly|completely|totally|clearly|simply|just|truly|genuinely|properly|"
    r"royally|entirely|also|then|both|well and truly|obviously) )?"
)
_FAULT = (
    r"(?:mistake|fault|error|blunder|oversight|failure|failing|slip|screw-?up|mess-?up|mess|"
    r"doing|bad|problem)"
)
_PARTNER = (
    r"(?:carrier|couriers?|delivery (?:company|partner|driver|firm|service)|shipping (?:company|"
    r"partner|provider)|postal service|post office|royal mail|usps|ups|fedex|dhl|dpd|hermes|"
    r"evri|parcelforce|suppliers?|vendors?|manufacturer|factory|partners?|providers?|hosting "
    r"(?:company|provider)|payment (?:provider|processor|partner|gateway)|third[- ]party|"
    r"contractors?|subcontractors?|warehouse partner|fulfil?ment (?:partner|company)|logistics "
    r"(?:partner|company|provider))"
)
PARTNER_WORDS = (
    "carrier", "courier", "delivery", "shipping", "postal", "post", "royal", "usps", "ups",
    "fedex", "dhl", "dpd", "hermes", "evri", "parcelforce", "supplier", "vendor",
    "manufacturer", "factory", "partner", "provider", "hosting", "payment", "third",
    "contractor", "warehouse", "fulfil", "logistics",
)  # fmt: skip
_MECHANISM = (
    r"(?:bug|glitch|typo|misconfiguration|misprint|miscount|update|migration|upgrade|script|"
    r"scanner|printer|server|certificate|power cut|power failure|storm|flood|fire|strike|"
    r"mix-up|data cent(?:re|er)|machine|conveyor|roaster|oven|van|lorry|truck|till|label|"
    r"spreadsheet|formula|setting|config|cache|sync|integration|plugin|feature|release|"
    r"deployment|rota|shortage|backlog|misunderstanding|system|software|code|app|website|site|"
    r"checkout|page|tool|process|team|picker|packer|driver|agent|host|decorator|warehouse|"
    r"chart|form|field|menu|description|listing|reminder|schedule|queue|"
    r"database|engineer|developer|staff|colleague|member of (?:our|the) team|line|run|list)s?"
)


def _alt(words: tuple[str, ...]) -> str:
    """One alternation of words or phrases (letters, spaces, hyphens, apostrophes), as a trie:
    "bak(?:e(?:r|ry))" tries each letter once, where "baker|bakery|..." tries every word in turn
    (a list of 200 words costs a regular expression 200 tries at every place it could start).
    A word that continues another is tried first ("broke down" before "broke")."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        branches = [char + build(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return "(?:" + build(trie) + ")"


# English verbs in the past: the regular "-ed" (not "need", "speed": no "e" before the "ed"),
# and the irregular simple past and past participle, complete enough for narration ("our
# florist took", "a colleague sent", "the oil leaked", "we'd known", "was sent").
_IRREGULAR_PAST = (
    "arose", "ate", "awoke", "became", "began", "bent", "bit", "blew", "bought", "broke", "brought",
    "built", "burnt", "burst", "came", "caught", "chose", "cost", "crept", "cut", "dealt", "did",
    "drank", "drew", "drove", "dug", "fed", "fell", "felt", "flew", "forgot", "froze", "gave",
    "got", "grew", "had", "heard", "held", "hid", "hit", "hung", "hurt", "kept", "knew", "laid",
    "led", "left", "lent", "let", "lit", "lost", "made", "meant", "met", "misheard", "mislaid",
    "misled", "misread", "mistook", "overran", "overrode", "overtook", "overwrote", "paid", "put",
    "quit", "ran", "rang", "read", "reset", "rode", "rose", "said", "sat", "saw", "sent", "set",
    "shook", "shot", "shrank", "shut", "slid", "sold", "spent", "spilt", "split", "spoke", "spread",
    "stole", "stood", "struck", "stuck", "swept", "taught", "thought", "threw", "told", "took",
    "tore", "understood", "undid", "upset", "went", "woke", "wore", "wrote",
)  # fmt: skip
_IRREGULAR_PARTICIPLE = (
    "arisen", "been", "begun", "bitten", "blown", "broken", "chosen", "done", "drawn", "driven",
    "eaten", "fallen", "forgotten", "frozen", "given", "gone", "gotten", "grown", "hidden", "known",
    "mistaken", "overrun", "overridden", "overwritten", "rebuilt", "redone", "rewritten", "ridden",
    "risen", "run", "seen", "shaken", "shown", "shrunk", "spoken", "stolen", "taken", "thrown",
    "torn", "woken", "worn", "written", "withdrawn",
)  # fmt: skip
_REGULAR_PAST = r"(?:\w+-)?\w{2,}(?<!e)ed|agreed|guaranteed"
_PAST_FORM = rf"(?:{_REGULAR_PAST}|{_alt(_IRREGULAR_PAST)})"
# A participle, for the passive and the perfect: "was sent", "had been copied", "we'd known".
_PARTICIPLE = rf"(?:{_REGULAR_PAST}|{_alt(_IRREGULAR_PAST + _IRREGULAR_PARTICIPLE)})"
# The past, with its negations: what happened, or what did not ("our desk did not hold").
_PAST = (
    rf"(?:{_PAST_FORM}|(?:didn't|did not|wasn't|was not|weren't|were not|couldn't|could not|"
    r"hadn't|had not|never|failed to|forgot to|(?:was|were) unable to|(?:wasn't|weren't) able "
    r"to) \w+)"
)
# A word inside a clause: not a conjunction, a pronoun of the customer, an auxiliary of the
# present or the future, or anything that opens a new clause.
_FREE = (
    r"(?!(?:and|but|or|so|then|than|which|who|whom|whose|that|because|if|when|while|as|we|i|you|"
    r"he|she|they|it|us|me|them|your|yours|will|would|can|could|may|might|shall|must|is|are|am|"
    r"has|have|had|was|were|been|being|to|not|now|please)\b)[\w'-]+"
)
# What we did to put things right, or to reach the customer: the remedy told, not the cause
# ("our billing team refunded the difference").
_REMEDY_VERB = _alt(
    (
        "refunded", "reimbursed", "credited", "repaid", "resent", "re-sent", "reshipped",
        "re-shipped", "replaced", "rebooked", "rescheduled", "restored", "reversed", "waived",
        "apologised", "apologized", "contacted", "called", "rang", "phoned", "emailed", "texted",
        "arranged", "upgraded", "offered", "promised", "covered", "fixed",
        "resolved", "corrected", "repaired", "compensated", "dispatched", "posted", "delivered",
    )
)  # fmt: skip
# Who or what on our side can cause a failure: systems, records and machines, people by their
# role, places, events. A role is also told by its ending ("florist", "adviser", "technician"):
# `_AGENT` takes any word ending in -er, -or, -ist or -ian but the common words that are not
# roles ("order", "number", "customer", "floor").
_AGENT_WORDS = (
    # systems, code, records, machines
    "system", "software", "code", "app", "website", "site", "checkout", "page", "tool", "process",
    "database", "server", "network", "router", "terminal", "till", "card reader", "card machine",
    "machine", "sensor", "thermostat", "fridge", "freezer", "boiler", "oven", "kiln", "conveyor",
    "lock", "alarm", "camera", "van", "lorry", "truck", "email", "mailing", "template", "form",
    "feed", "import", "export", "sync", "integration", "plugin", "script", "job", "batch", "run",
    "update", "upgrade", "migration", "release", "deployment", "rule", "filter", "setting",
    "settings", "config", "configuration", "spreadsheet", "formula", "list", "record", "records",
    "count", "stock count", "stock level", "inventory", "catalogue", "catalog", "label", "barcode",
    "rota", "schedule", "diary", "calendar", "reminder", "alert", "notification", "algorithm",
    "chart", "map", "file", "sheet", "printout", "ticket", "note", "notes", "instructions",
    "handover", "procedure", "checklist", "workflow", "automation", "direct debit", "mandate",
    "change", "switch", "bug", "glitch", "typo", "mix-up", "misunderstanding", "cache", "link",
    "certificate", "script", "line", "plan", "booking system", "payment run", "billing run",
    # events
    "storm", "flood", "fire", "power cut", "power failure", "power", "pipe", "leak", "snow",
    "strike", "outage", "shortage", "backlog", "accident", "bank holiday",
    # people and teams
    "team", "staff", "crew", "colleague", "member of staff", "member of our team", "agent",
    "assistant", "attendant", "accountant", "consultant", "merchant", "technician", "chef",
    "cook", "nurse", "vet", "rep", "representative", "sitter", "walker", "temp", "trainee",
    "apprentice", "volunteer", "person", "people", "guide", "coach", "office", "desk", "shop",
    "store", "kitchen", "bakery", "lab", "workshop", "studio", "depot", "warehouse", "branch",
    "factory", "bank",
)  # fmt: skip
_NOT_AGENT_ER = _alt(
    (
        "order", "number", "other", "another", "letter", "offer", "answer", "matter", "summer",
        "winter", "dinner", "after", "ever", "never", "either", "neither", "whether", "rather",
        "later", "earlier", "further", "better", "sooner", "over", "under", "together", "customer",
        "member", "user", "buyer", "reader", "subscriber", "corner", "paper", "cover", "banner",
        "border", "chapter", "character", "voucher", "mother", "father", "brother", "sister",
        "daughter", "manner", "flower", "flavor", "color", "door", "floor", "poor", "minor",
        "major", "error", "mirror", "horror", "honor", "favor", "labor", "harbor", "behavior",
        "visitor", "donor", "indoor", "outdoor", "exist", "assist", "insist", "consist", "resist",
        "persist", "wrist", "twist", "median", "christian", "dear", "year", "hour", "four",
        "our", "super", "proper", "upper", "lower", "fewer", "newer", "older", "bigger",
        "smaller", "larger", "longer", "shorter", "faster", "slower", "cheaper", "higher",
    )
)  # fmt: skip
_AGENT = rf"(?:{_alt(_AGENT_WORDS)}s?|(?!{_NOT_AGENT_ER}s?\b)\w{{2,}}(?:er|or|ist|ian)s?)(?![\w'-])"
# What "our" is followed by when it names a failing part of us, not a fault or a courtesy.
_NOT_OURS = _alt(
    (
        "mistake", "mistakes", "fault", "faults", "error", "errors", "apology", "apologies", "bad",
        "doing", "failure", "failing", "problem", "responsibility", "job", "duty", "thanks", "best",
        "promise", "word", "side", "end", "part", "policy", "policies", "terms", "customer",
        "customers", "client", "clients", "guest", "guests", "member", "members", "user", "users",
        "patient", "patients", "refund", "replacement", "offer", "gift", "voucher", "credit",
        "way", "sincere", "deep", "deepest", "sincerest", "hope", "aim", "goal", "priority",
        "intention", "attention", "regret", "regrets", "fee", "fees", "price", "prices", "cost",
        "expense", "treat", "watch", "money", "turn", "business", "pleasure",
    )
)  # fmt: skip
# How a system or a process works, when that is the cause ("our date picker starts on ...").
_DOES = (
    r"(?:starts|shows|lists|asks|accepts|defaults|treats|uses|keeps|sends|charges|applies|runs|"
    r"expects|reads|counts|rounds|converts|copies|hides|skips|retries|ignores|rejects|assumes|"
    r"prints|picks|sorts|only|pre-\w+s|(?:doesn't|does not|isn't|is not|can't|cannot|won't) \w+)"
)
# Who did it, on our side: "our technician signed the job off ...".
_OUR_PEOPLE = (
    r"(?:technicians?|engineers?|agents?|staff|team|drivers?|pickers?|packers?|receptionists?|"
    r"pharmacists?|assistants?|colleagues?|managers?|instructors?|chefs?|cooks?|hosts?|"
    r"decorators?|designers?|developers?|printers?|tutors?|vets?|fitters?|cleaners?|stylists?|"
    r"waiters?|servers?|baristas?|buyers?|accountants?|bookkeepers?|support team|people)"
)

# What a prevention step does, as a verb ("every refund now needs a second approval").
_STEP = (
    r"(?:requires?|needs?|checks?|runs?|goes|go|passes|pass|gets?|uses?|must|alerts?|blocks?|"
    r"stops?|warns?|flags?|refuses?|validates?|asks?|takes? effect|removes?|tracks?|shares?|"
    r"leaves?|roll|rolls|holds?|cannot|can't|only|happens?|reads?|confirms?|reviews?|"
    r"approves?|has to|have to)"
)

# What can be "on us": "dinner is on us", "your next cut and colour is on me".
_ON_US = _alt(
    (
        "dinner", "meal", "drink", "drinks", "coffee", "wine", "lunch", "dessert", "room", "night",
        "stay", "cake", "delivery", "shipping", "postage", "cut", "colour", "color", "visit",
        "treatment", "class", "session", "ride", "box",
    )
)  # fmt: skip

_COMPONENT_RULES: tuple[ComponentRule, ...] = (
    # --- acknowledgement of responsibility: ownership said plainly -----------------------------
    ComponentRule(
        "ack.ours",
        "acknowledgement",
        rf"\b(?:our|my) (?:own |very )?{_FAULT}\b|\bour bad\b",
        conditional=True,
        not_followed_by=r"(?:rate|message|page|log|code|handling)\b",
        needs=(
            "mistake",
            "fault",
            "error",
            "blunder",
            "oversight",
            "failure",
            "failing",
            "slip",
            "screw",
            "mess",
            "doing",
            "bad",
            "problem",
        ),
    ),
    ComponentRule(
        "ack.on-our-side",
        "acknowledgement",
        r"\b(?:mistake|fault|error|failure|slip|oversight|mess-?up|screw-?up|cock-?up|blunder|"
        r"lapse) (?:was |is )?(?:on|at) (?:our|my) (?:side|part|end)\b|\b(?:faulty|bad|broken|"
        r"failed|buggy|botched) (?:\w+ ){0,2}?(?:on|at) (?:our|my) (?:side|part|end)\b|"
        # the fault put down to us: "a serious error by our practice", "a mistake by me"
        r"\b(?:mistake|error|fault|failure|oversight|blunder|slip|lapse) (?:made )?(?:by|of) "
        rf"(?:us|me|(?:our|my) (?:own )?(?!{_PARTNER}\b)(?:team|staff|practice|company|shop|store|"
        r"office|people|business|clinic|surgery|branch|studio|kitchen|warehouse|firm|agency))\b",
        conditional=True,
        needs=("side", "part", "end", "us", "me", "our", "my"),
    ),
    ComponentRule(
        "ack.of-us",
        "acknowledgement",
        r"\b(?:careless|thoughtless|wrong|sloppy|negligent|clumsy|foolish|unfair|"
        r"insensitive|stupid) (?:of|on the part of) (?:us|me)\b|"
        r"\b(?:my|our) (?:bad|poor|wrong|careless|hasty) (?:decision|call|judge?ment|choice)\b|"
        r"\b(?:bad|poor|wrong|careless|hasty) (?:decision|call|judge?ment|choice) (?:on (?:my|our) "
        r"part|of (?:mine|ours)|by (?:me|us))\b|"
        # the passive that names us: "that was badly handled by us", "mislabelled by me"
        r"\b(?:badly|poorly|wrongly|carelessly|clumsily|thoughtlessly) (?:\w+ed|done|run|made) "
        r"by (?:us|me)\b|\bmis\w+ed by (?:us|me)\b",
        conditional=True,
        needs=(
            "badly",
            "poorly",
            "wrongly",
            "clumsily",
            "by",
            "careless",
            "thoughtless",
            "wrong",
            "sloppy",
            "negligent",
            "clumsy",
            "foolish",
            "unfair",
            "insensitive",
            "stupid",
            "bad",
            "poor",
            "hasty",
        ),
    ),
    ComponentRule(
        "ack.is-ours",
        "acknowledgement",
        r"\b(?:mistake|fault|error|failure|blame|responsibility|failing)(?: here| this time)? "
        r"(?:is|was|lies|rests|sits|lay|sat) (?:\w+ ){0,2}?(?:ours|mine|with (?:us|me))\b|"
        # "the decision to block the card was ours": owning the act that went wrong
        r"\b(?:is|was|were) (?:all |entirely |completely |squarely |wholly )?(?:ours|mine)\b",
        conditional=True,
        needs=("ours", "mine", "with"),
    ),
    ComponentRule(
        "ack.was-wrong",
        "acknowledgement",
        # First person and "wrong" in one clause: "that was my call and it was the wrong one".
        r"\b(?:we|i|my|our)\b[^.;:!?]{0,60}?\b(?:was|were|is|are) (?:\w+ )?(?:wrong|mistaken|"
        r"incorrect|careless|thoughtless|unfair)\b|"
        # "we weren't careful enough"
        rf"\b{_WE} (?:weren't|wasn't|were not|was not) (?:\w+ )?(?:careful|thorough|clear|quick|"
        r"fast|organised|organized|prepared|ready) enough\b",
        conditional=True,
        needs=("wrong", "mistaken", "incorrect", "careless", "thoughtless", "unfair", "enough"),
    ),
    ComponentRule(
        "ack.we-made",
        "acknowledgement",
        rf"\b{_WE_HAVE} {_ADV}(?:made|committed) (?:a|an|the|this|that|two|several|some|our|"
        r"such an?|one|another) (?:\w+ )?(?:mistake|error|mess|blunder|hash|muddle|oversight|"
        r"mix-up|slip)s?\b",
        conditional=True,
        needs=("made", "committed"),
    ),
    ComponentRule(
        "ack.we-caused",
        "acknowledgement",
        rf"\b{_WE_HAVE} {_ADV}(?:caused|created) (?:this|the|that|your|a|an) (?:\w+ )?(?:outage|"
        r"problem|delay|mess|error|confusion|issue|disruption|trouble|situation|mistake)\b|"
        rf"\b{_WE_HAVE} {_ADV}caused (?:it|this|that)\b",
        conditional=True,
        needs=("caused", "created"),
    ),
    ComponentRule(
        "ack.we-failed",
        "acknowledgement",
        rf"\b{_WE_HAVE} {_ADV}(?:messed|screwed|mucked|fouled|cocked|stuffed|slipped) up\b|"
        rf"\b{_WE_HAVE} {_ADV}(?:fumbled|goofed|botched|bungled|blew it|dropped the ball|"
        r"let (?:you|our customers|customers|everyone|them|him|her|your \w+) down|failed|"
        r"let (?:this|it|that|things) slip|"
        r"fell short|fallen short|broke (?:our|my|a|the|this|it|that|things) ?(?:promise|word)?|"
        r"broken (?:our|my|a|the) (?:promise|word)|made a (?:real |complete )?(?:mess|hash)|"
        r"lost (?:it|them|your \w+))\b",
        conditional=True,
        needs=(
            "slip",
            "up",
            "fumbled",
            "goofed",
            "botched",
            "bungled",
            "blew",
            "ball",
            "down",
            "failed",
            "fell",
            "fallen",
            "broke",
            "mess",
            "hash",
            "lost",
        ),
    ),
    ComponentRule(
        "ack.got-wrong",
        "acknowledgement",
        rf"\b{_WE_HAVE} {_ADV}(?:got|gotten) (?:\w+ ){{1,3}}?wrong\b|"
        rf"\b{_WE_HAVE} {_ADV}(?:did|done) (?:the )?wrong thing\b|"
        # "we typed it wrong", "we read your note wrong"
        rf"\b{_WE_HAVE} {_ADV}\w+ (?:it|this|that|them|your \w+|the \w+) wrong\b",
        conditional=True,
        needs=("wrong",),
    ),
    ComponentRule(
        "ack.we-did-not",
        "acknowledgement",
        rf"\b{_WE} (?:didn't|did not|never|failed to|forgot to|neglected to|omitted to) "
        r"(?:\w+ )?(?:check|catch|notice|spot|send|ship|deliver|test|honou?r|keep|do|get|tell|"
        r"warn|process|pack|follow|update|return|remove|bring|read|ask|confirm|plan|think|give|"
        r"renew|flag|stop|make|live up|deliver|answer|sent|shipped|delivered|checked|told|"
        r"processed|answered|replied|called)\b|"
        # The subject said once for two verbs: "we agreed that price, and then did not record
        # it", "I reassigned it when a sitter was ill and didn't confirm ...".
        rf"\b{_WE} (?:[\w'-]+,? ){{1,8}}?(?:and|but),? (?:then |still |simply )?(?:didn't|did not|"
        r"never|forgot to|failed to|neglected to) (?:\w+ )?(?:check|catch|notice|spot|send|ship|"
        r"deliver|test|honou?r|keep|tell|warn|process|pack|follow|update|remove|read|ask|confirm|"
        r"renew|flag|record|tick|save|copy|log|enter|cancel|move|book|assign|reply|call|turn up|"
        r"show up|come|arrive|pass)\b",
        conditional=True,
        needs=("n't", "not", "never", "failed", "forgot", "neglected", "omitted"),
    ),
    ComponentRule(
        "ack.we-did-badly",
        "acknowledgement",
        # First-person acts that were wrong in themselves: "we'd pasted last month's link",
        # "we had cancelled the appointment without telling you".
        rf"\b{_WE}(?:'d| had| have|'ve)? {_PAST_FORM} (?:[\w'-]+ ){{0,6}}?(?:the wrong|an old|"
        r"the old|last \w+'s|twice|by mistake|in error|by accident|without (?:telling|asking|"
        r"warning|checking|confirming)|(?:into|in|for|onto|on) the same (?:slot|time slot|table|"
        r"room|seat|seats|pitch|hall|space|spot|car|appointment|booking|session|class|van|box|"
        r"bag|shift))\b|"
        # Ours, failing: "our agent didn't notice", "our sitter didn't visit"; not a partner
        # ("our courier didn't" is what the partner did).
        rf"\b(?:our|my) (?:(?!{_PARTNER}\b)[\w-]+ )?(?!{_PARTNER}\b)(?!{_NOT_OURS}\b)[\w-]+ "
        r"(?:didn't|did not|failed to|forgot to|never|ignored|missed|overlooked)\b",
        conditional=True,
        needs=(
            "ed",
            "n't",
            "not",
            "failed",
            "forgot",
            "never",
            "ignored",
            "missed",
            "overlooked",
            "accident",
            "without",
            "same",
            "mistake",
            "error",
            "twice",
            "wrong",
            "old",
            "'s",
        ),
    ),
    ComponentRule(
        "ack.should-have",
        "acknowledgement",
        rf"\b{_WE} (?:should|ought to|could) (?:never )?(?:have|'ve)\b|"
        rf"\b{_WE} shouldn't have\b|\b{_WE} should've\b|"
        r"\b(?:which|that) (?:it|we|i) should have\b|\b(?:our|my) \w+(?: \w+)? should have\b",
        conditional=True,
        needs=("should", "ought", "could"),
    ),
    ComponentRule(
        "ack.on-us",
        "acknowledgement",
        r"\b(?:this|that|it|which|the (?:mistake|error|fault|blame|delay|outage|mix-up|problem|"
        r"failure))(?: one)?(?:'s|'ll be| is| was| lies| rests| sits| will be| falls| sat) "
        r"(?:\w+ ){0,2}?(?:on|down to) (?:us|me)\b|\bon (?:our|my) watch\b|"
        r"\b(?:that|this) (?:one )?was (?:all )?(?:us|me)\b",
        conditional=True,
        needs=("us", "me", "watch"),
    ),
    ComponentRule(
        "ack.responsibility",
        "acknowledgement",
        rf"\b{_WE} (?:take|accept|bear|carry|have to take|must take) (?:full |complete |total |"
        r"entire |all |the |sole ){0,2}(?:responsibility|blame|ownership)\b|"
        rf"\b{_WE_ARE} (?:fully |entirely |completely |solely |wholly )?(?:responsible|to blame|"
        r"at fault|accountable)\b|"
        rf"\b{_WE} own (?:this|it|that|the (?:mistake|error|failure)|our mistake|up)\b",
        conditional=True,
        needs=("responsib", "blame", "own", "fault", "accountable"),
    ),
    ComponentRule(
        "ack.our-job",
        "acknowledgement",
        r"\b(?:was|is) (?:\w+ )?(?:our|my) (?:job|responsibility|duty)\b|"
        r"\b(?:our|my) (?:job|responsibility|duty) (?:was |is )?to\b",
        conditional=True,
        needs=("job", "responsibility", "duty"),
    ),
    ComponentRule(
        "ack.no-excuse",
        "acknowledgement",
        r"\bno excuse\b|\binexcusable\b|\bindefensible\b",
        negatable=False,
        needs=("excus", "indefensible"),
    ),
    ComponentRule(
        "ack.we-harmed",
        "acknowledgement",
        rf"\b{_WE_HAVE} {_ADV}(?:overcharged|double[- ]charged|double[- ]billed|"
        r"charged (?:\w+ ){0,3}?(?:twice|again|too much|the wrong|more than)|"
        r"billed (?:\w+ ){0,2}?(?:twice|again|the wrong|for the wrong)|"
        r"took (?:\w+ ){0,4}?twice|sent (?:\w+ ){0,2}?(?:the wrong|a wrong|broken|damaged)|"
        r"shipped (?:\w+ ){0,2}?(?:the wrong|late|broken)|gave (?:\w+ ){0,2}?away|"
        r"kept (?:emailing|charging|sending|billing|texting|calling)|"
        r"cancelled (?:\w+ ){0,2}?by mistake|misread|misjudged|misunderstood|mislabell?ed|"
        r"double[- ]booked|"
        r"mis-?priced|mixed up|missed (?:your|the) \w+|kept you waiting|exposed|leaked|"
        r"underestimated|overbooked|oversold|forgot)\b",
        conditional=True,
        needs=(
            "charged",
            "billed",
            "twice",
            "sent",
            "shipped",
            "gave",
            "kept",
            "cancelled",
            "misread",
            "misjudged",
            "misunderstood",
            "mislabel",
            "mispriced",
            "mis-priced",
            "mixed",
            "missed",
            "exposed",
            "leaked",
            "underestimated",
            "overbooked",
            "oversold",
            "forgot",
            "booked",
        ),
    ),
    # --- regret: feeling it, in many words --------------------------------------------------
    ComponentRule(
        "reg.sorry",
        "regret",
        # Sympathy is not regret for the mistake: "sorry to hear you've been unwell", "sorry for
        # your loss" (fine beside an apology, but no apology on their own).
        r"\bsorry\b(?! (?:to (?:hear|learn|read)|for (?:the |your )?loss)\b)",
        conditional=True,
        needs=("sorry",),
    ),
    ComponentRule(
        "reg.apologise",
        "regret",
        r"\bapolog(?:y|ies|i[sz]e[sd]?|i[sz]ing)\b(?!:)",  # "Apology:" labels a script's step
        conditional=True,
        needs=("apolog",),
    ),
    ComponentRule(
        "reg.regret",
        "regret",
        rf"\b{_WE} (?:deeply |sincerely |truly |really |very much |greatly |bitterly )?regret\b"
        r"(?! to (?:inform|advise|tell|say|announce|confirm|let))|\b(?:our|my) (?:deep |deepest "
        r"|sincere |real |great )?regrets?\b|\bregrettable\b",
        conditional=True,
        needs=("regret",),
    ),
    ComponentRule(
        "reg.feeling",
        "regret",
        r"\b(?:embarrass(?:ed|ing)|ashamed|mortified|gutted|heartbroken|kicking (?:ourselves|"
        r"myself)|red[- ]faced|red faces|cringing)\b|"
        rf"\b{_WE}(?:'re| are|'m| am| all| both)? (?:\w+ )?(?:feel|felt|feeling) (?:\w+ )?"
        r"(?:terrible|awful|dreadful|sick|horrible|bad|wretched|ashamed|embarrassed)\b|"
        rf"\b{_WE} (?:really )?hate (?:that|to think)\b|\bcan't apologi[sz]e enough\b",
        conditional=True,
        needs=(
            "embarrass",
            "ashamed",
            "mortified",
            "gutted",
            "heartbroken",
            "kicking",
            "red",
            "cringing",
            "feel",
            "felt",
            "hate",
            "enough",
        ),
    ),
    ComponentRule(
        "reg.unacceptable",
        "regret",
        r"\b(?:unacceptable|inexcusable|not good enough|(?:is|was|'s) not (?:okay|ok|acceptable|"
        r"right)|not how (?:we|anyone|it) (?:\w+ ){0,2}?(?:should|is supposed|work|treat)|"
        r"(?:is|was|'s) not (?:the|what) (?:\w+ ){0,2}?(?:experience|standard|service|care) (?:we|"
        r"you|anyone))\b",
        negatable=False,
        needs=(
            "unacceptable",
            "inexcusable",
            "enough",
            "ok",
            "acceptable",
            "right",
            "how",
            "experience",
            "standard",
            "service",
            "care",
        ),
    ),
    ComponentRule(
        "reg.should-never",
        "regret",
        r"\bshould (?:never|not) have (?:happened|been|let|sent|charged|reached)\b|"
        r"\bshouldn't have (?:happened|been|let|sent|charged|reached)\b",
        negatable=False,
        needs=("should",),
    ),
    # --- explanation: what went wrong, and why ---------------------------------------------
    # An explanation says what caused the failure. Said outright: a causal link ("because",
    # "which meant", "..., so it missed the van") or a word about causes ("the reason", "what
    # went wrong", "it came down to"). Or told: past-tense narration of what a part of us (or a
    # partner) did or failed to do, with a subject that names it, "our florist took", "a
    # colleague sent", "the oil leaked", "the lock was faulty", "we had two instructors off
    # sick", "I didn't tick it". Harm told in the first person ("we sent you the wrong coat",
    # "we charged you twice") is the acknowledgement, not the why, and so is a remedy told in
    # the past ("our billing team refunded the difference").
    ComponentRule(
        "exp.meta",
        "explanation",
        r"\b(?:what happened|what went wrong|here'?s why|here is why|what caused|the cause|"
        r"the reason(?!s? for (?:this|my|our) (?:email|letter|message|call))|how (?:it|this|that) "
        r"happened|how this came about|to explain|an explanation|behind the scenes|the short "
        r"version|long story short|it turn(?:s|ed) out|turns out|we found (?:that|out)|"
        r"we traced|traced (?:it|this|the \w+) (?:back )?to|tracked (?:it |this |the \w+ )?down|"
        # "it came down to our fleet records", "it was down to a typo" (not "down to us")
        r"(?:came|comes|boiled|boils|was all|was|is|'s) down to (?!(?:us|me)\b|(?:our|my) (?:own )?"
        r"(?:mistake|fault|error|failure|carelessness)\b)|"
        r"the culprit|root cause|the (?:problem|trouble|fault|issue) (?:was|is|lay|lies|turned out)"
        r"(?! (?:\w+ed|being|been|ours|mine|on|with|my|our|now|fixed|resolved|solved)\b)|"
        r"where (?:it|things|we|this) went wrong)\b",
        negatable=False,
        needs=(
            "happened",
            "wrong",
            "why",
            "caus",
            "reason",
            "expla",
            "behind",
            "short",
            "story",
            "turn",
            "found",
            "traced",
            "tracked",
            "down",
            "culprit",
            "problem",
            "trouble",
            "fault",
            "issue",
        ),
    ),
    ComponentRule(
        "exp.because",
        "explanation",
        r"\b(?:because|as a result of|the result of|resulted from|caused by|came from|"
        r"stemmed from|due to|owing to|thanks to a|"
        # what follows from a cause: "..., which meant your order waited"
        r"(?:which|that|this|it) (?:meant|means|caused|led to|left (?:you|your|us))|"
        r"(?:which|that|this) is why|that's why|as a result)\b",
        negatable=False,
        needs=(
            "because",
            "result",
            "caused",
            "came",
            "stemmed",
            "due",
            "owing",
            "thanks",
            "meant",
            "means",
            "led",
            "left",
            "why",
        ),
    ),
    ComponentRule(
        "exp.so",
        "explanation",
        # "..., so it missed the van", "... and so the baker never saw it": what follows was the
        # result of the clause before, which is the cause. Not a remedy: "so we refunded you".
        # (The pattern starts with the word itself and looks back for the comma: a pattern
        # that starts with a literal is searched for quickly.)
        r"so(?:(?<=[,;]\sso)|(?<=[,;]\s\sso)|(?<=\sand\sso)|(?<=\s-\sso)) (?:(?:(?:the|a|an|our|"
        rf"your|his|her|their|every|each|one|both) (?:{_FREE} ){{0,2}}?[\w'-]+|it|that|this|they|"
        rf"he|she|everyone|everything|nobody|no one|nothing|none of (?:us|them)) (?:{_FREE} )?"
        rf"(?:had |was |were |got )?(?!{_REMEDY_VERB}\b){_PAST}|(?:we|i) (?:{_FREE} )?"
        rf"(?!{_REMEDY_VERB}\b|sent\b|shipped\b|delivered\b|decided\b){_PAST})\b",
        negatable=False,
        needs=("so",),
    ),
    ComponentRule(
        "exp.went-wrong",
        "explanation",
        r"\bwent wrong\b|\bhuman error\b|\b(?:a|an|the) (?:\w+ )?(?:error|mistake|fault|bug|"
        r"glitch|problem|typo|failure|mix-up|mixup|misprint|misunderstanding|miscommunication|"
        r"oversight) (?:in|with|on|at|between) (?:our|the|two) \w+|"
        # what happened, in other words: "here's what went on", "it slipped through the net"
        r"\bwhat went on\b|\b(?:slipped|fell) (?:through|between) (?:the )?(?:cracks|net|gaps?)\b",
        negatable=False,
        needs=(
            "wrong",
            "human",
            "error",
            "mistake",
            "fault",
            "bug",
            "glitch",
            "problem",
            "typo",
            "failure",
            "mix",
            "misprint",
            "misunderstanding",
            "miscommunication",
            "oversight",
            "went",
            "slipped",
            "fell",
        ),
    ),
    ComponentRule(
        "exp.ours-did",
        "explanation",
        # A part of us, told by "our" and whatever noun follows, doing or failing to do
        # something in the past: "our adviser copied the city", "our card terminal lost its
        # connection", "two of us took bookings", "our attendant should have switched them".
        # The word before the verb is the head noun: "our fee check ran", not "our fees rose".
        rf"\b(?:our|my|(?:one|two|three|some|both|all|each|several|a few) of (?:our|my|us)) "
        rf"(?:(?!{_REMEDY_VERB}\b){_FREE} ){{0,4}}?(?!{_NOT_OURS}\b|{_REMEDY_VERB}\b){_FREE}"
        rf"(?: (?:that|which|who))? "
        rf"(?:(?:was|were) \w+ing|(?:had |'d |was |were |got |should have |had been |was being )?"
        rf"(?!{_REMEDY_VERB}\b){_PAST})\b|"
        rf"\b(?:one|two|three|some|both|all|each|several|a few|neither|none) of us (?:had |'d |was "
        rf"|were )?(?!{_REMEDY_VERB}\b){_PAST}\b",
        negatable=False,
        needs=("our", "my", "us"),
    ),
    ComponentRule(
        "exp.agent-did",
        "explanation",
        # The same with a system, a record or a person named by what it is: "a colleague sent
        # the email", "the baker never saw it", "someone typed the wrong price".
        rf"\b(?:the|a|an|one|another|each|both|two|three|some|several|this|that|which|one of the|"
        rf"his|her|their|its) (?:{_FREE} ){{0,2}}?{_AGENT}(?: (?:that|which|who))?"
        rf"(?: {_FREE}){{0,3}}? "
        rf"(?:(?:was|were) \w+ing|(?:had |'d |was |were |got |should have |had been |was being )?"
        rf"(?!{_REMEDY_VERB}\b){_PAST})\b|"
        rf"\b(?:someone|somebody) (?:{_FREE} ){{0,3}}?(?:had |was |were )?{_PAST}\b",
        negatable=False,
    ),
    ComponentRule(
        "exp.mechanism",
        "explanation",
        # How a system or a process works, when that is the cause: "our date picker starts on
        # Monday", "the renewal process does not read call notes".
        rf"\b(?:a|an|the|our|one of our|two of our|his|her|their) (?:\w+ ){{0,2}}?{_MECHANISM}\b"
        rf"(?: (?!and\b|but\b|so\b|which\b)\w+){{0,4}}? {_DOES}\b",
        negatable=False,
    ),
    ComponentRule(
        "exp.failed",
        "explanation",
        # Verbs that are failures in themselves, said of anything but the customer's own
        # things: "the card with the ceremony on it failed", "the oil leaked out".
        r"\b(?:the|a|an|our|its|their|one|this|that|my|his|her) (?:(?!(?:and|but|or|so|then|which|"
        r"who|that|because|if|when|while|as|we|i|you|your|yours|has|have|will|would|can|could|is|"
        r"are)\b)[\w'-]+ ){0,6}?(?:failed|broke|crashed|froze|jammed|malfunctioned|overheated|"
        r"leaked|burst|tripped|expired|lapsed|timed out|cut out|gave (?:out|way)|"
        r"went (?:down|offline|off|out)|"
        r"stopped (?:working|responding|syncing|sending|printing|running|charging|updating)|"
        r"misfired|overflowed|collapsed|caught fire|short-circuited|corrupted|glitched|seized|"
        r"snapped|cracked|melted|spoiled|ran (?:out|dry|over)|stalled|dropped out|died)\b",
        negatable=False,
        needs=(
            "failed",
            "broke",
            "crashed",
            "froze",
            "jammed",
            "malfunction",
            "overheat",
            "leaked",
            "burst",
            "tripped",
            "expired",
            "lapsed",
            "timed",
            "cut",
            "gave",
            "went",
            "stopped",
            "misfired",
            "overflow",
            "collapsed",
            "caught",
            "circuit",
            "corrupt",
            "glitch",
            "seized",
            "snapped",
            "cracked",
            "melted",
            "spoiled",
            "ran",
            "stalled",
            "dropped",
            "died",
        ),
    ),
    ComponentRule(
        "exp.defect",
        "explanation",
        # Something of ours in a faulty state: "the lock on that row was faulty", "our stock
        # count was wrong", "the printer had been switched off". Damage ("broken") only of a
        # system or a tool: a broken vase is the harm, a broken scanner the cause.
        rf"\b(?:the|a|an|our|its|their|one|this|that|my) (?:{_FREE} ){{0,5}}?(?:was|were|had been"
        r"|'d been) (?:still |already |simply |actually |in fact |also |quietly )?(?:faulty|"
        r"misconfigured|mislabell?ed|misprinted|miscalibrated|out of date|outdated|out of stock|"
        r"blocked|jammed|stuck|unplugged|switched off|turned off|wrong|incorrect|inaccurate|"
        r"corrupt(?:ed)?|set (?:wrong|incorrectly|too \w+|to the wrong)|(?:in|on|under|at) the "
        r"wrong|not (?:updated|set|switched on|plugged in|connected|working|calibrated|saved|"
        r"recorded|checked|tested|fixed|repaired|renewed|cleared|logged|entered|marked|passed "
        r"on|on))\b|"
        rf"\b(?:the|a|an|our|its|their|one|this|that|my) (?:{_FREE} ){{0,2}}?{_AGENT}"
        rf"(?: {_FREE}){{0,3}}? (?:was|were|had been|'d been) (?:still |already )?(?:broken|"
        r"damaged|defective|loose|empty|full)\b",
        negatable=False,
        needs=("was", "were", "been"),
    ),
    ComponentRule(
        "exp.skipped",
        "explanation",
        # A step of the job left undone: "I didn't tick it", "we did not test it when it
        # arrived", "and then did not record it", "without checking", "instead of being logged".
        rf"\b(?:{_WE}(?:'d| had)?|and|but) (?:then |simply |just |also |still )?(?:didn't|did not|"
        r"never|hadn't|had not|forgot to|failed to|neglected to|omitted to) (?:\w+ )?(?:check|"
        r"test|confirm|update|record|copy|save|back up|enter|log|note|print|label|pack|read|"
        r"notice|spot|catch|see|compare|measure|tighten|lock|secure|close|clear|remove|renew|"
        r"pass|hand|switch|set|turn|tick|sign|review|approve|verify|validate|double-check|follow|"
        r"train|brief|flag|mark|assign|schedule|order|reorder|restock|store|clean|wash|service|"
        r"inspect|calibrate|charge|plug|upload|sync|link|attach|include|add|apply|realise|realize|"
        r"know|remember|ask|look|think|plan|cancel|stop|move|change)\w*\b|"
        r"\bwithout (?:first |properly |ever |even |anyone )?(?!charging|paying|costing|waiting|"
        r"delay|any\b)\w{3,}ing\b|"
        rf"\binstead of (?:being )?(?:{_REGULAR_PAST}|checking|testing|logging|recording)\b",
        negatable=False,
        needs=(
            "n't",
            "not",
            "never",
            "forgot",
            "failed",
            "neglected",
            "omitted",
            "without",
            "instead",
        ),
    ),
    ComponentRule(
        "exp.owned-failure",
        "explanation",
        # Slipped through, swapped, done at once: "it was simply missed", "the labels were
        # swapped", "two boxes were open at once".
        r"\b(?:it|this|that|they|which) (?:was|were|got) (?:simply )?(?:missed|skipped|"
        r"overlooked|forgotten|swapped|mixed up|switched|muddled|left out)\b|\b(?:were|was|got) "
        r"(?:swapped|mixed up|switched|muddled|confused)\b|"
        r"\b(?:at once|at the same time|side by side|got (?:mixed|swapped|split|lost|stuck|"
        r"muddled|switched))\b",
        negatable=False,
        needs=(
            "missed",
            "skipped",
            "overlooked",
            "forgotten",
            "swapped",
            "mixed",
            "switched",
            "muddled",
            "left",
            "confused",
            "once",
            "same",
            "side",
            "got",
        ),
    ),
    ComponentRule(
        "exp.lost-in",
        "explanation",
        r"\b(?:was|were|got) (?:lost|damaged|crushed|stolen|misrouted|held up) in (?:the post|"
        r"transit|the mail|our \w+|their \w+)\b|\bthe (?:person|colleague|member of staff|staff "
        r"member|agent|driver|picker|packer) (?:who|that) (?:\w+ ){1,3}?(?:didn't|did not|wasn't|"
        r"was not) \w+",
        negatable=False,
        needs=("lost", "damaged", "crushed", "stolen", "misrouted", "held", "n't", "not"),
    ),
    ComponentRule(
        "exp.partner",
        "explanation",
        rf"\b{_PARTNER}(?:'s)?(?: \w+){{0,3}}? {_PAST}\b",
        negatable=False,
        needs=PARTNER_WORDS,
    ),
    ComponentRule(
        "exp.passive",
        "explanation",
        # Done to something, with when, where or how it went wrong: "the digits were transposed
        # when the proof was retyped", "the lab was sent your old record instead of the new one".
        rf"\b(?:was|were|had been|'d been|got|is|are) (?:being |then |also |simply |wrongly |"
        rf"accidentally |never )?(?!{_REMEDY_VERB}\b|identified\b|investigated\b|handled\b)"
        rf"{_PARTICIPLE} (?:[\w'-]+ ){{0,4}}?(?:before|after|while|"
        # not "broken when it arrived": when it was found is not why
        r"when(?! (?:it|they|you) (?:arrived|came|got|reached|turned up|was delivered|were "
        r"delivered|opened))|"
        r"without|instead of|from the neighbouring|from the next|by mistake|in error|by "
        rf"accident|during|too early|too late|by hand|(?:at|in|by|by one of) our (?:[\w'-]+ )?"
        rf"{_AGENT})",
        negatable=False,
        needs=("was", "were", "been", "got", "is", "are"),
    ),
    ComponentRule(
        "exp.we-did",
        "explanation",
        rf"\b{_WE} (?:had )?(?:moved|switched|migrated|changed|updated|renewed|scheduled|"
        r"confirmed|entered|put|took on|reused|ran out|ran|misread|underestimated|packed|picked|"
        r"printed|loaded|copied|pushed|started|skipped|closed|logged|treated|applied|used|set "
        r"(?:it|them|the \w+)|sent (?:\w+ ){0,2}?to the wrong|hit|introduced|launched|rolled out|"
        r"forgot to|missed|mixed|linked|sorted|typed|pasted|booked|assigned|reassigned|released|"
        r"recently \w+ed|mixed up|left (?:it|them|the \w+) (?:too late|until|in|on|off|out))\b|"
        # The past perfect tells the story behind the harm: "we had let the same car out".
        rf"\b{_WE}(?:'d| had) (?:\w+ )?{_PARTICIPLE}\b|"
        # "... as the item was listed at an incorrect price"
        r", as (?:the|it|we|our|this|that) (?:\w+ ){0,2}?(?:was|were|had|did)\b",
        negatable=False,
        not_followed_by=r"(?:you|your)\b",
    ),
    ComponentRule(
        "exp.we-thought",
        "explanation",
        # A mistaken belief is a cause: "we assumed the courier would wait", "I thought your
        # appointment was on the 14th".
        rf"\b{_WE} (?:had |'d )?(?:wrongly |mistakenly |simply |just )?(?:assumed|thought|believed|"
        r"expected|misunderstood|misheard|mistook|confused|overlooked|relied on|trusted|took it "
        r"that|took for granted)\b|"
        rf"\b{_WE} (?:didn't|did not|hadn't|had not) (?:realise|realize|know|notice|see) (?:that|"
        r"the|your|our|it|how|there)\b",
        negatable=False,
        needs=(
            "assumed",
            "thought",
            "believed",
            "expected",
            "misunderstood",
            "misheard",
            "mistook",
            "confused",
            "overlooked",
            "relied",
            "trusted",
            "took",
            "n't",
            "not",
        ),
    ),
    ComponentRule(
        "exp.we-had",
        "explanation",
        # What we were short of, or what struck us: "we had two instructors off sick", "we had
        # a power cut at the bakery".
        rf"\b{_WE}(?:'d| had) (?:a|an|two|three|four|several|some|too many|too few|only one|"
        r"only two|no|not enough|nobody|no one|a lot of|lots of) (?:[\w'-]+ ){0,2}?(?:problem|"
        r"fault|failure|outage|leak|fire|flood|power cut|power failure|bug|glitch|mix-up|"
        r"breakdown|shortage|backlog|burst pipe|break-in|theft|accident|crash|storm|strike|"
        rf"sickness|illness|absence|stock|spares?|cover|{_OUR_PEOPLE}|staff)\b",
        negatable=False,
        needs=("had", "'d"),
    ),
    ComponentRule(
        "exp.nobody",
        "explanation",
        rf"\b(?:nobody|no one|no-one|none of us|neither of us|neither of them|not one of us) "
        rf"(?:\w+ ){{0,2}}?(?:{_PAST}|checked|noticed|caught|spotted|saw|told|tested|reviewed|"
        r"read|looked|flagged|realised|realized|updated|removed|compared|did)\b",
        negatable=False,
        needs=("nobody", "one", "none", "neither"),
    ),
    ComponentRule(
        "exp.during",
        "explanation",
        r"\bduring (?:a |an |the |our )?(?:\w+ ){0,2}?(?:upgrade|update|migration|maintenance|"
        r"deploy\w*|release|move|switch\w*|works?|rollout|changeover|stocktake|launch|testing|"
        r"run|import|sync|refit|clean-?up)\b|"
        rf"\b(?:was|were|had been|got) (?!{_REMEDY_VERB}\b|identified\b|investigated\b|"
        rf"handled\b)(?:\w+ )?{_PARTICIPLE} by (?:one of )?(?:our|my) (?:own )?(?:\w+ )?"
        r"(?:engineers?|staff|team|technicians?|developers?|drivers?|packers?|pickers?|colleagues?|agents?|"
        r"system|software)\b",
        negatable=False,
        needs=("during", "by"),
    ),
    ComponentRule(
        "exp.journey",
        "explanation",
        r"\b(?:it|they|your (?:order|parcel|package|item|box)|the (?:order|parcel|package|item|"
        r"box))(?: \w+)? (?:went|was sent|was put|was sorted|was packed|ended up|sat|stayed|was "
        r"left) (?:\w+ )?(?:into|in|to|through|out of|at|on) (?:our|the) \w+|"
        rf"\b{_WE} did (?:this|it|that) by \w+ing\b|"
        r"\b(?:error|mistake|fault|bug|glitch|problem) (?:occurred|happened|arose) (?:at|in|with|"
        r"on) (?:our|the) \w+",
        negatable=False,
        needs=(
            "went",
            "sent",
            "put",
            "sorted",
            "packed",
            "ended",
            "sat",
            "stayed",
            "left",
            "did",
            "occurred",
            "happened",
            "arose",
        ),
    ),
    ComponentRule(
        "exp.when",
        "explanation",
        rf"\b(?:when|after|while|once) (?:we|i|our \w+|the \w+) (?:\w+ )?{_PAST}\b",
        negatable=False,
        needs=("when", "after", "while", "once"),
    ),
    ComponentRule(
        "exp.excuse",
        "explanation",
        # An excuse still says why (the deflection hedge reports the excusing): "we've been
        # incredibly busy and our inbox has been overflowing".
        r"\b(?:busiest|(?:incredibly|extremely|very|really|so|exceptionally) busy|short[- ]staffed|"
        r"understaffed|stretched|overwhelmed|swamped|snowed under|inundated|overflowing)\b",
        negatable=False,
        needs=(
            "busiest",
            "busy",
            "staffed",
            "stretched",
            "overwhelmed",
            "swamped",
            "snowed",
            "inundated",
            "overflowing",
        ),
    ),
    # --- repair: a committed offer ------------------------------------------------------------
    ComponentRule(
        "rep.refund",
        "repair",
        r"\b(?:refund(?:s|ed|ing)?|reimburs\w*|money back|money's back|money is back|repaid|"
        r"repay|pay (?:you )?back|paid back|compensat\w*)\b",
        uncommitted=True,
        needs=("refund", "reimburs", "money", "repa", "pay", "paid", "compensat"),
    ),
    ComponentRule(
        "rep.back-to-you",
        "repair",
        r"\b(?:returned|went back|is back|are back|gone back|back) (?:to|on|in|into) your "
        r"(?:card|account|bank)\b|"
        # "paid it into your pension", "transferred £40 to your account"
        r"\b(?:paid|put|transferred|credited|sent|added) (?:\S+ ){0,3}?(?:into|to|onto) your "
        r"(?:card|account|bank|pension|wallet|balance|savings)\b|"
        r"\bon (?:its|their) way back to you\b|\b(?:sent|paid|gone|going|went) back to you\b",
        uncommitted=True,
        needs=("back", "returned", "your"),
    ),
    ComponentRule(
        "rep.credit",
        "repair",
        r"\bcredit(?:ed|s)?\b(?! card)|\bvoucher\b|\bgift card\b|\bcoupon\b|\bdiscount\b|"
        r"\b\d{1,3}% off\b|\b(?:with|use|using) (?:the )?code [a-z]*\d[a-z0-9]*\b|"
        r"\b(?:taken|take|taking|knocked|knock|knocking) (?:\S+ )?off\b",
        uncommitted=True,
        needs=("credit", "voucher", "gift", "coupon", "discount", "off", "code"),
    ),
    ComponentRule(
        "rep.replace",
        "repair",
        r"\b(?:replacements?|replac(?:e|ed|ing) (?:it|them|your|the)|new one|new pair|"
        r"(?:right|correct) (?:one|pair|size|item|colou?r|version|order)|swap(?:ped)? (?:it|them|"
        r"your)|exchange (?:it|them|your)|another (?:one|pair|box|set|copy|bouquet|cake|parcel)|"
        r"a fresh (?:one|\w+ is on its way|set|batch|box))\b",
        uncommitted=True,
        needs=("replac", "new", "right", "correct", "swap", "exchange", "another", "fresh"),
    ),
    ComponentRule(
        "rep.resend",
        "repair",
        r"\b(?:re-?sen[dt]|re-?ship(?:ped|ping)?|sen[dt] (?:it|them|your \w+|the \w+) (?:out )?"
        r"again|sent it out again|ship(?:ped|ping)? (?:it|them) again|ships? (?:free|today|"
        r"tomorrow)|(?:re-?dispatched|dispatched (?:today|this morning|again|by (?:next-day|"
        r"express|courier|tracked))))\b|"
        r"\b(?:we|i)(?:'ll| will|'ve| have|'re| are)? (?:now )?(?:send|sending|sent) (?:you )?"
        r"(?:a |an |some )?(?:new|replacement|fresh|digital|e-\w+|another)\b",
        uncommitted=True,
        needs=("sen", "ship", "dispatch"),
    ),
    ComponentRule(
        "rep.free",
        "repair",
        r"(?<![-\w])(?<!feel\s)free\b(?! to\b)|\bat no (?:extra |additional )?(?:cost|charge)\b|"
        r"\bno (?:[\w-]+ )?(?:charge|fee|copay|co-pay)s?\b|\bat our (?:expense|cost)\b|"
        r"\bon the house\b|\bcomplimentary\b|\bwaive[ds]?\b|"
        # "we'll pay for the new mirror", "I'll settle it", "we've covered the taxi fare"
        r"\b(?:we|i)(?:'ll| will|'d| would|'ve| have)? (?:also )?(?:(?:cover|pay for|pick up|"
        r"settle|covered|paid for|settled) (?:the|your|any|all|it|its|their|every|both|this|that|"
        r"them)\b|(?:cover|pay for|pick up|covered|paid) (?:\w+ ){0,3}?(?:cost|costs|bill|fare|"
        r"fares|fee|fees|charges?|postage|shipping)\b)|"
        rf"\b(?:{_ON_US}|next \w+)(?: \w+){{0,2}}? (?:is |are |'s )?on (?:us|me)\b|"
        r"\bas our guests?\b",
        uncommitted=True,
        needs=(
            "free",
            "cost",
            "charge",
            "expense",
            "house",
            "complimentary",
            "waive",
            "cover",
            "pay",
            "paid",
            "settle",
            "pick",
            "fee",
            "us",
            "me",
            "guest",
        ),
    ),
    ComponentRule(
        "rep.honour",
        "repair",
        r"\bhonou?r(?:ed|ing)? (?:your|the|all|every|it|them|this|that)\b|"
        r"\b(?:order|orders|price|booking|purchase)s? stands?\b|\bat the price (?:you|they) paid\b|"
        r"\bkeep (?:it|them|the \w+|the other)\b",
        uncommitted=True,
        needs=("honor", "honour", "stand", "price", "keep"),
    ),
    ComponentRule(
        "rep.upgrade",
        "repair",
        r"\bupgrad(?:e|ed|ing) (?:you|your)\b|\b(?:added|adding|add|put|popped) (?:a |an )?"
        r"(?:free |extra )?(?:\w+ )?(?:month|week|day|year)s?\b|\bextend(?:ed|ing)? your "
        r"(?:subscription|plan|trial|membership|warranty)\b",
        uncommitted=True,
        needs=("upgrad", "month", "week", "day", "year", "extend"),
    ),
    ComponentRule(
        "rep.reverse",
        "repair",
        r"\b(?:revers(?:e|ed|ing)|cancel(?:l?ed|l?ing)?|remov(?:e|ed|ing)|void(?:ed)?) (?:the |"
        r"that |this |your |any |each |every |both )?(?:\S+ )?(?:charge|payment|fee|debit|"
        r"transaction|invoice|late fee)s?\b|\b(?:charges?|payments?|fees?|debits?) (?:has |have "
        r")?been (?:reversed|cancelled|canceled|refunded|removed|voided|waived|returned)\b",
        uncommitted=True,
        needs=("revers", "cancel", "remov", "void", "been"),
    ),
    ComponentRule(
        "rep.restore",
        "repair",
        # Not "restored the service": ending the outage is not a remedy for it.
        r"\brestor(?:e|ed|ing) (?:\w+ ){0,3}?(?:notes|data|files|account|access|photos|"
        r"messages|emails|orders?)\b|\b(?:moved|rebooked|rescheduled) your (?:booking|order|"
        r"appointment|reservation|session|delivery|flight)\b|"
        r"\b(?:moved|rebooked|booked|put) you (?:in|into|onto|on|to|for) (?:an? |the )?(?:\w+ )?"
        r"(?:slot|appointment|session|class|flight|room|table|seat|delivery|visit|day)\b",
        uncommitted=True,
        needs=("restor", "moved", "rebooked", "rescheduled", "booked", "put"),
    ),
    ComponentRule(
        "rep.stop-harm",
        "repair",
        r"\b(?:removed|taken|deleted) (?:you|your (?:address|details|email|name|data|number))"
        r"(?: \w+){0,3}? (?:from|off)\b|\boff (?:every|all|our) (?:\w+ )?lists?\b|"
        r"\bunsubscribed you\b|\bwon't (?:hear from us|be charged|charge you)\b|"
        r"\bwill not be charged\b|\bclosed the return\b",
        negatable=False,
        needs=("removed", "taken", "deleted", "off", "unsubscribed", "won't", "not", "closed"),
    ),
    ComponentRule(
        "rep.contain",
        "repair",
        r"\basked (?:\w+ ){0,3}?(?:to delete|to destroy|to return|to remove)\b",
        needs=("asked",),
    ),
    ComponentRule(
        "rep.make-right",
        "repair",
        r"\b(?:make|making|put|putting|set|setting) (?:it|this|that|things|everything) right\b|"
        r"\bmake (?:it|this|that) up to you\b|\bmake amends\b|\bmake good\b",
        uncommitted=True,
        needs=("right", "up", "amends", "good"),
    ),
    ComponentRule(
        "rep.will-do",
        "repair",
        rf"\b{_WE}(?:'ll| will|'d like to|'d love to|'re going to| am going to| are going to) "
        r"(?:\w+ ){0,2}?(?:reimburse|refund|replace|redo|remake|repair|reprint|collect|swap|"
        r"exchange|waive|host|rebook|reship|re-send|resend|re-do|fix it|fix this)\b",
        uncommitted=True,
    ),
    # --- prevention: the concrete step taken ------------------------------------------------
    ComponentRule(
        "prv.we-changed",
        "prevention",
        # Perfect tense or "now": "we changed our supplier" is a story, "we've changed" a step.
        rf"\b(?:{_WE}(?:'ve| have)|{_WE} now) (?:now |since |also |already |just |immediately )?"
        r"(?:added|changed|"
        r"fixed|introduced|built|put in place|put in|set up|rewritten|rewrote|retrained|trained|"
        r"hired|switched|installed|patched|turned on|automated|created|doubled|tightened|"
        r"reworked|rebuilt|redesigned|rolled back|locked down|blocked|stopped|replaced|moved|"
        r"brought in|appointed|made it)\b",
        not_followed_by=r"(?:\S+ ){0,3}?(?:you|your|credit|refund|voucher|months?|weeks?|days?|"
        r"free|discount)\b|(?:a|an) (?:free|extra)\b",
        needs=(
            "added",
            "changed",
            "fixed",
            "introduced",
            "built",
            "put",
            "set",
            "rewr",
            "trained",
            "hired",
            "switched",
            "installed",
            "patched",
            "turned",
            "automated",
            "created",
            "doubled",
            "tightened",
            "reworked",
            "rebuilt",
            "redesigned",
            "rolled",
            "locked",
            "blocked",
            "stopped",
            "replaced",
            "moved",
            "brought",
            "appointed",
            "made",
        ),
    ),
    ComponentRule(
        "prv.now",
        "prevention",
        rf"\b(?:from now on|from today|going forward|henceforth|in future|in the future|from here "
        r"on|since then|from (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|next \w+|"
        rf"this \w+)),? (?!that\b)(?:\w+ ){{0,6}}?(?:{_STEP}|has|have|(?:is|are|will be|gets?) "
        rf"{_PARTICIPLE})\b|"
        # what we now do as a habit: "from today, I shoot every wedding on two cards"
        r"\b(?:from now on|from today|going forward|in future|in the future|from here on),? "
        rf"{_WE} (?:always |now |also |personally )?(?!will\b|would\b|can\b|could\b|may\b|"
        r"might\b|hope\b|try\b|aim\b|want\b|plan\b|intend\b|promise\b|am\b|shall\b|must\b|do\b|"
        r"strive\b|endeavou?r\b|need\b|think\b|believe\b|recommend\b|suggest\b|ask\b|are\b|"
        r"were\b|[a-z]+n't\b)[a-z]+\b|"
        # "any price agreed on a call must now be entered on the record"
        r"\bmust now (?:be )?\w+|\bnow (?:has|have|needs?) to\b|"
        # Bare "now" only right before the verb: "now requires", not "now expected to be".
        rf"\bnow (?:also |always |automatically )?{_STEP}\b|"
        r"\bnow (?:come|comes|go|goes|run|runs|pass|passes) (?:from|through|before|after|only|"
        r"automatically|straight|directly|via)\b",
        needs=("now", "forward", "henceforth", "future", "here", "since", "from"),
    ),
    ComponentRule(
        "prv.every-now",
        "prevention",
        r"(?:\b(?:every|each|all|any|no) (?:\w+ ){1,3}?|"
        rf"\b(?:our|the) (?:\w+ ){{0,2}}?{_MECHANISM} )"
        rf"(?:is |are |will |will be |can )?now (?:\w+ )?(?:\w+s|{_PARTICIPLE})\b|"
        # "... are now sent only from our booking system"
        r"\b(?:is|are) now (?:only )?(?!expected|scheduled|booked|confirmed|delayed|cancell?ed|"
        rf"refunded|shipped|dispatched|delivered|closed|resolved|fixed|restored){_PARTICIPLE} "
        r"(?:only |always |automatically |directly |straight |separately )?(?:by|from|through|"
        r"with|before|against|twice|separately|per|on)\b|"
        # "now" earlier in the clause: "when an account is closed now, our system removes ..."
        rf"\bnow\b[^.!?;]{{0,60}}?\b(?:our|the) (?:\w+ ){{0,2}}?{_MECHANISM} (?:also )?{_STEP}\b",
        needs=("now",),
    ),
    ComponentRule(
        "prv.now-every",
        "prevention",
        # "now" and a word of routine in one sentence: "packing lists now print every note".
        r"\bnow\b(?! on its way| on their way| that\b)[^.!?]{0,80}?\b(?:every|each|always|"
        r"automatically|both)\b|"
        # a rule with its condition: "a visit now stays assigned ... until the new sitter accepts"
        r"\bnow (?!expected\b|due\b|scheduled\b|booked\b|arrives\b|ships\b)\w+s\b[^.!?;]{0,60}?"
        r"\b(?:until|unless|whenever|as soon as)\b|"
        r"\b(?:every|each|always|automatically|both)\b[^.!?]{0,80}?\bnow "
        r"(?!on\b|expected\b|due\b)\w+",
        needs=("now",),
    ),
    ComponentRule(
        "prv.second-check",
        "prevention",
        r"\b(?:a|an) (?:second|extra|additional|new|automatic|automated|daily|hourly|weekly|"
        r"nightly|monthly|independent|separate|full) (?:\w+ )?(?:check|checks|person|review|"
        r"reviewer|test|tests|alert|alarm|step|sign-off|approval|pair of eyes|safeguard|limit|cap|"
        r"rehearsal|reminder|register|monitor|monitoring)\b|\bsigning it off\b|\bsigned off by\b",
        needs=(
            "second",
            "extra",
            "additional",
            "new",
            "automatic",
            "automated",
            "daily",
            "hourly",
            "weekly",
            "nightly",
            "monthly",
            "independent",
            "separate",
            "full",
            "signing",
            "signed",
        ),
    ),
    ComponentRule(
        "prv.no-longer",
        "prevention",
        r"\b(?:can|will|could) no longer\b|\bno longer (?:possible|able)\b|"
        r"\b(?:no|nothing) \w+ (?:is|are|can be|will be|gets?) (?:\w+ )?(?:until|unless|without)\b|"
        r"\bcan only be \w+ once\b|"
        # a rule for every case to come: "any future switch will be done with ... turned off"
        r"\b(?:any|every|all|each) (?:future|new|later) \w+ (?:will|must|is going to|are going to|"
        r"shall) (?:now |always |only |first )?(?:be )?\w+",
        negatable=False,
        needs=("longer", "until", "unless", "without", "once", "future", "new", "later"),
    ),
    ComponentRule(
        "prv.what-changed",
        "prevention",
        # Not "to prevent this" alone: without the step it says nothing ("taking steps to ...").
        rf"\bwhat {_WE_HAVE} changed\b|\bthe fix\b|\bhere'?s what (?:we|i) changed\b",
        needs=("changed", "fix"),
    ),
    # --- forgiveness: asking for it (never required) ---------------------------------------
    ComponentRule(
        "fgv.forgive",
        "forgiveness",
        r"\bforgive (?:me|us)\b|\bforgiveness\b|\bpardon (?:me|us)\b|\b(?:another|a second) "
        r"chance\b|\b(?:earn|win) back your (?:trust|confidence)\b|\bregain your trust\b",
        needs=("forgive", "pardon", "chance", "trust", "confidence"),
    ),
    # --- contact: a way to reach a person ----------------------------------------------------
    ComponentRule(
        "con.email",
        "contact",
        r"(?<![\w.+-])(?!(?:no-?reply|do-?not-?reply)@)[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
        needs=("@",),
    ),
    ComponentRule(
        "con.phone",
        "contact",
        r"(?<![\w.])\+?\(?\d{1,4}\)?[ .-]?\d{2,4}[ .-]?\d{3,4}(?:[ .-]?\d{2,4})?(?!\w|\.\d)",
    ),
    ComponentRule(
        "con.reply",
        "contact",
        r"\b(?:reply|respond|write back)(?! \W?stop\b)(?: to (?:this|me|us|it|the email|any))?\b|"
        r"\bhit reply\b",
        needs=("reply", "respond", "write"),
    ),
    ComponentRule(
        "con.reach",
        "contact",
        r"\b(?:call|ring|phone|text|email|e-mail|write to|message|contact|reach|find|dm) (?:me|us)"
        r"\b|\bdrop (?:me|us) a line\b|\bask for me\b|\bcall or text\b",
        needs=(
            "call",
            "ring",
            "phone",
            "text",
            "mail",
            "write",
            "message",
            "contact",
            "reach",
            "find",
            "drop",
            "ask",
            "dm",
        ),
    ),
    ComponentRule(
        "con.direct",
        "contact",
        r"\bmy (?:direct |personal |own )?(?:number|line|mobile|cell|phone|email|inbox|extension|"
        r"desk)\b|\bdirect line\b|\bcomes? (?:straight |directly )?to me\b|"
        r"\b(?:lands|goes) (?:straight )?(?:in|to) my inbox\b",
        needs=("my", "direct", "me"),
    ),
)

# "... any inconvenience this may have caused": one finding, not two.
_MAY_CAUSE = r"(?: (?:this|that|it|which) (?:may|might|could|will) (?:have )?(?:caused|cause))?"

_HEDGE_RULES: tuple[HedgeRule, ...] = (
    # --- vague harm ----------------------------------------------------------------------------
    HedgeRule(
        "vague.sorry-for-any",
        "vague-harm",
        r"\b(?:sorry|apologi[sz]e[sd]?|apologies|apology|regret) (?:\w+ ){0,2}?(?:for|about) "
        rf"any(?: \w+)?{_MAY_CAUSE}",
        "name what you are sorry for, not 'any ...'",
        needs=("any",),
    ),
    HedgeRule(
        "vague.any-harm",
        "vague-harm",
        r"\b(?:for|about|regret|of|to) any (?:\w+ )?(?:inconvenience|confusion|frustration|"
        r"trouble|disappointment|issues?|problems?|distress|upset|harm|difficult(?:y|ies)|"
        rf"disruption|stress|worry|annoyance|hassle|discomfort|concerns?)\b{_MAY_CAUSE}",
        "name the actual harm instead of 'any ...'",
        needs=("any",),
    ),
    HedgeRule(
        "vague.caused-any",
        "vague-harm",
        r"\b(?:caused|cause|causing) (?:you )?any (?:\w+ )?(?:inconvenience|confusion|frustration|"
        r"trouble|disappointment|distress|upset|harm|difficult(?:y|ies)|disruption|stress|worry|"
        r"annoyance|hassle|concerns?)\b",
        "name the actual harm instead of 'any ...'",
        needs=("any",),
    ),
    HedgeRule(
        "vague.inconvenience",
        "vague-harm",
        r"(?<!more\sthan\s)(?<!more\sthan\san\s)(?<!more\sthan\sjust\s)(?<!more\sthan\sjust\san\s)"
        r"\b(?:the|this|that|an?|all the|some|any|such|the slight) inconvenience\b|"
        r"\binconvenienc(?:ed|ing)\b",
        "name the actual harm: 'inconvenience' shrinks it",
        needs=("inconvenienc",),
    ),
    # --- conditional ---------------------------------------------------------------------------
    HedgeRule(
        "cond.sorry-if",
        "conditional",
        r"\b(?:(?:we|i)(?:'re| are|'m| am)? (?:so |very |truly |deeply |sincerely |really )?)?"
        r"(?:sorry|apologi[sz]e|apologies|regret it)(?: (?:so|very|truly|deeply|sincerely|really"
        r"))?,? if\b",
        "apologise without 'if': say what happened",
        needs=("if",),
    ),
    HedgeRule(
        "cond.if-affected",
        "conditional",
        r"\bif (?:you|anyone|any(?: of our)? customers?|some(?: of our)? customers?|some of you|"
        r"this|that|it|the \w+|your \w+)(?: \w+)? (?:were|was|have been|has been|'ve been|felt|"
        r"got|may have been|might have been|caused|has caused|have caused|were left) (?:\w+ )?"
        r"(?:affected|impacted|inconvenienced|confused|upset|frustrated|offended|disappointed|"
        r"hurt|let down|misled|unhappy|worried|distressed|harm|trouble|inconvenience|difficulty|"
        r"offence|offense|concern|any)\b",
        "say who was affected and how; don't make it conditional",
        # "If you were affected and haven't heard from us, write to ...": who should write in.
        excused_by="contact",
        needs=("if",),
    ),
    HedgeRule(
        "cond.if-you-felt",
        "conditional",
        r"\bif (?:you|anyone|any customers?|some customers?) (?:felt|thought|found)\b|"
        r"\bif (?:you|anyone) feel (?!like\b)(?:\w+ ){0,2}?(?:misled|let down|upset|"
        r"disappointed|frustrated|that|we|our|this)\b",
        "don't question their feelings; say what you did",
        needs=("if",),
    ),
    HedgeRule(
        "cond.if-we",
        "conditional",
        rf"\bif {_WE} (?:have |'ve |did |may have |might have )?(?:made|got|caused|let|fell|"
        r"messed|upset|offended|disappointed|misled|failed|inconvenienced)\b",
        "own it without 'if': you did make the mistake",
        needs=("if",),
    ),
    HedgeRule(
        "cond.to-anyone",
        "conditional",
        r"\b(?:to|for) (?:anyone|any customers?|any of you|those) (?:who|that) (?:was|were|"
        r"may|might|felt|feels?|has been|have been|experienced|found|had)\b|"
        r"\b(?:to|for) (?:those|anyone|any customers?) (?:affected|impacted|inconvenienced)\b",
        "speak to the customer directly",
        needs=("any", "those"),
    ),
    HedgeRule(
        "cond.extent",
        "conditional",
        r"\bto the extent (?:that )?\w+|\bin (?:the event|case) (?:that )?(?:you|anyone) "
        r"(?:were|was|have been|felt)\b",
        "apologise without conditions",
        needs=("extent", "event", "case"),
    ),
    HedgeRule(
        "cond.may-have",
        "conditional",
        r"\b(?:may|might) (?:have )?(?:been )?(?:affected|impacted|inconvenienced|"
        r"caused|experienced|been charged)\b|"
        rf"\b{_WE} (?:may|might) have (?:made|got|caused|sent|charged|overcharged|missed|lost)\b",
        "state what happened, not what may have",
        needs=("may", "might"),
    ),
    # --- passive, agentless --------------------------------------------------------------------
    HedgeRule(
        "passive.were-made",
        "passive",
        r"\b(?:mistakes?|errors?|oversights?|misjudge?ments?|errors of judge?ment) (?:were|was|"
        r"have been|has been|had been|are|is) (?:\w+ )?(?:made|committed)\b",
        "say who made it: 'we made a mistake'",
        # The passive hides who, not what: "an error occurred in our warehouse" still explains.
        blocks=("acknowledgement", "regret"),
        needs=("made", "committed"),
    ),
    HedgeRule(
        "passive.occurred",
        "passive",
        r"\b(?:an?|some|the) (?:\w+ )?(?:error|mistake|issue|problem|incident|glitch|fault|"
        r"oversight) (?:has |have |had )?(?:occurred|arose|arisen|took place)\b",
        "say who did what: 'we ...'",
        blocks=("acknowledgement", "regret"),
        needs=("occurred", "arose", "arisen", "place"),
    ),
    HedgeRule(
        "passive.was-done",
        "passive",
        r"\b(?:an? |the )?(?:incorrect|wrong|erroneous|duplicate|mistaken) (?:\w+ ){0,2}?(?:was|"
        r"were|has been|had been) (?:\w+ )?(?:debited|charged|taken|applied|sent|issued|"
        r"processed|entered|listed|shown|displayed)\b|\b(?:matter|issue|error|problem|incident) "
        r"(?:was|were|has|have) (?:now |since |quickly )?(?:been )?(?:identified and )?"
        r"(?:rectified|resolved|corrected|addressed|fixed|dealt with)\b",
        "say who did what: 'we charged you ...', 'we fixed ...'",
        blocks=("acknowledgement", "regret"),
        needs=(
            "debited",
            "charged",
            "taken",
            "applied",
            "sent",
            "issued",
            "processed",
            "entered",
            "listed",
            "shown",
            "displayed",
            "rectified",
            "resolved",
            "corrected",
            "addressed",
            "fixed",
            "dealt",
        ),
    ),
    HedgeRule(
        "passive.found-that",
        "passive",
        r"\bit (?:was|has been|had been) (?:found|noted|identified|discovered|determined|"
        r"established) that\b|\b(?:an? |the )?(?:overcharge|discrepancy|error|mistake) (?:of \S+ )?"
        r"(?:was|were|has been|had been) (?:\w+ )?(?:applied|made|charged|debited|found)\b|"
        r"\b(?:steps|action|measures|an investigation|investigations) (?:were|was|have been|has "
        r"been) (?:\w+ )?(?:taken|launched|initiated|begun|opened)\b|\b(?:was|were) (?:listed|"
        r"shown|priced|displayed|advertised) at (?:an? )?(?:incorrect|wrong)\b",
        "say who did what: 'we ...'",
        blocks=("acknowledgement", "regret"),
        needs=(
            "found",
            "noted",
            "identified",
            "discovered",
            "determined",
            "established",
            "overcharge",
            "discrepancy",
            "error",
            "mistake",
            "taken",
            "launched",
            "initiated",
            "begun",
            "opened",
            "incorrect",
            "wrong",
        ),
    ),
    HedgeRule(
        "passive.regretted",
        "passive",
        r"\bit is regretted\b|\bapologies are (?:offered|extended|given)\b",
        "say 'I'm sorry', in the first person",
        needs=("regretted", "apologies"),
    ),
    # --- deflection ----------------------------------------------------------------------------
    HedgeRule(
        "deflect.control",
        "deflection",
        r"\b(?:(?:due to|because of|owing to) (?:\w+ ){0,2}?)?(?:beyond|outside|out of) (?:our|my|"
        r"anyone's|everyone's) (?:\w+ )?(?:control|hands)\b",
        "own it, even if something outside you was involved",
        needs=("control", "hands"),
    ),
    HedgeRule(
        "deflect.circumstances",
        "deflection",
        # "Due to unforeseen circumstances" explains nothing, so its "due to" goes with it; "a
        # high volume of claims" does say why, so it still counts as the explanation.
        r"\b(?:(?:due to|because of|owing to) (?:a |an |the |some )?)?(?:unforeseen|unavoidable|"
        r"unexpected|exceptional|extraordinary|unusual|unprecedented) (?:circumstances|events|"
        r"demand|volumes?|conditions)\b|\b(?:high|heavy|large|increased|higher than (?:usual|"
        r"expected|normal)) (?:volumes?|demand|numbers)(?: of \w+)?\b",
        "say what actually happened",
        needs=("circumstances", "events", "demand", "volume", "conditions", "numbers"),
    ),
    HedgeRule(
        "deflect.inevitable",
        "deflection",
        r"\b(?:cannot|can't|could not|couldn't|can never) (?:always |reasonably |possibly )?"
        r"(?:be )?(?:anticipated|foreseen|predicted|prevented|avoided)\b|"
        r"\b(?:unavoidable|inevitable)\b|\bno way of (?:knowing|telling|predicting)\b|"
        r"\b(?:could not|couldn't) have (?:known|foreseen|predicted)\b|\bnot something (?:that )?"
        r"(?:we|anyone) (?:are|is) able to (?:guarantee|control|prevent)\b|\b(?:not|isn't) "
        r"something (?:that )?we can (?:guarantee|control|prevent)\b",
        "say what you could have done, and what you now do",
        needs=(
            "anticipated",
            "foreseen",
            "predicted",
            "prevented",
            "avoided",
            "unavoidable",
            "inevitable",
            "knowing",
            "telling",
            "predicting",
            "known",
            "guarantee",
            "control",
            "prevent",
        ),
    ),
    HedgeRule(
        "deflect.busy",
        "deflection",
        r"\b(?:our )?busiest (?:time|month|week|period|season|day)\b|\b(?:incredibly|extremely|"
        r"very|really|so|exceptionally) busy\b|\bshort[- ]staffed\b|\bunderstaffed\b|"
        r"\b(?:swamped|snowed under|inundated|overwhelmed|run off our feet)\b|\bdoing "
        r"(?:their|our|his|her) (?:very )?best\b",
        "how busy you were is not the customer's problem: say what went wrong and what you do",
        # The excuse still says why; it is the excusing that fails the check.
        blocks=("acknowledgement", "regret"),
        needs=(
            "busiest",
            "busy",
            "staffed",
            "best",
            "swamped",
            "snowed",
            "inundated",
            "overwhelmed",
            "feet",
        ),
    ),
    HedgeRule(
        "deflect.technical",
        "deflection",
        r"\b(?:due to|because of|owing to) (?:a |an |some |ongoing |recent )?(?:technical|"
        r"operational|logistical|system|internal|network|it) (?:issues?|difficult(?:y|ies)|"
        r"problems?|reasons|errors?|glitch(?:es)?|matters|challenges)\b",
        "say what actually went wrong",
        needs=("due", "because", "owing"),
    ),
    HedgeRule(
        "deflect.not-our-fault",
        "deflection",
        r"(?:\bnot|n't|\bnever) (?:\w+ )?(?:our|my) (?:fault|mistake|doing|responsibility|error)\b|"
        r"\bno fault of (?:our|my) own\b|\bthrough no fault of (?:ours|mine|our own)\b|"
        r"\b(?:nobody|no one|no-one)'?s fault\b|\b(?:nobody|no one|no-one) (?:is|was) to blame\b|"
        rf"\b{_WE} (?:did|have done|'ve done) nothing wrong\b",
        "own it; the customer doesn't care whose fault it was",
        needs=("fault", "mistake", "doing", "responsibility", "error", "blame", "wrong"),
    ),
    HedgeRule(
        "deflect.not-responsible",
        "deflection",
        rf"\b{_WE_ARE} not (?:\w+ )?(?:responsible|to blame|at fault|liable|accountable)\b|"
        rf"\b{_WE} (?:can't|cannot|can not) be (?:held )?(?:responsible|liable|blamed)\b",
        "own it",
        needs=("not", "can't", "cannot"),
    ),
    HedgeRule(
        "deflect.blame-lies",
        "deflection",
        r"\b(?:blame|fault|responsibility) (?:lies|lay|rests|rested|sits|sat) (?:\w+ )?with "
        r"(?!us\b|me\b)\w+",
        "own it",
        needs=("blame", "fault", "responsibility"),
    ),
    HedgeRule(
        "deflect.let-down-by",
        "deflection",
        rf"\b{_WE} (?:were|was|have been|'ve been) let down by\b",
        "own it: the customer chose you",
        needs=("let",),
    ),
    # --- blaming a partner, or the customer ---------------------------------------------------
    HedgeRule(
        "partner.fault",
        "blame-partner",
        rf"\b(?:the|our|a|an|their|your) {_PARTNER}(?:'s)? (?:\w+ )?(?:fault|mistake|error|"
        r"failure)\b",
        "don't blame a partner: the customer chose you, so own it",
        excused_by="acknowledgement",
        needs=("fault", "mistake", "error", "failure"),
    ),
    HedgeRule(
        "partner.did",
        "blame-partner",
        # Anything a partner did, told as the story of the failure, when nothing owns it.
        rf"\b{_PARTNER}(?:'s)?(?: \w+){{0,3}}? (?!couldn't|could not)(?:{_PAST}|let (?:us|you) "
        r"down|messed up|is to blame|was to blame|is responsible|was responsible|had an? (?:\w+ )?"
        r"(?:outage|problem|issue|error|glitch|failure|delay))\b|"
        rf"\b(?:the post|{_PARTNER}) (?:is|are|was|were|has been) (?:just |really |so |very |"
        r"notoriously )*(?:unreliable|slow|terrible|hopeless|a nightmare|to blame|responsible)\b",
        "don't blame a partner: the customer chose you, so own it",
        # What a partner did is an explanation once the message owns the failure.
        excused_by="acknowledgement",
        excused_in="message",
        needs=PARTNER_WORDS,
    ),
    HedgeRule(
        "customer.should-have",
        "blame-customer",
        r"\byou (?:should have|should've|ought to have) (?!been\b|received\b|got\b|gotten\b|"
        r"had\b|heard\b|seen\b|expected\b)\w+|"
        r"\byou (?:failed to|forgot to|neglected to)\b|\byou (?:didn't|did not) (?:read|check|"
        r"follow|enter|provide)\b|\byou (?:entered|typed|chose|selected|gave us|provided) "
        r"(?:\w+ ){0,2}?(?:wrong|incorrect|invalid)\b",
        "don't blame the customer: say what didn't match, then what you can do",
    ),
    HedgeRule(
        "customer.gave-us",
        "blame-customer",
        r"\b(?:address|details|information|postcode|number|name|size|date|email) you (?:gave us|"
        r"provided|entered|typed|chose|selected|supplied) (?:was|were) (?:missing|wrong|"
        r"incorrect|invalid|incomplete)\b",
        "say what didn't match, not who got it wrong",
        needs=("you",),
    ),
    HedgeRule(
        "customer.your-fault",
        "blame-customer",
        r"(?<!not\s)(?<!n't\s)\b(?:your|the customer's) (?:own )?(?:mistake|fault|error|"
        r"oversight)\b|\b(?:mistake|fault|error) (?:was|is|lies) (?:\w+ )?(?:yours|with you|on you)"
        r"\b",
        "don't blame the customer",
        needs=("mistake", "fault", "error", "oversight"),
    ),
    # --- minimising ----------------------------------------------------------------------------
    HedgeRule(
        "minimise.small",
        "minimising",
        r"\b(?:tiny|little|small|minor|slight|wee|teeny|brief|short|temporary|momentary) "
        r"(?:\w+ )?(?:hiccups?|glitch(?:es)?|blips?|snags?|mix-ups?|issues?|problems?|errors?|"
        r"delays?|inconvenience|oversights?|bumps?|hitch(?:es)?|mistakes?|outages?|"
        r"interruptions?|disruptions?|wobbles?|slip-ups?|snafus?|niggles?)\b",
        "don't shrink it; the customer decides how big it was",
        needs=(
            "tiny",
            "little",
            "small",
            "minor",
            "slight",
            "wee",
            "teeny",
            "brief",
            "short",
            "temporary",
            "momentary",
        ),
    ),
    HedgeRule(
        "minimise.hiccup",
        "minimising",
        r"\b(?:hiccups?|blips?|snafus?|boo-boos?|oopsies?|whoopsies?|gremlins?)\b|"
        r"\ba bit of a (?:\w+ )?(?:wobble|mess|muddle|mix-up|kerfuffle|pickle|oops)\b",
        "don't shrink it; say what went wrong",
        needs=("hiccup", "blip", "snafu", "boo-boo", "oops", "whoops", "gremlin", "bit"),
    ),
    HedgeRule(
        "minimise.happens",
        "minimising",
        r"\b(?:these|such|those) things (?:\w+ )?happen\b|"
        r"\b(?:it|stuff|mix-?ups?|mistakes|errors|accidents|delays|glitches|things like (?:this|"
        r"that)|[\w-]+ like (?:this|that|these)) (?:can |do |will |sometimes |occasionally |just )?"
        r"happens?\b(?! (?:to (?:you|your)|because|when|on|at|in|again|if)\b)|"
        r"\bhappens? to (?:the best of us|everyone|all of us|anyone)\b|"
        r"\b(?:nobody|no one|no-one|none of us) (?:is|'s|are) perfect\b|"
        r"\bjust one of those (?:things|days)\b|\b(?:are|is) (?:very |extremely )?rare\b",
        "don't excuse it as normal; it happened to this customer",
        needs=("happen", "perfect", "those", "rare"),
    ),
    HedgeRule(
        "minimise.normal",
        "minimising",
        # Excusing it as normal or rare: "deliveries go astray sometimes", "most of our guests".
        r"\b(?:go|goes) (?:astray|wrong|missing)(?: \w+){0,2}? (?:sometimes|occasionally|from "
        r"time to time|now and (?:then|again))\b|\b(?:most|the majority|nearly all|almost all) of "
        r"our (?:guests|customers|users|clients|members|orders)\b|"
        # "he's usually great with customers": this time is the exception, so it doesn't count
        r"\b(?:is|are|'s|'re|was|were) (?:usually|normally|generally|typically) (?:so |very |"
        r"really )?(?:great|good|brilliant|excellent|reliable|fine|spot on|careful|fast|quick|"
        r"on time|punctual|friendly|helpful|lovely)\b",
        "don't excuse it as normal; it happened to this customer",
        needs=(
            "astray",
            "wrong",
            "missing",
            "most",
            "majority",
            "all",
            "usually",
            "normally",
            "generally",
            "typically",
        ),
    ),
    HedgeRule(
        "minimise.only",
        "minimising",
        r"(?<!within\s)(?<!in\s)\b(?:only|just|merely|barely) (?:a|one|an|two|\d+|a few|a "
        r"couple of) (?:\w+ )?(?:days?|hours?|minutes?|mins?|seconds?|weeks?)"
        r"(?: (?:late|behind|delayed|over|out|off))?\b|"
        r"\b(?:a bit|slightly|a little|a touch|a tad) (?:late|delayed|slow|off|lopsided|damaged|"
        r"wrong|higher|over|more)\b",
        "don't shrink it; say how late, how much, and what you're doing about it",
        needs=("only", "just", "merely", "barely", "bit", "slightly", "little", "touch", "tad"),
    ),
    HedgeRule(
        "minimise.few",
        "minimising",
        r"\b(?:only|just) (?:a )?(?:small |tiny )?(?:number|handful|fraction|percentage|minority|"
        r"few) of (?:our )?(?:customers|users|orders|accounts|people)\b|\ba (?:very )?(?:small|"
        r"tiny) (?:number|handful|fraction|percentage|minority) of (?:our )?(?:customers|users|"
        r"orders|accounts|people)\b",
        "say who was affected, without shrinking it",
        needs=("number", "handful", "fraction", "percentage", "minority", "few"),
    ),
    HedgeRule(
        "minimise.no-worries",
        "minimising",
        r"\bno worries\b|\bno harm done\b|\b(?:no|not a) big deal\b|\bnot the end of the world\b",
        "it's for the customer to say it's fine",
        needs=("worries", "harm", "deal", "world"),
    ),
    # --- non-apologies -------------------------------------------------------------------------
    HedgeRule(
        "nonapology.you-feel",
        "non-apology",
        r"\b(?:sorry|apologi[sz]e|apologies|regret) (?:\w+ )?(?:that )?(?:you|anyone|some "
        r"(?:of you|customers|people|readers|guests)|people|others) (?:feel|felt|are feeling|were "
        r"feeling|are|were|'re|was|got|became|have been) (?:\w+ )?(?:upset|disappointed|"
        r"frustrated|unhappy|let down|offended|annoyed|angry|hurt|confused|dissatisfied|this "
        r"way|that way|so|like)\b|\bsorry you feel\b|\b(?:sorry|apologi[sz]e|regret) (?:\w+ )?"
        r"(?:that )?(?:you|some (?:of you|customers|people|readers)|people|others) (?:saw|took|"
        r"read|interpreted|understood|found) (?:it|this|that)\b|"
        # sorry it fell short of their hopes, not for what we did: "sorry that your visit
        # wasn't what you hoped"
        r"\b(?:sorry|apologi[sz]e|regret) (?:\w+ )?(?:that )?(?:your|the) (?:\w+ ){0,2}?(?:wasn't|"
        r"was not|weren't|were not|didn't|did not) (?:quite )?(?:what you|as you|up to|live up|"
        r"meet your|to your)\b",
        "apologise for what you did, not for how they feel",
        needs=("sorry", "apolog", "regret"),
    ),
    HedgeRule(
        "nonapology.to-hear",
        "non-apology",
        # "Sorry to hear", and the notice formulas "sorry to advise / inform".
        r"\b(?:sorry|sad|disappointed|concerned) to (?:hear|learn|read|see|advise|inform|tell "
        r"you|announce|report|say)\b"
        r"(?! (?:of |about )?(?:your|the) (?:loss|passing|death|bereavement|diagnosis|illness|"
        r"news of)\b)(?! about your (?:mother|father|mum|mom|dad|husband|wife|partner|son|"
        r"daughter|brother|sister|grandmother|grandfather|grandma|grandpa|family|friend)\b)"
        # sympathy with the customer's own misfortune: "sorry to hear you've been unwell"
        r"(?! (?:that )?(?:you(?:'ve| have|'re| are| were| had)?|your (?:\w+ )?(?:has|have|had|"
        r"is|was)) (?:been )?(?:\w+ )?(?:unwell|ill|poorly|sick|in hospital|hospitali[sz]ed|"
        r"injured|bereaved|grieving|struggling|going through|having a (?:hard|tough|difficult|"
        r"rough) time|passed away|died)\b)"
        r"(?! (?:of|about) (?:your|the) (?:\w+ )?(?:health|illness|operation|surgery|accident|"
        r"injury|fall|condition|treatment|hospital stay|stay in hospital|recovery)\b)",
        "say 'we're sorry we ...': it happened because of you, you didn't just hear of it",
        needs=(
            "hear",
            "learn",
            "read",
            "see",
            "advise",
            "inform",
            "tell",
            "announce",
            "report",
            "say",
        ),
    ),
    HedgeRule(
        "nonapology.but",
        "non-apology",
        r"\b(?:sorry|apologi[sz]e|apologies|regret it)[,;]? (?:but|however)\b",
        "drop the 'but': it takes the apology back",
        needs=("but", "however"),
    ),
    # --- policy --------------------------------------------------------------------------------
    HedgeRule(
        "policy.per",
        "policy",
        r"\b(?:as per|per|in line with|in accordance with|according to|consistent with|as "
        r"stated in|as set out in|under|in|by) (?:our|the|company|store|my) (?:\w+ )?"
        r"(?:polic(?:y|ies)|terms(?: and conditions)?|t&cs|procedures?|guidelines)\b",
        "say what you will do for this customer, not what the policy says",
        needs=("polic", "terms", "t&c", "procedure", "guideline"),
    ),
    HedgeRule(
        "policy.our-policy",
        "policy",
        r"\b(?:our|company|store) (?:\w+ )?(?:polic(?:y|ies)|terms(?: and conditions)?|t&cs) "
        r"(?:is|are|states?|says|allows?|does not|doesn't|requires?|only|prevents?|won't|will not|"
        r"cannot|can't|means)\b|\bcompany policy\b|\bagainst (?:our|company) policy\b",
        "say what you will do for this customer, not what the policy says",
        needs=("polic", "terms", "t&c"),
    ),
    # --- formulas --------------------------------------------------------------------------
    HedgeRule(
        "formula.value-business",
        "empty-formula",
        r"\bwe (?:truly |really |greatly |very much )?(?:value|treasure) (?:your (?:business|"
        r"custom|loyalty|patronage)|you as a customer|our customers)\b|\b(?:valued|loyal|"
        r"valuable) customer\b|\byour (?:business|custom|satisfaction) (?:is|means) (?:\w+ ){0,2}?"
        r"(?:important|everything|a lot|the world)\b",
        "make the remedy concrete instead: what they get, how much, by when",
        warning_with="repair",
        needs=("value", "treasure", "customer", "business", "custom", "satisfaction"),
    ),
    HedgeRule(
        "formula.patience",
        "empty-formula",
        r"\bthank(?:s| you) (?:\w+ )?for (?:your (?:patience|understanding|cooperation)|being "
        r"(?:so )?(?:patient|understanding)|bearing with us)\b|\bappreciate your (?:patience|"
        r"understanding)\b",
        "they didn't choose to be patient; end warmly instead",
        severity="warning",
        needs=("patien", "understanding", "cooperation", "bearing"),
    ),
    HedgeRule(
        "formula.seriously",
        "empty-formula",
        r"\bwe take (?:this|it|your \w+|these \w+|customer \w+|such \w+) (?:very |extremely |"
        r"incredibly )?seriously\b|\bit has (?:come|been brought) to our attention\b",
        "show it with what you did, not with a formula",
        severity="warning",
        needs=("seriously", "attention"),
    ),
    # --- vague promises ----------------------------------------------------------------------
    HedgeRule(
        "promise.better",
        "vague-promise",
        rf"\b{_WE}(?:'ll| will| must| need to| have to| are going to|'re going to| promise to| "
        r"shall| can)? (?:try to |strive to |aim to |endeavou?r to |work to )?(?:do|be) better\b",
        "name the concrete step you took instead",
        excused_by="prevention",
        needs=("better",),
    ),
    HedgeRule(
        "promise.never-again",
        "vague-promise",
        r"\b(?:this|it|that|such (?:an? )?\w+|this kind of thing|something like this)(?: \w+){0,2}?"
        r" (?:will|won't|shall|must|is never going to|'ll) (?:never |not )?(?:ever )?happen again"
        r"\b|\b(?:make sure|ensure|ensuring|guarantee|promise) (?:that )?(?:this|it|that|nothing "
        r"like this)(?: \w+){0,2}? (?:never|doesn't|does not|won't|will not|will never|can't|"
        r"cannot) (?:\w+ )?happens? again\b|\bnever (?:to )?happens? again\b",
        "name the concrete step you took instead",
        excused_by="prevention",
        needs=("again",),
    ),
    HedgeRule(
        "promise.learned",
        "vague-promise",
        rf"\b{_WE_HAVE} learn(?:ed|t)\b|\bputting (?:things|measures|steps|processes|systems|"
        r"checks) in place\b|\b(?:so|to make sure|to ensure) (?:that )?(?:it|this) (?:can't|"
        r"cannot|won't|will not|doesn't|never) happens? again\b",
        "say what you changed, not that you will",
        excused_by="prevention",
        needs=("learn", "place", "again"),
    ),
    HedgeRule(
        "promise.committed",
        "vague-promise",
        rf"\b{_WE_ARE} (?:\w+ )?(?:committed|dedicated|determined|working hard|striving|doing "
        r"everything|doing all we can|taking (?:\w+ )?steps|reviewing|looking (?:into|at) "
        r"(?:ways|how|our)|learning)\b|\b(?:lessons?) (?:have been|has been|were|was|will be) "
        r"learn(?:ed|t)\b|\b(?:taking|take|will take|have taken) (?:the )?(?:necessary|"
        r"appropriate|all|further) (?:steps|measures|action)\b|\bput (?:\w+ )?measures in place\b",
        "say what you changed, not what you aspire to",
        excused_by="prevention",
        needs=(
            "committed",
            "dedicated",
            "determined",
            "working",
            "striving",
            "everything",
            "all",
            "steps",
            "reviewing",
            "looking",
            "learning",
            "lesson",
            "measures",
            "action",
        ),
    ),
    # --- grudging ----------------------------------------------------------------------------
    HedgeRule(
        "grudging.courtesy",
        "grudging",
        r"\bas a (?:one-time |one time |one-off |special |once-off |purely )?(?:courtesy|gesture "
        r"of goodwill|goodwill gesture|gesture|favour|favor|exception)\b|\b(?:goodwill|courtesy) "
        r"(?:gesture|payment|credit|refund)\b|\bgesture of goodwill\b|\bmake an exception\b|"
        r"\bon this (?:one )?occasion\b|\bat our (?:sole )?discretion\b",
        "the remedy is owed, not a favour",
        needs=(
            "courtesy",
            "goodwill",
            "gesture",
            "favour",
            "favor",
            "exception",
            "occasion",
            "discretion",
        ),
    ),
    HedgeRule(
        "grudging.not-obliged",
        "grudging",
        rf"\b{_WE_ARE} (?:not|under no) (?:\w+ )?(?:obliged|obligated|required|bound|obligation)"
        r"\b|\bunder no obligation\b|\bwithout (?:any )?admission of (?:liability|fault)\b",
        "the remedy is owed, not a favour",
        needs=("obliged", "obligated", "required", "bound", "obligation", "admission"),
    ),
)

# "Unfortunately" or "Regrettably" as the opening word of the message (after any greeting).
_OPENING = HedgeRule(
    "opening.unfortunately",
    "unfortunately-first",
    r"(?:unfortunately|regrettably|sadly)\b",
    "open with what happened and that it was yours, not with bad luck",
)

# Hedges reported when the context cancels a component.
_DENIED = HedgeRule(
    "context.denied",
    "deflection",
    "",
    "own it: a denial reads as deflection",
)
_CONDITIONAL = HedgeRule(
    "context.conditional",
    "conditional",
    "",
    "own it without 'if'",
)

COMPONENT_RULES = _COMPONENT_RULES
HEDGE_RULES = (*_HEDGE_RULES, _OPENING, _DENIED, _CONDITIONAL)
# The components whose presence in a sentence excuses a hedge there (`excused_by`).
_PER_SENTENCE = frozenset(
    rule.excused_by for rule in _HEDGE_RULES if rule.excused_by and rule.excused_in == "sentence"
)


def _compile(pattern: str) -> re.Pattern[str]:
    # A space in a pattern matches any whitespace run: drafts wrap lines mid-sentence. Patterns
    # are lower case and run on the lower-cased text, ASCII-only: about 2.5x faster than
    # IGNORECASE with Unicode classes (the words they look for are plain English).
    return re.compile(pattern.replace(" ?", r"\s*").replace(" ", r"\s+"), re.ASCII)


class _Lazy:
    """A pattern compiled the first time it is used: most rules never run on a given text
    (their `needs` words are absent), and compiling them all would cost every command that
    imports this module ~50 ms of start-up."""

    __slots__ = ("_compiled", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self._compiled: re.Pattern[str] | None = None

    @property
    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = _compile(self.source)
        return self._compiled

    def finditer(self, text: str, start: int, end: int) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(text, start, end)

    def match(self, text: str, start: int = 0) -> re.Match[str] | None:
        return self.compiled.match(text, start)


_COMPONENT_RES = tuple((_Lazy(rule.pattern), rule) for rule in _COMPONENT_RULES)
_FOLLOW_RES = {
    rule.id: _Lazy(rf"\s*(?:{rule.not_followed_by})")
    for rule in _COMPONENT_RULES
    if rule.not_followed_by
}
_HEDGE_RES = tuple((_Lazy(rule.pattern), rule) for rule in _HEDGE_RULES)
_OPENING_RE = _Lazy(_OPENING.pattern)

# Typographic apostrophes, quotes, dashes and ellipses count as their ASCII forms; one character
# for one, so positions in the normalised text are positions in the original.
_NORMALISE = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u02bc": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2011": "-",
        "\u2010": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": ".",
        "\u00a0": " ",
    }
)

# Sentence ends: ., ! or ? then space; a blank line; a line that starts a list item.
_SENTENCE_END = re.compile(
    r"(?<=[.!?])[\"')\]]*\s+|\n[ \t]*\n\s*|\n(?=[ \t]*(?:[-*]|\d{1,2}[.)])\s)"
)
# Where a clause starts, looking back from a finding.
_CLAUSE_BREAK = re.compile(
    r"[,;:()\"]|\s-\s|\b(?:but|so|and|yet|however|although|though|while|because|which|who|"
    r"whether or not|whatever)\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"\b(?:not|never|no|nobody|nothing|none|neither|nor|cannot|unable|without|hardly)\b|n't\b",
    re.IGNORECASE,
)
# Negative words that do not negate what follows ("no doubt this was our mistake").
_NOT_NEGATION = re.compile(
    r"\b(?:no (?:doubt|question|denying|need)|not (?:only|just|least)|nothing (?:else|more))\b|"
    # a repeat, owned: "this isn't the first time we've let you down"
    r"(?:\b(?:is|was|it's|that's|this's)? ?(?:not|n't) (?:for )?(?:the|our|my) (?:first|only) "
    r"time)\b",
    re.IGNORECASE,
)
_CONDITION = re.compile(
    r"\b(?:if|whether|in case|to the extent|should (?:it|this|that) turn out)\b", re.IGNORECASE
)
# A sentence that opens with an if-clause doubting what we did or the harm, up to its comma:
# "If we packed them badly, ...", "If anything was missing, ..."; not "If I'm honest, ...", nor
# a condition that picks out whom the sentence is for ("If you bought a bike, ...").
_LEADING_CONDITION = re.compile(
    r"\s*(?:and |but |so )?((?:if|unless) (?!(?:i'm|i am|we're|we are) (?:\w+ )?honest\b|"
    r"anything,)(?:we|i|our|my|it|this|that|the|there|anything|something|any)\b[^,.;:!?]{1,80}),"
    r"\s+(?:then\s+)?",
    re.IGNORECASE,
)
_UNCOMMITTED = re.compile(
    r"\b(?:look(?:ing)? into|consider(?:ing)?|see (?:if|whether|what)|(?:may|might) be "
    r"(?:able|eligible)|eligible for|hope to|try to|discuss|whether|if (?:we|i) can)\b",
    re.IGNORECASE,
)
# A price on the remedy, in the rest of its clause: "... for $8", "... at your own cost".
_PAID_BY_THEM = re.compile(
    r"[^,;:.!?]{0,60}?\b(?:for (?:just |only |a further |an extra )?[$\u00a3\u20ac]\s?\d|for an? "
    r"(?:small |reduced )?(?:fee|charge)|at (?:a|your(?: own)?) (?:small |reduced )?(?:cost|"
    r"expense|charge)|if you (?:pay|cover))",
    re.IGNORECASE,
)
# A greeting, an "it's Raf at Brewline." and a "Brand:" prefix come before the opening word.
_GREETING = re.compile(
    r"\s*(?i:(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|greetings)\b[^\n.!?]{0,60}"
    r"(?:[,:!\n]|$)\s*)?(?i:(?:it's|this is) [^\n.!?]{0,60}[.!]\s+|[^\n.!?,]{0,50} here[.!]\s+)?"
    r"(?:[A-Z][\w&'.-]*(?: [\w&'.-]+){0,3}:\s+)?",
)


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """Where a component or a hedge was found: the phrase, its offset, 1-based line and column."""

    phrase: str
    position: int
    line: int
    column: int
    rule: str = ""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            "phrase": self.phrase,
            "position": self.position,
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
        }


@dataclass(frozen=True)
class Hedge(Found):
    """A phrase that erodes the apology: its kind, what to do instead, and whether it fails."""

    kind: str = "hedge"
    advice: str = ""
    severity: str = "error"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            **super().as_dict(),
            "kind": self.kind,
            "advice": self.advice,
            "severity": self.severity,
        }


@dataclass(frozen=True)
class ApologyCheck:
    """The result of checking one message.

    `ok` is true when every required component is present and there is no hedge (notes, the
    warnings, never fail it). `required` holds the components the channel needs, `present` every
    component found (required or not, such as forgiveness), `missing` the required ones not
    found. `found` says where each present component was first seen, `evidence` every place (up
    to `MAX_EVIDENCE` each). `strength` is the Lewicki-weighted share of the six apology
    components present. `truncated` says the text was longer than `MAX_CHARS` and only its start
    was read.
    """

    required: tuple[str, ...]
    present: tuple[str, ...]
    missing: tuple[str, ...]
    hedges: tuple[Hedge, ...]
    found: dict[str, Found] = field(default_factory=dict, compare=False)
    notes: tuple[Hedge, ...] = ()
    channel: str = "email"
    evidence: dict[str, tuple[Found, ...]] = field(default_factory=dict, compare=False)
    truncated: bool = False

    @property
    def ok(self) -> bool:
        """Every required component present, and no hedge."""
        return not self.missing and not self.hedges

    @property
    def strength(self) -> float:
        """The weighted share (0 to 1) of Lewicki et al.'s six components that are present."""
        total = sum(WEIGHTS.values())
        return round(sum(WEIGHTS.get(name, 0.0) for name in self.present) / total, 3)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (stable keys)."""
        return {
            "ok": self.ok,
            "channel": self.channel,
            "required": list(self.required),
            "present": list(self.present),
            "missing": list(self.missing),
            "hedges": [h.as_dict() for h in self.hedges],
            "notes": [n.as_dict() for n in self.notes],
            "found": {name: f.as_dict() for name, f in self.found.items()},
            "strength": self.strength,
            "truncated": self.truncated,
        }

    def to_text(self, source: str = "") -> str:
        """A human summary, one finding per line (`source:line:col: ...` for hedges and notes)."""
        prefix = f"{source}:" if source else ""
        verdict = "ok" if self.ok else "needs work"
        lines = [f"{prefix} apology check ({self.channel}): {verdict}".lstrip()]
        if self.present:
            where = ", ".join(  # every present component was found somewhere
                f"{name} ({self.found[name].line}:{self.found[name].column})"
                for name in self.present
            )
            lines.append(f"  present: {where}")
        for name in self.missing:
            lines.append(f"  missing {name}: {COMPONENT_HELP[name]}")
        for hedge in self.hedges:
            lines.append(
                f"  {prefix}{hedge.line}:{hedge.column}: {hedge.kind} '{hedge.phrase}': "
                f"{hedge.advice}"
            )
        for note in self.notes:
            lines.append(
                f"  {prefix}{note.line}:{note.column}: note ({note.kind}) '{note.phrase}': "
                f"{note.advice}"
            )
        if self.truncated:
            lines.append(f"  only the first {MAX_CHARS:,} characters were checked")
        return "\n".join(lines)


# --- the check -------------------------------------------------------------------------------


class _Text:
    """The normalised text with its sentence boundaries, and the context questions we ask."""

    def __init__(self, original: str) -> None:
        self.original = original
        self.normal = original.translate(_NORMALISE)
        lowered = self.normal.lower()
        if len(lowered) != len(self.normal):  # a rare letter lower-cases to two characters
            lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in self.normal)
        self.lowered = lowered  # what the patterns run on; positions are the original's
        starts = [0]
        starts.extend(m.end() for m in _SENTENCE_END.finditer(self.normal))
        self.starts = starts
        self.counts: dict[str, int] = {}  # how often each `needs` word occurs, once counted

    def sentence(self, position: int) -> tuple[int, int]:
        """The (start, end) of the sentence holding `position`."""
        return self.span(bisect.bisect_right(self.starts, position) - 1)

    def span(self, index: int) -> tuple[int, int]:
        """The (start, end) of sentence number `index`."""
        end = self.starts[index + 1] if index + 1 < len(self.starts) else len(self.normal)
        return self.starts[index], end

    def clause_before(self, position: int, words: int) -> str:
        """Up to `words` words before `position`, within its clause and sentence."""
        start = max(self.sentence(position)[0], position - 120)
        window = self.normal[start:position]
        cut = 0
        for match in _CLAUSE_BREAK.finditer(window):
            cut = match.end()
        tokens = window[cut:].split()
        return " ".join(tokens[-words:]) if words else ""

    def negated(self, position: int) -> bool:
        window = _NOT_NEGATION.sub(" ", self.clause_before(position, 5))
        return _NEGATION.search(window) is not None

    def conditional(self, position: int) -> tuple[bool, int, int | None]:
        """Whether a condition governs `position`, where that condition starts and, when it is
        a clause of its own before the main one ("If we packed them badly, we're sorry"), where
        it ends."""
        start = max(self.sentence(position)[0], position - 120)
        window = self.normal[start:position]
        cut = 0
        for match in _CLAUSE_BREAK.finditer(window):
            if not _CONDITION.fullmatch(match.group(0)):
                cut = match.end()
        found = None
        for match in _CONDITION.finditer(window, cut):
            found = match
        if found is not None and len(window[found.start() :].split()) <= 8:
            return True, start + found.start(), None
        # The main clause right after an if-clause that opens the sentence: "If we sent fewer
        # than you ordered, we apologise" (not "If I'm honest, we messed up").
        sentence = self.sentence(position)[0]
        lead = _LEADING_CONDITION.match(self.normal, sentence, position)
        if lead is None or len(self.normal[lead.end() : position].split()) > 4:
            return False, position, None
        return True, lead.start(1), lead.end(1)

    def uncommitted(self, position: int) -> bool:
        return _UNCOMMITTED.search(self.clause_before(position, 8)) is not None

    def paid_by_them(self, end: int) -> bool:
        """Whether the rest of the clause puts a price on it: "we can reship it for $8"."""
        rest = self.lowered[end : min(self.sentence(end)[1], end + 80)]
        return _PAID_BY_THEM.match(rest) is not None

    def followed_by(self, end: int, regex: _Lazy) -> bool:
        return regex.match(self.lowered, end) is not None

    def where(self, position: int) -> tuple[int, int]:
        line = self.original.count("\n", 0, position) + 1
        column = position - (self.original.rfind("\n", 0, position) + 1) + 1
        return line, column

    def hedge(self, start: int, end: int, rule: HedgeRule, severity: str | None = None) -> Hedge:
        line, column = self.where(start)
        return Hedge(
            self.original[start:end],
            start,
            line,
            column,
            rule.id,
            rule.kind,
            rule.advice,
            severity or rule.severity,
        )

    def found(self, start: int, end: int, rule: str) -> Found:
        line, column = self.where(start)
        return Found(self.original[start:end], start, line, column, rule)


def _matches(regex: _Lazy, rule: ComponentRule | HedgeRule, t: _Text) -> Iterator[re.Match[str]]:
    """The rule's matches, looked for only in the sentences holding one of its `needs` words.

    A match never spans two sentences and always holds a `needs` word (a test checks both on
    the corpus), so this finds what a scan of the whole text finds, several times faster.
    """
    text = t.lowered
    ranges: list[tuple[int, int]] = [(0, len(text))]
    if rule.needs:
        budget = max(8, len(t.starts) // 2)  # beyond this, one scan of the whole text is cheaper
        counts: list[tuple[str, int]] = []
        total = 0
        known = t.counts  # rules share words: each is counted once per text
        for word in rule.needs:  # stop counting once over the budget: a long text is scanned
            count = known.get(word)
            if count is None:
                count = known[word] = text.count(word)
            counts.append((word, count))
            total += count
            if total > budget:
                break
        if total <= budget:
            sentences: set[int] = set()
            for word, count in counts:
                index = text.find(word) if count else -1
                while index != -1:
                    sentences.add(bisect.bisect_right(t.starts, index) - 1)
                    index = text.find(word, index + 1)
            ranges = [t.span(i) for i in sorted(sentences)]
    count = 0
    for start, end in ranges:
        for match in regex.finditer(text, start, end):
            count += 1
            if count > _MAX_CANDIDATES:
                return
            if match.end() > match.start():
                yield match


class _Spans:
    """Sorted, merged spans of text, asked whether a position falls inside one."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        merged: list[list[int]] = []
        for start, end in sorted(spans):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self.starts = [start for start, _ in merged]
        self.ends = [end for _, end in merged]

    def overlaps(self, start: int, end: int) -> bool:
        """Whether [start, end) shares a character with a span."""
        index = bisect.bisect_right(self.starts, end - 1) - 1
        return index >= 0 and start < self.ends[index]


def _opening(text: _Text) -> tuple[int, int] | None:
    """The span of 'Unfortunately' when it is the message's opening word."""
    greeting = _GREETING.match(text.normal)
    start = greeting.end() if greeting else 0
    match = _OPENING_RE.match(text.lowered, start)
    return (match.start(), match.end()) if match else None


def _read_components(
    t: _Text, spans: dict[str, _Spans], disabled: frozenset[str]
) -> tuple[dict[str, list[Found]], dict[str, set[int]], list[tuple[int, int, HedgeRule]]]:
    """Every component found, in order (up to MAX_EVIDENCE each); the sentences holding each;
    and the hedges its context makes ("if it was our mistake", "this was not our fault")."""
    spots: dict[str, list[tuple[int, int, str]]] = {}
    sentences_with: dict[str, set[int]] = {}
    context: list[tuple[int, int, HedgeRule]] = []
    for regex, rule in _COMPONENT_RES:
        if rule.id in disabled:
            continue
        follow = _FOLLOW_RES.get(rule.id)
        kept = spots.setdefault(rule.component, [])
        blocked = spans[rule.component]
        # Every match counts where its sentence or its context can make or excuse a hedge; of
        # the others, the first MAX_EVIDENCE are all the result can show.
        every = rule.conditional or rule.component in _PER_SENTENCE
        every = every or (rule.negatable and rule.component == "acknowledgement")
        taken = 0
        for match in _matches(regex, rule, t):
            start, end = match.span()
            if blocked.overlaps(start, end):
                continue  # "sorry if" is not regret, "we regret any inconvenience" neither
            if follow is not None and t.followed_by(end, follow):
                continue  # "we've added a free month" is a remedy, not a prevention step
            if rule.conditional:
                conditional, where, until = t.conditional(start)
                if conditional:
                    if _CONDITIONAL.id not in disabled:
                        context.append((where, until or end, _CONDITIONAL))
                    continue
            if rule.component == "explanation":
                supposed, _, until = t.conditional(start)
                if supposed and until is None:
                    continue  # "if we packed them badly" supposes a cause, it does not give one
            if rule.negatable and t.negated(start):
                if rule.component == "acknowledgement" and _DENIED.id not in disabled:
                    context.append((start, end, _DENIED))
                continue
            if rule.uncommitted and t.uncommitted(start):
                continue  # "we'll look into a refund" promises nothing
            if rule.component == "repair" and t.paid_by_them(end):
                continue  # "we can reship it for $8": a remedy they pay for is no remedy
            sentences_with.setdefault(rule.component, set()).add(t.sentence(start)[0])
            kept.append((start, end, rule.id))
            taken += 1
            if taken >= MAX_EVIDENCE and not every:
                break
    # Line and column cost a scan of the text each: only for the findings kept.
    evidence = {
        name: [t.found(*spot) for spot in sorted(items)[:MAX_EVIDENCE]]
        for name, items in spots.items()
    }
    return evidence, sentences_with, context


def lint_text(
    text: str,
    *,
    prevention_given: bool = False,
    channel: str = "email",
    disabled: frozenset[str] = frozenset(),
) -> ApologyCheck:
    """Check an apology message: which components it has, which it lacks, and its hedges.

    `channel` (email, sms, phone, post) decides what is required (`REQUIRED_BY_CHANNEL`);
    `prevention_given` says the incident names a concrete prevention step, so an email, phone
    script or post must mention one (an SMS never has to). `disabled` holds rule ids to leave
    out: the tests use it to show that every rule is needed.
    """
    if channel not in REQUIRED_BY_CHANNEL:
        raise ValueError(f"unknown channel {channel!r} (use one of {', '.join(CHANNELS)})")
    truncated = len(text) > MAX_CHARS
    t = _Text(text[:MAX_CHARS] if truncated else text)
    required = REQUIRED_BY_CHANNEL[channel]
    if prevention_given and channel in PREVENTION_CHANNELS:
        required = tuple(c for c in COMPONENTS if c in required or c == "prevention")

    # 1. Hedges that stand on their own; regret or ownership inside them does not count.
    raw: list[tuple[int, int, HedgeRule]] = []
    for regex, rule in _HEDGE_RES:
        if rule.id not in disabled:
            raw.extend((m.start(), m.end(), rule) for m in _matches(regex, rule, t))
    opening = None if _OPENING.id in disabled else _opening(t)
    if opening:
        raw.append((*opening, _OPENING))
    standing = [(s, e, r) for s, e, r in raw if not r.excused_by and not r.warning_with]
    spans = {
        name: _Spans([(s, e) for s, e, r in standing if not r.blocks or name in r.blocks])
        for name in COMPONENTS
    }

    # 2. Components, read in context.
    evidence, sentences_with, context = _read_components(t, spans, disabled)
    present_set = {name for name, items in evidence.items() if items}

    # 3. Hedges that depend on the rest: excused in a sentence that owns the failure or names
    # the step, a warning when the message does the thing the formula stands in for.
    findings: list[tuple[int, int, HedgeRule, str]] = []
    for start, end, rule in raw + context:
        severity = rule.severity
        if rule.excused_by and (
            rule.excused_by in present_set
            if rule.excused_in == "message"
            else t.sentence(start)[0] in sentences_with.get(rule.excused_by, ())
        ):
            continue
        if rule.warning_with and rule.warning_with in present_set:
            severity = "warning"
        findings.append((start, end, rule, severity))

    # One phrase, one finding: the earliest, then the longest, wins; errors before warnings.
    findings.sort(key=lambda f: (f[0], -f[1], f[3] != "error"))
    hedges: list[Hedge] = []
    notes: list[Hedge] = []
    last_end = -1
    for start, end, rule, severity in findings:
        if start < last_end:
            continue
        last_end = end
        target = hedges if severity == "error" else notes
        if len(target) < MAX_HEDGES:
            target.append(t.hedge(start, end, rule, severity))

    found = {name: evidence[name][0] for name in COMPONENTS if evidence.get(name)}
    present = tuple(name for name in COMPONENTS if name in found)
    missing = tuple(name for name in required if name not in found)
    return ApologyCheck(
        required=required,
        present=present,
        missing=missing,
        hedges=tuple(hedges),
        found=found,
        notes=tuple(notes),
        channel=channel,
        evidence={name: tuple(evidence[name]) for name in present},
        truncated=truncated,
    )
