"""Drafts: built-in wording per remedy, fault, tone; SMS length; user templates; mail merge."""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remedy.drafts import (
    PARTIAL_NAMES,
    SMS_MAX,
    SMS_SEGMENT,
    TEMPLATE_DIR,
    TEMPLATE_NAMES,
    CustomerMerge,
    Message,
    draft_messages,
    format_date,
    iter_customer_messages,
)
from remedy.errors import InputError, UsageError
from remedy.incident import KINDS, Incident
from remedy.load import load_incident
from remedy.offer import Offer
from remedy.plan import make_plan

ROOT = Path(__file__).resolve().parent.parent
INCIDENTS = sorted((ROOT / "incidents").glob("*.yaml"))
TONES = ("warm", "formal", "playful")

SENDER = {
    "name": "Maya Ortiz",
    "role": "Founder",
    "company": "Stitched Moments",
    "email": "maya@example.com",
    "phone": "555-0134",
}


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


def offer(*options: str, segment: str = "all", customers: int = 100, **kw: Any) -> Offer:
    return Offer(segment, options, customers, **kw)


# Every remedy, in the combinations a plan makes, as segments of one plan.
KITCHEN_SINK = [
    offer("honor", "store_credit", segment="honor", credit_amount=Decimal("20")),
    offer("refund", segment="refund", refund_amount=Decimal("49.95")),
    offer(
        "refund", "ship_upgrade", "personal_call", segment="choice", calls=100,
        refund_amount=Decimal("110"),
    ),
    offer("replacement", "ship_upgrade", segment="replace"),
    offer("ship_upgrade", segment="express"),
    offer("flowers", segment="custom", custom_labels={"flowers": "Flowers and a free pickup"}),
    offer("apology_only", segment="sorry"),
    offer("personal_call", segment="call_only", calls=5),
]  # fmt: skip


def texts(messages: list[Message], channel: str | None = None, segment: str | None = None) -> str:
    return "\n\n".join(
        f"{m.subject or ''}\n{m.body}"
        for m in messages
        if (channel is None or m.channel == channel) and (segment is None or m.segment == segment)
    )


def assert_all_pass(messages: list[Message]) -> None:
    failures = [
        (m.channel, m.segment, m.checks.missing, [h.phrase for h in m.checks.hedges], m.body)
        for m in messages
        if not m.checks.ok
    ]
    assert not failures


# --- every bundled incident, every tone ---------------------------------------------------


@pytest.fixture(scope="module")
def plans() -> dict[Path, tuple[Offer, ...]]:
    return {path: make_plan(load_incident(path), draws=300).offers for path in INCIDENTS}


def test_the_bundled_incidents_and_templates_are_there() -> None:
    assert len(INCIDENTS) >= 5
    assert TEMPLATE_DIR.parent.name == "remedy"  # package data: shipped in the wheel
    for name in (*TEMPLATE_NAMES, *PARTIAL_NAMES, "README.md"):
        assert (TEMPLATE_DIR / name).is_file()


@pytest.mark.parametrize("tone", TONES)
@pytest.mark.parametrize("path", INCIDENTS, ids=lambda p: p.stem)
def test_built_in_drafts_pass_the_apology_check(
    path: Path, tone: str, plans: dict[Path, tuple[Offer, ...]]
) -> None:
    loaded = load_incident(path).model_copy(update={"tone": tone})
    assert_all_pass(draft_messages(loaded, plans[path]))
    assert_all_pass(draft_messages(loaded, KITCHEN_SINK))


@pytest.mark.parametrize("fault", ["ours", "partner", "customer"])
@pytest.mark.parametrize("tone", TONES)
def test_every_fault_tone_and_kind_passes(fault: str, tone: str) -> None:
    kinds = ("pricing_error", "late_delivery", "lost_in_transit", "billing_error", "outage",
             "quality_defect", "other", "not_fulfilled")  # fmt: skip
    senders = (SENDER, None, {"name": "Jo", "company": "Acme"})  # all, none, no contact or role
    for i, kind in enumerate(kinds):
        loaded = incident(kind=kind, fault=fault, tone=tone, sender=senders[i % 3],
                          occasion="a wedding" if i % 2 else None)  # fmt: skip
        assert_all_pass(draft_messages(loaded, KITCHEN_SINK))


def test_drafts_come_in_plan_order_with_the_post_last() -> None:
    messages = draft_messages(incident(), KITCHEN_SINK[:3])
    assert [(m.channel, m.segment) for m in messages] == [
        ("email", "honor"), ("sms", "honor"),
        ("email", "refund"), ("sms", "refund"),
        ("email", "choice"), ("sms", "choice"), ("phone", "choice"),
        ("post", "all"),
    ]  # fmt: skip
    for m in messages:
        assert (m.subject is not None) == (m.channel == "email")
        assert m.to is None and m.customer_id is None
    assert messages == draft_messages(incident(), KITCHEN_SINK[:3])  # deterministic


# --- the offer, in words -------------------------------------------------------------------


def test_honor_keeps_the_order_at_the_price_paid() -> None:
    text = texts(draft_messages(incident(kind="pricing_error", occasion=None), KITCHEN_SINK[:1]))
    assert "stands at the price you paid" in text
    assert "$20.00 of store credit on your account. It never expires." in text


def test_refund_names_the_exact_amount() -> None:
    loaded = incident(options={"refund": {"amount": "49.95"}})
    text = texts(draft_messages(loaded, KITCHEN_SINK[1:2]), "email")
    assert "We're refunding $49.95 to your original payment method" in text
    assert "full refund" not in text  # 49.95 is not the order value: a partial refund


def test_refund_or_express_reshipment_is_a_choice() -> None:
    text = texts(draft_messages(incident(), KITCHEN_SINK[2:3]), "email")
    assert "Your choice: a full refund of $110.00" in text
    assert "we ship it again by express at no cost to you" in text
    assert "can't get it there in time for Mother's Day" in text
    assert "I'd like to call you personally" in text  # every customer of the segment is called


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (("replacement", "ship_upgrade"), "We're sending you a replacement by express shipping"),
        (("ship_upgrade",), "We've upgraded your shipping to express, at no cost to you"),
        (("flowers",), "- Flowers and a free pickup."),
        (("apology_only",), "Tell me what would help, and I'll do everything I can"),
    ],
)
def test_each_remedy_has_its_words(options: tuple[str, ...], expected: str) -> None:
    chosen = offer(*options, custom_labels={"flowers": "Flowers and a free pickup"})
    assert expected in texts(draft_messages(incident(), [chosen]), "email")


@pytest.mark.parametrize(
    ("currency", "amount", "shown"),
    [("EUR", "300", "€300.00"), ("JPY", "5000", "¥5,000"), ("GBP", "1234.5", "£1,234.50")],
)
def test_money_is_exact_in_the_incident_currency(currency: str, amount: str, shown: str) -> None:
    loaded = incident(currency=currency, affected={"customers": 1, "order_value": amount})
    messages = draft_messages(loaded, [offer("refund", refund_amount=Decimal(amount))])
    assert f"We're refunding {shown} to your original payment method" in texts(messages, "email")
    assert f"We're refunding {shown}." in texts(messages, "sms")


def test_dates_read_the_same_in_every_tone() -> None:
    import datetime as dt

    assert format_date(dt.date(2010, 5, 21)) == "Friday 21 May 2010"
    post = draft_messages(incident(kind="outage", occurred_on="2010-05-21"), KITCHEN_SINK[:1])[-1]
    assert post.body.splitlines()[2].startswith("On Friday 21 May 2010, our service went down.")


# --- fault, tone, prevention, occasion, sender ---------------------------------------------


def test_partner_fault_is_owned_without_blaming_the_partner() -> None:
    loaded = incident(
        kind="lost_in_transit",
        fault="partner",
        summary="Your parcel was left outside your building and taken before you got home.",
        occasion=None,
    )
    text = texts(draft_messages(loaded, KITCHEN_SINK)).lower()
    assert "whoever else was involved" in text
    for word in ("carrier", "courier", "partner", "their fault", "not our fault", "blame"):
        assert word not in text


def test_customer_fault_is_kind_and_never_accusing() -> None:
    loaded = incident(kind="other", fault="customer", occasion=None)
    text = texts(draft_messages(loaded, KITCHEN_SINK)).lower()
    assert "we could have made" in text
    for phrase in ("your mistake", "your fault", "you chose", "you failed", "you should have"):
        assert phrase not in text


def test_playful_tone_jokes_about_us_only() -> None:
    text = texts(draft_messages(incident(tone="playful"), KITCHEN_SINK[:2]))
    assert "very red faces" in text
    assert "a stern word with ourselves" in text
    formal = texts(draft_messages(incident(tone="formal"), KITCHEN_SINK[:2]))
    assert "Please accept my sincere apologies." in formal
    assert "red faces" not in formal


def test_prevention_sentence_only_when_given() -> None:
    with_step = texts(draft_messages(incident(), KITCHEN_SINK[:2]))
    assert "so it doesn't happen again: Every order now gets a production ticket" in with_step
    without = texts(draft_messages(incident(prevention=None), KITCHEN_SINK[:2]))
    assert "happen again" not in without
    assert "we'll do better" not in without.lower()


def test_the_occasion_is_acknowledged() -> None:
    text = texts(draft_messages(incident(), KITCHEN_SINK[:1]), "email")
    assert "counting on it for Mother's Day" in text


def test_sender_signs_with_name_role_company_and_contact() -> None:
    email = draft_messages(incident(), KITCHEN_SINK[:1])[0]
    assert email.body.endswith("Maya Ortiz\nFounder, Stitched Moments")
    assert "maya@example.com or on 555-0134" in email.body


def test_without_a_sender_messages_sign_as_customer_care() -> None:
    messages = draft_messages(incident(sender=None), KITCHEN_SINK[:1])
    email = messages[0]
    assert email.body.endswith("Customer care")
    assert "We're so sorry" in email.body and "I'm" not in email.body
    assert "Just reply to this email" in email.body
    assert_all_pass(messages)


# --- SMS --------------------------------------------------------------------------------------


def test_a_short_sms_fits_one_segment() -> None:
    loaded = incident(summary="A bug hid your order.", sender={"name": "Jo", "company": "Acme",
                      "phone": "555-0134"}, occasion=None)  # fmt: skip
    sms = draft_messages(loaded, [offer("ship_upgrade")])[1]
    assert len(sms.body) <= SMS_SEGMENT
    assert sms.body.endswith("Call me: 555-0134")


def test_a_long_sms_shortens_only_the_explanation() -> None:
    long_summary = " ".join(["The warehouse system failed in a long and complicated way."] * 60)
    loaded = incident(
        summary=long_summary,
        sender={**SENDER, "name": "N" * 60, "company": "C" * 60, "email": "e" * 50 + "@ex.com"},
    )
    offers = [o for o in KITCHEN_SINK if o.segment != "call_only"]
    for sms in (m for m in draft_messages(loaded, offers) if m.channel == "sms"):
        assert len(sms.body) <= SMS_MAX
        assert "..." in sms.body or sms.body.count("The warehouse") < 60
        assert "Call me: 555-0134" in sms.body
        assert sms.checks.ok


@settings(max_examples=40, deadline=None)
@given(
    summary=st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=600),
    name=st.text(st.sampled_from("ab éZ'"), min_size=1, max_size=120),
    label=st.text(st.sampled_from("abc de"), min_size=1, max_size=60),
    phone=st.booleans(),
)
def test_sms_is_never_over_320_characters(summary: str, name: str, label: str, phone: bool) -> None:
    sender = {"name": name.strip() or "x", "company": "Acme", "email": "a@example.com"}
    if phone:
        sender["phone"] = "+1 415 555 0199"
    loaded = incident(summary=summary.strip() or None, sender=sender)
    chosen = offer("refund", "ship_upgrade", "flowers", refund_amount=Decimal("1234567.89"),
                   custom_labels={"flowers": label.strip() or "x"})  # fmt: skip
    sms = draft_messages(loaded, [chosen])[1]
    assert len(sms.body) <= SMS_MAX
    assert "$1,234,567.89" in sms.body
    assert ("+1 415 555 0199" if phone else "a@example.com") in sms.body


def test_an_offer_too_long_for_any_sms_is_an_error() -> None:
    labels = {f"gift{i}": "G" * 150 for i in range(3)}
    with pytest.raises(InputError, match=r"sms\.j2: the SMS needs more than 320"):
        draft_messages(incident(), [offer(*labels, custom_labels=labels)])


# --- templates: overrides, errors, data stays data ------------------------------------------


def test_a_user_template_overrides_the_built_in_one(tmp_path: Path) -> None:
    (tmp_path / "email_body.j2").write_text(
        "Dear {{ customer.name or 'friend' }}, we're sorry for any inconvenience.\n"
        "-- {{ sender.signature }}\n"
    )
    messages = draft_messages(incident(), KITCHEN_SINK[:1], templates_dir=tmp_path)
    email = messages[0]
    assert email.body == "Dear friend, we're sorry for any inconvenience.\n-- Maya Ortiz"
    assert not email.checks.ok  # the check applies to user templates too
    assert "acknowledgement" in email.checks.missing
    assert [h.phrase for h in email.checks.hedges] == ["sorry for any inconvenience"]
    assert messages[1].checks.ok  # the SMS is still the built-in one


def test_a_template_typo_names_the_file_line_and_variable(tmp_path: Path) -> None:
    (tmp_path / "sms.j2").write_text("Hi {{ customer.name }},\nsorry, {{ custmer.first_name }}\n")
    with pytest.raises(InputError) as caught:
        draft_messages(incident(), KITCHEN_SINK[:1], templates_dir=tmp_path)
    message = str(caught.value)
    assert f"{tmp_path / 'sms.j2'}:2:" in message
    assert "'custmer' is undefined" in message


def test_a_template_syntax_error_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "post.j2").write_text("Title\n\n{% if tone %}\nno end\n")
    with pytest.raises(InputError, match=r"post\.j2:\d+: template syntax error"):
        draft_messages(incident(), KITCHEN_SINK[:1], templates_dir=tmp_path)


def test_an_unknown_template_name_is_refused_with_a_hint(tmp_path: Path) -> None:
    (tmp_path / "email_bdy.j2").write_text("x")
    with pytest.raises(InputError, match=r"did you mean email_body\.j2\?"):
        draft_messages(incident(), KITCHEN_SINK[:1], templates_dir=tmp_path)
    with pytest.raises(UsageError, match="does not exist"):
        draft_messages(incident(), KITCHEN_SINK[:1], templates_dir=tmp_path / "nope")


def test_the_sandbox_refuses_unsafe_access(tmp_path: Path) -> None:
    (tmp_path / "post.j2").write_text("{{ sender.__class__.__mro__ }}")
    with pytest.raises(InputError, match=r"post\.j2:1"):
        draft_messages(incident(), KITCHEN_SINK[:1], templates_dir=tmp_path)


def test_template_syntax_in_the_incident_prints_literally() -> None:
    loaded = incident(
        title="{{ 7*7 }} {% raw %}orders",
        summary="We printed {{ 7*7 }} and {% raw %}{% endraw %} by mistake.",
        sender={**SENDER, "name": "{{ config }}"},
    )
    text = texts(draft_messages(loaded, KITCHEN_SINK[:2]))
    assert "We printed {{ 7*7 }} and {% raw %}{% endraw %} by mistake." in text
    assert "{{ 7*7 }} {% raw %}orders" in text
    assert "{{ config }}" in text
    assert "49" not in text.replace("$49.95", "")


# --- per-customer mail merge ---------------------------------------------------------------


def write_customers(path: Path, rows: list[dict[str, str]]) -> Path:
    columns = list(rows[0])
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def customer(i: int, **extra: str) -> dict[str, str]:
    row = {
        "id": f"c{i}",
        "name": f"Ann{i} Lee",
        "email": f"ann{i}@example.com",
        "order_id": f"A-{i}",
        "order_value": f"{100 + i}.50",
    }
    row.update(extra)
    return row


def test_each_customer_is_greeted_with_their_own_order(tmp_path: Path) -> None:
    path = write_customers(tmp_path / "c.csv", [customer(1), customer(2, name="")])
    loaded = incident(kind="pricing_error", occasion=None)
    messages = list(iter_customer_messages(loaded, [offer("honor")], path))
    assert [(m.customer_id, m.channel, m.to) for m in messages] == [
        ("c1", "email", "ann1@example.com"),
        ("c2", "email", "ann2@example.com"),
    ]
    first, second = messages
    assert first.body.startswith("Hi Ann1,\n")
    assert "your order A-1 was caught up in it" in first.body
    assert "Your order A-1 stands at the price you paid ($101.50)" in first.body
    assert "A-1" in (first.subject or "")
    assert second.body.startswith("Hi there,\n")
    assert first.checks.ok and second.checks.ok


def test_a_per_order_refund_is_the_customers_own_order_value(tmp_path: Path) -> None:
    path = write_customers(tmp_path / "c.csv", [customer(1), customer(2, order_value="")])
    chosen = [offer("refund", refund_amount=Decimal("110"))]
    bodies = [m.body for m in iter_customer_messages(incident(), chosen, path)]
    assert "We're refunding $101.50 for order A-1" in bodies[0]
    assert "We're refunding $110.00 for order A-2" in bodies[1]  # no order value: the plan's
    fixed = incident(options={"refund": {"amount": "15"}})
    bodies = [m.body for m in iter_customer_messages(fixed, chosen[:0] + [offer(
        "refund", refund_amount=Decimal("15"))], path)]  # fmt: skip
    assert all("We're refunding $15.00" in b for b in bodies)


def test_channels_follow_the_columns_and_the_calls(tmp_path: Path) -> None:
    rows = [
        customer(1, clv="10", phone="+1 555 0101"),
        customer(2, clv="900", phone=""),
        customer(3, clv="500", phone="+1 555 0103", email=""),
        customer(4, clv="900", phone=""),
    ]
    path = write_customers(tmp_path / "c.csv", rows)
    chosen = [offer("refund", "personal_call", calls=2, refund_amount=Decimal("110"))]
    got = [
        (m.customer_id, m.channel, m.to) for m in iter_customer_messages(incident(), chosen, path)
    ]
    assert got == [
        ("c1", "email", "ann1@example.com"),
        ("c1", "sms", "+1 555 0101"),
        ("c2", "email", "ann2@example.com"),
        ("c2", "phone", "ann2@example.com"),  # the two highest CLV get the calls
        ("c3", "sms", "+1 555 0103"),  # no email: SMS only
        ("c4", "email", "ann4@example.com"),
        ("c4", "phone", "ann4@example.com"),
    ]


def test_segments_by_column_or_by_clv_rank(tmp_path: Path) -> None:
    chosen = [
        offer("refund", "store_credit", segment="vip", customers=1, credit_amount=Decimal("20"),
              refund_amount=Decimal("110")),
        offer("refund", segment="regular", customers=3, refund_amount=Decimal("110")),
    ]  # fmt: skip
    ranked = write_customers(
        tmp_path / "ranked.csv", [customer(i, clv=str(c)) for i, c in enumerate([5, 50, 7, 50])]
    )
    segments = [
        (m.customer_id, m.segment) for m in iter_customer_messages(incident(), chosen, ranked)
    ]
    assert segments == [("c0", "regular"), ("c1", "vip"), ("c2", "regular"), ("c3", "regular")]
    by_column = write_customers(
        tmp_path / "column.csv",
        [customer(0, segment="VIP"), customer(1, segment="regular")],
    )
    messages = list(iter_customer_messages(incident(), chosen, by_column))
    assert [m.segment for m in messages] == ["vip", "regular"]
    assert "$20.00 of store credit" in messages[0].body
    assert "store credit" not in messages[1].body
    no_clv = write_customers(tmp_path / "plain.csv", [customer(0)])
    with pytest.raises(InputError, match="add a 'segment' column"):
        list(iter_customer_messages(incident(), chosen, no_clv))


def test_customer_text_is_data(tmp_path: Path) -> None:
    path = write_customers(
        tmp_path / "c.csv",
        [customer(1, name="{{ 7*7 }} {% raw %}", order_id='{{ "x" }}\\"q')],
    )
    message = next(iter_customer_messages(incident(), [offer("ship_upgrade")], path))
    assert message.body.startswith("Hi {{,\n")  # first name is the first word, as written
    assert 'We didn\'t send your order {{ "x" }}\\"q when we said' in message.body


def test_a_template_that_computes_with_customer_fields_is_rendered_in_full(tmp_path: Path) -> None:
    (tmp_path / "email_subject.j2").write_text("{{ (customer.name ~ '!')|upper }} sorry")
    path = write_customers(tmp_path / "c.csv", [customer(1), customer(2, name="bo x")])
    merge = CustomerMerge(incident(), [offer("ship_upgrade")], path, templates_dir=tmp_path)
    subjects = [m.subject for m in merge]
    assert subjects == ["ANN1 LEE! sorry", "BO X! sorry"]
    assert merge.slow_templates == ["email_subject.j2"]


def test_a_merge_counts_and_checks(tmp_path: Path) -> None:
    path = write_customers(tmp_path / "c.csv", [customer(i, phone="+1 555 0100") for i in range(5)])
    merge = CustomerMerge(incident(), [offer("ship_upgrade", calls=2)], path)
    messages = list(merge)
    assert len(messages) == merge.messages == 12
    assert merge.customers == 5
    assert merge.by_channel == {"email": 5, "sms": 5, "phone": 2}
    assert {c for _, c in merge.checks} == {"email", "sms", "phone"}
    assert all(check.ok for check in merge.checks.values())
    assert merge.slow_templates == []
    with pytest.raises(RuntimeError):
        list(merge)


def test_mail_merge_streams_with_flat_memory(tmp_path: Path) -> None:
    import tracemalloc

    path = tmp_path / "big.csv"
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["id", "name", "email", "order_id", "order_value", "clv"])
        for i in range(20_000):
            writer.writerow([f"c{i}", f"Name{i} Person", f"p{i}@example.com", f"O{i}",
                             f"{i % 500}.{i % 100:02d}", str(i % 997)])  # fmt: skip
    chosen = [offer("refund", "personal_call", calls=50, refund_amount=Decimal("110"))]
    merge = CustomerMerge(incident(), chosen, path)
    messages = iter(merge)
    first = next(messages)
    assert first.customer_id == "c0"
    assert merge.bytes_read < merge.total_bytes  # nothing like the whole file was read
    tracemalloc.start()
    count = 1 + sum(1 for _ in messages)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 20_050
    assert merge.by_channel["phone"] == 50
    assert peak < 8 * 2**20  # the messages alone would be ~20 MB if they were kept
    assert re.match(r"Hi Name0,", first.body)


def test_skeletons_give_exactly_what_full_renders_give(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ["Ann Lee", "", "Zoë {{ x }}", 'Bo "The Boss" Ray', "X" * 30 + " Long", "Émile"]
    rows = [
        customer(i, name=name, clv=str(i), phone="+1 555 0100", order_value="" if i == 3 else "5")
        for i, name in enumerate(names)
    ]
    path = write_customers(tmp_path / "c.csv", rows)
    summary = "A long explanation of what went wrong in the warehouse. " * 6
    chosen = [
        offer("refund", "ship_upgrade", "personal_call", calls=3, refund_amount=Decimal("110"))
    ]
    for tone in TONES:
        loaded = incident(tone=tone, summary=summary)
        fast = [
            (m.channel, m.subject, m.body) for m in iter_customer_messages(loaded, chosen, path)
        ]
        with monkeypatch.context() as patch:
            patch.setattr("remedy.drafts._Variant.ready", lambda self: False)
            full = [
                (m.channel, m.subject, m.body) for m in iter_customer_messages(loaded, chosen, path)
            ]
        assert fast == full
        assert [c for c, _, _ in fast].count("phone") == 3
        assert all(len(body) <= SMS_MAX for channel, _, body in fast if channel == "sms")


def test_a_private_incident_gets_no_public_post() -> None:
    few = draft_messages(incident(), [offer("refund", customers=1)])
    many = draft_messages(incident(), [offer("refund", customers=500)])
    assert "post" not in {m.channel for m in few}
    assert many[-1].channel == "post"


def test_compiled_templates_are_cached_privately(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import remedy.drafts

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(remedy.drafts, "_TEMPLATE_CACHE", {})  # as in a fresh process
    first = draft_messages(incident(), [offer("refund")])
    folders = list((tmp_path / "remedy").iterdir())
    assert len(folders) == 1 and oct(folders[0].stat().st_mode & 0o777) == "0o700"
    assert list(folders[0].glob("*.cache"))
    assert draft_messages(incident(), [offer("refund")]) == first  # from the cache: same text
    monkeypatch.setenv("REMEDY_NO_CACHE", "1")
    monkeypatch.setattr(remedy.drafts, "_TEMPLATE_CACHE", {})
    assert draft_messages(incident(), [offer("refund")]) == first


SWEEP_OFFERS = [
    ("apology_only",),
    ("honor",),
    ("refund",),
    ("ship_upgrade",),
    ("store_credit",),
    ("replacement",),
    ("refund", "replacement"),
    ("refund", "ship_upgrade"),
    ("ship_upgrade", "store_credit"),
    ("flowers",),
    ("store_credit", "personal_call"),
]


@pytest.mark.parametrize("kind", KINDS)
def test_every_built_in_draft_passes_for_every_kind_tone_fault_and_remedy(kind: str) -> None:
    failures = []
    for tone in ("warm", "formal", "playful"):
        for fault in ("ours", "partner", "customer"):
            data: dict[str, Any] = {
                "kind": kind,
                "fault": fault,
                "tone": tone,
                "options": {
                    "flowers": {
                        "label": "Flowers and a card",
                        "cost_per_customer": 20,
                        "matches": ["other"],
                        "scope": "segment",
                    }
                },
            }
            if kind == "pricing_error":
                data["affected"] = {"customers": 500, "order_value": 40, "list_price": 90}
            loaded = incident(**data)
            for options in SWEEP_OFFERS:
                made = offer(
                    *options,
                    customers=500,
                    calls=10 if "personal_call" in options else 0,
                    refund_amount=Decimal("40") if "refund" in options else None,
                    credit_amount=Decimal("8") if "store_credit" in options else None,
                    custom_labels={"flowers": "Flowers and a card"},
                )
                for message in draft_messages(loaded, [made]):
                    if not message.checks.ok:
                        failures.append((tone, fault, options, message.channel))
    assert failures == []
