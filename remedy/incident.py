"""The incident file format, version 1, as pydantic models.

These models are the single source of truth for the format: the loader validates with them, the
JSON Schema is generated from them, and the planner reads them. Unknown keys are errors
(`extra="forbid"`). Money that a customer will see is `Decimal`; numbers that are estimates are
`Estimate`, written as one value or as `[low, likely, high]`.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

FORMAT_VERSION = 1
SCHEMA_ID = "https://remedy.invalid/schema/incident-v1.json"

KINDS = (
    "pricing_error",
    "late_delivery",
    "not_fulfilled",
    "lost_in_transit",
    "billing_error",
    "outage",
    "quality_defect",
    "other",
)
Kind = Literal[
    "pricing_error",
    "late_delivery",
    "not_fulfilled",
    "lost_in_transit",
    "billing_error",
    "outage",
    "quality_defect",
    "other",
]
Fault = Literal["ours", "partner", "customer"]
Tone = Literal["warm", "formal", "playful"]
Caller = Literal["founder", "support"]
Scope = Literal["incident", "segment"]
BusinessType = Literal["store", "subscription", "service"]
Circumstance = Literal["bereavement", "illness", "hardship"]
AppliesTo = Literal["this_order", "next_order"]
# `never`, or a period such as `12 months` (days, weeks, months or years).
EXPIRY = re.compile(r"^(?:never|[1-9][0-9]{0,3} (?:day|week|month|year)s?)$")

BUILTIN_OPTIONS = (
    "apology_only",
    "honor",
    "refund",
    "ship_upgrade",
    "personal_call",
    "store_credit",
    "replacement",
    "pay_difference",
)
# Built-in options the planner uses only when the file lists them: a call is a person's time,
# and asking customers to pay more is a choice a founder makes, not a default.
OPT_IN_OPTIONS = ("personal_call", "pay_difference")
Notice = Literal["email", "mail"]
# Kinds where an order is (or will be) delivered: delivery dates apply.
DELIVERY_KINDS = ("late_delivery", "not_fulfilled", "lost_in_transit", "quality_defect")

# Numbers beyond these are typos or attacks, not incidents.
MAX_CUSTOMERS = 100_000_000
MAX_MONEY = Decimal("1e12")
MAX_AMOUNT = 1e12

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class Estimate:
    """A number that may be uncertain: `low <= likely <= high` (all equal when certain)."""

    __slots__ = ("high", "likely", "low")

    def __init__(self, low: float, likely: float, high: float) -> None:
        self.low = float(low)
        self.likely = float(likely)
        self.high = float(high)

    @classmethod
    def exact(cls, value: float) -> Estimate:
        return cls(value, value, value)

    @property
    def uncertain(self) -> bool:
        return self.low != self.high

    def scaled(self, factor: float) -> Estimate:
        """This estimate times a non-negative factor."""
        return Estimate(self.low * factor, self.likely * factor, self.high * factor)

    def as_list(self) -> list[float]:
        return [self.low, self.likely, self.high]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Estimate) and self.as_list() == other.as_list()

    def __hash__(self) -> int:
        return hash((self.low, self.likely, self.high))

    def __repr__(self) -> str:
        if not self.uncertain:
            return f"Estimate({self.likely:g})"
        return f"Estimate({self.low:g}, {self.likely:g}, {self.high:g})"

    def __str__(self) -> str:
        if not self.uncertain:
            return f"{self.likely:g}"
        return f"[{self.low:g}, {self.likely:g}, {self.high:g}]"

    @classmethod
    def parse(cls, value: Any) -> Estimate:
        """Read a number or `[low, likely, high]`; raise ValueError with a fix otherwise."""
        if isinstance(value, Estimate):
            return value
        if isinstance(value, list | tuple):
            if len(value) != 3:
                raise ValueError(
                    f"expected a number or [low, likely, high], got a list of {len(value)} "
                    "(write three numbers, e.g. [150, 300, 600])"
                )
            low, likely, high = (_number(v) for v in value)
            if not low <= likely <= high:
                raise ValueError(
                    f"[low, likely, high] must be in order, got [{low:g}, {likely:g}, {high:g}] "
                    "(reorder them so low <= likely <= high)"
                )
            return cls(low, likely, high)
        return cls.exact(_number(value))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls.parse,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda e: e.likely if not e.uncertain else e.as_list()
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "oneOf": [
                {"type": "number"},
                {
                    "type": "array",
                    "items": {"type": "number"},
                    "minItems": 3,
                    "maxItems": 3,
                    "description": "[low, likely, high]",
                },
            ]
        }


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        shown = f"'{value}'" if isinstance(value, str) else type(value).__name__
        raise ValueError(f"expected a number, got {shown} (write digits, e.g. 49.95)")
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("expected a finite number")
    if number < 0:
        raise ValueError(f"must not be negative, got {number:g}")
    if number > MAX_AMOUNT:
        raise ValueError(f"{number:g} is absurdly large (at most {MAX_AMOUNT:g})")
    return number


def _fraction_estimate(value: Estimate) -> Estimate:
    if value.high > 1:
        raise ValueError(f"is a fraction from 0 to 1, got {value} (write 0.35, not 35)")
    return value


Money = Annotated[
    Decimal,
    Field(ge=0, le=MAX_MONEY, max_digits=18, decimal_places=4, allow_inf_nan=False),
]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=MAX_CUSTOMERS)]
Amount = Annotated[float, Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)]
OneLine = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\n\r]*$")]
Text = Annotated[str, Field(min_length=1, max_length=4000)]


class Strict(BaseModel):
    """Base for every mapping in the file: unknown keys are errors; values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Affected(Strict):
    """Who and what the incident hit."""

    customers: Count | None = Field(
        None, description="How many customers were affected.", examples=[32000]
    )
    orders: Count | None = Field(
        None, description="How many orders were affected (default: one per customer)."
    )
    order_value: Money | None = Field(
        None, description="What the average affected order paid (or was charged).", examples=[49.95]
    )
    list_price: Money | None = Field(
        None, description="pricing_error only: what the items normally sell for."
    )
    customer_loss: Estimate | None = Field(
        None,
        description=(
            "What each customer loses if we only apologise. Default by kind: pricing_error "
            "list_price - order_value; late_delivery 10% of order_value; not_fulfilled and "
            "lost_in_transit order_value; billing_error the wrong charge."
        ),
    )


class Business(Strict):
    """What the company knows about its customers and costs."""

    clv: Estimate | None = Field(
        None,
        description=(
            "Average customer lifetime value of the affected customers: expected future gross "
            "margin, in currency units. A number or [low, likely, high]."
        ),
        examples=[[150, 300, 600]],
    )
    gross_margin: Fraction = Field(0.4, description="Gross margin, a fraction from 0 to 1.")
    support_cost_per_hour: Amount = Field(30, description="Fully loaded cost of support time.")
    founder_cost_per_hour: Amount = Field(
        200, description="Cost of a founder's or executive's hour, for personal calls."
    )
    budget: Money | None = Field(None, description="Optional cap on the plan's total cost.")
    type: BusinessType = Field(
        "store",
        description=(
            "What the company sells, for the drafts' words: store (orders, parcels, store "
            "credit), subscription (accounts, invoices, service credit) or service (bookings)."
        ),
    )


class Assumptions(Strict):
    """Overrides for the model's defaults (see the README's scoring section)."""

    delta: Estimate | None = Field(
        None,
        description=(
            "Share of future value lost with only a form apology (before modifiers); "
            "default by kind."
        ),
    )
    rho_max: Fraction = Field(
        0.85, description="Cap on the share of value any combination of remedies recovers."
    )
    contact_minutes: Estimate = Field(
        default_factory=lambda: Estimate.exact(3.0),
        description="Support minutes spent per customer contacted (handling, replies).",
    )

    refund_take_up: Estimate | None = Field(
        None,
        description=(
            "When customers may choose between a refund and the goods sent again, the share "
            "who take the refund (default [0.05, 0.2, 0.5])."
        ),
    )
    word_of_mouth: Estimate | None = Field(
        None,
        description=(
            "Value of what affected customers tell others, as a share of their CLV, added to "
            "the value at stake (default [0, 0.1, 0.25])."
        ),
    )
    publicity: Estimate | None = Field(
        None,
        description=(
            "Value at stake from publicity, as a share of CLV (default [0, 0.1, 0.3] from "
            "10,000 affected customers, else 0)."
        ),
    )
    reply_share: Estimate | None = Field(
        None,
        description=(
            "Share of customers who reply to a mass message and take support time "
            "(default [0.01, 0.03, 0.06])."
        ),
    )
    min_offer_share: Fraction | None = Field(
        None,
        description=(
            "An offer worth less than this share of the order value recovers nothing "
            "(default 0.05)."
        ),
    )
    fairness_penalty: Estimate | None = Field(
        None,
        description=(
            "Share of a segment's value at stake lost when it sees another segment get more "
            "for the same failure (default [0.02, 0.05, 0.1]; not when segments_private)."
        ),
    )

    _check_delta = field_validator("delta")(lambda v: None if v is None else _fraction_estimate(v))
    _check_fractions = field_validator(
        "refund_take_up", "word_of_mouth", "publicity", "reply_share", "fairness_penalty"
    )(lambda v: None if v is None else _fraction_estimate(v))


class Segment(Strict):
    """A group of affected customers valued and treated alike."""

    name: str = Field(max_length=40, pattern=NAME.pattern, examples=["vip"])
    share: Fraction | None = Field(None, description="Share of the affected customers.")
    count: Count | None = Field(None, description="Number of affected customers.")
    clv: Estimate | None = Field(None, description="Customer lifetime value of this segment.")
    customer_loss: Estimate | None = Field(None, description="Overrides affected.customer_loss.")

    @model_validator(mode="after")
    def _share_or_count(self) -> Segment:
        if (self.share is None) == (self.count is None):
            raise ValueError("give either share (0..1) or count, not both or neither")
        return self


class OptionBase(Strict):
    """Keys every option accepts."""

    enabled: bool = Field(True, description="`refund: false` in the file disables an option.")
    required: bool = Field(
        False, description="An obligation: planned whatever it scores (never scored away)."
    )
    recovery: Estimate | None = Field(
        None, description="Override the share of value at stake this option recovers (0..1)."
    )
    on_request: bool = Field(
        False, description="Offered to everyone, given only to those who ask for it."
    )
    take_up: Estimate | None = Field(
        None,
        description=(
            "With on_request: the share who ask (default by notice: email [0.02, 0.04, 0.09], "
            "mail [0.04, 0.06, 0.1]; x0.1 when proof is required)."
        ),
    )
    notice: Notice = Field(
        "email", description="With on_request: how customers hear of the offer (email, mail)."
    )
    proof_required: bool = Field(
        False, description="With on_request: customers must show proof (a receipt) to claim."
    )

    _check_recovery = field_validator("recovery", "take_up")(
        lambda v: None if v is None else _fraction_estimate(v)
    )


class HonorOption(OptionBase):
    cost_per_order: Estimate | None = Field(
        None, description="What honoring one order costs us (the margin given up)."
    )


class RefundOption(OptionBase):
    amount: Money | None = Field(None, description="Refund per order (default: order_value).")
    processing_cost: Estimate = Field(
        default_factory=lambda: Estimate.exact(0.30),
        description="Cost of processing one refund (card fees are generally not returned).",
    )
    within_days: int | None = Field(
        None,
        ge=1,
        le=90,
        description=(
            "Working days for a refund to reach the customer; the drafts say it only when given."
        ),
    )


class ShipUpgradeOption(OptionBase):
    cost_per_order: Estimate | None = Field(
        None, description="Extra cost of the faster shipping, per order."
    )
    value: Estimate | None = Field(
        None,
        description=(
            "What the faster shipping is worth to the customer (its retail price), per order; "
            "without it the upgrade is taken to make good the customer's loss."
        ),
    )
    applies_to: AppliesTo = Field(
        "this_order",
        description=(
            "late_delivery: whether the late order itself is sped up (this_order) or the "
            "customer's next order ships express (next_order). Elsewhere the upgrade sends the "
            "goods themselves."
        ),
    )


class PersonalCallOption(OptionBase):
    minutes: Estimate = Field(
        default_factory=lambda: Estimate.exact(10.0), description="Length of one call."
    )
    capacity_hours: Amount | None = Field(
        None, description="Hours the caller(s) can spend in total (default: 8, one working day)."
    )
    caller: Caller = Field("support", description="Who calls: founder or support.")


class StoreCreditOption(OptionBase):
    amount: Money | None = Field(
        None, description="Face value of the credit per customer (default: 20% of order_value)."
    )
    redemption_rate: Estimate = Field(
        default_factory=lambda: Estimate.exact(0.6),
        description="Share of credit that customers actually redeem.",
    )
    expires_after: str | None = Field(
        None,
        max_length=20,
        pattern=EXPIRY.pattern,
        description=(
            "`never`, or how long the credit lasts (`12 months`, `90 days`); the drafts say "
            "nothing about expiry unless this is given."
        ),
        examples=["never", "12 months"],
    )

    @field_validator("expires_after", mode="before")
    @classmethod
    def _expiry(cls, value: Any) -> Any:
        if isinstance(value, str) and not EXPIRY.match(value.strip()):
            raise ValueError(
                f"'{value}' is not a period: write never, or a number and days, weeks, months "
                "or years (e.g. 12 months)"
            )
        return value


class ReplacementOption(OptionBase):
    cost_per_order: Estimate | None = Field(
        None, description="What one replacement costs us (default: order_value x (1 - margin))."
    )


class ApologyOption(OptionBase):
    pass


class PayDifferenceOption(OptionBase):
    """pricing_error only: customers keep their order by paying the correct price, or it is
    cancelled and refunded. Used only when the file lists it."""


class CustomOption(OptionBase):
    """An option of the company's own: flowers, a handwritten card, a free month."""

    label: OneLine = Field(description="What the customer gets, in a few words.")
    cost_per_customer: Estimate = Field(description="What it costs us per customer.")
    value: Estimate | None = Field(
        None,
        description=(
            "What it is worth to the customer, per customer; without it the option is taken "
            "to make good the customer's loss."
        ),
    )
    matches: list[Kind] = Field(
        min_length=1, description="The incident kinds this option answers directly."
    )
    scope: Scope = Field(description="incident: everyone gets it; segment: may be targeted.")


class Options(Strict):
    """Built-in options to tune or disable, and custom ones under free names."""

    honor: HonorOption = Field(default_factory=HonorOption)
    refund: RefundOption = Field(default_factory=RefundOption)
    ship_upgrade: ShipUpgradeOption = Field(default_factory=ShipUpgradeOption)
    personal_call: PersonalCallOption = Field(default_factory=PersonalCallOption)
    store_credit: StoreCreditOption = Field(default_factory=StoreCreditOption)
    replacement: ReplacementOption = Field(default_factory=ReplacementOption)
    apology_only: ApologyOption = Field(default_factory=ApologyOption)
    pay_difference: PayDifferenceOption = Field(default_factory=PayDifferenceOption)
    custom: dict[str, CustomOption] = Field(
        default_factory=dict,
        description="Custom options; in the file they sit beside the built-in ones.",
    )

    @model_validator(mode="before")
    @classmethod
    def _gather(cls, data: Any) -> Any:
        # In the file, custom options sit beside built-in ones and `name: false` disables one;
        # here they are moved under `custom` and `false` becomes `{enabled: false}`.
        if not isinstance(data, dict):
            return data
        gathered: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        for name, value in data.items():
            if value is False or value is True:
                value = {"enabled": value}
            elif value is None:
                value = {}
            if name in BUILTIN_OPTIONS or name == "custom":
                gathered[name] = value
            else:
                if not isinstance(name, str) or not NAME.match(name):
                    raise ValueError(
                        f"option name {name!r} must be lowercase letters, digits and '_'"
                    )
                custom[name] = value
        if custom:
            gathered["custom"] = custom
        return gathered

    def get(self, name: str) -> OptionBase:
        """The configuration of option `name`, built-in or custom."""
        if name in BUILTIN_OPTIONS:
            option: OptionBase = getattr(self, name)
            return option
        return self.custom[name]

    def names(self) -> list[str]:
        """Every option's id: the built-in ones, then the custom ones in file order."""
        return [*BUILTIN_OPTIONS, *self.custom]

    def listed(self, name: str) -> bool:
        """True when the file names option `name` (opt-in options count only then)."""
        return name in self.model_fields_set or name in self.custom


class Customers(Strict):
    """Files with the affected customers and their order history."""

    file: Path | None = Field(
        None,
        description=(
            "CSV of affected customers: id, name, email, order_id, order_value [, clv]; "
            "relative to the incident file."
        ),
    )
    orders: Path | None = Field(
        None,
        description="CSV order history (customer_id, date, amount) to estimate CLV from.",
    )

    @field_validator("file", "orders")
    @classmethod
    def _relative_to_incident(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        """Resolve against the incident's folder (context `base_dir`), which the file may not
        leave unless it is in one of the context's `allow_outside` folders; refuse what exists
        but is not a regular file. Without a `base_dir` (plain data) paths are kept as given."""
        context = info.context or {}
        base = context.get("base_dir")
        if value is None or base is None:
            return value
        from remedy.errors import excerpt
        from remedy.fileio import OUTSIDE_HINT, file_kind, outside_reason

        why = outside_reason(value, Path(base), context.get("allow_outside", ()))
        if why is not None:
            raise ValueError(f"{excerpt(value, 80)} {why} ({OUTSIDE_HINT})")
        path = Path(base) / value
        try:
            kind = file_kind(path.stat().st_mode)
        except OSError:
            return path  # a missing file: `check`, `drafts` and the planner each say so
        if kind is not None:
            raise ValueError(f"{excerpt(value, 80)} is {kind}, not a file (name a CSV file)")
        return path


class Sender(Strict):
    """Who signs the messages."""

    name: OneLine = Field(examples=["Tony"])
    role: OneLine | None = Field(None, examples=["CEO"])
    company: OneLine = Field(examples=["Zappos"])
    email: str | None = Field(
        None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", examples=["cs@example.com"]
    )
    phone: str | None = Field(None, max_length=40, pattern=r"^[0-9+().\- ]{3,40}$")


class Delivery(Strict):
    """The delivery dates of a late (or re-sent) order, for the drafts to state."""

    promised: dt.date | None = Field(None, description="The delivery date the customer was given.")
    expected: dt.date | None = Field(None, description="The new expected delivery date.")

    @model_validator(mode="after")
    def _in_order(self) -> Delivery:
        if self.promised and self.expected and self.expected < self.promised:
            raise ValueError(
                f"expected ({self.expected}) is before promised ({self.promised}): a late "
                "delivery arrives after the promised date (swap them?)"
            )
        return self


class Drafts(Strict):
    """How the messages are drafted."""

    sms_segments: int = Field(
        1,
        ge=1,
        le=3,
        description=(
            "SMS length in segments (1: at most 160 GSM-7 characters, or 70 when the text needs "
            "characters outside that alphabet)."
        ),
    )


class Incident(Strict):
    """One incident: what went wrong, who it hit, what the company can do, who signs."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        title="remedy incident file",
        json_schema_extra={"$id": SCHEMA_ID},
    )

    id: str = Field(
        max_length=80,
        pattern=SLUG.pattern,
        description="Slug: lowercase letters, digits and '-'.",
        examples=["6pm-price-cap"],
    )
    title: OneLine = Field(description="One line.", examples=["Every item sold for $49.95"])
    kind: Kind = Field(description="What went wrong.")
    fault: Fault = Field("ours", description="Whose fault it was: ours, partner or customer.")
    summary: Text | None = Field(
        None, description="What happened, in plain words; drafts quote it as the explanation."
    )
    occurred_on: dt.date | None = Field(None, description="When it happened.")
    occasion: OneLine | None = Field(
        None, description="A dated occasion the failure made the customer miss."
    )
    repeat: bool = Field(False, description="These customers were hit by a failure recently.")
    circumstance: Circumstance | None = Field(
        None,
        description=(
            "The customer is living through something hard (bereavement, illness, hardship): "
            "the drafts open with sympathy, never joke, and keep the practical matter small."
        ),
    )
    delivery: Delivery | None = Field(
        None,
        description="late_delivery and re-sent goods: the promised and the new delivery date.",
    )
    public_summary: Text | None = Field(
        None,
        description=(
            "What happened, in the third person, for the public post (default: `summary`, "
            "when it does not speak to one customer)."
        ),
    )
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")
    affected: Affected = Field(default_factory=Affected)
    business: Business = Field(default_factory=Business)
    assumptions: Assumptions = Field(default_factory=Assumptions)
    segments: list[Segment] = Field(default_factory=list, max_length=50)
    segments_private: bool = Field(
        False,
        description=(
            "Segments cannot compare what each was offered (no fairness cost for treating "
            "them differently)."
        ),
    )
    options: Options = Field(default_factory=Options)
    customers: Customers | None = None
    sender: Sender | None = None
    tone: Tone = Field("warm", description="warm, formal or playful.")
    prevention: Text | None = Field(
        None, description="A concrete step already taken so it won't recur."
    )
    drafts: Drafts = Field(default_factory=Drafts)

    @model_validator(mode="after")
    def _consistent(self) -> Incident:
        has_file = self.customers is not None and self.customers.file is not None
        if self.affected.customers is None and not has_file:
            raise ValueError(
                "affected.customers: is required unless customers.file is given "
                "(add 'customers: N' under 'affected:')"
            )
        if self.affected.list_price is not None and self.kind != "pricing_error":
            raise ValueError("affected.list_price: applies to pricing_error only (remove it)")
        if self.delivery is not None and self.kind not in DELIVERY_KINDS:
            raise ValueError(
                f"delivery: applies to {', '.join(DELIVERY_KINDS)} only (remove it, or check "
                "the kind)"
            )
        self._check_segments()
        self._check_money_places()
        return self

    def _check_money_places(self) -> None:
        # What a customer is told must be exact: no fractions of a cent (or of a yen).
        from remedy.customers import minor_units

        places = minor_units(self.currency)
        step = Decimal(1).scaleb(-places)
        amounts = (
            ("affected.order_value", self.affected.order_value),
            ("affected.list_price", self.affected.list_price),
            ("business.budget", self.business.budget),
            ("options.refund.amount", self.options.refund.amount),
            ("options.store_credit.amount", self.options.store_credit.amount),
        )
        for key, amount in amounts:
            if amount is not None and amount != amount.quantize(step):
                raise ValueError(
                    f"{key}: {amount} has more decimals than {self.currency} uses ({places}); "
                    f"round it to {amount.quantize(step, rounding=ROUND_HALF_UP)}"
                )

    def _check_segments(self) -> None:
        if not self.segments:
            return
        names = [s.name for s in self.segments]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"segments: name '{name}' is used twice (names must be unique)")
        shares = [s.share for s in self.segments if s.share is not None]
        counts = [s.count for s in self.segments if s.count is not None]
        if shares and counts:
            raise ValueError("segments: use shares for all segments or counts for all, not both")
        if shares and abs(sum(shares) - 1) > 1e-6:
            raise ValueError(
                f"segments: shares sum to {sum(shares):g}, not 1 (adjust them to add up to 1)"
            )
        total = self.affected.customers
        if counts and total is not None and sum(counts) != total:
            raise ValueError(
                f"segments: counts sum to {sum(counts)}, not affected.customers = {total}"
            )

    @property
    def orders(self) -> int:
        """Affected orders (default one per customer)."""
        if self.affected.orders is not None:
            return self.affected.orders
        return self.affected.customers or 0

    def enabled_options(self) -> list[str]:
        """Ids of the options the planner may use, in a stable order; opt-in options (a
        personal call, asking to pay the difference) only when the file lists them."""
        return [
            n
            for n in self.options.names()
            if self.options.get(n).enabled and (n not in OPT_IN_OPTIONS or self.options.listed(n))
        ]
