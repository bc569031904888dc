"""Drafts: what each draft says (issue 10, one test per item, through the CLI where it is the
CLI's job), templates and their errors, and the per-customer mail merge.

The sweep across kinds, tones, faults, remedies, business types and circumstances is in
test_drafts_sweep.py; the README gallery in test_readme_gallery.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from remedy.cli import app
from remedy.drafts import (
    PARTIAL_NAMES,
    SMS_SEGMENT,
    TEMPLATE_DIR,
    TEMPLATE_NAMES,
    CustomerMerge,
    Message,
    draft_messages,
    format_date,
    gsm_units,
    iter_customer_messages,
    sms_segments,
)
from remedy.errors import InputError, UsageError
from remedy.load import load_incident
from remedy.names import greeting_names
from remedy.offer import Offer
from remedy.plan import make_plan

from .drafts_helpers import SENDER, founder_problems, incident, offer, passes

ROOT = Path(__file__).resolve().parent.parent
INCIDENTS = sorted((ROOT / "incidents").glob("*.yaml"))
TONES = ("warm", "formal", "playful")
FAST = ["--draws", "300"]

# Every remedy, in the combinations a plan makes, as segments of one plan (not_fulfilled).
KITCHEN_SINK = [
    offer("refund", segment="refund", refund_amount=Decimal("49.95")),
    offer(
        "refund",
        "ship_upgrade",
        "personal_call",
        segment="choice",
        calls=100,
        refund_amount=Decimal("110"),
    ),
    offer("replacement", "ship_upgrade", segment="replace"),
    offer("ship_upgrade", segment="express"),
    offer("flowers", segment="custom", custom_labels={"flowers": "Flowers and a free pickup"}),
    offer("apology_only", segment="sorry"),
    offer("personal_call", segment="call_only", calls=5),
    offer("store_credit", segment="credit", credit_amount=Decimal("20")),
]


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
        if not passes(m)
    ]
    assert not failures


def write_incident(folder: Path, name: str = "incident.yaml", **data: Any) -> Path:
    """An incident file (YAML) from plain data; dates may be `datetime.date`."""
    base: dict[str, Any] = {
        "id": "test-incident",
        "title": "Orders went wrong",
        "kind": "late_delivery",
        "summary": "A label printer broke and orders left a day late.",
        "affected": {"customers": 200, "order_value": 80},
        "business": {"clv": [100, 200, 400]},
        "sender": dict(SENDER),
    }
    base.update(data)
    path = folder / name
    path.write_text(yaml.safe_dump(base, sort_keys=False, allow_unicode=True))
    return path


def plan_json(runner: CliRunner, path: Path | str) -> dict[str, Any]:
    result = runner.invoke(app, ["plan", str(path), "-f", "json", *FAST])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def message(data: dict[str, Any], channel: str, segment: str | None = None) -> dict[str, Any]:
    return next(
        m
        for m in data["messages"]
        if m["channel"] == channel and (segment is None or m["segment"] == segment)
    )


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
def test_built_in_drafts_of_the_bundled_incidents_read_right(
    path: Path, tone: str, plans: dict[Path, tuple[Offer, ...]]
) -> None:
    loaded = load_incident(path).model_copy(update={"tone": tone})
    offers = {o.segment: o for o in plans[path]}
    for drafted in draft_messages(loaded, plans[path]):
        made = offers.get(drafted.segment) if drafted.channel != "post" else None
        assert founder_problems(drafted, loaded, made) == [], drafted.body


def test_drafts_come_in_plan_order_with_the_post_last() -> None:
    messages = draft_messages(incident(), KITCHEN_SINK[:3])
    assert [(m.channel, m.segment) for m in messages] == [
        ("email", "refund"),
        ("sms", "refund"),
        ("email", "choice"),
        ("sms", "choice"),
        ("phone", "choice"),
        ("email", "replace"),
        ("sms", "replace"),
        ("post", "all"),
    ]
    for m in messages:
        assert (m.subject is not None) == (m.channel == "email")
        assert m.to is None and m.customer_id is None
    assert messages == draft_messages(incident(), KITCHEN_SINK[:3])  # deterministic


# --- item 1: the order's fate is always stated ------------------------------------------------


def test_the_orders_fate_is_always_stated(runner: CliRunner, tmp_path: Path) -> None:
    # A pricing error not worth honoring: the plan cancels and refunds, and the email says so.
    cap = yaml.safe_load((ROOT / "incidents" / "6pm-price-cap.yaml").read_text())
    cap["business"]["clv"] = 10
    data = plan_json(runner, write_incident(tmp_path, **cap))
    assert data["plan"]["offers"][0]["order_fate"] == "cancelled_refunded"
    email = message(data, "email")
    assert "cancelled your order and we're refunding the full $49.95 you paid" in email["body"]
    assert "cancelled" in email["subject"] and "$49.95" in email["subject"]
    assert "stands at the price" not in email["body"]
    # Honored: it ships. A refund of goods never made: the order will not come.
    honored = texts(
        draft_messages(incident(kind="pricing_error"), [offer("honor", kind="pricing_error")]),
        "email",
    )
    assert "stands at the price you paid, and it's shipping as normal" in honored
    refunded = texts(draft_messages(incident(), [offer("refund", refund_amount=Decimal("110"))]))
    assert "We've cancelled your order and we're refunding the full $110.00 you paid" in refunded
    paying = texts(
        draft_messages(
            incident(kind="pricing_error"),
            [offer("pay_difference", kind="pricing_error", refund_amount=Decimal("110"))],
        ),
        "email",
    )
    assert "pay the difference. Otherwise, we'll cancel it and refund the full $110.00" in paying


# --- item 2: the remedy described for the situation -----------------------------------------


@pytest.mark.parametrize(
    ("kind", "options", "says", "never"),
    [
        (
            "lost_in_transit",
            ("ship_upgrade",),
            "sending your order again by express shipping",
            "upgraded your shipping",
        ),
        (
            "not_fulfilled",
            ("ship_upgrade",),
            "made and sent to you by express shipping",
            "ship it again",
        ),
        ("late_delivery", ("ship_upgrade",), "upgraded it to express shipping", "again"),
        ("quality_defect", ("replacement",), "sending you a replacement, at no cost", "again"),
        (
            "not_fulfilled",
            ("refund", "replacement"),
            "or your order made and sent to you",
            "re-ship",
        ),
    ],
)
def test_the_remedy_fits_the_situation(
    kind: str, options: tuple[str, ...], says: str, never: str
) -> None:
    made = offer(*options, kind=kind, refund_amount=Decimal("110"))
    text = texts(draft_messages(incident(kind=kind, occasion=None), [made]), "email")
    assert says in text
    assert never not in text.lower()


# --- item 3: no invented promises --------------------------------------------------------------


def test_no_promise_the_file_does_not_make() -> None:
    credit = [offer("store_credit", credit_amount=Decimal("20"))]
    plain = texts(draft_messages(incident(), credit))
    assert "$20.00 of store credit" in plain
    assert "expire" not in plain and "next 12 months" not in plain
    never = incident(options={"store_credit": {"expires_after": "never"}})
    assert "It doesn't expire." in texts(draft_messages(never, credit), "email")
    year = incident(options={"store_credit": {"expires_after": "12 months"}})
    assert "any time in the next 12 months" in texts(draft_messages(year, credit), "email")
    refund = [offer("refund", refund_amount=Decimal("110"))]
    assert "working day" not in texts(draft_messages(incident(), refund))
    days = incident(options={"refund": {"within_days": 5}})
    assert "within 5 working days" in texts(draft_messages(days, refund), "email")
    # No call unless the plan gives every customer of the segment one.
    some = texts(draft_messages(incident(), [offer("refund", calls=3, refund_amount=Decimal(1))]))
    assert "call you" not in some


# --- item 4: a refund never exceeds what the customer paid ----------------------------------


def test_a_refund_is_capped_at_what_the_customer_paid(runner: CliRunner, tmp_path: Path) -> None:
    write_customers(
        tmp_path / "customers.csv",
        [
            customer(1, order_value="99.00"),
            customer(2, order_value="300.00"),
            customer(3, order_value=""),
        ],
    )
    path = write_incident(
        tmp_path,
        kind="not_fulfilled",
        affected={"customers": 3, "order_value": 99},
        options={"refund": {"amount": 250}, "replacement": False, "ship_upgrade": False},
        customers={"file": "customers.csv"},
    )
    data = plan_json(runner, path)
    assert data["plan"]["offers"][0]["refund_amount"] == 250
    assert any("no customer is refunded more than their order" in n for n in data["notes"])
    assert "$250.00" not in message(data, "email")["body"]  # the segment draft names no figure
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["drafts", str(path), "--out", str(out), *FAST])
    assert result.exit_code == 0, result.output
    bodies = {m["customer_id"]: m["body"] for m in map(json.loads, out.read_text().splitlines())}
    assert "refunding the full $99.00 you paid" in bodies["c1"]
    assert "refunding $250.00" in bodies["c2"] and "full" not in bodies["c2"]
    assert "refunding everything you paid" in bodies["c3"]
    assert all("$300.00" not in b for b in bodies.values())


# --- item 5: the caller is the one who calls ---------------------------------------------------


def test_the_caller_is_the_one_who_calls(runner: CliRunner, tmp_path: Path) -> None:
    ceo = {"name": "Tony Lee", "role": "CEO", "company": "Shoes Co", "email": "t@example.com"}
    path = write_incident(
        tmp_path,
        kind="not_fulfilled",
        affected={"customers": 5, "order_value": 80},
        business={"clv": [2000, 4000, 8000]},
        options={"personal_call": {"caller": "support", "capacity_hours": 10}},
        sender=ceo,
    )
    data = plan_json(runner, path)
    assert data["plan"]["offers"][0]["caller"] == "support"
    email, script = message(data, "email"), message(data, "phone")
    assert "Someone from our team will call you" in email["body"]
    assert "I'd like to call you" not in email["body"]
    assert "this is [your name] from Shoes Co" in script["body"]
    assert "Tony" not in script["body"].split("2.")[0]  # the agent does not pose as the CEO
    founder = draft_messages(
        incident(), [offer("refund", calls=100, caller="founder", refund_amount=Decimal(110))]
    )
    assert "I'd like to call you myself" in texts(founder, "email")
    assert "[Caller: Maya Ortiz." in texts(founder, "phone")


# --- item 6: the promised and the new date; a repeat --------------------------------------------


def test_late_deliveries_give_the_old_and_new_date(runner: CliRunner) -> None:
    data = plan_json(runner, ROOT / "incidents" / "warehouse-delay.yaml")
    email = message(data, "email")
    body = email["body"]
    assert "Wednesday 9 July 2014, a day after the date we promised (Tuesday 8 July 2014)" in body
    assert body.count("9 July") == 1 and body.count("8 July") == 1
    assert "Wed 9 Jul" in message(data, "sms")["body"]
    again = texts(
        draft_messages(
            incident(kind="late_delivery", repeat=True),
            [offer("store_credit", kind="late_delivery", credit_amount=Decimal(5))],
        )
    )
    assert "we let you down recently too, and that makes this worse" in again


# --- item 7: sensitive circumstances -------------------------------------------------------------


def test_grief_comes_first_and_the_gesture_is_no_headline(
    runner: CliRunner, tmp_path: Path
) -> None:
    raw = yaml.safe_load((ROOT / "incidents" / "bereavement-flowers.yaml").read_text())
    raw["tone"] = "playful"
    data = plan_json(runner, write_incident(tmp_path, **raw))
    email, script = message(data, "email"), message(data, "phone")
    paragraphs = email["body"].split("\n\n")
    assert paragraphs[1] == "I'm so sorry for your loss."
    assert "flowers" not in email["subject"].lower() and "courier" not in email["subject"].lower()
    for text in (email["body"], script["body"], message(data, "sms")["body"]):
        assert "red faces" not in text and "stern word" not in text
        assert "bearing with us" not in text and "patience" not in text
    opening = script["body"].split("2. ")[0]
    assert "I'm so sorry for your loss." in opening and "your order" not in opening
    assert email["body"].rstrip().split("\n")[-3] == "With deepest sympathy,"


# --- item 8: a customer's own mistake ------------------------------------------------------------


def test_a_customers_own_mistake_is_neither_minimised_nor_taken_on() -> None:
    loaded = incident(
        kind="lost_in_transit",
        fault="customer",
        occasion=None,
        summary="The address on the order was an old one saved in your account.",
    )
    messages = draft_messages(loaded, [offer("replacement", kind="lost_in_transit")])
    text = texts(messages).lower()
    assert "we could have made it easier to get right" in text
    for phrase in (
        "these things happen",
        "mix-ups",
        "our mistake",
        "on us",
        "messed up",
        "your fault",
        "your mistake",
    ):
        assert phrase not in text
    assert not messages[0].subject.lower().startswith(("we messed", "sorry"))  # type: ignore[union-attr]
    assert_all_pass(messages)


# --- item 9: formal is formal; playful only when the harm is light -------------------------------


def test_formal_has_no_contractions_and_playful_knows_when_not_to() -> None:
    formal = draft_messages(
        incident(tone="formal", summary="A fault in our system held orders back."), KITCHEN_SINK
    )
    for drafted in formal:
        assert not re.search(
            r"\b\w+'(?:re|ve|ll|m|d|t)\b|n't|\b(?:it|that|here)'s\b",
            drafted.body.split("[Caller")[0],
        ), drafted.body
        assert "Hi " not in drafted.body and "Hi there" not in drafted.body
    assert all(m.body.startswith("Dear customer,") for m in formal if m.channel == "email")
    light = texts(
        draft_messages(
            incident(tone="playful", kind="late_delivery", occasion=None),
            [offer("store_credit", credit_amount=Decimal(5))],
        )
    )
    assert "red faces" in light
    for heavy in (
        incident(tone="playful"),  # a missed occasion
        incident(tone="playful", kind="lost_in_transit", occasion=None),
    ):  # a loss
        text = texts(draft_messages(heavy, [offer("refund", refund_amount=Decimal(110))]))
        assert "red faces" not in text and "stern word" not in text


# --- item 10: the business's own words -----------------------------------------------------------


def test_a_subscription_outage_speaks_of_accounts_and_service_credit() -> None:
    saas = incident(
        kind="outage",
        occasion=None,
        prevention=None,
        occurred_on=dt.date(2024, 3, 12),
        summary="A database migration locked our main table for four hours.",
        business={"type": "subscription"},
    )
    made = offer("store_credit", kind="outage", credit_amount=Decimal("49"))
    text = texts(draft_messages(saas, [made]))
    assert "you couldn't use your account" in text
    assert "$49.00 of service credit to your account, to come off your next invoice" in text
    for word in ("order", "parcel", "store", "shipping"):
        assert word not in text.lower()


# --- item 11: no repetition; summaries fit their sentence ----------------------------------------


def test_nothing_is_said_twice_and_summaries_fit_the_sentence() -> None:
    for variant_id in ("a", "b", "c", "d", "e", "f"):
        loaded = incident(id=variant_id, summary="A glitch hid your order from our workshop.")
        for drafted in draft_messages(loaded, KITCHEN_SINK):
            assert (
                founder_problems(
                    drafted,
                    loaded,
                    None
                    if drafted.channel == "post"
                    else next(o for o in KITCHEN_SINK if o.segment == drafted.segment),
                )
                == []
            )
            assert not re.search(r"(?:happened|wrong): [A-Z]", drafted.body)
    # A summary that starts with a name keeps its capital, and gets a sentence of its own.
    named = incident(summary="UPS lost track of the parcel.", id="c")
    for drafted in draft_messages(named, KITCHEN_SINK[:1]):
        assert "ups lost" not in drafted.body


# --- item 12: the public post is written for the public ------------------------------------------


def test_a_double_charge_post_is_for_the_public(runner: CliRunner, tmp_path: Path) -> None:
    path = write_incident(
        tmp_path,
        id="checkout-double-charge",
        title="INTERNAL: payments retry bug (JIRA-123)",
        kind="billing_error",
        summary="A retry in our payment code charged your card twice.",
        affected={"customers": 840, "order_value": "62.50"},
    )
    post = message(plan_json(runner, path), "post")["body"]
    title, _, body = post.partition("\n\n")
    assert title == "Our apology for charging customers in error"
    assert "JIRA" not in post and "INTERNAL" not in post
    assert "Every amount charged in error is refunded in full" in post
    assert "every affected order" not in post.lower()
    assert not re.search(r"\byour\b", body, re.IGNORECASE)
    assert "It affected 840 customers." in body


# --- item 13: one SMS segment, whole sentences ---------------------------------------------------


def test_an_sms_is_one_segment_of_whole_sentences(plans: dict[Path, tuple[Offer, ...]]) -> None:
    for path in INCIDENTS:
        for drafted in draft_messages(load_incident(path), plans[path]):
            if drafted.channel == "sms":
                assert 0 < gsm_units(drafted.body) <= SMS_SEGMENT, drafted.body
                assert re.search(r"[.!?]$|-\w+$", drafted.body)
                assert "..." not in drafted.body
    # A long summary never makes it longer or cuts it: the SMS does not quote it.
    long = incident(summary=" ".join(["The warehouse system failed badly."] * 40))
    sms = [m for m in draft_messages(long, KITCHEN_SINK) if m.channel == "sms"]
    assert all(sms_segments(m.body) == 1 and "warehouse" not in m.body for m in sms)
    # A name outside the GSM alphabet would make the text UCS-2 (70 a segment): it is left out.
    assert sms_segments("Hi Łucja, it's Maya.") == 1 and gsm_units("Łucja") == -1


def test_an_sms_that_cannot_fit_warns_instead_of_cutting() -> None:
    wordy = incident(
        sender={
            **SENDER,
            "company": "The Extraordinarily Long-Named Company of "
            "Handmade Photographic Bags and Accessories Limited",
        }
    )
    warnings: list[str] = []
    sms = [
        m for m in draft_messages(wordy, KITCHEN_SINK[:2], warnings=warnings) if m.channel == "sms"
    ]
    assert any("segments" in w and "sms_segments" in w for w in warnings)
    assert all(m.body.endswith((".", "-Maya")) for m in sms)
    roomy = incident(sender=wordy.sender.model_dump(), drafts={"sms_segments": 2})  # type: ignore[union-attr]
    warnings.clear()
    draft_messages(roomy, KITCHEN_SINK[:2], warnings=warnings)
    assert not [w for w in warnings if "SMS" in w]


# --- item 14: greetings from real names ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "first", "formal"),
    [
        ("Dr. Jane Smith", "Jane", "Dr Smith"),
        ("Smith, John", "John", "John Smith"),
        ("MRS ANNA LEE", "Anna", "Mrs Lee"),
        ("anna o'neil", "Anna", "Anna O'Neil"),
        ("John Smith, Jr.", "John", "John Smith"),
        ("J. Smith", "", "J. Smith"),
        ("ann@example.com", "", ""),
        ("Mr.", "", ""),
        ("Cher", "Cher", "Cher"),
    ],
)
def test_names_become_greetings(name: str, first: str, formal: str) -> None:
    assert greeting_names(name) == (first, formal)


def test_the_mail_merge_greets_people_by_their_names(runner: CliRunner, tmp_path: Path) -> None:
    names = ["Dr. Jane Smith", "Smith, John", "MRS ANNA LEE", "J. Smith"]
    write_customers(tmp_path / "c.csv", [customer(i, name=n) for i, n in enumerate(names)])
    for tone, expected in (
        ("warm", ["Hi Jane,", "Hi John,", "Hi Anna,", "Hi there,"]),
        ("formal", ["Dear Dr Smith,", "Dear John Smith,", "Dear Mrs Lee,", "Dear J. Smith,"]),
    ):
        path = write_incident(
            tmp_path,
            tone=tone,
            affected={"customers": 4, "order_value": 100},
            customers={"file": "c.csv"},
        )
        result = runner.invoke(app, ["drafts", str(path), "--out", "-", *FAST])
        assert result.exit_code == 0, result.output
        emails = [json.loads(line) for line in result.stdout.splitlines()]
        assert [m["body"].split("\n")[0] for m in emails if m["channel"] == "email"] == expected


# --- items 15 and 16: refusals instead of bad messages -------------------------------------------


def test_no_sender_no_mail_merge(runner: CliRunner, tmp_path: Path) -> None:
    write_customers(tmp_path / "c.csv", [customer(1)])
    path = write_incident(tmp_path, sender=None, customers={"file": "c.csv"})
    raw = yaml.safe_load(path.read_text())
    raw.pop("sender")
    path.write_text(yaml.safe_dump(raw))
    refused = runner.invoke(app, ["drafts", str(path), "--out", str(tmp_path / "o.jsonl"), *FAST])
    assert refused.exit_code == 1
    assert "sender" in refused.stderr and not (tmp_path / "o.jsonl").exists()
    planned = runner.invoke(app, ["plan", str(path), "-f", "json", *FAST])
    assert planned.exit_code == 0
    assert "warning: drafts: sender: the incident has no sender" in planned.stderr
    assert message(json.loads(planned.stdout), "email")["body"].endswith("Customer care")


def test_starter_placeholders_never_reach_a_customer(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "new.yaml"
    assert runner.invoke(app, ["new", str(path), "--no-input", "--kind", "outage"]).exit_code == 0
    checked = runner.invoke(app, ["check", str(path)])
    assert checked.exit_code == 0
    assert "warning: summary: still holds the starter's placeholder" in checked.stdout
    assert "sender.company: still holds the starter's placeholder 'Your Company'" in checked.stdout
    as_json = runner.invoke(app, ["check", str(path), "-f", "json"])
    assert {w["key"] for w in json.loads(as_json.stdout)["files"][0]["warnings"]} == {
        "summary",
        "sender.name",
        "sender.company",
        "sender.email",
    }
    write_customers(tmp_path / "c.csv", [customer(1)])
    with path.open("a") as stream:
        stream.write("customers:\n  file: c.csv\n")
    refused = runner.invoke(app, ["drafts", str(path), "--out", "-", *FAST])
    assert refused.exit_code == 1 and "placeholder" in refused.stderr and not refused.stdout
    # With the flags given and the summary written, nothing is left to replace.
    named = tmp_path / "named.yaml"
    runner.invoke(
        app,
        [
            "new",
            str(named),
            "--no-input",
            "--company",
            "Acme",
            "--sender",
            "Alex Kim",
            "--email",
            "alex@acme.example",
        ],
    )
    text = named.read_text().replace(" (Say what happened, in plain words: drafts quote it.)", "")
    named.write_text(text)
    clean = runner.invoke(app, ["check", str(named)])
    assert clean.exit_code == 0 and "warning" not in clean.stdout


# --- item 18: wording varies by incident, and every variant passes -------------------------------


def test_the_wording_varies_by_incident_and_stays_put() -> None:
    openings = set()
    for ident in ("north", "south", "east", "west", "up", "down", "left", "right"):
        loaded = incident(id=ident)
        first = draft_messages(loaded, KITCHEN_SINK)
        assert first == draft_messages(loaded, KITCHEN_SINK)  # deterministic per incident
        assert_all_pass(first)
        openings.add(first[0].body.split("\n\n")[1][:40])
    assert len(openings) >= 3


# --- money, dates, sender ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "amount", "shown"),
    [("EUR", "300", "€300.00"), ("JPY", "5000", "¥5,000"), ("GBP", "1234.5", "£1,234.50")],
)
def test_money_is_exact_in_the_incident_currency(currency: str, amount: str, shown: str) -> None:
    loaded = incident(currency=currency, affected={"customers": 1, "order_value": amount})
    messages = draft_messages(loaded, [offer("refund", refund_amount=Decimal(amount))])
    assert f"refunding the full {shown} you paid" in texts(messages, "email")
    assert f"refunding {shown} in full" in texts(messages, "sms")


def test_dates_read_the_same_in_every_tone() -> None:
    assert format_date(dt.date(2010, 5, 21)) == "Friday 21 May 2010"
    loaded = incident(kind="outage", occurred_on="2010-05-21", occasion=None)
    post = draft_messages(loaded, [offer("store_credit", kind="outage", credit_amount=Decimal(5))])
    assert post[-1].body.startswith("Our apology for the outage on Friday 21 May 2010\n")


def test_sender_signs_with_name_role_company_and_contact() -> None:
    email = draft_messages(incident(), KITCHEN_SINK[:1])[0]
    assert email.body.endswith("Maya Ortiz\nFounder, Stitched Moments")
    assert "maya@example.com" in email.body and "555-0134" in email.body


def test_without_a_sender_messages_sign_as_customer_care() -> None:
    messages = draft_messages(incident(sender=None), KITCHEN_SINK[:1])
    email = messages[0]
    assert email.body.endswith("Customer care")
    assert "We're" in email.body and "I'm" not in email.body
    assert "reply to this email" in email.body
    assert_all_pass(messages)


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


def test_prevention_only_when_given() -> None:
    with_step = texts(draft_messages(incident(), KITCHEN_SINK[:2]))
    assert "Every order now gets a production ticket within the hour." in with_step
    without = texts(draft_messages(incident(prevention=None), KITCHEN_SINK[:2]))
    assert "happen again" not in without and "changed" not in without
    assert "we'll do better" not in without.lower()


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
    assert passes(messages[1])  # the SMS is still the built-in one


def test_a_template_typo_names_the_file_line_and_variable(tmp_path: Path) -> None:
    (tmp_path / "sms.j2").write_text("Hi {{ customer.name }},\nsorry, {{ custmer.first_name }}\n")
    with pytest.raises(InputError) as caught:
        draft_messages(incident(), KITCHEN_SINK[:1], templates_dir=tmp_path)
    text = str(caught.value)
    assert f"{tmp_path / 'sms.j2'}:2:" in text
    assert "undefined variable" in text and "custmer" in text  # our words, not Jinja2's


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
    assert "{{ config }}" in text
    assert "49" not in text.replace("$49.95", "")


# --- per-customer mail merge ---------------------------------------------------------------


def test_each_customer_is_greeted_with_their_own_order(tmp_path: Path) -> None:
    path = write_customers(tmp_path / "c.csv", [customer(1), customer(2, name="")])
    loaded = incident(kind="pricing_error", occasion=None)
    messages = list(iter_customer_messages(loaded, [offer("honor", kind="pricing_error")], path))
    assert [(m.customer_id, m.channel, m.to) for m in messages] == [
        ("c1", "email", "ann1@example.com"),
        ("c2", "email", "ann2@example.com"),
    ]
    first, second = messages
    assert first.body.startswith("Hi Ann1,\n")
    assert "Your order A-1 stands at the price you paid ($101.50)" in first.body
    assert "A-1" in (first.subject or "")
    assert second.body.startswith("Hi there,\n")
    assert passes(first) and passes(second)


def test_a_per_order_refund_is_the_customers_own_order_value(tmp_path: Path) -> None:
    path = write_customers(tmp_path / "c.csv", [customer(1), customer(2, order_value="")])
    chosen = [offer("refund", refund_amount=Decimal("110"))]
    bodies = [m.body for m in iter_customer_messages(incident(), chosen, path)]
    assert "refunding the full $101.50 you paid" in bodies[0]
    assert "refunding everything you paid" in bodies[1]  # unknown: no figure is invented
    fixed = incident(options={"refund": {"amount": "15"}})
    partial = [offer("refund", refund_amount=Decimal("15"))]
    bodies = [m.body for m in iter_customer_messages(fixed, partial, path)]
    assert all("refunding $15.00 to your original payment method" in b for b in bodies)


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


def test_an_sms_points_to_the_email_only_when_there_is_one(tmp_path: Path) -> None:
    rows = [customer(1, phone="+1 555 0101"), customer(2, phone="+1 555 0102", email="")]
    path = write_customers(tmp_path / "c.csv", rows)
    wordy = incident(sender={**SENDER, "company": "Stitched Moments Handmade Photo Bags"})
    chosen = [
        offer(
            "refund",
            "store_credit",
            "flowers",
            refund_amount=Decimal("110"),
            credit_amount=Decimal("20"),
            custom_labels={"flowers": "A handwritten card"},
        )
    ]
    sms = {
        m.customer_id: m.body
        for m in iter_customer_messages(wordy, chosen, path)
        if m.channel == "sms"
    }
    assert "email" in sms["c1"].lower()
    assert "email" not in sms["c2"].lower() and "Reply" in sms["c2"]
    assert all(gsm_units(body) <= SMS_SEGMENT for body in sms.values())


def test_segments_by_column_or_by_clv_rank(tmp_path: Path) -> None:
    chosen = [
        offer(
            "refund",
            "store_credit",
            segment="vip",
            customers=1,
            credit_amount=Decimal("20"),
            refund_amount=Decimal("110"),
        ),
        offer("refund", segment="regular", customers=3, refund_amount=Decimal("110")),
    ]
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
    made = offer("ship_upgrade", kind="not_fulfilled")
    first = next(iter_customer_messages(incident(), [made], path))
    assert first.body.startswith("Hi there,\n")  # no name to greet: "{{" is not a first name
    assert 'We didn\'t send your order {{ "x" }}\\"q when we said' in first.body
    formal = next(iter_customer_messages(incident(tone="formal"), [made], path))
    assert formal.body.startswith("Dear {{ 7*7 }} {% Raw %},\n")  # data: printed, never run


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
    assert all(passes(m) for m in messages)
    assert merge.slow_templates == [] and merge.warnings == []
    with pytest.raises(RuntimeError):
        list(merge)


def test_mail_merge_streams_with_flat_memory(tmp_path: Path) -> None:
    import tracemalloc

    path = tmp_path / "big.csv"
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["id", "name", "email", "order_id", "order_value", "clv"])
        for i in range(20_000):
            writer.writerow(
                [
                    f"c{i}",
                    f"Name{i} Person",
                    f"p{i}@example.com",
                    f"O{i}",
                    f"{i % 500}.{i % 100:02d}",
                    str(i % 997),
                ]
            )
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
    names = [
        "Ann Lee",
        "",
        "Zoë {{ x }}",
        'Bo "The Boss" Ray',
        "X" * 30 + " Long",
        "Émile",
        "Dr. Jane Smith",
        "SMITH, JOHN",
        "Łucja Nowak",
    ]
    values = ["5", "250", "", "40", "5", "99.99", "300", "12", "45"]
    rows = [
        customer(i, name=name, clv=str(i), phone="+1 555 0100", order_value=values[i])
        for i, name in enumerate(names)
    ]
    path = write_customers(tmp_path / "c.csv", rows)
    chosen = [
        offer("refund", "ship_upgrade", "personal_call", calls=3, refund_amount=Decimal("110"))
    ]
    for tone in TONES:
        loaded = incident(tone=tone, options={"refund": {"amount": "100"}})
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
        assert all(sms_segments(body) == 1 for channel, _, body in fast if channel == "sms")
        assert not any("$250.00" in body or "$300.00" in body for _, _, body in fast)


def test_a_private_incident_gets_no_public_post() -> None:
    few = draft_messages(incident(), [offer("refund", customers=1)])
    many = draft_messages(incident(), [offer("refund", customers=500)])
    assert "post" not in {m.channel for m in few}
    assert many[-1].channel == "post"


def test_a_post_from_a_summary_meant_for_one_customer_warns() -> None:
    warnings: list[str] = []
    draft_messages(incident(), [offer("refund", customers=500)], warnings=warnings)
    assert any("public_summary" in w for w in warnings)  # "your order" cannot go public
    warnings.clear()
    public = incident(public_summary="A glitch hid a third of our orders from the workshop.")
    post = draft_messages(public, [offer("refund", customers=500)], warnings=warnings)[-1]
    assert warnings == [] and "A glitch hid a third of our orders" in post.body


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
