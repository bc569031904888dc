"""A simulated shop for `remedy review`: customers drawn from BG/NBD and Gamma-Gamma, an incident
that hits some of the recent buyers, a holdout, and known losses in each arm.

Time runs in days. Each customer's first purchase falls uniformly in the first `cohort_days`;
purchases then follow BG/NBD (rate lambda ~ Gamma(r, alpha) per week, drop-out probability
p ~ Beta(a, b) after each purchase) to the end of the window. The incident on day `incident`
hits each customer who bought in the `recent_days` before it (the incident day included) with
probability `hit_share`: an order of theirs went wrong. A hit customer is held out with
probability `holdout_share`. At the incident a hit customer of arm k is lost for good with
probability `loss[k]` (their later purchases are removed), so the expected share of window
purchases lost is exactly `loss[k]`. Every customer's window purchases are also thinned by
`season` (a slow season the model cannot know), which the unaffected customers reveal.

The selection is the point: hit customers are recent buyers, who buy more than the average
customer anyway, so a comparison of purchases per customer without a model is biased.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

START = dt.date(2023, 1, 2)


@dataclass(frozen=True)
class World:
    customer: np.ndarray  # per order: customer index
    day: np.ndarray  # per order: day number from START
    amount: np.ndarray
    hit: np.ndarray  # per customer: bool
    held: np.ndarray  # per customer: bool (hit and held out)
    incident: int
    end: int
    loss: dict[str, float] = field(default_factory=dict)

    @property
    def customers(self) -> int:
        return len(self.hit)

    def true_affected_loss(self) -> float:
        """The affected group's loss: its arms' losses weighted by their counterfactual
        purchases (equal rates in expectation: arms are random, so by customer counts)."""
        treated = int(np.count_nonzero(self.hit & ~self.held))
        held = int(np.count_nonzero(self.held))
        return (treated * self.loss["treated"] + held * self.loss["holdout"]) / (treated + held)

    def write(self, folder: Path, *, incident_id: str = "sim-late") -> dict[str, Path]:
        """The orders CSV, the customers file, the assignments and an incident file."""
        folder.mkdir(parents=True, exist_ok=True)
        ids = np.char.add("c", np.arange(self.customers).astype(str))
        dates = np.datetime64(START.isoformat()) + self.day.astype("timedelta64[D]")
        orders = folder / "orders.csv"
        with orders.open("w") as stream:
            stream.write("customer_id,date,amount\n")
            body = np.char.add(
                np.char.add(np.char.add(ids[self.customer], ","), dates.astype(str)),
                np.char.add(",", np.char.mod("%.2f", self.amount)),
            )
            stream.write("\n".join(body.tolist()) + "\n")
        hit = np.flatnonzero(self.hit)
        customers = folder / "affected.csv"
        with customers.open("w") as stream:
            stream.write("id,name,email,order_id,order_value\n")
            for i in hit.tolist():
                stream.write(f"c{i},Customer {i},c{i}@example.com,O-{i},40.00\n")
        assignments = folder / "arms.csv"
        with assignments.open("w") as stream:
            stream.write("customer_id,segment,arm,incident_id\n")
            for i in hit.tolist():
                arm = "holdout" if self.held[i] else "treated"
                stream.write(f"c{i},all,{arm},{incident_id}\n")
        occurred = START + dt.timedelta(days=self.incident)
        incident = folder / "incident.yaml"
        incident.write_text(
            f"id: {incident_id}\n"
            "title: Orders a few days late\n"
            "kind: late_delivery\n"
            f"occurred_on: {occurred.isoformat()}\n"
            "summary: Our warehouse shipped orders late.\n"
            "affected:\n  order_value: 40\n"
            "business:\n  clv: [60, 120, 240]\n  gross_margin: 0.4\n"
            "options:\n  store_credit:\n    amount: 10\n"
            "customers:\n  file: affected.csv\n"
            "sender:\n  name: Al\n  company: Co\n  email: al@example.com\n"
        )
        return {
            "orders": orders,
            "customers": customers,
            "assignments": assignments,
            "incident": incident,
        }


def simulate(
    seed: int,
    *,
    customers: int = 20_000,
    r: float = 0.7,
    alpha: float = 7.0,
    a: float = 0.7,
    b: float = 3.5,
    p: float = 6.0,
    q: float = 4.0,
    v: float = 15.0,
    cohort_days: int = 540,
    incident: int = 600,
    window_days: int = 182,
    recent_days: int = 14,
    hit_share: float = 0.6,
    holdout_share: float = 0.3,
    loss_treated: float = 0.10,
    loss_holdout: float = 0.35,
    season: float = 0.9,
) -> World:
    rng = np.random.default_rng(seed)
    n = customers
    end = incident + window_days
    rate = rng.gamma(r, 1.0 / alpha, n) / 7.0  # purchases per day
    drop = rng.beta(a, b, n)
    nu = rng.gamma(q, 1.0 / v, n)
    first = rng.uniform(0, cohort_days, n)
    owners = [np.arange(n)]
    times = [first]
    active = np.arange(n)
    t = first.copy()
    while len(active):
        survives = rng.random(len(active)) >= drop[active]
        active, t = active[survives], t[survives]
        t = t + rng.exponential(1.0, len(active)) / rate[active]
        inside = t <= end
        active, t = active[inside], t[inside]
        owners.append(active)
        times.append(t)
    owner = np.concatenate(owners)
    day = np.floor(np.concatenate(times)).astype(np.int64)
    recent = np.zeros(n, dtype=bool)
    recent[owner[(day > incident - recent_days) & (day <= incident)]] = True
    hit = recent & (rng.random(n) < hit_share)
    held = hit & (rng.random(n) < holdout_share)
    lost_share = np.where(held, loss_holdout, np.where(hit, loss_treated, 0.0))
    lost = rng.random(n) < lost_share
    after = day > incident
    keep = ~(after & lost[owner])
    keep &= ~after | (rng.random(len(day)) < season)
    owner, day = owner[keep], day[keep]
    amount = rng.gamma(p, 1.0 / nu[owner])
    order = np.lexsort((owner, day))
    return World(
        customer=owner[order],
        day=day[order],
        amount=amount[order],
        hit=hit,
        held=held,
        incident=incident,
        end=end,
        loss={"treated": loss_treated, "holdout": loss_holdout},
    )
