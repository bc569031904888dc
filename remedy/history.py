"""Valuing the affected customers from the company's order history.

When an incident names `customers.orders`, the planner should not trust a guessed `clv`: this
step fits the CLV models (`remedy.clv`) to the history and turns the per-customer values into
a CLV estimate per segment, `[P10, mean, P90]` of the segment's customers. CLV here is future
gross margin, as the incident format defines it, so the business's gross margin is applied.

Which customers are "affected": the rows of `customers.file` when given (matched by id to the
history), otherwise every customer in the history stands in for them. Segments come from the
file; when it defines none, the affected customers are split into value tiers (top 5%, next
15%, the rest), so the plan can treat the most valuable customers differently.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from remedy.customers import Customer, CustomerReader
from remedy.errors import InputError, UsageError
from remedy.incident import Estimate, Incident, Segment

# Value tiers when the file defines no segments: (name, share of customers), best first.
TIERS: tuple[tuple[str, float], ...] = (("top_5", 0.05), ("next_15", 0.15), ("rest", 0.80))


@dataclass(frozen=True)
class HistoryValue:
    """The incident to plan (segments added when tiers were made) and where CLV came from."""

    incident: Incident
    clv_by_segment: dict[str, Estimate]
    notes: tuple[str, ...]
    clv_by_customer: dict[str, float]  # every customer in the history, by id


def with_customer_count(incident: Incident) -> Incident:
    """The incident with `affected.customers` counted from `customers.file` when omitted.

    The format lets a customers file stand in for the count; the planner needs the number.
    """
    if incident.affected.customers is not None:
        return incident
    rows = _affected_customers(incident)
    if rows is None:
        return incident  # the model reports the missing count
    count = sum(1 for _ in rows)
    affected = incident.affected.model_copy(update={"customers": count})
    return incident.model_copy(update={"affected": affected})


def value_from_history(
    incident: Incident, *, progress: Callable[[str], None] | None = None
) -> HistoryValue | None:
    """CLV per segment from `customers.orders`, or None when the incident names no history."""
    if incident.customers is None or incident.customers.orders is None:
        return None
    import numpy as np

    from remedy.clv import ClvOptions, estimate_clv
    from remedy.rfm import looks_like_summary

    orders = incident.customers.orders
    if not os.path.lexists(orders):  # what exists but is not a file is refused when opened
        raise UsageError(f"customers.orders: {orders}: no such file")
    from remedy.orders import check_source

    # Named by the incident: a regular file only (a FIFO there would wait forever). An order
    # log (CSV, .csv.gz, Parquet) or a per-customer summary, told apart by its columns (a
    # summary's recency and T are in weeks, the default time unit).
    check_source(orders, regular_only=True)
    result = estimate_clv(
        orders,
        options=ClvOptions(
            gross_margin=incident.business.gross_margin,
            summary=looks_like_summary(str(orders)),
        ),
        progress=progress,
    )
    by_id = result.clv_by_customer()
    notes = [
        f"CLV estimated from {orders.name}: {result.customers:,} customers, BG/NBD and "
        "Gamma-Gamma, as future gross margin",
        *(f"CLV fit: {warning}" for warning in result.warnings),
    ]
    found = affected_clv(incident, by_id)
    if found is None:
        values = np.fromiter(by_id.values(), dtype=float, count=len(by_id))
        labels: list[str | None] = [None] * len(values)
        notes.append("no customers file: every customer in the history stands in for the affected")
    else:
        values, labels, total = found
        if not values.size:
            raise InputError(
                f"{orders}: none of the {total:,} affected customers appear in the order "
                "history (check that the ids match the customer column)"
            )
        if total > values.size:
            notes.append(
                f"{total - values.size:,} affected customers have no order history; valued like "
                "the rest"
            )
    if incident.segments:
        clv = _by_named_segment(incident, values, labels)
        return HistoryValue(incident, clv, tuple(notes), by_id)
    tiered, clv = _tiers(incident, values)
    if len(clv) > 1:
        notes.append("segments: value tiers of the affected customers (top 5%, next 15%, rest)")
    return HistoryValue(tiered, clv, tuple(notes), by_id)


def affected_clv(
    incident: Incident, clv_by_customer: Mapping[str, float]
) -> tuple[Any, list[str | None], int] | None:
    """The CLV of each affected customer found in the history (a numpy array), their segment
    labels (the customers file's `segment` column, or None), and how many customers the file
    lists; None without a customers file. Streamed: 8 bytes and a shared label per customer."""
    import numpy as np

    affected = _affected_customers(incident)
    if affected is None:
        return None
    known: array[float] = array("d")
    labels: list[str | None] = []
    names: dict[str | None, str | None] = {}
    total = 0
    for customer in affected:
        total += 1
        value = clv_by_customer.get(customer.id)
        if value is not None:
            known.append(value)
            labels.append(names.setdefault(customer.segment, customer.segment))
    return np.frombuffer(known, dtype=float) if known else np.zeros(0), labels, total


def _affected_customers(incident: Incident) -> Iterator[Customer] | None:
    """The customers of the customers file, read by the one strict reader (the rows `check`
    and `drafts` read), or None without a file."""
    if incident.customers is None or incident.customers.file is None:
        return None
    return iter(CustomerReader(incident.customers.file, currency=incident.currency))


def _estimate(values: Sequence[float] | object) -> Estimate:
    import numpy as np

    array = np.asarray(values, dtype=float)
    low, high = (float(v) for v in np.percentile(array, [10, 90]))
    mean = float(array.mean())
    # A heavy tail can put the mean above the 90th percentile: widen rather than misorder.
    return Estimate(min(low, mean), mean, max(high, mean))


def _by_named_segment(
    incident: Incident, values: object, labels: Sequence[str | None]
) -> dict[str, Estimate]:
    """CLV for each of the file's segments that gives none itself."""
    import numpy as np

    array = np.asarray(values, dtype=float)
    everyone = _estimate(array)
    clv: dict[str, Estimate] = {}
    for segment in incident.segments:
        if segment.clv is not None:
            continue  # the file's own figure wins
        mine = [i for i, label in enumerate(labels) if label == segment.name]
        clv[segment.name] = _estimate(array[mine]) if mine else everyone
    return clv


def _tiers(incident: Incident, values: object) -> tuple[Incident, dict[str, Estimate]]:
    """Split the customers into value tiers, as segments with counts and CLV estimates."""
    import numpy as np

    array = np.sort(np.asarray(values, dtype=float))[::-1]
    total = incident.affected.customers or len(array)
    if total < 20 or len(array) < 20:
        # Too few customers for tiers to mean anything: one segment valued as a whole.
        from remedy.offer import ALL

        return incident, {ALL: _estimate(array)}
    counts = [round(share * total) for _, share in TIERS[:-1]]
    counts.append(total - sum(counts))
    segments: list[Segment] = []
    clv: dict[str, Estimate] = {}
    start = 0
    for (name, share), count in zip(TIERS, counts, strict=True):
        stop = len(array) if name == TIERS[-1][0] else start + max(1, round(share * len(array)))
        clv[name] = _estimate(array[start:stop])
        segments.append(Segment(name=name, count=count))
        start = stop
    affected = incident.affected.model_copy(update={"customers": total})
    return incident.model_copy(update={"segments": segments, "affected": affected}), clv
