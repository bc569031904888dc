"""What a plan offers one group of customers: the contract between planning and drafting.

The planner (`remedy.plan`) produces one `Offer` per segment; the drafter (`remedy.drafts`)
needs nothing else from the plan to write the messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

ALL = "all"  # the segment name used when the incident defines no segments


@dataclass(frozen=True)
class Offer:
    """The remedies one segment receives.

    `options` holds the ids of the chosen options (built-in ids such as `honor`, `refund`,
    `ship_upgrade`, `store_credit`, `replacement`, `personal_call`, or custom names), in plan
    order; `apology_only` appears only when nothing else was chosen. `calls` says how many of the
    segment's customers get a personal call (capacity may allow fewer than all): the highest-value
    customers first.
    """

    segment: str
    options: tuple[str, ...]
    customers: int
    calls: int = 0
    refund_amount: Decimal | None = None  # per order, exact, when `refund` is in options
    credit_amount: Decimal | None = None  # face value per customer, when `store_credit` is
    custom_labels: dict[str, str] = field(default_factory=dict)  # custom option id -> label

    def has(self, option: str) -> bool:
        return option in self.options
