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
LARGE_PROGRAM = 2000  # segment x candidate choices above which what-ifs use `improve`


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
        start: Decision | None = None,
    ) -> Decision:
        """The best plan for `table` within `budget` and `capacity` (None: unlimited).

        `allowed` (M,) restricts the candidates (default: those meeting the obligations). When
        even the cheapest allowed plan breaks the budget, that plan is returned with
        `within_budget` False.

        `start` (a what-if: the same incident with one input moved) allows a quicker answer when
        the program is large (more than `LARGE_PROGRAM` segment x candidate choices) and several
        segments compete for a binding budget or capacity: the best plan reached from `start`
        by changing one segment at a time, instead of a mixed-integer program.
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
        if start is not None and self.k * int(ok[self.bases].sum()) > LARGE_PROGRAM:
            return self.improve(table, start, ok, budget, capacity)
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
        lengths = self.lengths[ms][None, :] + use_call
        # Per segment: the highest value, then the cheapest, then the fewest options, then first.
        top = values.max(axis=1, keepdims=True)
        pool = values >= top - _TOL * np.maximum(1.0, np.abs(top))
        cheapest = np.where(pool, costs, np.inf).min(axis=1, keepdims=True)
        pool &= costs <= cheapest + _TOL * np.maximum(1.0, np.abs(cheapest))
        fewest = np.where(pool, lengths, np.iinfo(int).max).min(axis=1, keepdims=True)
        pool &= lengths == fewest
        j = pool.argmax(axis=1)
        rows = np.arange(self.k)
        picks = [int(m) for m in ms[j]]
        shares = [1.0 if c else 0.0 for c in use_call[rows, j]]
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
        """Several segments under a binding budget or capacity: a mixed-integer program,
        solved by HiGHS to a relative gap of `GAP`; the reported gap is the solver's bound."""
        program = _Program(self, table, ok, budget, capacity)
        solution, bound = program.solve()
        return self._from_solution(table, program, solution, bound)

    def improve(
        self,
        table: Table,
        start: Decision,
        ok: np.ndarray,
        budget: float | None,
        capacity: float | None,
    ) -> Decision:
        """The best plan reached by moving one segment at a time to another allowed candidate
        (with no calls, or as many as fit), taking the best improving move while one exists;
        first from `start`, then from the cheapest plan of each other incident-wide choice.
        While a start breaks the budget or the capacity, the moves that lose the least value per
        unit saved come first. Vectorised over the candidates of a segment."""
        best: Decision | None = None
        for ci in range(len(self.model.cores)):
            ms = self.bases[ok[self.bases] & (self.model.core_index[self.bases] == ci)]
            if ms.size == 0:
                continue
            if int(self.model.core_index[start.picks[0]]) == ci:
                picks, shares = list(start.picks), list(start.shares)
            else:
                picks = [int(ms[np.argmin(table.cost[k, ms])]) for k in range(self.k)]
                shares = [0.0] * self.k
            found = self._climb(table, ms, picks, shares, budget, capacity)
            if found.within_budget and (
                best is None or _better((found.value, found.cost, 0), (best.value, best.cost, 0))
            ):
                best = found
        return best if best is not None else start

    def _climb(
        self,
        table: Table,
        ms: np.ndarray,
        picks: list[int],
        shares: list[float],
        budget: float | None,
        capacity: float | None,
    ) -> Decision:
        def fits(cost: float, calls: float) -> bool:
            return (budget is None or cost <= budget + _TOL * max(1.0, budget)) and (
                capacity is None or calls <= capacity + 1e-6
            )

        calls_of = self.call_of[ms]
        has = calls_of >= 0
        safe = np.where(has, calls_of, ms)
        member = self.member[ms] if self.fair_options else None
        value, cost, calls = self.totals(table, picks, shares)
        for _ in range(2 * self.k + 8):
            feasible_now = fits(cost, calls)
            best: tuple[float, int, int, float] | None = None
            for k in range(self.k):
                own_cost = self._cost_of(table, k, picks[k], shares[k])
                own_calls = self._calls_of(table, k, picks[k], shares[k])
                own_value = self._value_of(table, k, picks[k], shares[k])
                v0, c0 = table.value[k, ms], table.cost[k, ms]
                v1, c1, l1 = table.value[k, safe], table.cost[k, safe], table.calls[k, safe]
                share = np.where(has, 1.0, 0.0)
                if capacity is not None:
                    room = capacity - (calls - own_calls)
                    share = np.where(
                        l1 > 0, np.minimum(share, max(0.0, room) / np.maximum(l1, 1e-12)), share
                    )
                if budget is not None:
                    room_cost = budget - (cost - own_cost)
                    extra = c1 - c0
                    limit = np.where(
                        extra > 0, (room_cost - c0) / np.where(extra > 0, extra, 1), 1.0
                    )
                    share = np.minimum(share, np.clip(limit, 0.0, 1.0))
                fair = self._fairness_after(table, picks, k, member)
                for s_arr in (np.zeros(ms.size), share):
                    new_value = value - own_value + v0 + s_arr * (v1 - v0) - fair
                    new_cost = cost - own_cost + c0 + s_arr * (c1 - c0)
                    new_calls = calls - own_calls + s_arr * l1
                    same = (ms == picks[k]) & np.isclose(s_arr, shares[k])
                    if feasible_now:
                        ok_move = (
                            ~same
                            & (
                                (budget is None)
                                | (new_cost <= (budget or 0) + _TOL * max(1.0, budget or 0))
                            )
                            & ((capacity is None) | (new_calls <= (capacity or 0) + 1e-6))
                        )
                        score = np.where(
                            ok_move & (new_value > value + _TOL * max(1.0, abs(value))),
                            new_value - value,
                            -np.inf,
                        )
                    else:
                        saved = (cost - new_cost) + (calls - new_calls)
                        score = np.where(
                            ~same & (saved > 0),
                            (new_value - value) / np.where(saved > 0, saved, 1),
                            -np.inf,
                        )
                    j = int(np.argmax(score))
                    if np.isfinite(score[j]) and (best is None or score[j] > best[0]):
                        best = (float(score[j]), k, int(ms[j]), float(s_arr[j]))
            if best is None:
                break
            _, k, m, share_k = best
            picks[k], shares[k] = m, share_k
            value, cost, calls = self.totals(table, picks, shares)
        return Decision(tuple(picks), tuple(shares), value, cost, calls, fits(cost, calls))

    def _fairness_after(
        self, table: Table, picks: Sequence[int], k: int, member: np.ndarray | None
    ) -> np.ndarray:
        """For each candidate segment k might take: the plan's fairness cost afterwards, minus
        the fairness already counted in `totals`' value (so: the change), per candidate."""
        if member is None:
            return np.zeros(1)
        others = [j for j in range(self.k) if j != k]
        rows = np.asarray(self.member[[picks[j] for j in others]])  # (K-1, O)
        given_by_others = np.asarray(rows.any(axis=0))  # (O,)
        given = np.asarray(given_by_others[None, :] | member)  # (J, O): after k takes each
        lacking_others = np.asarray((given[:, None, :] & ~rows[None, :, :]).any(axis=2))
        cost_others = lacking_others @ table.penalty[others]
        lacking_k = (given_by_others[None, :] & ~member).any(axis=1)
        after = cost_others + lacking_k * table.penalty[k]
        return np.asarray(after - self.unfairness(table, picks))

    def _value_of(self, table: Table, k: int, m: int, share: float) -> float:
        c = int(self.call_of[m])
        base = float(table.value[k, m])
        return base + (share * (float(table.value[k, c]) - base) if c >= 0 and share else 0.0)

    def _cost_of(self, table: Table, k: int, m: int, share: float) -> float:
        c = int(self.call_of[m])
        base = float(table.cost[k, m])
        return base + (share * (float(table.cost[k, c]) - base) if c >= 0 and share else 0.0)

    def _calls_of(self, table: Table, k: int, m: int, share: float) -> float:
        c = int(self.call_of[m])
        return share * float(table.calls[k, c]) if c >= 0 and share else 0.0

    def _share_that_fits(
        self,
        table: Table,
        k: int,
        m: int,
        c: int,
        room_cost: float | None,
        room_calls: float | None,
    ) -> float:
        share = 1.0
        full = float(table.calls[k, c])
        if room_calls is not None and full > 0:
            share = min(share, max(0.0, room_calls) / full)
        extra = float(table.cost[k, c] - table.cost[k, m])
        if room_cost is not None and extra > 0:
            share = min(share, max(0.0, (room_cost - float(table.cost[k, m])) / extra))
        return max(0.0, share)

    def _from_solution(
        self, table: Table, program: _Program, solution: np.ndarray, bound: float
    ) -> Decision:
        picks, shares = program.decode(solution)
        value, cost, calls_used = self.totals(table, picks, shares)
        gap = max(0.0, bound - value) if np.isfinite(bound) else 0.0
        if gap <= 1e-9 * max(1.0, abs(value)):
            gap = 0.0
        return Decision(tuple(picks), tuple(shares), value, cost, calls_used, True, gap)


class _Program:
    """The decision as a mixed-integer linear program (variables and constraints built with
    numpy index arrays: tens of thousands of entries, no Python loop per entry).

    Variables: x[k, j] (segment k takes base candidate j, binary), y[k, c] (share of segment k
    called, for candidates with a call variant), z[core] (binary), and with fairness u[o]
    (option o given to someone, binary) and v[k] (segment k lacks one given, in [0, 1]).
    """

    def __init__(
        self,
        decider: Decider,
        table: Table,
        ok: np.ndarray,
        budget: float | None,
        capacity: float | None,
    ) -> None:
        from scipy.sparse import coo_matrix

        model = decider.model
        k_count = decider.k
        ms = decider.bases[ok[decider.bases]]
        self.ms = ms
        self.k = k_count
        cores = sorted({int(model.core_index[m]) for m in ms})
        j_count = ms.size
        has_call = decider.call_of[ms] >= 0
        call_cols = np.flatnonzero(has_call)
        self.call_cols = call_cols
        c_count = call_cols.size
        fair = len(decider.fair_options) > 0
        o_count = len(decider.fair_options) if fair else 0
        self.n_x = k_count * j_count
        n_y = k_count * c_count
        z0 = self.n_x + n_y
        u0 = z0 + len(cores)
        v0 = u0 + o_count
        n = v0 + (k_count if fair else 0)
        self.n = n
        safe = np.where(has_call, decider.call_of[ms], ms)
        ks = np.arange(k_count)
        x_index = ks[:, None] * j_count + np.arange(j_count)[None, :]  # (K, J)
        y_index = self.n_x + ks[:, None] * c_count + np.arange(c_count)[None, :]  # (K, C)
        self.x_index, self.y_index = x_index, y_index

        objective = np.zeros(n)
        objective[: self.n_x] = -table.value[:, ms].ravel()
        called = safe[call_cols]
        objective[self.n_x : z0] = -(table.value[:, called] - table.value[:, ms[call_cols]]).ravel()
        if fair:
            objective[v0:n] = table.penalty
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        lower: list[np.ndarray] = []
        upper: list[np.ndarray] = []
        count = 0

        def add(
            r: np.ndarray, c: np.ndarray, v: np.ndarray, lo: np.ndarray, hi: np.ndarray
        ) -> None:
            nonlocal count
            rows.append(r + count)
            cols.append(c)
            vals.append(v)
            lower.append(lo)
            upper.append(hi)
            count += lo.size

        ones_kj = np.ones((k_count, j_count))
        # One candidate per segment.
        add(
            np.repeat(ks, j_count), x_index.ravel(), ones_kj.ravel(), np.ones(k_count),
            np.ones(k_count),
        )  # fmt: skip
        # A segment is called only under the candidate it takes: y[k, c] - x[k, j(c)] <= 0.
        if c_count:
            r = np.arange(k_count * c_count)
            add(
                np.concatenate([r, r]),
                np.concatenate([y_index.ravel(), x_index[:, call_cols].ravel()]),
                np.concatenate([np.ones(r.size), -np.ones(r.size)]),
                np.full(r.size, -np.inf),
                np.zeros(r.size),
            )
        # Candidates of one core only: sum_{j in core} x[k, j] - z[core] <= 0.
        core_of = np.searchsorted(cores, model.core_index[ms])
        r = np.repeat(ks * len(cores), j_count) + np.tile(core_of, k_count)
        add(
            np.concatenate(
                [r, ks.repeat(len(cores)) * len(cores) + np.tile(np.arange(len(cores)), k_count)]
            ),
            np.concatenate([x_index.ravel(), z0 + np.tile(np.arange(len(cores)), k_count)]),
            np.concatenate([np.ones(self.n_x), -np.ones(k_count * len(cores))]),
            np.full(k_count * len(cores), -np.inf),
            np.zeros(k_count * len(cores)),
        )
        add(np.zeros(len(cores), dtype=int), z0 + np.arange(len(cores)), np.ones(len(cores)),
            np.ones(1), np.ones(1))  # fmt: skip
        if fair:
            member = decider.member[ms]  # (J, O)
            jj, oo = np.nonzero(member)
            for_k = [np.full(jj.size, k) for k in range(k_count)]
            kk = np.concatenate(for_k)
            jk = np.tile(jj, k_count)
            ok_ = np.tile(oo, k_count)
            pair = kk * o_count + ok_
            # Given: sum_{j with o} x[k, j] - u[o] <= 0.
            pairs = k_count * o_count
            all_pairs = np.arange(pairs)
            add(
                np.concatenate([pair, all_pairs]),
                np.concatenate([x_index[kk, jk], u0 + all_pairs % o_count]),
                np.concatenate([np.ones(pair.size), -np.ones(pairs)]),
                np.full(pairs, -np.inf),
                np.zeros(pairs),
            )
            # Lacking: u[o] - v[k] - sum_{j with o} x[k, j] <= 0.
            add(
                np.concatenate([all_pairs, all_pairs, pair]),
                np.concatenate(
                    [u0 + all_pairs % o_count, v0 + all_pairs // o_count, x_index[kk, jk]]
                ),
                np.concatenate([np.ones(pairs), -np.ones(pairs), -np.ones(pair.size)]),
                np.full(pairs, -np.inf),
                np.zeros(pairs),
            )
        if budget is not None:
            extra = table.cost[:, called] - table.cost[:, ms[call_cols]]
            cols_b = np.concatenate([x_index.ravel(), y_index.ravel()])
            vals_b = np.concatenate([table.cost[:, ms].ravel(), extra.ravel()])
            add(np.zeros(cols_b.size, dtype=int), cols_b, vals_b, np.full(1, -np.inf),
                np.full(1, budget))  # fmt: skip
        if capacity is not None and c_count:
            add(
                np.zeros(n_y, dtype=int),
                y_index.ravel(),
                table.calls[:, called].ravel(),
                np.full(1, -np.inf),
                np.full(1, float(capacity)),
            )
        self.matrix = coo_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(count, n),
        ).tocsr()
        self.lower = np.concatenate(lower)
        self.upper = np.concatenate(upper)
        self.objective = objective
        integrality = np.zeros(n)
        integrality[: self.n_x] = 1
        integrality[z0:u0] = 1
        integrality[u0:v0] = 1
        self.integrality = integrality

    def solve(self) -> tuple[np.ndarray, float]:
        """(solution, upper bound on the plan's value) of the program."""
        from scipy.optimize import Bounds, LinearConstraint, milp

        result = milp(
            self.objective,
            constraints=LinearConstraint(self.matrix, self.lower, self.upper),
            integrality=self.integrality,
            bounds=Bounds(0, 1),
            options={"mip_rel_gap": GAP, "time_limit": 60},
        )
        if result.x is None:  # pragma: no cover - the floor is feasible, so HiGHS finds a plan
            raise ValueError(f"the optimiser found no plan ({result.message})")
        bound = getattr(result, "mip_dual_bound", None)
        if bound is None or not np.isfinite(bound):
            bound = result.fun
        return np.asarray(result.x), -float(bound)

    def decode(self, solution: np.ndarray) -> tuple[list[int], list[float]]:
        """Per segment: the candidate taken and the share called."""
        x = solution[: self.n_x].reshape(self.k, self.ms.size)
        picks, shares = [], []
        for k in range(self.k):
            best = int(np.argmax(x[k]))
            picks.append(int(self.ms[best]))
            share = 0.0
            where = np.flatnonzero(self.call_cols == best)
            if where.size:
                share = float(np.clip(solution[self.y_index[k, int(where[0])]], 0.0, 1.0))
                if share < 1e-9:
                    share = 0.0
            shares.append(share)
        return picks, shares


def _better(key: tuple[float, float, int], best: tuple[float, float, int]) -> bool:
    """Higher value; at equal value the cheaper; then fewer options."""
    value, cost, size = key
    bv, bc, bs = best
    if not _close(value, bv):
        return value > bv
    if not _close(cost, bc):
        return cost < bc
    return size < bs
