"""Scoring remedies: what each option costs, what share of the value at stake it recovers, and
which sets of options are candidates (scoring model sections 2 to 4).

The model is built once per incident (`build_model`): the options that apply, their costs and
recoveries as formulas over named inputs, and every candidate set of options with its structure
(arms of a choice, columns of the recovery matrix). `evaluate` then scores all candidates for any
number of draws of the inputs at once, with two matrix products per segment.

Recovery of one compensating option i for one segment:
    rho_i = g(x) * match(option, kind) * fault_factor * timeliness * material_share
x is the value to the customer over the customer's loss; `material_share` is 1 unless a dated
occasion was missed (see `Valuation.material_share`). A set S recovers
    rho(S) = min(rho_max, 1 - prod(1 - rho_i))      (diminishing returns, capped)
minus a backfire penalty when a repeat failure gets no tangible remedy. A *choice* (a refund, or
the goods sent again) recovers and costs the take-up-weighted average of its two arms.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from remedy import defaults
from remedy.errors import InputError
from remedy.incident import Estimate, Incident
from remedy.value import Input, Valuation, Values, money, valuation

# Where a replacement (goods sent again) means something.
GOODS_KINDS = ("not_fulfilled", "lost_in_transit", "quality_defect", "other")
# Goods paid for and not received: the customer must be made whole (refund or goods).
MAKE_WHOLE_KINDS = ("not_fulfilled", "lost_in_transit")
TANGIBLE = ("honor", "refund", "store_credit", "replacement", "ship_upgrade")
NEEDS_CONTACT = ("refund", "store_credit", "replacement", "ship_upgrade")
INCIDENT_SCOPE = ("honor", "refund", "replacement")  # same for everyone: fairness (section 4)
SEGMENT_SCOPE = ("ship_upgrade", "store_credit")
MAX_CANDIDATES = 512  # "at most a few hundred" (scoring model section 4)


# --- The recovery curve ---------------------------------------------------------------------


def recovery_curve(x: np.ndarray | float, *, group: bool = False) -> np.ndarray:
    """g(x): the share of the value at stake a remedy recovers, by x = value / customer's loss.

    A logistic rise, steep between x = 0.6 and x = 1.2 (g(0.6) = 0.14, g(1) = 0.86,
    g(1.2) = 0.97), flat by x = 1.5, then a smooth decline (Gaussian ramp, zero slope at 1.5) by
    up to 0.3 for over-compensation. g(0) = 0. In a group incident x is stretched by 1.2, so the
    plateau (and the decline) come earlier. Smooth everywhere, so small input changes never
    flip a score.
    """
    mid = float(defaults.value("g.rise_midpoint"))
    steep = float(defaults.value("g.rise_steepness"))
    start = float(defaults.value("g.decline_start"))
    depth = float(defaults.value("g.decline_depth"))
    width = float(defaults.value("g.decline_width"))
    xs = np.asarray(x, dtype=float)
    if group:
        xs = xs * float(defaults.value("g.group_shift"))
    floor = 1.0 / (1.0 + np.exp(steep * mid))
    rise = (1.0 / (1.0 + np.exp(-np.clip(steep * (xs - mid), -60, 60))) - floor) / (1 - floor)
    over = np.clip(xs - start, 0.0, None)
    with np.errstate(invalid="ignore", over="ignore"):
        decline = depth * (1.0 - np.exp(-np.square(over / width)))
    return np.asarray(np.clip(rise - decline, 0.0, 1.0))


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


# --- Options --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One term of a per-customer amount: `factor` times the product of some inputs."""

    label: str
    factor: float
    keys: tuple[str, ...] = ()

    def evaluate(self, values: Values, like: np.ndarray) -> np.ndarray:
        out = np.full_like(like, self.factor, dtype=float)
        for key in self.keys:
            out = out * values[key]
        return out


def _sum(terms: Sequence[Term], values: Values, like: np.ndarray) -> np.ndarray:
    total = np.zeros_like(like, dtype=float)
    for term in terms:
        total = total + term.evaluate(values, like)
    return total


@dataclass(frozen=True)
class OptionSpec:
    """One option the planner may use, with its cost and its worth to the customer."""

    id: str
    label: str
    scope: str  # "incident" (everyone gets the same) or "segment"
    tangible: bool
    contact: bool  # handling it takes a support contact
    required: bool
    cost: tuple[Term, ...]  # per customer
    worth: tuple[Term, ...] | None  # value to the customer, per customer; None: x = 1
    match: float = 1.0
    match_source: str = ""
    recovery_key: str | None = None  # file override of the recovery share
    matches: tuple[str, ...] | None = None  # custom options only


@dataclass(frozen=True)
class Candidate:
    """A set of options for one segment, with how it is valued."""

    options: tuple[str, ...]  # in plan order
    core: tuple[str, ...]  # the incident-wide options in it
    call: bool
    choice: bool  # refund or the goods: each customer takes one arm
    feasible: bool
    why_not: str = ""  # the obligation it breaks, when not feasible


@dataclass(frozen=True)
class Model:
    """An incident turned into numbers: the inputs, the options and the candidate sets."""

    incident: Incident
    valuation: Valuation
    inputs: Mapping[str, Input]
    options: Mapping[str, OptionSpec]
    unavailable: tuple[tuple[str, str], ...]  # (option, why) for enabled options we cannot score
    obligations: tuple[str, ...]  # plain words, for the report
    candidates: tuple[Candidate, ...]
    cores: tuple[tuple[str, ...], ...]
    core_index: np.ndarray  # (M,) index into cores
    base_index: np.ndarray  # (M,) the same candidate without the call
    call_capacity: int | None  # calls the caller(s) can make; None: unlimited
    ship_carries_goods: bool
    order: tuple[str, ...]  # plan order of option ids
    structure: SetStructure = field(repr=False)

    def candidate_index(self, options: Sequence[str]) -> int | None:
        wanted = set(options)
        for i, c in enumerate(self.candidates):
            if set(c.options) == wanted:
                return i
        return None


def _source(model_fields_set: set[str], field_name: str, path: str, default_name: str) -> str:
    if field_name in model_fields_set:
        return f"file: {path}"
    return defaults.cite(default_name)


def _options(
    incident: Incident, inputs: dict[str, Input]
) -> tuple[dict[str, OptionSpec], list[tuple[str, str]], bool]:
    """Resolve each enabled option that applies to this incident: costs, worth, match."""
    kind = incident.kind
    affected = incident.affected
    business = incident.business
    customers = affected.customers or 0
    per_customer = incident.orders / customers if customers else 1.0
    order_value = money(affected.order_value)
    opts = incident.options
    specs: dict[str, OptionSpec] = {}
    missing: list[tuple[str, str]] = []

    def add(key: str, estimate: Estimate, source: str) -> str:
        inputs[key] = Input(key, estimate, source)
        return key

    add(
        "business.gross_margin",
        Estimate.exact(business.gross_margin),
        _source(
            business.model_fields_set,
            "gross_margin",
            "business.gross_margin",
            "business.gross_margin",
        ),
    )
    support = add(
        "business.support_cost_per_hour",
        Estimate.exact(business.support_cost_per_hour),
        _source(
            business.model_fields_set,
            "support_cost_per_hour",
            "business.support_cost_per_hour",
            "business.support_cost_per_hour",
        ),
    )
    add(
        "assumptions.contact_minutes",
        incident.assumptions.contact_minutes,
        _source(
            incident.assumptions.model_fields_set,
            "contact_minutes",
            "assumptions.contact_minutes",
            "contact_minutes",
        ),
    )

    def override(name: str) -> str | None:
        option = opts.get(name)
        if option.recovery is None:
            return None
        return add(f"options.{name}.recovery", option.recovery, f"file: options.{name}.recovery")

    def spec(
        name: str,
        label: str,
        scope: str,
        cost: list[Term],
        worth: list[Term] | None,
        tangible: bool = True,
    ) -> None:
        value, source = match(kind, name)
        specs[name] = OptionSpec(
            id=name,
            label=label,
            scope=scope,
            tangible=tangible,
            contact=name in NEEDS_CONTACT,
            required=opts.get(name).required,
            cost=tuple(cost),
            worth=None if worth is None else tuple(worth),
            match=value,
            match_source=source,
            recovery_key=override(name),
        )

    enabled = set(incident.enabled_options())

    # Honor: keep the mistaken price (pricing errors only).
    if "honor" in enabled and kind == "pricing_error":
        list_price = money(affected.list_price)
        deal = (
            None
            if list_price is None or order_value is None
            else max(0.0, list_price - order_value)
        )
        if opts.honor.cost_per_order is not None:
            key = add(
                "options.honor.cost_per_order",
                opts.honor.cost_per_order,
                "file: options.honor.cost_per_order",
            )
        elif deal is not None:
            key = add(
                "options.honor.cost_per_order",
                Estimate.exact(deal),
                "derived: list_price - order_value (the margin given up)",
            )
        else:
            key = ""
            missing.append(("honor", "set options.honor.cost_per_order (or affected.list_price)"))
        if key:
            spec(
                "honor",
                "Honor the price paid",
                "incident",
                [Term("cost per order x orders per customer", per_customer, (key,))],
                None if deal is None else [Term("list_price - order_value", deal * per_customer)],
            )

    # Refund: the amount back, plus processing (refunded card fees are generally not returned).
    refund_amount = money(opts.refund.amount) if opts.refund.amount is not None else order_value
    if "refund" in enabled:
        if refund_amount is None:
            missing.append(("refund", "set options.refund.amount (or affected.order_value)"))
        else:
            processing = add(
                "options.refund.processing_cost",
                opts.refund.processing_cost,
                _source(
                    opts.refund.model_fields_set,
                    "processing_cost",
                    "options.refund.processing_cost",
                    "refund.processing_cost",
                ),
            )
            amount_source = (
                "options.refund.amount"
                if opts.refund.amount is not None
                else "affected.order_value"
            )
            spec(
                "refund",
                "Refund",
                "incident",
                [
                    Term(
                        f"refund ({amount_source}) x orders per customer",
                        refund_amount * per_customer,
                    ),
                    Term("processing x orders per customer", per_customer, (processing,)),
                ],
                [
                    Term(
                        f"refund ({amount_source}) x orders per customer",
                        refund_amount * per_customer,
                    )
                ],
            )

    # Store credit: the customer perceives the face value; we pay what is redeemed, at cost.
    if "store_credit" in enabled:
        if opts.store_credit.amount is not None:
            credit, credit_source = float(opts.store_credit.amount), "options.store_credit.amount"
        elif order_value is not None:
            share = float(defaults.value("store_credit.share_of_order"))
            credit = float(credit_amount_default(order_value, incident.currency))
            credit_source = f"{share:g} x affected.order_value"
        else:
            credit, credit_source = -1.0, ""
            missing.append(("store_credit", "set options.store_credit.amount"))
        if credit >= 0:
            redemption = add(
                "options.store_credit.redemption_rate",
                opts.store_credit.redemption_rate,
                _source(
                    opts.store_credit.model_fields_set,
                    "redemption_rate",
                    "options.store_credit.redemption_rate",
                    "store_credit.redemption_rate",
                ),
            )
            inputs["margin_kept"] = Input(
                "margin_kept",
                Estimate.exact(1.0 - business.gross_margin),
                "derived: 1 - business.gross_margin",
            )
            spec(
                "store_credit",
                "Store credit",
                "segment",
                [
                    Term(
                        f"credit ({credit_source}) x redemption x (1 - gross margin)",
                        credit,
                        (redemption, "margin_kept"),
                    )
                ],
                [Term(f"face value ({credit_source})", credit)],
            )

    # Goods sent again: a replacement, or the order made late (default cost: goods at cost).
    goods_key = ""
    if opts.replacement.cost_per_order is not None:
        goods_key = add(
            "options.replacement.cost_per_order",
            opts.replacement.cost_per_order,
            "file: options.replacement.cost_per_order",
        )
    elif order_value is not None:
        goods_key = add(
            "options.replacement.cost_per_order",
            Estimate.exact(order_value * (1.0 - business.gross_margin)),
            "derived: order_value x (1 - gross_margin) (the goods at cost)",
        )
    goods_worth = (
        None
        if order_value is None
        else [Term("order_value x orders per customer", order_value * per_customer)]
    )
    if "replacement" in enabled and kind in GOODS_KINDS:
        if not goods_key:
            missing.append(("replacement", "set options.replacement.cost_per_order"))
        else:
            spec(
                "replacement",
                "Replacement sent",
                "incident",
                [Term("goods cost per order x orders per customer", per_customer, (goods_key,))],
                goods_worth,
            )

    # Faster shipping. Where goods are owed and no replacement option exists, it is the goods
    # themselves sent express ("express re-shipment"): its cost then includes the goods.
    ship_carries_goods = kind in MAKE_WHOLE_KINDS and "replacement" not in specs
    if "ship_upgrade" in enabled:
        if opts.ship_upgrade.cost_per_order is None:
            missing.append(("ship_upgrade", "set options.ship_upgrade.cost_per_order"))
        elif ship_carries_goods and not goods_key:
            missing.append(("ship_upgrade", "set affected.order_value (the goods to send)"))
        else:
            ship = add(
                "options.ship_upgrade.cost_per_order",
                opts.ship_upgrade.cost_per_order,
                "file: options.ship_upgrade.cost_per_order",
            )
            shipping = Term(
                "express shipping per order x orders per customer", per_customer, (ship,)
            )
            if ship_carries_goods:
                goods = Term(
                    "goods cost per order x orders per customer", per_customer, (goods_key,)
                )
                spec(
                    "ship_upgrade",
                    "The goods sent express",
                    "segment",
                    [shipping, goods],
                    goods_worth,
                )
                name = f"match.{kind}.ship_upgrade"
                if name not in defaults.DEFAULTS:  # express re-shipment is a replacement
                    specs["ship_upgrade"] = _with_match(
                        specs["ship_upgrade"], *match(kind, "replacement")
                    )
            else:
                # The customer perceives faster shipping at its price.
                spec("ship_upgrade", "Express shipping", "segment", [shipping], [shipping])

    # Personal call: time of the caller; capacity-bound.
    if "personal_call" in enabled:
        call = opts.personal_call
        minutes = add(
            "options.personal_call.minutes",
            call.minutes,
            _source(
                call.model_fields_set,
                "minutes",
                "options.personal_call.minutes",
                "personal_call.minutes",
            ),
        )
        if call.caller == "founder":
            rate = add(
                "business.founder_cost_per_hour",
                Estimate.exact(business.founder_cost_per_hour),
                _source(
                    business.model_fields_set,
                    "founder_cost_per_hour",
                    "business.founder_cost_per_hour",
                    "business.founder_cost_per_hour",
                ),
            )
        else:
            rate = support
        specs["personal_call"] = OptionSpec(
            id="personal_call",
            label=f"Personal call ({call.caller})",
            scope="segment",
            tangible=False,
            contact=False,
            required=call.required,
            cost=(Term(f"minutes x {call.caller} cost per hour / 60", 1 / 60, (minutes, rate)),),
            worth=None,
            recovery_key=override("personal_call"),
        )

    # Custom options: the company's own remedies.
    for name, custom in opts.custom.items():
        if not custom.enabled:
            continue
        key = add(
            f"options.{name}.cost_per_customer",
            custom.cost_per_customer,
            f"file: options.{name}.cost_per_customer",
        )
        value, source = match(kind, name, custom.matches)
        specs[name] = OptionSpec(
            id=name,
            label=custom.label,
            scope=custom.scope,
            tangible=True,
            contact=True,
            required=custom.required,
            cost=(Term("cost per customer", 1.0, (key,)),),
            worth=(Term("what it costs us (taken as its worth)", 1.0, (key,)),),
            match=value,
            match_source=source,
            recovery_key=override(name),
            matches=tuple(custom.matches),
        )
    # Mention a left-out option only if the file configures it or it answers this kind of
    # failure directly; built-in options left at their defaults are otherwise noise.
    named = opts.model_fields_set
    missing = [
        (name, why)
        for name, why in missing
        if name in named or f"match.{kind}.{name}" in defaults.DEFAULTS or opts.get(name).required
    ]
    return specs, missing, ship_carries_goods


def credit_amount_default(order_value: float | Decimal, currency: str = "USD") -> Decimal:
    """Default face value of store credit: 20% of the order value, in whole minor units of
    the currency (cents; whole yen), so the plan's figure is the one the customer is told."""
    from remedy.customers import minor_units

    share = Decimal(str(defaults.value("store_credit.share_of_order")))
    step = Decimal(1).scaleb(-minor_units(currency))
    return (Decimal(str(order_value)) * share).quantize(step, rounding=ROUND_HALF_UP)


def _with_match(spec: OptionSpec, value: float, source: str) -> OptionSpec:
    return OptionSpec(**{**spec.__dict__, "match": value, "match_source": source})


# --- Candidates -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SetStructure:
    """Candidate sets as matrices: which recovery/cost columns each arm of each set uses."""

    columns: tuple[str, ...]
    arm1: np.ndarray  # (V, M) 0/1
    arm2: np.ndarray  # (V, M) 0/1; zero for sets that are not a choice
    choice: np.ndarray  # (M,) bool
    backfire1: np.ndarray  # (M,) bool: repeat failure and no tangible remedy in arm 1
    backfire2: np.ndarray


def arms_of(
    options: Sequence[str], specs: Mapping[str, OptionSpec], ship_carries_goods: bool
) -> list[tuple[str, ...]]:
    """The arms of a set: one, or two for a choice between a refund and the goods."""
    chosen = set(options)
    goods = "replacement" in chosen or (ship_carries_goods and "ship_upgrade" in chosen)
    if "refund" in chosen and goods:
        refund_arm = tuple(o for o in options if o not in ("replacement", "ship_upgrade"))
        goods_arm = tuple(o for o in options if o != "refund")
        return [refund_arm, goods_arm]
    return [tuple(options)]


def columns_of(
    arm: Sequence[str], specs: Mapping[str, OptionSpec], kind: str, ship_carries_goods: bool
) -> list[str]:
    cols: list[str] = []
    for option in arm:
        if option == "replacement":
            cols.append("replacement@express" if "ship_upgrade" in arm else "replacement")
        elif option == "ship_upgrade":
            if ship_carries_goods:
                cols.append("ship_upgrade@goods")
            elif kind in GOODS_KINDS and "replacement" in arm:
                cols.append("ship_upgrade@express")  # its effect is the replacement's timeliness
            else:
                cols.append("ship_upgrade")
        else:
            cols.append(option)
    if any(specs[o].contact for o in arm):
        cols.append("contact")
    return cols


def column_names(specs: Mapping[str, OptionSpec]) -> tuple[str, ...]:
    cols: list[str] = []
    for name in specs:
        if name == "replacement":
            cols += ["replacement", "replacement@express"]
        elif name == "ship_upgrade":
            cols += ["ship_upgrade", "ship_upgrade@express", "ship_upgrade@goods"]
        else:
            cols.append(name)
    cols.append("contact")
    return tuple(cols)


def structure(
    sets: Sequence[Sequence[str]],
    specs: Mapping[str, OptionSpec],
    kind: str,
    repeat: bool,
    ship_carries_goods: bool,
) -> SetStructure:
    """Matrices for any list of option sets (not only valid candidates: explain uses subsets)."""
    columns = column_names(specs)
    where = {c: i for i, c in enumerate(columns)}
    m = len(sets)
    arm1 = np.zeros((len(columns), m))
    arm2 = np.zeros((len(columns), m))
    choice = np.zeros(m, dtype=bool)
    back1 = np.zeros(m, dtype=bool)
    back2 = np.zeros(m, dtype=bool)
    for j, options in enumerate(sets):
        arms = arms_of(options, specs, ship_carries_goods)
        for a, (arm, matrix, back) in enumerate(
            zip(arms, (arm1, arm2), (back1, back2), strict=False)
        ):
            for col in columns_of(arm, specs, kind, ship_carries_goods):
                matrix[where[col], j] = 1.0
            back[j] = repeat and not any(specs[o].tangible for o in arm)
            if a == 1:
                choice[j] = True
    return SetStructure(columns, arm1, arm2, choice, back1, back2)


def plan_order(specs: Mapping[str, OptionSpec]) -> tuple[str, ...]:
    builtin = ("honor", "refund", "replacement", "ship_upgrade", "store_credit")
    custom = tuple(n for n in specs if n not in builtin and n != "personal_call")
    return (*builtin, *custom, "personal_call")


def _candidates(
    incident: Incident, specs: Mapping[str, OptionSpec], ship_carries_goods: bool
) -> tuple[list[Candidate], list[tuple[str, ...]], list[str]]:
    kind = incident.kind
    order = plan_order(specs)
    incident_opts = [o for o in order if o in specs and specs[o].scope == "incident"]
    segment_opts = [
        o for o in order if o in specs and specs[o].scope == "segment" and o != "personal_call"
    ]
    has_call = "personal_call" in specs
    replacement_available = "replacement" in specs

    obligations: list[str] = []
    refund_needed = False
    if kind == "billing_error":
        obligations.append("money taken in error is refunded (billing_error)")
        refund_needed = True
    offer_refund = (
        kind in MAKE_WHOLE_KINDS and bool(incident.occasion) and incident.fault != "customer"
    )
    if kind in MAKE_WHOLE_KINDS:
        obligations.append(
            "goods paid for and not received are made whole: a refund or the goods sent again"
        )
        if offer_refund:
            obligations.append(
                f"after the missed occasion ({incident.occasion}) a late delivery may be worth "
                "nothing to the customer: the refund must be offered"
            )
    required = [o for o in order if o in specs and specs[o].required]
    for name in required:
        obligations.append(f"{name} is required by the file")
    if (refund_needed or offer_refund) and "refund" not in specs:
        why = "billing_error" if refund_needed else f"the missed occasion ({incident.occasion})"
        raise InputError(
            f"the refund is an obligation here ({why}) but options.refund is disabled or has no "
            "amount: enable it and set options.refund.amount or affected.order_value"
        )
    if kind in MAKE_WHOLE_KINDS and not (
        "refund" in specs
        or replacement_available
        or (ship_carries_goods and "ship_upgrade" in specs)
    ):
        raise InputError(
            f"{kind}: the customers must be made whole, but refund, replacement and ship_upgrade "
            "are all disabled or unpriced (enable one, and set affected.order_value or "
            "options.refund.amount)"
        )
    for option in incident.enabled_options():
        if (
            incident.options.get(option).required
            and option not in specs
            and option != "apology_only"
        ):
            raise InputError(
                f"options.{option} is required but cannot be used for a {kind} incident "
                "(set its cost, or remove required: true)"
            )

    def subsets(items: Sequence[str]) -> list[tuple[str, ...]]:
        return [tuple(c) for r in range(len(items) + 1) for c in itertools.combinations(items, r)]

    cores = [c for c in subsets(incident_opts) if not ("honor" in c and "refund" in c)]
    extras = subsets(segment_opts)
    total = len(cores) * len(extras) * (2 if has_call else 1)
    if total > MAX_CANDIDATES:
        raise InputError(
            f"too many option combinations to plan ({total}); disable some custom options"
        )
    candidates: list[Candidate] = []
    core_ids: list[int] = []
    for ci, core in enumerate(cores):
        for extra in extras:
            if (
                "ship_upgrade" in extra
                and kind in GOODS_KINDS
                and replacement_available
                and "replacement" not in core
            ):
                continue  # express shipping of a replacement that is not sent
            for call in (False, True) if has_call else (False,):
                chosen = set(core) | set(extra) | ({"personal_call"} if call else set())
                options = tuple(o for o in order if o in chosen)
                why = ""
                goods = "replacement" in chosen or (ship_carries_goods and "ship_upgrade" in chosen)
                if refund_needed and "refund" not in chosen:
                    why = "billing_error: the refund is required"
                elif kind in MAKE_WHOLE_KINDS and not ("refund" in chosen or goods):
                    why = f"{kind}: the customer must be made whole (refund or goods)"
                elif offer_refund and "refund" not in chosen:
                    why = "after the missed occasion the refund must be offered"
                else:
                    for name in required:
                        if name not in chosen:
                            why = f"{name} is required by the file"
                            break
                candidates.append(
                    Candidate(
                        options=options,
                        core=core,
                        call=call,
                        choice=len(arms_of(options, specs, ship_carries_goods)) == 2,
                        feasible=not why,
                        why_not=why,
                    )
                )
                core_ids.append(ci)
    return candidates, cores, obligations


def build_model(incident: Incident, clv_override: Mapping[str, Estimate] | None = None) -> Model:
    """Turn an incident into the planner's model (inputs, options, candidates)."""
    value_side, inputs = valuation(incident, clv_override)
    specs, missing, ship_carries_goods = _options(incident, inputs)
    candidates, cores, obligations = _candidates(incident, specs, ship_carries_goods)
    if any(c.choice for c in candidates):
        take_up = incident.assumptions.refund_take_up
        inputs["refund_take_up"] = (
            Input("refund_take_up", take_up, "file: assumptions.refund_take_up")
            if take_up is not None
            else Input(
                "refund_take_up",
                Estimate(*defaults.value("refund_take_up")),
                defaults.cite("refund_take_up"),
            )
        )
    core_pos = {core: i for i, core in enumerate(cores)}
    index = {c.options: i for i, c in enumerate(candidates)}
    base = [
        index[tuple(o for o in c.options if o != "personal_call")] if c.call else i
        for i, c in enumerate(candidates)
    ]
    capacity: int | None = None
    if "personal_call" in specs and incident.options.personal_call.capacity_hours is not None:
        minutes = max(incident.options.personal_call.minutes.likely, 1e-9)
        capacity = int(
            np.floor(incident.options.personal_call.capacity_hours * 60 / minutes + 1e-9)
        )
    sets = [c.options for c in candidates]
    return Model(
        incident=incident,
        valuation=value_side,
        inputs=inputs,
        options=specs,
        unavailable=tuple(missing),
        obligations=tuple(obligations),
        candidates=tuple(candidates),
        cores=tuple(cores),
        core_index=np.array([core_pos[c.core] for c in candidates], dtype=int),
        base_index=np.array(base, dtype=int),
        call_capacity=capacity,
        ship_carries_goods=ship_carries_goods,
        order=plan_order(specs),
        structure=structure(sets, specs, incident.kind, incident.repeat, ship_carries_goods),
    )


# --- Evaluation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """Scores of a list of option sets for every draw (or scenario) of the inputs.

    Per customer: `recovery[k]` (D, M) share of value at stake kept in segment k (segments with
    the same customer loss share one array), `cost` (D, M), `stake[k]` (D,) = delta * CLV.
    Net value per customer = stake * recovery - cost.
    """

    recovery: tuple[np.ndarray, ...]  # K arrays (D, M), shared between segments alike
    cost: np.ndarray  # (D, M)
    stake: np.ndarray  # (K, D)
    delta: np.ndarray  # (D,)
    clv: np.ndarray  # (K, D)

    def net_of(self, k: int, columns: np.ndarray | list[int] | None = None) -> np.ndarray:
        """(D, M) net value per customer in segment k (or only the given columns)."""
        if columns is None:
            return self.stake[k][:, None] * self.recovery[k] - self.cost
        return self.stake[k][:, None] * self.recovery[k][:, columns] - self.cost[:, columns]

    def net(self) -> np.ndarray:
        """(K, D, M) net value per customer: for few draws (scenarios) only."""
        return np.stack([self.net_of(k) for k in range(len(self.recovery))])

    @functools.cached_property
    def mean_retained(self) -> np.ndarray:
        """(K, M) expected value kept per customer: mean of stake * recovery."""
        draws = self.cost.shape[0]
        out = np.empty((len(self.recovery), self.cost.shape[1]))
        groups: dict[int, list[int]] = {}
        for k, r in enumerate(self.recovery):
            groups.setdefault(id(r), []).append(k)
        for members in groups.values():
            out[members] = self.stake[members] @ self.recovery[members[0]] / draws
        return out

    @functools.cached_property
    def mean_net(self) -> np.ndarray:
        """(K, M) expected net value per customer."""
        return self.mean_retained - self.cost.mean(axis=0)[None, :]


@dataclass(frozen=True)
class Breakdown:
    """How one option's recovery share comes about in one segment (arrays over draws).

    `quality` = g(x) * match: how substantive the remedy is as compensation, before fault,
    timing and occasion; a personal call's effect depends on the quality of what it comes with.
    """

    x: np.ndarray | None
    g: np.ndarray | None
    match: float
    fault: float
    timeliness: float
    material_share: np.ndarray
    rho: np.ndarray
    quality: np.ndarray
    overridden: bool


def call_recovery(quality: np.ndarray) -> np.ndarray:
    """rho of a personal call given the quality of the best tangible remedy it comes with.

    From 0.1 alone to 0.3 with a full, well-matched remedy (Hill & Boyd 2015), linearly in the
    remedy's quality relative to an exact compensation (g(1) * 1.0): a token credit does not buy
    the call its full effect.
    """
    alone = float(defaults.value("rho_call.alone"))
    full = float(defaults.value("rho_call.with_remedy"))
    exact = float(recovery_curve(1.0))
    return np.asarray(alone + (full - alone) * np.clip(quality / exact, 0.0, 1.0))


def option_recovery(
    model: Model, option: str, segment: int, values: Values, column: str | None = None
) -> Breakdown:
    """rho of one option (one column of the recovery matrix) for one segment.

    For `personal_call` this is its recovery alone; `evaluate` raises it with the quality of the
    tangible remedy in the same set (`call_recovery`).
    """
    spec = model.options[option]
    column = column or option
    like = np.asarray(values["delta"], dtype=float)
    zero = np.zeros_like(like)
    one = np.ones_like(like)
    val = model.valuation
    if option == "personal_call":
        if spec.recovery_key is not None:
            rho = np.asarray(values[spec.recovery_key], dtype=float)
            return Breakdown(None, None, 1.0, 1.0, 1.0, one, rho, zero, True)
        return Breakdown(None, None, 1.0, 1.0, 1.0, one, call_recovery(zero), zero, False)
    material = val.material_share(values)
    fault = float(defaults.value(f"fault.{model.incident.fault}"))
    timeliness = 1.0
    if column == "replacement":
        timeliness = float(defaults.value("timeliness.standard_shipping"))
    if column == "ship_upgrade@express":  # its effect is the replacement's timeliness
        return Breakdown(None, None, spec.match, fault, 0.0, material, zero, zero, False)
    loss_key = val.segments[segment].loss_key
    if spec.worth is None or loss_key is None:
        x = one
    else:
        worth = _sum(spec.worth, values, like)
        loss = np.asarray(values[loss_key], dtype=float)
        safe = np.where(loss > 0, loss, 1.0)
        x = np.where(loss > 0, worth / safe, np.where(worth > 0, np.inf, 0.0))
    g = recovery_curve(x, group=val.group)
    quality = g * spec.match
    if spec.recovery_key is not None:
        rho = np.asarray(values[spec.recovery_key], dtype=float)
        return Breakdown(x, g, spec.match, fault, timeliness, material, rho, quality, True)
    rho = quality * fault * timeliness * material
    return Breakdown(x, g, spec.match, fault, timeliness, material, rho, quality, False)


def column_cost(model: Model, column: str, values: Values) -> np.ndarray:
    """Cost per customer of one column of the matrices."""
    like = values["delta"]
    if column == "contact":
        return (
            np.asarray(values["assumptions.contact_minutes"], dtype=float)
            * values["business.support_cost_per_hour"]
            / 60.0
        )
    spec = model.options[column.split("@")[0]]
    terms = spec.cost[:1] if column == "ship_upgrade@express" else spec.cost  # shipping only
    return _sum(terms, values, like)


def _select_sum(columns: np.ndarray, arm: np.ndarray) -> np.ndarray:
    """(D, M): for each set, the sum of the columns (rows of `columns`, (V, D)) its arm uses.

    A loop over the few columns instead of a matrix product: the product is tiny and BLAS
    threads cost more than they save here.
    """
    out = np.zeros((arm.shape[1], columns.shape[1]))
    for v in range(arm.shape[0]):
        used = np.flatnonzero(arm[v])
        if used.size:
            out[used] += columns[v]
    return out.T


def evaluate(
    model: Model,
    values: Values,
    sets: SetStructure | None = None,
) -> Evaluation:
    """Score every candidate set (or the given structure) for every row of `values`."""
    st = sets or model.structure
    val = model.valuation
    delta = val.delta(values)
    draws = delta.shape[0]
    costs = np.zeros((len(st.columns), draws))
    for v, column in enumerate(st.columns):
        if column == "contact" or column.split("@")[0] in model.options:
            costs[v] = column_cost(model, column, values)
    choice = np.flatnonzero(st.choice)
    take_up = values["refund_take_up"][:, None] if choice.size else None
    cost = _select_sum(costs, st.arm1)
    if take_up is not None:
        # A choice costs the take-up-weighted average of its arms.
        second = _select_sum(costs, st.arm2[:, choice])
        cost[:, choice] = take_up * cost[:, choice] + (1 - take_up) * second
    recoveries: list[np.ndarray] = []
    by_loss: dict[str | None, np.ndarray] = {}  # segments with the same loss recover alike
    for k, segment in enumerate(val.segments):
        if segment.loss_key in by_loss:
            recoveries.append(by_loss[segment.loss_key])
            continue
        logq = np.zeros((len(st.columns), draws))
        quality = np.zeros((len(st.columns), draws))
        for v, column in enumerate(st.columns):
            option = column.split("@")[0]
            if column == "contact" or option == "personal_call":
                continue
            found = option_recovery(model, option, k, values, column)
            logq[v] = np.log1p(-np.clip(found.rho, 0.0, 1.0 - 1e-12))
            quality[v] = found.quality
        recovery = _arm_recovery(model, st, values, logq, quality, st.arm1, st.backfire1)
        if take_up is not None:
            second = _arm_recovery(
                model, st, values, logq, quality, st.arm2[:, choice], st.backfire2[choice]
            )
            recovery[:, choice] = take_up * recovery[:, choice] + (1 - take_up) * second
        by_loss[segment.loss_key] = recovery
        recoveries.append(recovery)
    clv = np.stack([np.asarray(values[s.clv_key], dtype=float) for s in val.segments])
    return Evaluation(
        recovery=tuple(recoveries),
        cost=cost,
        stake=delta[None, :] * clv,
        delta=delta,
        clv=clv,
    )


def _arm_recovery(
    model: Model,
    st: SetStructure,
    values: Values,
    logq: np.ndarray,
    quality: np.ndarray,
    arm: np.ndarray,
    backfire: np.ndarray,
) -> np.ndarray:
    """rho(S) = min(rho_max, 1 - prod(1 - rho_i)) - backfire, for one arm of each set (D, M).

    `logq` and `quality` are (V, D): log(1 - rho) and g(x) * match of each column.
    """
    log_kept = _select_sum(logq, arm)
    if "personal_call" in st.columns:
        row = st.columns.index("personal_call")
        with_call = np.flatnonzero(arm[row])
        override = model.options["personal_call"].recovery_key
        if override is not None:
            rho_call = np.asarray(values[override], dtype=float)[:, None]
        else:
            # The call's effect depends on the best tangible remedy it comes with.
            best = np.zeros((with_call.size, logq.shape[1]))
            for v in range(arm.shape[0]):
                used = np.flatnonzero(arm[v, with_call])
                if used.size and quality[v].any():
                    best[used] = np.maximum(best[used], quality[v])
            rho_call = call_recovery(best.T)
        log_kept[:, with_call] += np.log1p(-rho_call)
    penalty = float(defaults.value("apology_backfire")) * backfire
    return np.minimum(model.incident.assumptions.rho_max, 1.0 - np.exp(log_kept)) - penalty


def option_cost_shares(
    model: Model, options: Sequence[str], values: Values
) -> dict[str, np.ndarray]:
    """Cost per customer of each option in one set (choice arms weighted by take-up; the
    support contact attributed to the first option that needs one)."""
    arms = arms_of(options, model.options, model.ship_carries_goods)
    like = values["delta"]
    shares: dict[str, np.ndarray] = {o: np.zeros_like(like, dtype=float) for o in options}
    for a, arm in enumerate(arms):
        if len(arms) == 2:
            weight = values["refund_take_up"] if a == 0 else 1 - values["refund_take_up"]
        else:
            weight = np.ones_like(like, dtype=float)
        cols = columns_of(arm, model.options, model.incident.kind, model.ship_carries_goods)
        first_contact = next((o for o in arm if model.options[o].contact), None)
        for option, column in zip(arm, cols, strict=False):
            shares[option] = shares[option] + weight * column_cost(model, column, values)
        if "contact" in cols and first_contact is not None:
            shares[first_contact] = shares[first_contact] + weight * column_cost(
                model, "contact", values
            )
    return shares
