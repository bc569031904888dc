"""What the drafts tests share: incidents, offers, and a reader that flags what a founder would
not send (contradictions with the plan, invented promises, broken text, the wrong register)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from remedy.drafts import Message, gsm_units
from remedy.incident import Incident
from remedy.money import format_money
from remedy.offer import Offer

SENDER = {
    "name": "Maya Ortiz",
    "role": "Founder",
    "company": "Stitched Moments",
    "email": "maya@example.com",
    "phone": "555-0134",
}
GOODS_KINDS = ("not_fulfilled", "lost_in_transit", "quality_defect", "other")
EXPRESS_GOODS_KINDS = ("not_fulfilled", "lost_in_transit", "quality_defect")


def incident(**changes: Any) -> Incident:
    data: dict[str, Any] = {
        "id": "bags",
        "title": "Mother's Day bags were never made",
        "kind": "not_fulfilled",
        "summary": "A glitch in our order system hid your order from our workshop.",
        "occasion": "Mother's Day",
        "affected": {"customers": 100, "order_value": 110},
        "sender": SENDER,
        "tone": "warm",
        "prevention": "Every order now gets a production ticket within the hour.",
    }
    data.update(changes)
    return Incident.model_validate({k: v for k, v in data.items() if v is not None})


def fate_for(
    kind: str, options: tuple[str, ...], asked: tuple[str, ...] = (), choice: bool = False
) -> str | None:
    """The order's fate as the planner states it (remedy.offer.ORDER_FATES)."""
    chosen = set(options)
    if kind == "pricing_error":
        if "honor" in chosen:
            return "honored"
        return "pay_difference" if "pay_difference" in chosen else "cancelled_refunded"
    if kind in GOODS_KINDS or kind == "late_delivery":
        express = "ship_upgrade" in chosen and kind in EXPRESS_GOODS_KINDS
        if choice:
            return "refund_or_goods"
        if "replacement" in chosen or express:
            return "sent_express" if express else "sent"
        if "refund" in chosen and "refund" not in asked:
            return "refunded"
        if kind == "late_delivery":
            return "on_its_way"
    return None


def offer(
    *options: str,
    kind: str = "not_fulfilled",
    segment: str = "all",
    customers: int = 100,
    asked: tuple[str, ...] = (),
    **kw: Any,
) -> Offer:
    """An Offer as the planner makes it for `kind`: the fate, the choice, who calls."""
    goods = "replacement" in options or ("ship_upgrade" in options and kind in EXPRESS_GOODS_KINDS)
    choice = kind != "pricing_error" and "refund" in options and goods
    kw.setdefault("order_fate", fate_for(kind, options, asked, choice))
    kw.setdefault("choice", choice)
    if kw.get("calls") and "caller" not in kw:
        kw["caller"] = "founder"
    return Offer(segment, options, customers, on_request=asked, **kw)


def passes(message: Message) -> bool:
    """The message passes the apology check (for its channel: an SMS needs no explanation)."""
    return message.checks.ok


# --- reading a draft as a founder about to send it ------------------------------------------

_MONEY = re.compile(r"(?:[$€£¥]|\b[A-Z]{3} )\d[\d,]*(?:\.\d+)?")
_CONTRACTION = re.compile(
    r"\b(?:\w+n't|\w+'re|\w+'ve|\w+'ll|I'm|\w+'d|(?:it|that|here|there|what|let|who)'s)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]")
PLAYFUL = (
    "red faces",
    "red in the face",
    "stern word",
    "plain and simple",
    "No excuses",
    "Cheers,",
)
MINIMISERS = ("these things happen", "mix-ups", "mix-up", "happens to the best", "hiccup")


def amounts(text: str) -> set[str]:
    return set(_MONEY.findall(text))


def allowed_amounts(inc: Incident, made: Offer, extra: tuple[str, ...] = ()) -> set[str]:
    """Every amount a message about `made` may name: the plan's refund and credit, the order
    value, amounts in the file's own text, and `extra` (a customer's own order value)."""
    money = set(extra)
    for value in (made.refund_amount, made.credit_amount, inc.affected.order_value):
        if value is not None:
            money.add(format_money(value, inc.currency))
    for text in (inc.summary, inc.title, inc.prevention, inc.public_summary, inc.occasion):
        money |= amounts(text or "")
    for label in made.custom_labels.values():
        money |= amounts(label)
    return money


def founder_problems(
    message: Message, inc: Incident, made: Offer | None, *, extra: tuple[str, ...] = ()
) -> list[str]:
    """What a founder would not send in `message`, drafted for `made` (None: the post)."""
    text = f"{message.subject or ''}\n{message.body}"
    body = message.body
    lower = text.lower()
    found: list[str] = []

    def flag(condition: bool, what: str) -> None:
        if condition:
            found.append(what)

    # Text that did not render, or broke.
    for bad in ("{{", "{%", "\x00", "None", "[refund]", "  ", " .", " ,", "..", ",.", ".,", "::"):
        flag(bad in text, f"broken text {bad!r}")
    flag(bool(re.search(r"\b(\w+) \1\b", text)), "a doubled word")
    flag(bool(re.search(r"(?:happened|wrong): [A-Z][a-z]", text)), "a capital after a colon")
    sentences = [s.strip() for s in _SENTENCE.findall(body) if len(s.split()) >= 4]
    flag(len(sentences) != len(set(sentences)), "a sentence said twice")
    flag(not passes(message), f"apology check: {message.checks.to_text()}")
    # Numbers: only the plan's.
    if made is not None:
        stray = amounts(text) - allowed_amounts(inc, made, extra)
        flag(bool(stray), f"amounts not in the plan: {sorted(stray)}")
    # Register.
    formal = inc.tone == "formal"
    own_text = body
    for data in (inc.summary, inc.prevention, inc.public_summary, inc.title, inc.occasion):
        own_text = own_text.replace(data or "\x01", "")
    if formal:
        flag(bool(_CONTRACTION.search(own_text)), f"a contraction in a formal draft: {own_text!r}")
        flag("Hi " in body or "Hi," in body, "'Hi' in a formal draft")
    light = inc.tone == "playful" and not (
        inc.occasion
        or inc.circumstance
        or inc.repeat
        or inc.fault == "customer"
        or inc.kind not in ("late_delivery", "outage", "pricing_error", "other")
        or (inc.kind == "pricing_error" and made is not None and made.order_fate != "honored")
    )
    if not light:
        for phrase in PLAYFUL:
            flag(phrase in text, f"a joke where none belongs: {phrase!r}")
    flag("bearing with us" in lower or "your patience" in lower, "thanks for patience")
    for phrase in MINIMISERS:
        flag(phrase in lower, f"a minimiser: {phrase!r}")
    # Whose fault: a customer's own mistake is neither blamed nor pretended to be ours.
    if inc.fault == "customer":
        for phrase in ("our mistake", "we messed up", "on us", "let you down", "our fault"):
            flag(phrase in lower, f"a customer's mistake owned as ours: {phrase!r}")
        for phrase in ("your mistake", "your fault", "you should have", "you failed"):
            flag(phrase in lower, f"blaming the customer: {phrase!r}")
    if inc.fault == "partner":
        for word in ("carrier", "courier", "partner's", "supplier"):
            flag(word in own_text.lower(), f"naming a partner: {word!r}")
    # Sensitive circumstances: sympathy first, no gesture in the subject.
    if inc.circumstance:
        if message.channel == "email":
            first = body.split("\n\n")[1] if "\n\n" in body else body
            flag(
                "sorry" not in first.lower() and "condolence" not in first.lower(),
                "no sympathy first",
            )
            for label in made.custom_labels.values() if made else ():
                flag(
                    label.rstrip(".").lower() in (message.subject or "").lower(),
                    "the gesture in the subject",
                )
        flag("calling about your order" in lower, "a call that opens with the order")
    # The public post is for the public.
    if message.channel == "post":
        flag(bool(re.search(r"\byour\b", body, re.IGNORECASE)), "second person in the post")
        flag(body.splitlines()[0].strip() == inc.title.strip(), "the internal title as headline")
    if message.channel == "sms" and not inc.drafts.sms_segments > 1:
        units = gsm_units(body)
        flag(units < 0 or units > 160, f"an SMS over one segment ({len(body)} chars)")
        flag(not re.search(r"[.!?]$|-\w+$", body), "an SMS that stops mid-sentence")
    if made is None or message.channel == "post":
        return found
    # The plan, and nothing else.
    has = set(made.options) - {"apology_only"}
    fate = made.order_fate
    refund_fates = ("cancelled_refunded", "pay_difference", "refund_or_goods", "refunded")
    refund_given = "refund" in has or fate in refund_fates
    flag("refund" in lower and not refund_given, "a refund the plan lacks")
    flag("credit" in lower and "store_credit" not in has, "credit the plan lacks")
    flag("express" in lower and "ship_upgrade" not in has, "express shipping the plan lacks")
    flag("stands at the price" in lower and fate != "honored", "an honored order the plan lacks")
    flag(
        "cancel" in lower and fate not in ("cancelled_refunded", "pay_difference", "refunded"),
        "a cancellation the plan lacks",
    )
    flag(
        ("expire" in lower or "any time in the next" in lower)
        and not inc.options.store_credit.expires_after,
        "an expiry the file does not give",
    )
    flag("working day" in lower and not inc.options.refund.within_days, "an invented deadline")
    calls = "call you" in lower or "calls you" in lower
    flag(calls and message.channel != "phone" and not made.calls, "a call the plan lacks")
    if made.caller == "support":
        flag(
            "like to call you myself" in lower or "i'd like to call" in lower,
            "the sender promises a call support makes",
        )
        if inc.sender is not None:
            flag(f"this is {inc.sender.name.lower()}" in lower, "the script names the sender")
    if fate == "on_its_way":
        flag(
            "sent again" in lower or "ship it again" in lower or "re-ship" in lower,
            "a parcel on its way sent again",
        )
    if message.channel in ("email", "phone") and message.to is None:
        # The segment drafts state the fate and every given remedy (an SMS may point to them).
        flag(refund_given and "refund" not in lower, "the refund is not stated")
        flag("store_credit" in has and "credit" not in lower, "the credit is not stated")
        flag(
            fate == "honored"
            and "stands at the price" not in lower
            and "honoring the price" not in lower,
            "the honored order is not stated",
        )
        flag(
            fate in ("sent", "sent_express")
            and not re.search(r"send|sent|redo|do the work", lower),
            "the goods are not stated",
        )
    return found


def money(amount: str, currency: str = "USD") -> str:
    return format_money(Decimal(amount), currency)
