"""Holdout arms in the mail merge: who gets the plan, and who gets only what is owed.

`remedy drafts --holdout SHARE --assignments PATH` holds out a random share of the affected
customers, stratified by segment. A holdout customer is drafted from their segment's
*obligation floor* (`Plan.floor_offers`): everything the company owes them (a refund for money
taken in error, the goods paid for, anything the incident marks `required: true`) and the
apology. Only the discretionary extras the plan adds on top (store credit, a shipping upgrade,
a personal call, honoring a price when nothing obliges it) are withheld. The floor is the
planner's own list of obligations, so a holdout customer never gets less than an obligation.
Without `--holdout` nobody is held out.

The draw. Each customer gets a keyed hash of (seed, incident id, customer id): BLAKE2b with the
seed as its key, 64 bits. Within each segment the `round(share x n)` customers with the smallest
hashes are held out, n being the segment's distinct customer ids. The assignment therefore
depends only on the seed, the incident's id and who is in each segment: not on the order of the
customers file, the machine or the Python version; the same seed gives the same assignment,
and the counts per segment are exact. One pass over the customers file (no drafting) finds the
thresholds; the merge then asks `is_held` for each customer.

The assignment is written as CSV (`customer_id,segment,arm,incident_id`) for `remedy review`,
atomically, after the messages. Customer ids are written as they are (not neutralised against
spreadsheet formulas): the file is remedy's input, and ids must match the order history.
"""

from __future__ import annotations

import csv
import hashlib
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from remedy.errors import UsageError
from remedy.fileio import atomic_writer

if TYPE_CHECKING:
    from remedy.drafts import CustomerMerge
    from remedy.offer import Offer

ARMS = ("treated", "holdout")
COLUMNS = ("customer_id", "segment", "arm", "incident_id")
MAX_SHARE = 0.5  # more than half held out is no longer a holdout: it withholds the plan


def check_share(share: float) -> float:
    """A holdout share, checked: 0 (nobody) up to `MAX_SHARE`."""
    if not 0.0 <= share <= MAX_SHARE:
        raise UsageError(
            f"--holdout: {share:g} is not a share between 0 and {MAX_SHARE:g} "
            "(e.g. 0.1 holds out one affected customer in ten)"
        )
    return share


def withheld(offer: Offer, floor: Offer) -> tuple[str, ...]:
    """The options a holdout customer of this segment does not get (the plan's extras)."""
    extras = tuple(o for o in offer.options if o not in floor.options and o != "apology_only")
    if offer.calls > 0 and "personal_call" not in extras and "personal_call" not in floor.options:
        extras += ("personal_call",)
    return extras


class HoldoutDraw:
    """A seeded, stratified holdout of one incident's affected customers."""

    def __init__(self, share: float, seed: int, incident_id: str, segments: Sequence[str]) -> None:
        self.share = check_share(share)
        self.seed = seed
        self.incident_id = incident_id
        self.segments = list(segments)
        self._secret = seed.to_bytes(16, "big", signed=True)
        self._prefix = incident_id.encode("utf-8") + b"\x00"
        self.thresholds: list[int] = [-1] * len(self.segments)
        self.customers: list[int] = [0] * len(self.segments)  # distinct ids per segment
        self.held: list[int] = [0] * len(self.segments)
        self._run: CustomerMerge | None = None

    def key(self, customer_id: str) -> int:
        """The customer's 64-bit keyed hash (smaller: held out first)."""
        digest = hashlib.blake2b(
            self._prefix + customer_id.encode("utf-8"), digest_size=8, key=self._secret
        ).digest()
        return int.from_bytes(digest, "big")

    def prepare(self, run: CustomerMerge) -> Callable[[str, int], bool]:
        """Read the merge's allocation once (no drafting) and fix each segment's threshold;
        returns `is_held` for the merge to call."""
        import numpy as np

        keys = [array("Q") for _ in self.segments]
        for customer_id, index in run.allocation():
            keys[index].append(self.key(customer_id))
        for index, found in enumerate(keys):
            distinct = np.unique(np.frombuffer(found, dtype=np.uint64))
            count = int(np.floor(self.share * len(distinct) + 0.5))
            self.customers[index] = len(distinct)
            self.held[index] = count
            self.thresholds[index] = int(distinct[count - 1]) if count else -1
        self._run = run
        return self.is_held

    def is_held(self, customer_id: str, segment_index: int) -> bool:
        """True when this customer of this segment (an offer index) is in the holdout arm."""
        return self.key(customer_id) <= self.thresholds[segment_index]

    def write_assignments(self, path: Path, force: bool = False) -> int:
        """Write `customer_id,segment,arm,incident_id` for every customer, atomically, from
        another pass over the customers file; returns the rows written."""
        if self._run is None:
            raise RuntimeError("prepare() first")
        rows = 0
        with atomic_writer(path, force=force) as stream:
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow(COLUMNS)
            for customer_id, index in self._run.allocation():
                arm = "holdout" if self.is_held(customer_id, index) else "treated"
                writer.writerow((customer_id, self.segments[index], arm, self.incident_id))
                rows += 1
        return rows

    def summary(self, offers: Sequence[Offer], floors: Sequence[Offer]) -> list[str]:
        """Lines for stderr: the arms' sizes by segment and what the holdout does not get."""
        total = sum(self.customers)
        held = sum(self.held)
        share = held / total if total else 0.0
        lines = [
            f"holdout: {held:,} of {total:,} customers ({share:.1%}), stratified by segment, "
            f"seed {self.seed}"
        ]
        for index, (offer, floor) in enumerate(zip(offers, floors, strict=True)):
            extras = withheld(offer, floor)
            gets = " + ".join(o for o in floor.options if o != "apology_only") or "nothing owed"
            what = (
                f"withheld: {', '.join(extras)}; they get the apology and {gets}"
                if extras
                else "nothing withheld (the plan is the obligation floor)"
            )
            lines.append(
                f"  {offer.segment}: {self.held[index]:,} of {self.customers[index]:,} held out; "
                + what
            )
        return lines


def nothing_to_withhold(offers: Sequence[Offer], floors: Sequence[Offer]) -> bool:
    """True when every segment's plan is its obligation floor: a holdout would measure nothing."""
    return all(not withheld(o, f) for o, f in zip(offers, floors, strict=True))
