"""A starter incident file for `remedy new`: valid as written, commented for the founder."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from remedy.incident import KINDS

# The default loss a customer suffers and the options that usually fit, by kind; the founder
# edits them, but the starter must already validate and plan.
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


@dataclass(frozen=True)
class Starter:
    """What `remedy new` asks for; everything has a sensible default."""

    kind: str = "late_delivery"
    customers: int = 100
    order_value: str = "50.00"
    company: str = "Example Co"
    sender_name: str = "Alex"
    role: str = "Founder"
    email: str = "support@example.com"
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
        f"  {_SUMMARIES[starter.kind]} (Say what happened, in plain words: drafts quote it.)",
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
