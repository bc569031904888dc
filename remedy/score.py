"""Scoring remedies: which sets of options are candidates, the obligations they must meet, and
what share of the value at stake each one keeps (scoring model sections 2 to 4, revision 2).

A *candidate* is a set of options for one segment. Its customers may not all receive the same
thing: with a refund and the goods on offer each customer takes one; an offer on request reaches
only those who ask. So a candidate is a list of *parts*, each a share of its customers (a product
of take-up inputs) receiving one *package* of options. Recovery is judged per package:

    X      = sum of the package's worth to the customer / the customer's loss
    q      = g(X) * match          (match: worth-weighted mean of the options' match)
    rho_t  = q * fault * timeliness * material_share     (0 below the minimum meaningful offer)
    rho    = 1 - (1 - rho_t) * (1 - rho_call(q))          (capped at rho_max)

and a repeat failure answered with no tangible remedy loses `apology_backfire`. Over-
compensation is judged on the whole package: g rises steeply to x = 1.2, plateaus by 1.5 and
keeps declining past it. A candidate recovers and costs the share-weighted sum of its parts.

Obligations (by kind and fault, `defaults.OBLIGATIONS`) are checked per package: every customer
must be made whole where the law says so. The *floor* is the cheapest candidate plan meeting
them all; plans are measured against it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from remedy import defaults
from remedy.errors import InputError
from remedy.incident import Estimate, Incident
from remedy.options import (
    FATE_OPTIONS,
    OptionSpec,
    Term,
    option_specs,
    specs_in_order,
    total,
)
from remedy.stake import Draws, Input, Valuation, Values, valuation

CALL = "personal_call"
CONTACT = "_contact"  # a support contact: replying with a choice
MAX_CANDIDATES = 1024

# --- the recovery curve ------------------------------------------------------------------------


def recovery_curve(x: np.ndarray | float, *, group: bool = False) -> np.ndarray:
    """g(x): the share of the value at stake a remedy recovers, by x = worth / customer's loss.

    A logistic rise, steep between x = 0.6 and x = 1.2 (g(0.6) = 0.14, g(1) = 0.86,
    g(1.2) = 0.97), flat by x = 1.5, then a decline that never stops:
    depth * ln(1 + ((x - 1.5) / width)^2), so g(2.5) = 0.89, g(5.5) = 0.57 and g -> 0 as x grows
    (over-compensation buys nothing and can backfire). g(0) = 0; smooth everywhere. In a group
    incident x is stretched by 1.2: the plateau and the decline come earlier.
    """
    mid = float(defaults.value("g.rise_midpoint"))
    steep = float(defaults.value("g.rise_steepness"))
    start = float(defaults.value("g.decline_start"))
    depth = float(defaults.value("g.decline_depth"))
    width = float(defaults.value("g.decline_width"))
    xs = np.asarray(x, dtype=float)
    if group:
        xs = xs * float(defaults.value("g.group_shift"))
    finite = np.isfinite(xs)
    xs = np.where(finite, xs, 0.0)
    floor = 1.0 / (1.0 + np.exp(steep * mid))
    rise = (1.0 / (1.0 + np.exp(-np.clip(steep * (xs - mid), -60, 60))) - floor) / (1 - floor)
    over = np.clip(xs - start, 0.0, None)
    decline = depth * np.log1p(np.square(over / width))
    return np.asarray(np.where(finite, np.clip(rise - decline, 0.0, 1.0), 0.0))


def call_recovery(quality: np.ndarray) -> np.ndarray:
    """rho of a personal call given the quality (g * match) of the remedy it comes with.

    From 0.1 alone to 0.3 with a full, well-matched remedy (Hill & Boyd 2015), linearly in the
    remedy's quality relative to an exact compensation (g(1) * 1.0): a token credit does not buy
    the call its full effect.
    """
    alone = float(defaults.value("rho_call.alone"))
    full = float(defaults.value("rho_call.with_remedy"))
    exact = float(recovery_curve(1.0))
    return np.asarray(alone + (full - alone) * np.clip(quality / exact, 0.0, 1.0))


# --- obligations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Obligation:
    """One obligation of this incident: what it demands, its source, whether the file waived it."""

    id: str
    text: str
    source: str
    legal: bool
    waived: bool = False

    def describe(self) -> str:
        return f"{self.text} ({self.source})"


def _obligations(
    incident: Incident, specs: Mapping[str, OptionSpec], notes: list[str]
) -> list[Obligation]:
    """The obligations that apply, by kind and fault; `required: false` waives a policy one."""
    kind, fault = incident.kind, incident.fault
    ids: list[str] = []
    if kind == "billing_error":
        ids.append("refund_wrong_charge")
    elif kind == "pricing_error":
        ids.append("order_fate")
    elif kind == "not_fulfilled" or (kind == "lost_in_transit" and fault != "customer"):
        ids.append("make_whole")
    elif kind == "quality_defect" and fault != "customer":
        ids.append("legal_remedy")
    if (
        incident.occasion
        and fault != "customer"
        and kind in ("late_delivery", "not_fulfilled", "lost_in_transit")
    ):
        ids.append("occasion_refund")
    refund = specs.get("refund")
    refund_waived = incident.options.refund.enabled and (
        "required" in incident.options.refund.model_fields_set
        and not incident.options.refund.required
    )
    out: list[Obligation] = []
    for name in ids:
        rule = defaults.OBLIGATIONS[name]
        text = rule.text
        if name == "occasion_refund":
            text = f"after the missed occasion ({incident.occasion}) {rule.text.split(': ', 1)[1]}"
        waived = False
        if refund_waived and name in ("refund_wrong_charge", "occasion_refund"):
            if rule.legal:
                notes.append(
                    f"options.refund.required: false is ignored: {rule.text} is the law "
                    f"({rule.source})"
                )
            else:
                waived = True
                notes.append(
                    f"waived by the file (options.refund.required: false): {text}; customers "
                    "may still be entitled to cancel where the date was essential"
                )
        out.append(Obligation(name, text, rule.source, rule.legal, waived))
    if any(o.id in ("refund_wrong_charge", "occasion_refund") and not o.waived for o in out) and (
        refund is None
    ):
        why = "billing_error" if kind == "billing_error" else "the missed occasion"
        raise InputError(
            f"the refund is an obligation here ({why}) but options.refund is disabled or has no "
            "amount: enable it and set options.refund.amount or affected.order_value"
        )
    return out


def _make_whole(package: Sequence[str], specs: Mapping[str, OptionSpec]) -> bool:
    return "refund" in package or any(specs[o].goods for o in package if o in specs)


def _breaks(
    kind: str,
    obligations: Sequence[Obligation],
    options: Sequence[str],
    packages: Sequence[Sequence[str]],
    specs: Mapping[str, OptionSpec],
) -> str:
    """The first obligation a candidate breaks (its options, and the package of each part), or
    '' when it meets them all. The file's `required: true` options are `_missing_required`."""
    for rule in obligations:
        if rule.waived:
            continue
        if rule.id == "refund_wrong_charge" and not all("refund" in p for p in packages):
            return "the refund of the wrong charge is owed to every customer"
        if rule.id == "order_fate" and not all(any(f in p for f in FATE_OPTIONS) for p in packages):
            return "each mispriced order must be honored or cancelled and refunded"
        if rule.id == "make_whole" and not all(_make_whole(p, specs) for p in packages):
            return f"{kind}: every customer must be made whole (a refund or the goods)"
        if rule.id == "legal_remedy" and not all(
            _make_whole(p, specs)
            or any(specs[o].matches and kind in (specs[o].matches or ()) for o in p if o in specs)
            for p in packages
        ):
            return "a faulty product must get its legal remedy (replacement, repair or refund)"
        if rule.id == "occasion_refund" and "refund" not in options:
            return "after the missed occasion the refund must be offered"
    return ""


def _missing_required(options: Sequence[str], specs: Mapping[str, OptionSpec]) -> str:
    """The first option the file requires (`required: true`) that `options` lacks, or ''."""
    for name, spec in specs.items():
        if spec.required and name not in options:
            return f"{name} is required by the file"
    return ""


# --- candidates --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """A share of a candidate's customers (the product of `weight`'s inputs; `~k` is 1 - k)
    who receive package number `package`."""

    package: int
    weight: tuple[str, ...]


@dataclass(frozen=True)
class Candidate:
    """A set of options for one segment, how its customers split, and whether it is allowed."""

    options: tuple[str, ...]  # in plan order
    core: tuple[str, ...]  # the incident-wide options in it
    call: bool
    parts: tuple[Part, ...]
    choice: bool  # each customer takes a refund or the goods
    feasible: bool  # meets every obligation and the file's required options
    why_not: str = ""
    lawful: bool = True  # meets the obligations (the file's `required: true` aside)


@dataclass(frozen=True)
class Model:
    """An incident turned into numbers: inputs, options, obligations, candidates and packages."""

    incident: Incident
    valuation: Valuation
    inputs: Mapping[str, Input]
    options: Mapping[str, OptionSpec]
    unavailable: tuple[tuple[str, str], ...]  # (option, why) for enabled options not priced
    notes: tuple[str, ...]
    obligations: tuple[Obligation, ...]
    candidates: tuple[Candidate, ...]
    packages: tuple[tuple[str, ...], ...]
    cores: tuple[tuple[str, ...], ...]
    core_index: np.ndarray  # (M,) index into cores
    call_index: np.ndarray  # (M,) the same candidate with the call, or -1
    call_capacity: int | None  # calls the caller(s) can make
    call_hours: float | None
    order: tuple[str, ...]  # plan order of the option ids
    fairness: bool  # segments compare notes: unequal compensation costs goodwill
    segment_options: tuple[str, ...]  # tangible options that may differ between segments
    _index: dict[tuple[str, ...], int] = field(default_factory=dict, repr=False)

    def candidate_index(self, options: Sequence[str]) -> int | None:
        """The index of the candidate with exactly these options, or None."""
        if not self._index:
            self._index.update({c.options: i for i, c in enumerate(self.candidates)})
        return self._index.get(tuple(o for o in self.order if o in set(options)))


def _subsets(items: Sequence[str]) -> list[tuple[str, ...]]:
    return [tuple(c) for r in range(len(items) + 1) for c in itertools.combinations(items, r)]


def _parts(
    incident: Incident,
    options: tuple[str, ...],
    specs: Mapping[str, OptionSpec],
    refund_share: str,
) -> tuple[list[tuple[tuple[str, ...], tuple[str, ...]]], bool]:
    """How a candidate's customers split: [(weight keys, package)], and whether it is a choice.

    A refund beside the goods is a choice: a share takes the refund (and replies to say so: a
    support contact), the rest the goods. After a missed occasion a late delivery's refund is
    offered the same way. Each other option on request reaches only the share who ask.
    """
    goods = [o for o in options if specs[o].goods]
    refund = "refund" in options and specs["refund"].tangible
    groups: list[tuple[tuple[str, ...], tuple[str, ...]]]
    choice = False
    offered = incident.kind == "late_delivery" and bool(incident.occasion)
    if refund and (goods or offered or specs["refund"].on_request):
        share = specs["refund"].take_up_key or refund_share
        takes = tuple(o for o in options if o not in goods) + (CONTACT,)
        rest = tuple(o for o in options if o != "refund")
        groups = [((share,), takes), (("~" + share,), rest)]
        choice = bool(goods)
    else:
        groups = [((), options)]
    for name in options:
        spec = specs[name]
        if not spec.on_request or name == "refund":
            continue
        key = spec.take_up_key or ""
        split: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
        for weight, package in groups:
            if name not in package:
                split.append((weight, package))
                continue
            split.append(((*weight, key), package))
            split.append(((*weight, "~" + key), tuple(o for o in package if o != name)))
        groups = split
    return groups, choice


def _candidates(
    incident: Incident,
    specs: Mapping[str, OptionSpec],
    order: tuple[str, ...],
    obligations: Sequence[Obligation],
    refund_share: str,
) -> tuple[list[Candidate], list[tuple[str, ...]], list[tuple[str, ...]]]:
    kind = incident.kind
    core_opts = [o for o in order if specs[o].scope == "incident"]
    segment_opts = [o for o in order if specs[o].scope == "segment" and o != CALL]
    cores = [c for c in _subsets(core_opts) if sum(o in FATE_OPTIONS for o in c) <= 1]
    extras = [
        e
        for e in _subsets(segment_opts)
        # The goods go once: by standard shipping or express, not both.
        if not ("replacement" in e and "ship_upgrade" in e and specs["ship_upgrade"].goods)
    ]
    has_call = CALL in specs
    count = len(cores) * len(extras) * (2 if has_call else 1)
    if count > MAX_CANDIDATES:
        raise InputError(
            f"too many option combinations to plan ({count:,}, at most {MAX_CANDIDATES:,}); "
            "disable some custom options or make them incident-wide (scope: incident)"
        )
    packages: dict[tuple[str, ...], int] = {}
    candidates: list[Candidate] = []
    for core in cores:
        for extra in extras:
            for call in (False, True) if has_call else (False,):
                chosen = set(core) | set(extra) | ({CALL} if call else set())
                options = tuple(o for o in order if o in chosen)
                groups, choice = _parts(incident, options, specs, refund_share)
                parts = []
                for weight, package in groups:
                    parts.append(Part(packages.setdefault(package, len(packages)), weight))
                law = _breaks(kind, obligations, options, [g[1] for g in groups], specs)
                why = law or _missing_required(options, specs)
                candidates.append(
                    Candidate(options, core, call, tuple(parts), choice, not why, why, not law)
                )
    return candidates, cores, list(packages)


def build_model(incident: Incident, clv_override: Mapping[str, Estimate] | None = None) -> Model:
    """Turn an incident into the planner's model (inputs, options, obligations, candidates)."""
    value_side, inputs = valuation(incident, clv_override)
    specs, missing, notes = option_specs(incident, inputs)
    order = specs_in_order(specs, incident)
    for name in incident.enabled_options():
        if incident.options.get(name).required and name not in specs and name != "apology_only":
            raise InputError(
                f"options.{name} is required but cannot be used for a {incident.kind} incident "
                "(set its cost, or remove required: true)"
            )
    if incident.kind == "pricing_error" and not any(o in specs for o in FATE_OPTIONS):
        raise InputError(
            "pricing_error: each order must be honored or cancelled and refunded, but honor and "
            "refund are both disabled or unpriced (enable one)"
        )
    if incident.options.honor.on_request and "honor" in specs:
        raise InputError(
            "options.honor.on_request: honoring decides every mispriced order's fate, it cannot "
            "be given only to those who ask (remove on_request)"
        )
    obligations = _obligations(incident, specs, notes)
    refund_share = _refund_share(incident, inputs)
    candidates, cores, packages = _candidates(incident, specs, order, obligations, refund_share)
    if not any(c.feasible for c in candidates):
        rule = next(c.why_not for c in candidates)
        raise InputError(
            f"no set of enabled options meets the obligations: {rule} (enable a refund or the "
            "goods, or remove a required: true)"
        )
    _add_common_inputs(incident, inputs)
    index = {c.options: i for i, c in enumerate(candidates)}
    with_call = [
        index.get(tuple(o for o in order if o in {*c.options, CALL}), -1) if CALL in specs else -1
        for c in candidates
    ]
    capacity, hours = _call_capacity(incident, specs)
    core_pos = {core: i for i, core in enumerate(cores)}
    segment_options = tuple(o for o in order if specs[o].scope == "segment" and specs[o].tangible)
    fairness = not incident.segments_private and len(value_side.segments) > 1
    return Model(
        incident=incident,
        valuation=value_side,
        inputs=inputs,
        options=specs,
        unavailable=tuple(missing),
        notes=tuple(notes),
        obligations=tuple(obligations),
        candidates=tuple(candidates),
        packages=tuple(packages),
        cores=tuple(cores),
        core_index=np.array([core_pos[c.core] for c in candidates], dtype=int),
        call_index=np.array(with_call, dtype=int),
        call_capacity=capacity,
        call_hours=hours,
        order=order,
        fairness=fairness,
        segment_options=segment_options,
    )


def _refund_share(incident: Incident, inputs: dict[str, Input]) -> str:
    take_up = incident.assumptions.refund_take_up
    if take_up is not None:
        inputs["refund_take_up"] = Input(
            "refund_take_up", take_up, "file: assumptions.refund_take_up"
        )
    else:
        inputs["refund_take_up"] = Input(
            "refund_take_up",
            Estimate(*defaults.value("refund_take_up")),
            defaults.cite("refund_take_up"),
        )
    return "refund_take_up"


def _add_common_inputs(incident: Incident, inputs: dict[str, Input]) -> None:
    """Inputs every plan reads: replies to the mass message, the minimum meaningful offer,
    fairness between segments."""
    assumptions = incident.assumptions
    for key, name, given in (
        ("assumptions.reply_share", "reply_share", assumptions.reply_share),
        ("assumptions.fairness_penalty", "fairness_penalty", assumptions.fairness_penalty),
    ):
        if given is not None:
            inputs[key] = Input(key, given, f"file: {key}")
        else:
            inputs[key] = Input(key, Estimate(*defaults.value(name)), defaults.cite(name))
    share = assumptions.min_offer_share
    inputs["assumptions.min_offer_share"] = Input(
        "assumptions.min_offer_share",
        Estimate.exact(share if share is not None else float(defaults.value("min_offer_share"))),
        "file: assumptions.min_offer_share"
        if share is not None
        else defaults.cite("min_offer_share"),
    )


def _call_capacity(
    incident: Incident, specs: Mapping[str, OptionSpec]
) -> tuple[int | None, float | None]:
    if CALL not in specs:
        return None, None
    call = incident.options.personal_call
    hours = call.capacity_hours
    if hours is None:
        hours = float(defaults.value("personal_call.capacity_hours"))
    minutes = max(call.minutes.likely, 1e-9)
    return int(np.floor(hours * 60 / minutes + 1e-9)), hours


# --- evaluation --------------------------------------------------------------------------------


def weight_of(keys: Sequence[str], values: Values) -> np.ndarray:
    """The share a part's weight keys give (`~k` is 1 - k)."""
    return Term("share", 1.0, tuple(keys)).evaluate(values)


@dataclass(frozen=True)
class PackageScores:
    """How each package's recovery comes about, for one customer loss (arrays (P, D) or (P, 1))."""

    x: np.ndarray  # total worth / loss
    worth: np.ndarray  # total worth to the customer (money; inf when unknown)
    g: np.ndarray
    match: np.ndarray
    timeliness: np.ndarray
    quality: np.ndarray  # g * match, 0 below the minimum meaningful offer
    meaningful: np.ndarray  # bool: at least the minimum meaningful offer
    rho_tangible: np.ndarray
    rho_call: np.ndarray
    rho: np.ndarray  # after the call, the cap and any backfire


def _as2d(rows: Sequence[np.ndarray]) -> np.ndarray:
    arrays = np.broadcast_arrays(*[np.atleast_1d(np.asarray(r, dtype=float)) for r in rows])
    return np.stack(arrays) if arrays else np.zeros((0, 1))


def package_scores(
    model: Model,
    packages: Sequence[Sequence[str]],
    values: Values,
    loss_key: str | None,
) -> PackageScores:
    """Recovery of each package for customers whose loss is `loss_key` (None: unknown, every
    remedy is then taken to answer it exactly). Vectorised over packages and draws."""
    specs = model.options
    incident = model.incident
    val = model.valuation
    member = {o: np.array([o in p for p in packages]) for o in specs}
    n = len(packages)
    loss = None if loss_key is None else np.asarray(values[loss_key], dtype=float)
    tangible = np.zeros(n, dtype=bool)
    override_keep = np.ones((n, 1))
    # Per tangible option (rows): its money worth, its x contribution (worth / loss), the
    # finite contribution used as its weight, and its match and timeliness. Packages sum them
    # with one matrix product each (packages x options @ options x draws).
    names: list[str] = []
    money_rows: list[np.ndarray] = []
    x_rows: list[np.ndarray] = []
    for name, spec in specs.items():
        rows = member[name]
        if not rows.any() or name == CALL:
            continue
        if spec.recovery_key is not None:  # the file gives its recovery share outright
            rho_o = np.clip(np.asarray(values[spec.recovery_key], dtype=float), 0.0, 1.0)
            override_keep = override_keep * np.where(rows[:, None], 1.0 - rho_o[None, :], 1.0)
            tangible |= rows & spec.tangible
            continue
        if not spec.tangible:
            continue
        tangible |= rows
        if spec.worth is None or loss is None:
            # No stated worth (or no known loss): taken to make good the loss exactly.
            contribution = np.ones(1)
            money_worth = np.full(1, np.inf) if loss is None else loss
        else:
            money_worth = total(spec.worth, values)
            with np.errstate(divide="ignore", invalid="ignore"):
                contribution = np.where(
                    loss > 0,
                    money_worth / np.where(loss > 0, loss, 1.0),
                    np.where(money_worth > 0, np.inf, 0.0),
                )
        names.append(name)
        money_rows.append(np.atleast_1d(money_worth))
        x_rows.append(np.atleast_1d(contribution))
    if names:
        has = np.stack([member[o] for o in names], axis=1).astype(float)  # (P, V)
        money_m = _as2d(money_rows)  # (V, D)
        x_m = _as2d(x_rows)
        finite = np.where(np.isfinite(x_m), x_m, 1.0)
        # 0 x inf would be nan in a product: infinities are counted apart.
        worth_sum = has @ np.where(np.isfinite(money_m), money_m, 0.0)
        worth_sum = np.where(has @ ~np.isfinite(money_m) > 0, np.inf, worth_sum)
        effective = has @ np.where(np.isfinite(x_m), x_m, 0.0)
        effective = np.where(has @ ~np.isfinite(x_m) > 0, np.inf, effective)
        weights = has @ finite
        matches = np.array([specs[o].match for o in names])[:, None]
        times = np.array([specs[o].timeliness for o in names])[:, None]
        weighted_match = has @ (finite * matches)
        weighted_time = has @ (finite * times)
    else:
        worth_sum = effective = weights = weighted_match = weighted_time = np.zeros((n, 1))
    safe = np.where(weights > 0, weights, 1.0)
    match_mean = np.where(weights > 0, weighted_match / safe, 0.0)
    time_mean = np.where(weights > 0, weighted_time / safe, 1.0)
    g = recovery_curve(effective, group=val.group)
    order_value = incident.affected.order_value
    floor_money = float(values["assumptions.min_offer_share"][0]) * (
        float(order_value) if order_value is not None else 0.0
    )
    meaningful = (worth_sum >= floor_money - 1e-9) & (worth_sum > 0)
    quality = np.where(meaningful, g * match_mean, 0.0)
    fault = float(defaults.value(f"fault.{incident.fault}"))
    material = np.atleast_1d(val.material_share(values))[None, :]
    rho_t = quality * fault * time_mean * material
    rho_t = 1.0 - (1.0 - rho_t) * override_keep
    rho_call = np.zeros_like(rho_t)
    if CALL in specs:
        calls = member[CALL][:, None]
        key = specs[CALL].recovery_key
        effect = (
            np.clip(np.asarray(values[key], dtype=float), 0, 1)[None, :]
            if key is not None
            else call_recovery(quality)
        )
        rho_call = np.where(calls, effect, 0.0)
    rho = 1.0 - (1.0 - rho_t) * (1.0 - rho_call)
    rho = np.minimum(incident.assumptions.rho_max, rho)
    if incident.repeat:
        rho = rho - float(defaults.value("apology_backfire")) * (~tangible)[:, None]
    return PackageScores(
        x=effective,
        worth=worth_sum,
        g=g,
        match=match_mean,
        timeliness=time_mean,
        quality=quality,
        meaningful=meaningful,
        rho_tangible=rho_t,
        rho_call=rho_call,
        rho=rho,
    )


def package_costs(model: Model, values: Values) -> np.ndarray:
    """(P, D) cost per customer of each package: its options, and a support contact where the
    customer replies with a choice."""
    columns: dict[str, np.ndarray] = {
        name: total(spec.cost, values) for name, spec in model.options.items()
    }
    columns[CONTACT] = contact_cost(values)
    rows = [sum((columns[o] for o in package), start=np.zeros(1)) for package in model.packages]
    return _as2d(rows) if rows else np.zeros((0, 1))


def contact_cost(values: Values) -> np.ndarray:
    """One support contact: minutes x support cost per hour / 60."""
    return np.asarray(
        values["assumptions.contact_minutes"] * values["business.support_cost_per_hour"] / 60.0
    )


def reply_cost(values: Values) -> np.ndarray:
    """Per customer messaged: the share who reply x one support contact (every plan pays it)."""
    return np.asarray(values["assumptions.reply_share"] * contact_cost(values))


@dataclass(frozen=True)
class Evaluation:
    """Scores of every candidate for some draws (or scenarios) of the inputs, per customer.

    `recovery[k]` (M, D) is the share of segment k's value at stake each candidate keeps
    (segments with the same customer loss share one array), `cost` (M, D) what it costs,
    `stake` (K, D) the value at stake. D is 1 where nothing that matters is uncertain.
    """

    recovery: tuple[np.ndarray, ...]
    cost: np.ndarray
    stake: np.ndarray
    clv: np.ndarray  # (K, D)
    delta: np.ndarray  # (D,)
    draws: int

    def net(self, k: int) -> np.ndarray:
        """(M, D) net value per customer of each candidate in segment k (not over the floor)."""
        return self.stake[k][None, :] * self.recovery[k] - self.cost

    def retained(self, k: int) -> np.ndarray:
        """(M, D) value kept per customer in segment k."""
        return self.stake[k][None, :] * self.recovery[k]


def mix(model: Model, per_package: np.ndarray, values: Values) -> np.ndarray:
    """(M, D): each candidate's share-weighted sum over its parts of a per-package array."""
    m = len(model.candidates)
    groups: dict[tuple[str, ...], np.ndarray] = {}
    for i, candidate in enumerate(model.candidates):
        for part in candidate.parts:
            index = groups.setdefault(part.weight, np.full(m, -1))
            index[i] = part.package
    width = max([per_package.shape[1]] + [len(weight_of(w, values)) for w in groups])
    out = np.zeros((m, width))
    for weight, index in groups.items():
        rows = np.flatnonzero(index >= 0)
        share = weight_of(weight, values)[None, :]
        out[rows] += share * per_package[index[rows]]
    return out


def evaluate(model: Model, values: Values) -> Evaluation:
    """Score every candidate for every row of `values` (draws or scenarios)."""
    val = model.valuation
    cost = mix(model, package_costs(model, values), values) + reply_cost(values)[None, :]
    by_loss: dict[str | None, np.ndarray] = {}
    recovery: list[np.ndarray] = []
    for segment in val.segments:
        if segment.loss_key not in by_loss:
            scores = package_scores(model, model.packages, values, segment.loss_key)
            by_loss[segment.loss_key] = mix(model, scores.rho, values)
        recovery.append(by_loss[segment.loss_key])
    clv = _as2d([values[s.clv_key] for s in val.segments])
    delta = np.atleast_1d(val.delta(values))
    spill = np.atleast_1d(val.spillover(values))
    stake = delta[None, :] * clv * spill[None, :]
    draws = max([len(v) for v in values.values()] + [1])
    return Evaluation(tuple(recovery), cost, stake, clv, delta, draws)


def chunk_size(model: Model) -> int:
    """Draws per chunk: a few million cells of (packages x customer losses) per array."""
    cells = max(1, len(model.packages)) * max(
        1, len({s.loss_key for s in model.valuation.segments})
    )
    return int(np.clip((1 << 21) // cells, 64, 4096))


def parts(source: Values | Draws, size: int) -> Iterator[tuple[slice, Values]]:
    """The draws a chunk at a time: slices of full arrays, or fresh draws from `Draws`."""
    if isinstance(source, Draws):
        yield from source.chunks(size)
        return
    draws = max([len(v) for v in source.values()] + [1])
    for start in range(0, draws, size):
        window = slice(start, min(draws, start + size))
        yield window, {k: (v[window] if len(v) > 1 else v) for k, v in source.items()}


def chunks(model: Model, source: Values | Draws) -> Iterator[tuple[slice, Values, Evaluation]]:
    """Evaluate the draws a chunk at a time (memory stays bounded whatever the draws)."""
    for window, part in parts(source, chunk_size(model)):
        yield window, part, evaluate(model, part)
