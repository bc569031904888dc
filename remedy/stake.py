"""Value at stake: who was hit, what they are worth, and what share of it the failure risks.

Scoring model section 1 (with revision 2's word of mouth): for each segment k,
    value at stake = n_k * delta * CLV_k * (1 + spillover)
where `delta` is the share of future value lost if the company only sends a form apology and
`spillover` is what the customers' word of mouth (and, for a large incident, publicity) is worth
as a share of their CLV. Every input is an `Input`: a `[low, likely, high]` estimate with the
place it came from ("file: business.clv" or "default: ... (citation)"). Uncertain inputs are
sampled with PERT in a seeded Monte Carlo; each input has its own random stream (seed, input
name), so changing one input leaves the draws of the others untouched (common random numbers:
counterfactuals compare like with like). A certain input is one value (an array of shape (1,)),
so arithmetic that involves only certain inputs is done once, not once per draw.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from remedy import defaults
from remedy.errors import InputError
from remedy.incident import Estimate, Incident
from remedy.offer import ALL

Values = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Input:
    """One input of the model: an estimate and where it came from."""

    key: str
    estimate: Estimate
    source: str

    @property
    def uncertain(self) -> bool:
        return self.estimate.uncertain


@dataclass(frozen=True)
class Modifier:
    """A factor applied to delta: a missed occasion, a repeat failure, whose fault it was."""

    name: str
    factor: float
    source: str


@dataclass(frozen=True)
class SegmentValue:
    """A segment as the model sees it: size and the keys of its CLV and loss inputs."""

    name: str
    customers: int
    clv_key: str
    loss_key: str | None  # None: the customer's loss is unknown (remedies are then taken at x=1)


@dataclass(frozen=True)
class Valuation:
    """Everything needed to compute the value at stake of each segment for any draw of inputs."""

    kind: str
    segments: tuple[SegmentValue, ...]
    modifiers: tuple[Modifier, ...]
    delta_cap: float
    orders_per_customer: float
    group: bool  # many customers who compare notes: the recovery curve plateaus earlier
    spillover_keys: tuple[str, ...] = ()  # inputs adding word of mouth / publicity to the stake

    def delta(self, values: Values) -> np.ndarray:
        """Share of future value lost with only an apology, after modifiers (capped)."""
        factor = float(np.prod([m.factor for m in self.modifiers])) if self.modifiers else 1.0
        return np.minimum(self.delta_cap, values["delta"] * factor)

    def spillover(self, values: Values) -> np.ndarray:
        """1 + what word of mouth and publicity add to a customer's value at stake."""
        out = np.ones(1)
        for key in self.spillover_keys:
            out = out + values[key]
        return out

    def stake(self, values: Values, clv: np.ndarray) -> np.ndarray:
        """Value at stake per customer: delta * CLV * (1 + spillover)."""
        return self.delta(values) * clv * self.spillover(values)

    def material_share(self, values: Values) -> np.ndarray:
        """Share of delta that compensation can answer: all of it unless an occasion was missed.

        A missed occasion multiplies the loss (x2.5), but money or goods cannot bring the date
        back: compensating remedies answer only the part of the loss the failure would have caused
        without the occasion; the rest is answered by the apology and personal contact.
        """
        occasion = [m for m in self.modifiers if m.name == "occasion"]
        if not occasion:
            return np.ones_like(values["delta"])
        delta = self.delta(values)
        without = np.minimum(self.delta_cap, delta / occasion[0].factor)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(delta > 0, without / np.where(delta > 0, delta, 1.0), 1.0)


def money(value: Decimal | None) -> float | None:
    """A Decimal amount from the file as a float for arithmetic (None stays None)."""
    return None if value is None else float(value)


def segment_sizes(incident: Incident) -> list[tuple[str, int]]:
    """(name, customers) of each segment; one segment `all` when the file defines none.

    Shares are turned into whole customers by largest remainder, so the counts add up exactly.
    """
    total = incident.affected.customers
    if total is None:
        raise InputError(
            "plan needs affected.customers (add 'affected: {customers: N}' to the incident file)"
        )
    if not incident.segments:
        return [(ALL, total)]
    if incident.segments[0].count is not None:
        return [(s.name, int(s.count or 0)) for s in incident.segments]
    exact = [float(s.share or 0.0) * total for s in incident.segments]
    counts = [int(np.floor(e)) for e in exact]
    left = total - sum(counts)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[:left]:
        counts[i] += 1
    return [(s.name, c) for s, c in zip(incident.segments, counts, strict=True)]


def _default_loss(incident: Incident) -> tuple[Estimate, str] | None:
    """What each customer loses with only an apology, by kind (incident format, `affected`)."""
    affected = incident.affected
    order_value = money(affected.order_value)
    per_customer = incident.orders / affected.customers if affected.customers else 1.0
    kind = incident.kind
    if kind == "pricing_error":
        list_price = money(affected.list_price)
        if list_price is None or order_value is None:
            return None
        loss = max(0.0, list_price - order_value) * per_customer
        return Estimate.exact(loss), "derived: list_price - order_value (the deal taken back)"
    if order_value is None:
        return None
    if kind in ("not_fulfilled", "lost_in_transit", "billing_error"):
        what = "the wrong charge" if kind == "billing_error" else "goods paid for, not received"
        return Estimate.exact(order_value * per_customer), f"derived: order_value ({what})"
    share = float(defaults.value(f"customer_loss.{kind}"))
    return (
        Estimate.exact(order_value * share * per_customer),
        f"derived: {share:g} x order_value ({defaults.DEFAULTS[f'customer_loss.{kind}'].source})",
    )


def _base_delta(incident: Incident) -> Input:
    if incident.assumptions.delta is not None:
        return Input("delta", incident.assumptions.delta, "file: assumptions.delta")
    name = f"delta.{incident.kind}"
    return Input("delta", Estimate(*defaults.value(name)), defaults.cite(name))


def modifiers(incident: Incident) -> tuple[Modifier, ...]:
    """The factors applied to delta, in the order the scoring model lists them."""
    found: list[Modifier] = []
    if incident.occasion:
        found.append(
            Modifier(
                "occasion",
                float(defaults.value("delta.occasion")),
                defaults.cite("delta.occasion") + f": {incident.occasion}",
            )
        )
    if incident.repeat:
        found.append(
            Modifier("repeat", float(defaults.value("delta.repeat")), defaults.cite("delta.repeat"))
        )
    if incident.fault != "ours":
        name = f"delta.fault.{incident.fault}"
        found.append(Modifier(f"fault {incident.fault}", float(defaults.value(name)), cite(name)))
    return tuple(found)


def cite(name: str) -> str:
    """Shorthand for `defaults.cite`."""
    return defaults.cite(name)


def valuation(
    incident: Incident, clv_override: Mapping[str, Estimate] | None = None
) -> tuple[Valuation, dict[str, Input]]:
    """The value side of the model for `incident`, and the inputs it reads.

    CLV of a segment: `clv_override[segment]` (e.g. estimated from the order history), else the
    segment's `clv`, else `business.clv`; with none of them the plan cannot value anyone.
    """
    inputs: dict[str, Input] = {}
    base = _base_delta(incident)
    inputs[base.key] = base
    default_loss = _default_loss(incident)
    if incident.affected.customer_loss is not None:
        inputs["affected.customer_loss"] = Input(
            "affected.customer_loss",
            incident.affected.customer_loss,
            "file: affected.customer_loss",
        )
    elif default_loss is not None:
        inputs["affected.customer_loss"] = Input("affected.customer_loss", *default_loss)

    by_name = {s.name: s for s in incident.segments}
    overrides = dict(clv_override or {})
    segments: list[SegmentValue] = []
    for name, count in segment_sizes(incident):
        segment = by_name.get(name)
        if name in overrides:
            clv_key = f"orders.{name}.clv"
            inputs[clv_key] = Input(clv_key, overrides[name], "estimated from customers.orders")
        elif segment is not None and segment.clv is not None:
            clv_key = f"segments.{name}.clv"
            inputs[clv_key] = Input(clv_key, segment.clv, f"file: segments.{name}.clv")
        elif incident.business.clv is not None:
            clv_key = "business.clv"
            inputs[clv_key] = Input(clv_key, incident.business.clv, "file: business.clv")
        else:
            where = f"segment '{name}'" if segment is not None else "the affected customers"
            raise InputError(
                f"no customer lifetime value for {where}: add business.clv (e.g. "
                "'business: {clv: [150, 300, 600]}') or an order history in customers.orders"
            )
        loss_key: str | None = (
            "affected.customer_loss"
            if default_loss or (incident.affected.customer_loss is not None)
            else None
        )
        if segment is not None and segment.customer_loss is not None:
            loss_key = f"segments.{name}.customer_loss"
            inputs[loss_key] = Input(
                loss_key, segment.customer_loss, f"file: segments.{name}.customer_loss"
            )
        segments.append(SegmentValue(name, count, clv_key, loss_key))

    total = incident.affected.customers or 0
    group_min = int(defaults.value("g.group_min_customers"))
    result = Valuation(
        kind=incident.kind,
        segments=tuple(segments),
        modifiers=modifiers(incident),
        delta_cap=float(defaults.value("delta.cap")),
        orders_per_customer=incident.orders / total if total else 1.0,
        group=total >= group_min,
        spillover_keys=_spillover(incident, total, inputs),
    )
    return result, inputs


def _spillover(incident: Incident, total: int, inputs: dict[str, Input]) -> tuple[str, ...]:
    """Add the word-of-mouth and publicity inputs; return the keys that apply."""
    assumptions = incident.assumptions
    keys: list[str] = []
    if assumptions.word_of_mouth is not None:
        inputs["spillover.word_of_mouth"] = Input(
            "spillover.word_of_mouth", assumptions.word_of_mouth, "file: assumptions.word_of_mouth"
        )
    else:
        inputs["spillover.word_of_mouth"] = Input(
            "spillover.word_of_mouth",
            Estimate(*defaults.value("spillover.word_of_mouth")),
            cite("spillover.word_of_mouth"),
        )
    keys.append("spillover.word_of_mouth")
    threshold = int(defaults.value("spillover.publicity_min_customers"))
    if assumptions.publicity is not None:
        inputs["spillover.publicity"] = Input(
            "spillover.publicity", assumptions.publicity, "file: assumptions.publicity"
        )
        keys.append("spillover.publicity")
    elif total >= threshold:
        inputs["spillover.publicity"] = Input(
            "spillover.publicity",
            Estimate(*defaults.value("spillover.publicity")),
            cite("spillover.publicity") + f" ({total:,} customers >= {threshold:,})",
        )
        keys.append("spillover.publicity")
    return tuple(keys)


# --- Sampling ------------------------------------------------------------------------------


def pert(estimate: Estimate, draws: int, rng: np.random.Generator) -> np.ndarray:
    """`draws` samples of a PERT distribution over [low, likely, high] (constant if certain)."""
    low, likely, high = estimate.low, estimate.likely, estimate.high
    if high <= low:
        return np.full(draws, likely)
    span = high - low
    alpha = 1.0 + 4.0 * (likely - low) / span
    beta = 1.0 + 4.0 * (high - likely) / span
    return low + span * rng.beta(alpha, beta, draws)


def sample(inputs: Mapping[str, Input], draws: int, seed: int) -> dict[str, np.ndarray]:
    """Seeded Monte Carlo draws of every uncertain input, one stream per (seed, input key);
    a certain input is its one value (shape (1,)), which broadcasts against the draws."""
    if draws < 1:
        raise InputError(f"draws must be at least 1, got {draws}")
    out: dict[str, np.ndarray] = {}
    for key in sorted(inputs):
        item = inputs[key]
        if item.uncertain:
            rng = np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(key.encode())])
            out[key] = pert(item.estimate, draws, rng)
        else:
            out[key] = np.full(1, item.estimate.likely)
    return out


class Draws:
    """The same draws as `sample(inputs, draws, seed)`, produced a chunk at a time, so memory
    does not grow with the number of draws. Each pass (`chunks`) starts every input's stream
    afresh; numpy's generators give the same numbers in chunks as in one call."""

    def __init__(self, inputs: Mapping[str, Input], draws: int, seed: int) -> None:
        if draws < 1:
            raise InputError(f"draws must be at least 1, got {draws}")
        self.inputs = inputs
        self.draws = draws
        self.seed = seed

    def chunks(self, size: int) -> Iterator[tuple[slice, dict[str, np.ndarray]]]:
        """(window, values of the draws in it) for consecutive windows of `size` draws."""
        streams = {
            key: np.random.default_rng([self.seed & 0xFFFFFFFF, zlib.crc32(key.encode())])
            for key in sorted(self.inputs)
            if self.inputs[key].uncertain
        }
        fixed = {
            key: np.full(1, item.estimate.likely)
            for key, item in self.inputs.items()
            if not item.uncertain
        }
        for start in range(0, self.draws, size):
            window = slice(start, min(self.draws, start + size))
            part = dict(fixed)
            for key in sorted(streams):
                part[key] = pert(self.inputs[key].estimate, window.stop - start, streams[key])
            yield window, part


def scenarios(inputs: Mapping[str, Input]) -> tuple[list[tuple[str, str]], dict[str, np.ndarray]]:
    """One-at-a-time scenarios: row 0 has every input at its likely value; then, for each
    uncertain input in key order, a row with it at its low value and a row at its high value.

    Returns the (key, "low"/"high") label of each row after the first, and the values.
    """
    swung = [k for k in sorted(inputs) if inputs[k].uncertain]
    labels = [(k, end) for k in swung for end in ("low", "high")]
    rows = 1 + len(labels)
    out: dict[str, np.ndarray] = {}
    for key in sorted(inputs):
        column = np.full(rows, inputs[key].estimate.likely)
        for row, (k, end) in enumerate(labels, start=1):
            if k == key:
                column[row] = (
                    inputs[key].estimate.low if end == "low" else inputs[key].estimate.high
                )
        out[key] = column
    return labels, out
