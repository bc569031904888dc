"""A starter incident file for `remedy new`: valid as written, commented for the founder.

The starter plans straight away, but some of its text is only there to be replaced: the
summary's instruction, and the sender's name, company and email when the flags did not give
them. `placeholders(incident)` finds what is still left, so `remedy check` can warn and
`remedy drafts` can refuse: a placeholder must never reach a customer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from remedy.incident import KINDS

if TYPE_CHECKING:
    from remedy.incident import Incident

# What the starter's summary says, by kind; the founder rewrites it, but the starter must
# already validate and plan.
_SUMMARIES = {
    "pricing_error": "A pricing mistake sold items far below their price.",
    "late_delivery": "Orders arrived later than we promised.",
    "not_fulfilled": "Orders we accepted were never made or shipped.",
    "lost_in_transit": "Parcels were lost on their way to customers.",
    "billing_error": "Customers were charged when they should not have been.",
    "outage": "Our service was unavailable.",
    "quality_defect": "Products reached customers with a defect.",
    "other": "Something went wrong for our customers.",
}


# Text written only to be replaced (kept distinctive so that `placeholders` cannot mistake a real
# value for one).
SUMMARY_NOTE = "(Say what happened, in plain words: drafts quote it.)"
PLACEHOLDER_COMPANY = "Your Company"
PLACEHOLDER_NAME = "Your Name"
PLACEHOLDER_EMAIL = "you@example.com"


@dataclass(frozen=True)
class Starter:
    """What `remedy new` asks for; everything has a sensible default."""

    kind: str = "late_delivery"
    customers: int = 100
    order_value: str = "50.00"
    company: str = PLACEHOLDER_COMPANY
    sender_name: str = PLACEHOLDER_NAME
    role: str = "Founder"
    email: str = PLACEHOLDER_EMAIL
    title: str = ""
    id: str = ""
    clv: str = "[100, 200, 400]"


def slug(text: str) -> str:
    """A file-format id from free text: lowercase letters, digits and '-'."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return cleaned[:80].strip("-") or "incident"


def _quote(text: str) -> str:
    # JSON strings are valid YAML double-quoted scalars: safe for any text the founder types.
    return json.dumps(text, ensure_ascii=False)


def starter_text(starter: Starter, filename: str | None = None) -> str:
    """The YAML text of a starter incident (`filename` is named in its how-to comment)."""
    if starter.kind not in KINDS:
        raise ValueError(f"unknown kind {starter.kind!r}")
    title = starter.title or _SUMMARIES[starter.kind].rstrip(".")
    ident = starter.id or slug(title)
    name = filename or f"{ident}.yaml"
    lines = [
        # Editors resolve the schema relative to this file: `remedy schema -o` writes it there.
        "# yaml-language-server: $schema=incident.schema.json",
        "# (for validation as you type: remedy schema -o incident.schema.json, beside this file)",
        "# A starter incident: replace the estimates with what you know, then run",
        f"#   remedy check {name} && remedy plan {name}",
        f"id: {ident}",
        f"title: {_quote(title)}",
        f"kind: {starter.kind}              # {' | '.join(KINDS)}",
        "fault: ours                      # ours | partner | customer",
        "summary: >",
        f"  {_SUMMARIES[starter.kind]} {SUMMARY_NOTE}",
        "currency: USD",
        "",
        "affected:",
        f"  customers: {starter.customers}",
        f"  order_value: {starter.order_value}           # what the average affected order paid",
        "",
        "business:",
        f"  clv: {starter.clv}         # lifetime value (future margin) of a customer: "
        "[low, likely, high]",
        "  gross_margin: 0.4",
        "  # budget: 10000                # optional cap on the plan's total cost",
        "",
        "options:",
        "  personal_call:",
        "    capacity_hours: 4            # hours the caller can spend on calls",
        "    caller: founder",
        "",
        "sender:",
        f"  name: {_quote(starter.sender_name)}",
        f"  role: {_quote(starter.role)}",
        f"  company: {_quote(starter.company)}",
        f"  email: {_quote(starter.email)}",
        "tone: warm                       # warm | formal | playful",
        "# prevention: >                  # a concrete step already taken so it won't recur",
        "#   ...",
        "",
    ]
    return "\n".join(lines)


def placeholders(incident: Incident) -> list[tuple[str, str]]:
    """(key, text) for each field that still holds the starter's placeholder text."""
    found: list[tuple[str, str]] = []
    for key, text in (
        ("summary", incident.summary),
        ("public_summary", incident.public_summary),
        ("prevention", incident.prevention),
    ):
        if text and SUMMARY_NOTE in text:
            found.append((key, SUMMARY_NOTE))
    sender = incident.sender
    if sender is not None:
        for key, value, placeholder in (
            ("sender.name", sender.name, PLACEHOLDER_NAME),
            ("sender.company", sender.company, PLACEHOLDER_COMPANY),
            ("sender.email", sender.email, PLACEHOLDER_EMAIL),
        ):
            if value == placeholder:
                found.append((key, placeholder))
    return found
