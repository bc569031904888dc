"""The sweep: drafts across kinds x tones x faults x remedy sets x business types x
circumstances, read as a founder would (tests/drafts_helpers.founder_problems): no unrendered
text, nothing the plan does not contain (amounts, remedies, the caller, the order's fate),
length limits, and the apology check.

The full product has over ten thousand incidents; the sweep covers every kind x tone x fault
x business type (216), each with a remedy set and a circumstance taken in turn, plus every
remedy set for every kind, plus a mail merge of a few customers for a sample: a deterministic
sample that keeps the whole suite fast (a few seconds here).
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from remedy.drafts import draft_messages, iter_customer_messages
from remedy.incident import KINDS, Incident
from remedy.offer import Offer

from .drafts_helpers import EXPRESS_GOODS_KINDS, GOODS_KINDS, founder_problems, offer

TONES = ("warm", "formal", "playful")
FAULTS = ("ours", "partner", "customer")
BUSINESSES = ("store", "subscription", "service")
CIRCUMSTANCES = (None, None, "bereavement", None, "illness", None, "hardship")
# Remedy sets; a name ending in "?" is given on request.
REMEDY_SETS: tuple[tuple[str, ...], ...] = (
    ("apology_only",),
    ("refund",),
    ("store_credit",),
    ("refund", "store_credit"),
    ("replacement",),
    ("ship_upgrade",),
    ("refund", "replacement"),
    ("refund", "ship_upgrade", "personal_call"),
    ("ship_upgrade", "store_credit"),
    ("flowers",),
    ("store_credit", "personal_call"),
    ("honor",),
    ("honor", "store_credit"),
    ("pay_difference",),
    ("store_credit?",),
    ("replacement", "refund?"),
    ("flowers?", "ship_upgrade?"),
)
SENDERS: tuple[dict[str, str] | None, ...] = (
    {
        "name": "Maya Ortiz",
        "role": "Founder",
        "company": "Stitched Moments",
        "email": "maya@example.com",
        "phone": "555-0134",
    },
    {"name": "Jo", "company": "Acme"},
    {
        "name": "Dr. Sam Lee",
        "role": "Head of Support",
        "company": "Loop Coffee Co",
        "email": "sam@example.com",
    },
    None,
)
SUMMARIES = {
    "pricing_error": "A typo in our catalogue priced every grinder at $19 instead of $190.",
    "late_delivery": "Our warehouse ran short of staff and shipped orders two days late.",
    "not_fulfilled": "A glitch in our order system hid your order from our workshop.",
    "lost_in_transit": "The parcel was left outside your building and was taken.",
    "billing_error": "A retry in our payment code charged some cards twice.",
    "outage": "A database change locked our main table for four hours.",
    "quality_defect": "A batch of mugs left our kiln with hairline cracks.",
    "other": "Our system sent you an automatic reminder that should never have gone out.",
}
FLOWERS = {
    "label": "Flowers and a card",
    "cost_per_customer": 20,
    "matches": ["other"],
    "scope": "segment",
}


def valid(kind: str, names: tuple[str, ...]) -> tuple[str, ...] | None:
    """The remedy set as a plan for `kind` could hold it, or None when it cannot."""
    bare = tuple(n.rstrip("?") for n in names)
    if ("honor" in bare or "pay_difference" in bare) and kind != "pricing_error":
        return None
    if "replacement" in bare and kind not in GOODS_KINDS:
        return None
    if kind == "pricing_error" and not {"honor", "refund", "pay_difference"} & set(bare):
        names = ("refund", *names)  # a mispriced order always has a fate
    if kind == "billing_error" and "refund" not in bare:
        names = ("refund", *names)  # money taken in error is refunded
    return names


def build(
    kind: str,
    tone: str,
    fault: str,
    business: str,
    names: tuple[str, ...],
    circumstance: str | None,
    turn: int,
) -> tuple[Incident, list[Offer]]:
    data: dict[str, Any] = {
        "id": f"sweep-{kind.replace('_', '-')}-{turn}",
        "title": f"{kind} incident number {turn}",
        "kind": kind,
        "fault": fault,
        "tone": tone,
        "summary": SUMMARIES[kind],
        "affected": {"customers": 500, "order_value": 40},
        "business": {"clv": 100, "type": business},
        "options": {"flowers": FLOWERS},
        "sender": SENDERS[turn % len(SENDERS)],
        "repeat": turn % 5 == 0,
    }
    if kind == "pricing_error":
        data["affected"]["list_price"] = 90
    if turn % 3 == 0:
        data["prevention"] = "Every price and every order now passes a second check by a person."
    if turn % 4 == 1 and kind in ("late_delivery", *EXPRESS_GOODS_KINDS):
        data["occasion"] = "Mother's Day"
    if turn % 2 == 0 and kind in ("late_delivery", *EXPRESS_GOODS_KINDS):
        data["delivery"] = {"promised": "2024-05-10", "expected": "2024-05-13"}
    if circumstance:
        data["circumstance"] = circumstance
        data["affected"]["customers"] = 1
    if turn % 6 == 2:
        data["options"]["store_credit"] = {"amount": 15, "expires_after": "never"}
    if turn % 6 == 4:
        data["options"]["store_credit"] = {"amount": 15, "expires_after": "6 months"}
        data["options"]["refund"] = {"within_days": 5}
    if turn % 7 == 3:
        data["options"]["ship_upgrade"] = {"cost_per_order": 5, "applies_to": "next_order"}
    if turn % 4 == 2 and kind in ("late_delivery", "not_fulfilled"):
        data["public_summary"] = "A glitch in our systems held up about 500 orders."
    inc = Incident.model_validate(data)
    customers = inc.affected.customers or 1
    asked = tuple(n.rstrip("?") for n in names if n.endswith("?"))
    options = tuple(n.rstrip("?") for n in names)
    if kind == "late_delivery" and inc.occasion and "refund" in options:
        asked = (*asked, "refund")  # after a missed occasion the refund is offered
    calls = customers if "personal_call" in options else 0
    made = offer(
        *options,
        kind=kind,
        customers=customers,
        asked=asked,
        calls=calls,
        caller=("founder" if turn % 2 else "support") if calls else None,
        refund_amount=Decimal("40") if {"refund", "pay_difference"} & set(options) else None,
        credit_amount=Decimal("15") if "store_credit" in options else None,
        custom_labels={"flowers": "Flowers and a card"} if "flowers" in options else {},
    )
    offers = [made]
    if turn % 4 == 3 and not circumstance:
        # A second segment with less, as plans with segments make them.
        offers.append(
            offer(
                *options[:1],
                kind=kind,
                segment="regular",
                customers=customers,
                refund_amount=made.refund_amount,
                credit_amount=made.credit_amount,
                custom_labels=made.custom_labels,
            )
        )
    return inc, offers


def sweep_cases() -> list[tuple[str, str, str, str, tuple[str, ...], str | None, int]]:
    cases = []
    turn = 0
    for kind, tone, fault, business in itertools.product(KINDS, TONES, FAULTS, BUSINESSES):
        turn += 1
        for step in range(len(REMEDY_SETS)):
            names = valid(kind, REMEDY_SETS[(turn + step) % len(REMEDY_SETS)])
            if names is not None:
                break
        assert names is not None
        cases.append((kind, tone, fault, business, names, CIRCUMSTANCES[turn % 7], turn))
    for kind in KINDS:
        for names in REMEDY_SETS:
            turn += 1
            checked = valid(kind, names)
            if checked is not None:
                tone, fault = TONES[turn % 3], FAULTS[turn % 3]
                cases.append((kind, tone, fault, BUSINESSES[turn % 3], checked, None, turn))
    return cases


CASES = sweep_cases()


def test_the_sweep_covers_the_dimensions() -> None:
    assert len(CASES) > 300
    assert {c[0] for c in CASES} == set(KINDS)
    assert {(c[0], c[1], c[2], c[3]) for c in CASES} >= set(
        itertools.product(KINDS, TONES, FAULTS, BUSINESSES)
    )
    assert {c[5] for c in CASES} == {None, "bereavement", "illness", "hardship"}
    assert {n.rstrip("?") for c in CASES for n in c[4]} >= {
        "apology_only",
        "refund",
        "store_credit",
        "replacement",
        "ship_upgrade",
        "honor",
        "pay_difference",
        "flowers",
        "personal_call",
    }


@pytest.mark.parametrize("kind", KINDS)
def test_every_segment_draft_reads_right(kind: str) -> None:
    failures = []
    for case in (c for c in CASES if c[0] == kind):
        inc, offers = build(*case)
        warnings: list[str] = []
        messages = draft_messages(inc, offers, warnings=warnings)
        by_segment = {o.segment: o for o in offers}
        for message in messages:
            made = by_segment.get(message.segment) if message.channel != "post" else None
            for problem in founder_problems(message, inc, made):
                failures.append((case, message.channel, message.segment, problem, message.body))
        sms_warnings = [w for w in warnings if "SMS" in w]
        if inc.sender is not None and len(inc.sender.company) < 30:
            assert not sms_warnings, (case, warnings)
    assert failures == []


def test_per_customer_drafts_read_right(tmp_path: Path) -> None:
    names = ["Dr. Jane Smith", "Smith, John", "MRS ANNA LEE", "", "Zoë Brontë", "J. Doe"]
    rows = ["id,name,email,order_id,order_value,phone"]
    for i, name in enumerate(names):
        value = ("19.00", "99.00", "250.00", "", "40.00", "12.50")[i]
        rows.append(f'c{i},"{name}",p{i}@example.com,A-{100 + i},{value},+1 555 010{i}')
    path = tmp_path / "customers.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    failures = []
    for case in CASES[::9]:
        inc, offers = build(*case)
        extra = ("$19.00", "$99.00", "$250.00", "$40.00", "$12.50")
        for message in iter_customer_messages(inc, offers[:1], path):
            for problem in founder_problems(message, inc, offers[0], extra=extra):
                failures.append((case, message.customer_id, message.channel, problem, message.body))
    assert failures == []
