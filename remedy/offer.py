"""What a plan offers one group of customers: the contract between planning and drafting.

The planner (`remedy.plan`) produces one `Offer` per segment; the drafter (`remedy.drafts`)
needs nothing else from the plan to write the messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

ALL = "all"  # the segment name used when the incident defines no segments

ORDER_FATES = {
    "honored": "a mispriced order stands at the price paid and ships",
    "cancelled_refunded": "a mispriced order is cancelled and the payment returned",
    "pay_difference": "a mispriced order ships if the customer pays the correct price, else "
    "it is cancelled and refunded",
    "refund_or_goods": "the customer chooses: a refund, or the goods sent",
    "sent": "the goods are sent (again) by standard shipping",
    "sent_express": "the goods are sent (again) by express shipping",
    "refunded": "the order is refunded",
    "on_its_way": "the order is still on its way and arrives late",
}


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
    order_fate: str | None = None  # what happens to the order: one of ORDER_FATES, or None
    on_request: tuple[str, ...] = ()  # options given only to the customers who ask for them
    choice: bool = False  # each customer chooses between the refund and the goods
    caller: str | None = None  # who makes the calls ("founder" or "support"), when calls > 0

    def has(self, option: str) -> bool:
        return option in self.options
