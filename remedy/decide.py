"""The decision: which candidate each segment gets, within the budget and the call capacity.

Inputs are expected values per segment and candidate (`Table`): what it keeps minus what it
costs, what it costs, and how many calls it takes. The best plan:

- takes the same incident-wide options (a *core*: honor, refund, ...) for every segment;
- gives each segment one candidate of that core, and the call variant of it to a share of the
  segment's customers (calls are linear in the share, so a share is exact);
- pays a fairness cost when segments that can compare notes see another segment get a tangible
  remedy they did not (scoring model revision 2): for each set G of such remedies given to
  someone, every segment lacking one of G pays it;
- respects the budget and the call capacity, and among equal plans prefers the cheaper, then
  the one with fewer options.

Without a binding constraint the choice separates by segment and is solved exactly by
enumerating cores and sets G. With one, a single segment is solved exactly by enumeration (the
best share of calls sits at an end of its range); several segments are a multiple-choice
knapsack, solved as a mixed-integer program by HiGHS (scipy.optimize.milp) with a relative gap
of 1e-7, which the decision reports. Adding an option only adds candidates, so it never lowers
the optimum.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from remedy.score import Model

_TOL = 1e-9
GAP = 1e-7


@dataclass(frozen=True)
class Table:
    """Expected totals per segment (K) and candidate (M)."""

    value: np.ndarray  # (K, M) kept minus cost, whole segment
    cost: np.ndarray  # (K, M) cost, whole segment
    calls: np.ndarray  # (K, M) calls if the whole segment took the candidate
    penalty: np.ndarray  # (K,) fairness cost of a segment that sees others get more


@dataclass(frozen=True)
class Decision:
    """Per segment: the candidate without the call, and the share of customers called."""

    picks: tuple[int, ...]
    shares: tuple[float, ...]
    value: float  # kept minus cost minus fairness costs (not over the floor)
    cost: float
    calls: float
    within_budget: bool
    gap: float = 0.0  # the optimiser's bound on value it may have missed


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


class Decider:
    """Chooses plans for one model; `decide` may be called with many tables (scenarios)."""

    def __init__(self, model: Model) -> None:
        self.model = model
        candidates = model.candidates
        self.k = len(model.valuation.segments)
        self.sizes = np.array([s.customers for s in model.valuation.segments], dtype=float)
        self.bases = np.array([i for i, c in enumerate(candidates) if not c.call], dtype=int)
        self.feasible = np.array([c.feasible for c in candidates])
        self.lengths = np.array([len(c.options) for c in candidates], dtype=int)
        self.call_of = model.call_index
        self.fair_options = model.segment_options if model.fairness else ()
        self.member = np.array(
            [[o in c.options for o in self.fair_options] for c in candidates], dtype=bool
        ).reshape(len(candidates), len(self.fair_options))

    # --- the plan value of picks ------------------------------------------------------------

    def totals(
        self, table: Table, picks: Sequence[int], shares: Sequence[float]
    ) -> tuple[float, float, float]:
        """(value, cost, calls) of per-segment picks and call shares, fairness included."""
        value = cost = calls = 0.0
        for k, (m, share) in enumerate(zip(picks, shares, strict=True)):
            c = int(self.call_of[m])
            v0, c0 = float(table.value[k, m]), float(table.cost[k, m])
            if share > 0 and c >= 0:
                value += v0 + share * (float(table.value[k, c]) - v0)
                cost += c0 + share * (float(table.cost[k, c]) - c0)
                calls += share * float(table.calls[k, c])
            else:
                value, cost = value + v0, cost + c0
        return value - self.unfairness(table, picks), cost, calls

    def unfairness(self, table: Table, picks: Sequence[int]) -> float:
        """The fairness cost of picks: segments lacking a tangible remedy another one got."""
        if not self.fair_options:
            return 0.0
        rows = np.asarray(self.member[list(picks)])
        given = np.asarray(rows.any(axis=0))
        lacking = np.asarray((given[None, :] & ~rows).any(axis=1))
        return float(table.penalty[lacking].sum())

    # --- deciding -------------------------------------------------------------------------

    def decide(
        self,
        table: Table,
        budget: float | None,
        capacity: float | None,
        allowed: np.ndarray | None = None,
    ) -> Decision:
        """The best plan for `table` within `budget` and `capacity` (None: unlimited).

        `allowed` (M,) restricts the candidates (default: those meeting the obligations). When
        even the cheapest allowed plan breaks the budget, that plan is returned with
        `within_budget` False.
        """
        ok = self.feasible if allowed is None else allowed
        best = self._unconstrained(table, ok)
        if best is None:
            raise ValueError("no allowed candidate")
        over_budget = budget is not None and best.cost > budget + _TOL * max(1.0, budget)
        over_calls = capacity is not None and best.calls > capacity + 1e-9
        if not over_budget and not over_calls:
            return best
        cheapest = self.floor(table, ok)
        if budget is not None and cheapest.cost > budget + _TOL * max(1.0, budget):
            return Decision(
                cheapest.picks, cheapest.shares, cheapest.value, cheapest.cost, 0.0, False
            )
        if self.k == 1:
            return self._single(table, ok, budget, capacity)
        return self._milp(table, ok, budget, capacity)

    def floor(self, table: Table, allowed: np.ndarray | None = None) -> Decision:
        """The cheapest plan meeting every obligation (no calls); ties go to the higher value."""
        ok = self.feasible if allowed is None else allowed
        best: tuple[float, float, tuple[int, ...]] | None = None
        for ci in range(len(self.model.cores)):
            ms = self.bases[ok[self.bases] & (self.model.core_index[self.bases] == ci)]
            if ms.size == 0:
                continue
            picks = []
            for k in range(self.k):
                cost = table.cost[k, ms]
                lowest = cost.min()
                pool = ms[cost <= lowest + _TOL * max(1.0, abs(lowest))]
                picks.append(int(pool[np.argmax(table.value[k, pool])]))
            value, cost_total, _ = self.totals(table, picks, [0.0] * self.k)
            key = (cost_total, -value, tuple(picks))
            if best is None or key < best:
                best = key
        if best is None:
            raise ValueError("no allowed candidate")
        picks_t = best[2]
        value, cost_total, _ = self.totals(table, picks_t, [0.0] * self.k)
        return Decision(picks_t, (0.0,) * self.k, value, cost_total, 0.0, True)

    def _given_sets(self, ms: np.ndarray) -> list[np.ndarray | None]:
        """The sets G of fair options that may be given to someone, as masks (None: no fairness)."""
        if not self.fair_options or self.k < 2:
            return [None]
        present = self.member[ms].any(axis=0)
        names = np.flatnonzero(present)
        out: list[np.ndarray | None] = []
        for r in range(len(names) + 1):
            for chosen in itertools.combinations(names, r):
                mask = np.zeros(len(self.fair_options), dtype=bool)
                mask[list(chosen)] = True
                out.append(mask)
        return out

    def _unconstrained(self, table: Table, ok: np.ndarray) -> Decision | None:
        """The best plan ignoring budget and capacity: exact, segment by segment per (core, G)."""
        best: Decision | None = None
        best_key: tuple[float, float, int] | None = None
        for ci in range(len(self.model.cores)):
            core_ms = self.bases[ok[self.bases] & (self.model.core_index[self.bases] == ci)]
            if core_ms.size == 0:
                continue
            for given in self._given_sets(core_ms):
                ms = core_ms
                lacks = np.zeros(ms.size, dtype=bool)
                if given is not None:
                    rows = self.member[ms]
                    ms = ms[~(rows & ~given[None, :]).any(axis=1)]
                    if ms.size == 0:
                        continue
                    lacks = (given[None, :] & ~self.member[ms]).any(axis=1)
                picks, shares = self._pick(table, ms, lacks)
                value, cost, calls = self.totals(table, picks, shares)
                size = int(self.lengths[picks].sum())
                key = (value, cost, size)
                if best_key is None or _better(key, best_key):
                    best_key = key
                    best = Decision(tuple(picks), tuple(shares), value, cost, calls, True)
        return best

    def _pick(
        self, table: Table, ms: np.ndarray, lacks: np.ndarray
    ) -> tuple[list[int], list[float]]:
        """Per segment, the best of ms (with or without the call for everyone)."""
        calls = self.call_of[ms]
        has = calls >= 0
        safe = np.where(has, calls, ms)
        v0 = table.value[:, ms] - lacks[None, :] * table.penalty[:, None]
        v1 = np.where(has[None, :], table.value[:, safe], -np.inf) - (
            lacks[None, :] * table.penalty[:, None]
        )
        c0, c1 = table.cost[:, ms], table.cost[:, safe]
        use_call = (v1 > v0 + _TOL * np.maximum(1.0, np.abs(v0))) | (
            (np.abs(v1 - v0) <= _TOL * np.maximum(1.0, np.abs(v0))) & (c1 < c0)
        )
        values = np.where(use_call, v1, v0)
        costs = np.where(use_call, c1, c0)
        lengths = self.lengths[ms] + use_call
        picks, shares = [], []
        for k in range(self.k):
            top = values[k].max()
            pool = values[k] >= top - _TOL * max(1.0, abs(top))
            cheapest = np.where(pool, costs[k], np.inf).min()
            pool &= costs[k] <= cheapest + _TOL * max(1.0, abs(cheapest))
            fewest = np.where(pool, lengths[k], np.iinfo(int).max).min()
            j = int(np.flatnonzero(pool & (lengths[k] == fewest))[0])
            picks.append(int(ms[j]))
            shares.append(1.0 if use_call[k, j] else 0.0)
        return picks, shares

    def _single(
        self, table: Table, ok: np.ndarray, budget: float | None, capacity: float | None
    ) -> Decision:
        """One segment: every allowed candidate with the call share at either end of its range."""
        best: Decision | None = None
        best_key: tuple[float, float, int] | None = None
        for m in self.bases[ok[self.bases]]:
            m = int(m)
            options = [0.0]
            c = int(self.call_of[m])
            if c >= 0:
                options.append(self._max_share(table, m, c, budget, capacity))
            for share in options:
                value, cost, calls = self.totals(table, [m], [share])
                if budget is not None and cost > budget + _TOL * max(1.0, budget):
                    continue
                key = (value, cost, int(self.lengths[m]) + (share > 0))
                if best_key is None or _better(key, best_key):
                    best_key = key
                    best = Decision((m,), (share,), value, cost, calls, True)
        if best is None:  # the cheapest plan is within budget, so this cannot happen
            raise ValueError("no plan within the budget")
        return best

    def _max_share(
        self, table: Table, m: int, c: int, budget: float | None, capacity: float | None
    ) -> float:
        share = 1.0
        calls = float(table.calls[0, c])
        if capacity is not None and calls > 0:
            share = min(share, capacity / calls)
        extra = float(table.cost[0, c] - table.cost[0, m])
        if budget is not None and extra > 0:
            share = min(share, max(0.0, (budget - float(table.cost[0, m])) / extra))
        return max(0.0, share)

    def _milp(
        self, table: Table, ok: np.ndarray, budget: float | None, capacity: float | None
    ) -> Decision:
        """Several segments under a binding budget or capacity: a mixed-integer program."""
        from scipy.optimize import Bounds, LinearConstraint, milp
        from scipy.sparse import coo_matrix

        model = self.model
        ms = self.bases[ok[self.bases]]
        cores = sorted({int(model.core_index[m]) for m in ms})
        n_x = self.k * ms.size
        has_call = self.call_of[ms] >= 0
        call_cols = np.flatnonzero(has_call)
        n_y = self.k * call_cols.size
        fair = len(self.fair_options) > 0
        n_u = len(self.fair_options) if fair else 0
        n_v = self.k if fair else 0
        n = n_x + n_y + len(cores) + n_u + n_v

        def x(k: int, j: int) -> int:
            return k * ms.size + j

        def y(k: int, j: int) -> int:
            return n_x + k * call_cols.size + j

        z0 = n_x + n_y
        u0 = z0 + len(cores)
        v0 = u0 + n_u
        safe = np.where(has_call, self.call_of[ms], ms)
        objective = np.zeros(n)
        objective[:n_x] = -table.value[:, ms].ravel()
        gain = table.value[:, safe[call_cols]] - table.value[:, ms[call_cols]]
        objective[n_x : n_x + n_y] = -gain.ravel()
        if fair:
            objective[v0 : v0 + n_v] = table.penalty
        rows: list[int] = []
        cols: list[int] = []
        data: list[float] = []
        lower: list[float] = []
        upper: list[float] = []

        def row(entries: list[tuple[int, float]], lo: float, hi: float) -> None:
            r = len(lower)
            for col, val in entries:
                rows.append(r)
                cols.append(col)
                data.append(val)
            lower.append(lo)
            upper.append(hi)

        core_of = np.array([cores.index(int(model.core_index[m])) for m in ms])
        for k in range(self.k):
            row([(x(k, j), 1.0) for j in range(ms.size)], 1.0, 1.0)
            for jj, j in enumerate(call_cols):
                row([(y(k, jj), 1.0), (x(k, int(j)), -1.0)], -np.inf, 0.0)
            for c in range(len(cores)):
                members = np.flatnonzero(core_of == c)
                row([(x(k, int(j)), 1.0) for j in members] + [(z0 + c, -1.0)], -np.inf, 0.0)
            if fair:
                for o in range(n_u):
                    having = np.flatnonzero(self.member[ms, o])
                    entries = [(x(k, int(j)), 1.0) for j in having]
                    row(entries + [(u0 + o, -1.0)], -np.inf, 0.0)
                    row(
                        [(u0 + o, 1.0), (v0 + k, -1.0)] + [(col, -1.0) for col, _ in entries],
                        -np.inf,
                        0.0,
                    )
        row([(z0 + c, 1.0) for c in range(len(cores))], 1.0, 1.0)
        if budget is not None:
            entries = [
                (x(k, j), float(table.cost[k, ms[j]]))
                for k in range(self.k)
                for j in range(ms.size)
            ]
            extra = table.cost[:, safe[call_cols]] - table.cost[:, ms[call_cols]]
            entries += [
                (y(k, jj), float(extra[k, jj]))
                for k in range(self.k)
                for jj in range(call_cols.size)
            ]
            row(entries, -np.inf, budget)
        if capacity is not None and n_y:
            calls = table.calls[:, safe[call_cols]]
            row(
                [
                    (y(k, jj), float(calls[k, jj]))
                    for k in range(self.k)
                    for jj in range(call_cols.size)
                ],
                -np.inf,
                capacity,
            )
        matrix = coo_matrix((data, (rows, cols)), shape=(len(lower), n)).tocsr()
        integrality = np.zeros(n)
        integrality[:n_x] = 1
        integrality[z0 : z0 + len(cores)] = 1
        integrality[u0 : u0 + n_u] = 1
        result = milp(
            objective,
            constraints=LinearConstraint(matrix, lower, upper),
            integrality=integrality,
            bounds=Bounds(0, 1),
            options={"mip_rel_gap": GAP, "time_limit": 60},
        )
        if result.x is None:  # pragma: no cover - the floor is feasible, so HiGHS finds a plan
            raise ValueError(f"the optimiser found no plan ({result.message})")
        solution = result.x
        picks: list[int] = []
        shares: list[float] = []
        for k in range(self.k):
            best = int(np.argmax(solution[k * ms.size : (k + 1) * ms.size]))
            picks.append(int(ms[best]))
            share: float = 0.0
            where = np.flatnonzero(call_cols == best)
            if where.size:
                share = float(np.clip(solution[y(k, int(where[0]))], 0.0, 1.0))
                if share < 1e-9:
                    share = 0.0
            shares.append(share)
        value, cost, calls_used = self.totals(table, picks, shares)
        bound = getattr(result, "mip_gap", None)
        gap = abs(float(bound) * value) if bound is not None and np.isfinite(bound) else 0.0
        return Decision(tuple(picks), tuple(shares), value, cost, calls_used, True, gap)


def _better(key: tuple[float, float, int], best: tuple[float, float, int]) -> bool:
    """Higher value; at equal value the cheaper; then fewer options."""
    value, cost, size = key
    bv, bc, bs = best
    if not _close(value, bv):
        return value > bv
    if not _close(cost, bc):
        return cost < bc
    return size < bs
