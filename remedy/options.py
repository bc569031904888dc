"""The remedies: what each option costs us and what it is worth to the customer.

Scoring model section 3 with revision 2: the value to the customer (what the recovery curve's x
reads) and the cost to the company (what the plan pays) are separate inputs for every option. An
upgrade is worth its retail price and costs its incremental cost; store credit is worth its face
value and costs face x redemption x (1 - margin); a cancelled order's refund returns the
customer's own money, worth nothing as compensation and costing only its processing. Raising a
cost never raises a worth.

Each option is built by one small function below (`_honor`, `_refund`, ...); `option_specs`
calls the ones that apply to the incident. Amounts are per customer: per-order amounts are
multiplied by the orders per customer. Every input read is recorded in `inputs` with its source.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from remedy import defaults
from remedy.incident import Estimate, Incident, OptionBase
from remedy.stake import Input, Values, money

# Kinds where goods can be sent (again): a replacement, or the goods sent express.
GOODS_KINDS = ("not_fulfilled", "lost_in_transit", "quality_defect", "other")
# Kinds where the express option sends the goods themselves (they are owed or must be replaced).
EXPRESS_GOODS_KINDS = ("not_fulfilled", "lost_in_transit", "quality_defect")
# The options that decide a mispriced order's fate: exactly one applies to each customer.
FATE_OPTIONS = ("honor", "refund", "pay_difference")


@dataclass(frozen=True)
class Term:
    """One term of a per-customer amount: `factor` times the product of some inputs.

    A key written `~name` stands for `1 - name` (the share who do not take an offer).
    """

    label: str
    factor: float
    keys: tuple[str, ...] = ()

    def evaluate(self, values: Values) -> np.ndarray:
        out = np.full(1, self.factor)
        for key in self.keys:
            out = out * (1.0 - values[key[1:]] if key.startswith("~") else values[key])
        return out


def total(terms: Sequence[Term], values: Values) -> np.ndarray:
    """The sum of `terms` for every draw (shape (1,) when no input of theirs is uncertain)."""
    out = np.zeros(1)
    for term in terms:
        out = out + term.evaluate(values)
    return out


@dataclass(frozen=True)
class OptionSpec:
    """One option the planner may use: its cost, its worth to the customer, how it matches."""

    id: str
    label: str
    scope: str  # "incident": everyone gets the same; "segment": may be targeted
    tangible: bool  # compensation (an apology alone after a repeat failure backfires)
    cost: tuple[Term, ...]  # per customer who receives it
    worth: tuple[Term, ...] | None  # per customer; None: taken to make good the loss (x = 1)
    match: float = 1.0
    match_source: str = ""
    timeliness: float = 1.0
    recovery_key: str | None = None  # the file overrides its recovery share
    take_up_key: str | None = None  # on request: only this share receives it
    goods: bool = False  # sends the goods (makes a customer whole in goods)
    required: bool = False  # `required: true` in the file
    waived: bool = False  # `required: false` in the file
    matches: tuple[str, ...] | None = None  # custom options: the kinds they answer

    @property
    def on_request(self) -> bool:
        return self.take_up_key is not None


@dataclass
class _Context:
    """What every option function reads: the incident, the inputs so far, shared keys."""

    incident: Incident
    inputs: dict[str, Input]
    per_customer: float  # orders per customer
    order_value: float | None
    missing: list[tuple[str, str]]
    notes: list[str]
    support_key: str = ""
    handling_key: str = ""

    def add(self, key: str, estimate: Estimate, source: str) -> str:
        self.inputs[key] = Input(key, estimate, source)
        return key

    def from_file(self, section: object, field: str, key: str, default_name: str) -> str:
        """Add input `key` from `section.field`, citing the file or the default."""
        value = getattr(section, field)
        estimate = value if isinstance(value, Estimate) else Estimate.exact(float(value))
        fields_set: set[str] = getattr(section, "model_fields_set", set())
        source = f"file: {key}" if field in fields_set else defaults.cite(default_name)
        return self.add(key, estimate, source)


def match(kind: str, option: str, custom_matches: Sequence[str] | None = None) -> tuple[float, str]:
    """How well `option` answers a failure of `kind`, and the name of the default used."""
    if custom_matches is not None:
        name = "match.custom" if kind in custom_matches else "match.fallback"
        return float(defaults.value(name)), name
    name = f"match.{kind}.{option}"
    if name in defaults.DEFAULTS:
        return float(defaults.value(name)), name
    if option == "store_credit":
        return float(defaults.value("match.fallback.store_credit")), "match.fallback.store_credit"
    return float(defaults.value("match.fallback")), "match.fallback"


def credit_amount_default(order_value: float | Decimal, currency: str = "USD") -> Decimal:
    """Default face value of store credit: 20% of the order value, in whole minor units of
    the currency (cents; whole yen), so the plan's figure is the one the customer is told."""
    from remedy.customers import minor_units

    share = Decimal(str(defaults.value("store_credit.share_of_order")))
    step = Decimal(1).scaleb(-minor_units(currency))
    return (Decimal(str(order_value)) * share).quantize(step, rounding=ROUND_HALF_UP)


def refund_amount(incident: Incident) -> Decimal | None:
    """The refund per order: `options.refund.amount`, else the order value."""
    amount = incident.options.refund.amount
    return amount if amount is not None else incident.affected.order_value


# --- one function per option -----------------------------------------------------------------


def _honor(ctx: _Context) -> OptionSpec | None:
    """Keep the mistaken price: costs the margin given up, worth the deal the customer took."""
    incident = ctx.incident
    if incident.kind != "pricing_error":
        return None
    list_price = money(incident.affected.list_price)
    deal = (
        None
        if list_price is None or ctx.order_value is None
        else max(0.0, list_price - ctx.order_value)
    )
    honor = incident.options.honor
    if honor.cost_per_order is not None:
        key = ctx.add(
            "options.honor.cost_per_order",
            honor.cost_per_order,
            "file: options.honor.cost_per_order",
        )
    elif deal is not None:
        key = ctx.add(
            "options.honor.cost_per_order",
            Estimate.exact(deal),
            "derived: list_price - order_value (the margin given up)",
        )
    else:
        ctx.missing.append(("honor", "set options.honor.cost_per_order (or affected.list_price)"))
        return None
    return OptionSpec(
        id="honor",
        label="Honor the price paid",
        scope="incident",
        tangible=True,
        cost=(Term("cost per order x orders per customer", ctx.per_customer, (key,)),),
        worth=None
        if deal is None
        else (Term("list_price - order_value", deal * ctx.per_customer),),
    )


def _refund(ctx: _Context) -> OptionSpec | None:
    """The money back. A mispriced order that is not honored is cancelled and refunded: the
    customer's own money returns, so it costs only the processing and compensates nothing."""
    incident = ctx.incident
    amount = money(refund_amount(incident))
    if amount is None:
        ctx.missing.append(("refund", "set options.refund.amount (or affected.order_value)"))
        return None
    refund = incident.options.refund
    processing = ctx.from_file(
        refund, "processing_cost", "options.refund.processing_cost", "refund.processing_cost"
    )
    per = ctx.per_customer
    fee = Term("processing x orders per customer", per, (processing,))
    if incident.kind == "pricing_error":
        return OptionSpec(
            id="refund",
            label="Cancel the order and refund it",
            scope="incident",
            tangible=False,
            cost=(fee,),
            worth=(Term("the customer's own money back (no compensation)", 0.0),),
        )
    source = "options.refund.amount" if refund.amount is not None else "affected.order_value"
    back = Term(f"refund ({source}) x orders per customer", amount * per)
    return OptionSpec(
        id="refund",
        label="Refund",
        scope="incident",
        tangible=True,
        cost=(back, fee),
        worth=(back,),
    )


def _pay_difference(ctx: _Context) -> OptionSpec | None:
    """pricing_error, when the file lists it: keep the order by paying the correct price, or
    have it cancelled and refunded. Worth nothing as compensation; those who cancel cost the
    refund's processing, those who pay take a support contact."""
    incident = ctx.incident
    if incident.kind != "pricing_error":
        return None
    option = incident.options.pay_difference
    if option.take_up is not None:
        share = ctx.add(
            "options.pay_difference.take_up",
            option.take_up,
            "file: options.pay_difference.take_up",
        )
    else:
        share = ctx.add(
            "options.pay_difference.take_up",
            Estimate(*defaults.value("pay_difference.take_up")),
            defaults.cite("pay_difference.take_up"),
        )
    processing = ctx.from_file(
        incident.options.refund,
        "processing_cost",
        "options.refund.processing_cost",
        "refund.processing_cost",
    )
    per = ctx.per_customer
    return OptionSpec(
        id="pay_difference",
        label="Keep the order at the correct price, or cancel and refund it",
        scope="incident",
        tangible=False,
        cost=(
            Term(
                "refund processing x orders, for those who cancel", per, ("~" + share, processing)
            ),
            Term("a support contact, for those who pay", 1 / 60, (share, *_handling(ctx))),
        ),
        worth=(Term("the correct price asked (no compensation)", 0.0),),
    )


def _store_credit(ctx: _Context) -> OptionSpec | None:
    """Worth its face value to the customer; costs what is redeemed, at cost."""
    incident = ctx.incident
    credit_option = incident.options.store_credit
    if credit_option.amount is not None:
        credit, source = float(credit_option.amount), "options.store_credit.amount"
    elif ctx.order_value is not None:
        share = float(defaults.value("store_credit.share_of_order"))
        credit = float(credit_amount_default(ctx.order_value, incident.currency))
        source = f"{share:g} x affected.order_value"
    else:
        ctx.missing.append(("store_credit", "set options.store_credit.amount"))
        return None
    redemption = ctx.from_file(
        credit_option,
        "redemption_rate",
        "options.store_credit.redemption_rate",
        "store_credit.redemption_rate",
    )
    ctx.add(
        "margin_kept",
        Estimate.exact(1.0 - incident.business.gross_margin),
        "derived: 1 - business.gross_margin",
    )
    return OptionSpec(
        id="store_credit",
        label="Store credit",
        scope="segment",
        tangible=True,
        cost=(
            Term(
                f"credit ({source}) x redemption x (1 - gross margin)",
                credit,
                (redemption, "margin_kept"),
            ),
        ),
        worth=(Term(f"face value ({source})", credit),),
    )


def _goods_cost(ctx: _Context) -> str:
    """The key of one order's goods at cost (file, or order value x (1 - margin)), or ''."""
    incident = ctx.incident
    if incident.options.replacement.cost_per_order is not None:
        return ctx.add(
            "options.replacement.cost_per_order",
            incident.options.replacement.cost_per_order,
            "file: options.replacement.cost_per_order",
        )
    if ctx.order_value is not None:
        return ctx.add(
            "options.replacement.cost_per_order",
            Estimate.exact(ctx.order_value * (1.0 - incident.business.gross_margin)),
            "derived: order_value x (1 - gross_margin) (the goods at cost)",
        )
    return ""


def _replacement(ctx: _Context) -> OptionSpec | None:
    """The goods sent (again) by standard shipping: worth the order, costs the goods."""
    if ctx.incident.kind not in GOODS_KINDS:
        return None
    goods = _goods_cost(ctx)
    if not goods or ctx.order_value is None:
        ctx.missing.append(("replacement", "set affected.order_value (the goods to send)"))
        return None
    return OptionSpec(
        id="replacement",
        label="The goods sent (standard shipping)",
        scope="segment",
        tangible=True,
        cost=(Term("goods at cost x orders per customer", ctx.per_customer, (goods,)),),
        worth=(Term("order_value x orders per customer", ctx.order_value * ctx.per_customer),),
        timeliness=float(defaults.value("timeliness.standard_shipping")),
        goods=True,
    )


def _ship_upgrade(ctx: _Context) -> OptionSpec | None:
    """Faster shipping. Where goods are owed or replaced, it is the goods sent express (whether
    or not a standard replacement is also possible): its cost includes the goods."""
    incident = ctx.incident
    upgrade = incident.options.ship_upgrade
    if upgrade.cost_per_order is None:
        ctx.missing.append(("ship_upgrade", "set options.ship_upgrade.cost_per_order"))
        return None
    per = ctx.per_customer
    ship = ctx.add(
        "options.ship_upgrade.cost_per_order",
        upgrade.cost_per_order,
        "file: options.ship_upgrade.cost_per_order",
    )
    shipping = Term("express shipping x orders per customer", per, (ship,))
    retail: Term | None = None
    if upgrade.value is not None:
        value = ctx.add(
            "options.ship_upgrade.value", upgrade.value, "file: options.ship_upgrade.value"
        )
        retail = Term("express shipping's retail price x orders per customer", per, (value,))
    if incident.kind in EXPRESS_GOODS_KINDS:
        goods = _goods_cost(ctx)
        if not goods or ctx.order_value is None:
            ctx.missing.append(("ship_upgrade", "set affected.order_value (the goods to send)"))
            return None
        worth = [Term("order_value x orders per customer", ctx.order_value * per)]
        if retail is not None:
            worth.append(retail)
        name = f"match.{incident.kind}.ship_upgrade"
        matched = match(
            incident.kind, "ship_upgrade" if name in defaults.DEFAULTS else "replacement"
        )
        return OptionSpec(
            id="ship_upgrade",
            label="The goods sent express",
            scope="segment",
            tangible=True,
            cost=(shipping, Term("goods at cost x orders per customer", per, (goods,))),
            worth=tuple(worth),
            match=matched[0],
            match_source=matched[1],
            goods=True,
        )
    return OptionSpec(
        id="ship_upgrade",
        label="Express shipping",
        scope="segment",
        tangible=True,
        cost=(shipping,),
        worth=None if retail is None else (retail,),
    )


def _personal_call(ctx: _Context) -> OptionSpec | None:
    """The caller's time. Opt-in: only when the file lists it (see `Incident.enabled_options`)."""
    incident = ctx.incident
    call = incident.options.personal_call
    minutes = ctx.from_file(
        call, "minutes", "options.personal_call.minutes", "personal_call.minutes"
    )
    if call.caller == "founder":
        rate = ctx.from_file(
            incident.business,
            "founder_cost_per_hour",
            "business.founder_cost_per_hour",
            "business.founder_cost_per_hour",
        )
    else:
        rate = ctx.support_key
    if call.capacity_hours is None:
        hours = float(defaults.value("personal_call.capacity_hours"))
        ctx.notes.append(
            f"personal_call has no capacity_hours: planned with {hours:g} hours of calls (one "
            "working day); set options.personal_call.capacity_hours to plan with more or fewer"
        )
    return OptionSpec(
        id="personal_call",
        label=f"Personal call ({call.caller})",
        scope="segment",
        tangible=False,
        cost=(Term(f"minutes x {call.caller} cost per hour / 60", 1 / 60, (minutes, rate)),),
        worth=None,
    )


def _custom(ctx: _Context, name: str) -> OptionSpec:
    custom = ctx.incident.options.custom[name]
    cost = ctx.add(
        f"options.{name}.cost_per_customer",
        custom.cost_per_customer,
        f"file: options.{name}.cost_per_customer",
    )
    worth: tuple[Term, ...] | None = None
    if custom.value is not None:
        value = ctx.add(f"options.{name}.value", custom.value, f"file: options.{name}.value")
        worth = (Term("its worth to the customer", 1.0, (value,)),)
    value_match, source = match(ctx.incident.kind, name, custom.matches)
    return OptionSpec(
        id=name,
        label=custom.label,
        scope=custom.scope,
        tangible=True,
        cost=(Term("cost per customer", 1.0, (cost,)),),
        worth=worth,
        match=value_match,
        match_source=source,
        matches=tuple(custom.matches),
    )


def _handling(ctx: _Context) -> tuple[str, str]:
    """The keys of one support contact's cost: minutes x support cost per hour (/60 by caller)."""
    return (ctx.handling_key, ctx.support_key)


_BUILDERS: dict[str, Callable[[_Context], OptionSpec | None]] = {
    "honor": _honor,
    "refund": _refund,
    "pay_difference": _pay_difference,
    "store_credit": _store_credit,
    "replacement": _replacement,
    "ship_upgrade": _ship_upgrade,
    "personal_call": _personal_call,
}


# --- all of them -------------------------------------------------------------------------------


def option_specs(
    incident: Incident, inputs: dict[str, Input]
) -> tuple[dict[str, OptionSpec], list[tuple[str, str]], list[str]]:
    """The options the planner may use for `incident`, in plan order; the enabled options it
    cannot price, with what to set; and notes (defaults the file should know were used)."""
    customers = incident.affected.customers or 0
    ctx = _Context(
        incident=incident,
        inputs=inputs,
        per_customer=incident.orders / customers if customers else 1.0,
        order_value=money(incident.affected.order_value),
        missing=[],
        notes=[],
    )
    business = incident.business
    ctx.from_file(business, "gross_margin", "business.gross_margin", "business.gross_margin")
    ctx.support_key = ctx.from_file(
        business,
        "support_cost_per_hour",
        "business.support_cost_per_hour",
        "business.support_cost_per_hour",
    )
    ctx.handling_key = ctx.from_file(
        incident.assumptions, "contact_minutes", "assumptions.contact_minutes", "contact_minutes"
    )
    enabled = set(incident.enabled_options())
    specs: dict[str, OptionSpec] = {}
    for name in plan_order(incident):
        if name not in enabled:
            continue
        built = _custom(ctx, name) if name in incident.options.custom else _BUILDERS[name](ctx)
        if built is None:
            continue
        specs[name] = _configured(ctx, name, built)
    if incident.kind == "pricing_error" and "pay_difference" in specs:
        # Listing pay_difference chooses it over cancelling outright: those who decline to pay
        # the correct price are refunded as part of it.
        specs.pop("refund", None)
    # Mention a left-out option only if the file configures it or it answers this kind of
    # failure directly; built-in options left at their defaults are otherwise noise.
    named = incident.options.model_fields_set
    kind = incident.kind
    missing = [
        (name, why)
        for name, why in ctx.missing
        if name in named
        or f"match.{kind}.{name}" in defaults.DEFAULTS
        or incident.options.get(name).required
    ]
    return specs, missing, ctx.notes


def _configured(ctx: _Context, name: str, spec: OptionSpec) -> OptionSpec:
    """Apply what every option may say in the file: its match, a recovery override, `required`,
    and `on_request` (with its take-up and the support contact of each claim)."""
    option: OptionBase = ctx.incident.options.get(name)
    fields = option.model_fields_set
    if spec.matches is None and not spec.match_source:
        value, source = match(ctx.incident.kind, name)
        spec = replace(spec, match=value, match_source=source)
    if option.recovery is not None:
        key = ctx.add(f"options.{name}.recovery", option.recovery, f"file: options.{name}.recovery")
        spec = replace(spec, recovery_key=key)
    spec = replace(
        spec,
        required=option.required,
        waived="required" in fields and not option.required,
    )
    if option.on_request and name != "pay_difference":
        spec = replace(
            spec,
            take_up_key=_take_up(ctx, name, option),
            cost=(*spec.cost, Term("a support contact per claim", 1 / 60, _handling(ctx))),
        )
    return spec


def _take_up(ctx: _Context, name: str, option: OptionBase) -> str:
    key = f"options.{name}.take_up"
    if option.take_up is not None:
        return ctx.add(key, option.take_up, f"file: {key}")
    base = Estimate(*defaults.value(f"take_up.{option.notice}"))
    source = defaults.cite(f"take_up.{option.notice}")
    if option.proof_required:
        factor = float(defaults.value("take_up.proof_factor"))
        base = base.scaled(factor)
        source += "; x" + defaults.cite("take_up.proof_factor", factor)
    return ctx.add(key, base, source)


def plan_order(incident: Incident) -> tuple[str, ...]:
    """Every option id in the order plans name them: the order's fate, then the goods, then
    extras, the company's own options, and the call last."""
    builtin = (
        "honor",
        "refund",
        "pay_difference",
        "replacement",
        "ship_upgrade",
        "store_credit",
    )
    return (*builtin, *incident.options.custom, "personal_call")


def specs_in_order(specs: Mapping[str, OptionSpec], incident: Incident) -> tuple[str, ...]:
    """The ids of `specs` in plan order."""
    return tuple(o for o in plan_order(incident) if o in specs)
