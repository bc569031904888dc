"""Benchmark `remedy.clv.estimate_clv` end to end on a simulated order log.

The log: 1,000,000 customers drawn from BG/NBD with the CDNOW estimates (r=0.243, alpha=4.414,
a=0.793, b=2.426 per week) and Gamma-Gamma (p=6.25, q=3.74, gamma=15.44); first purchases
spread over 12 weeks and observed until 39 weeks after the cohort start (so T is 27-39 weeks);
about 5% of transactions are split into two orders on the same day. About 2 million orders.

Each timed run is a fresh child process (`python -c`), so its peak memory (ru_maxrss from
os.wait4) excludes the generator's. The wall time reported is `estimate_clv` alone (read, fit,
score), measured inside the child; the median of the runs is shown. The reference is
`np.loadtxt` of the amount column of the same file, timed in this process: a C parser over the
same bytes, so the ratio says how many "numpy CSV parses" the whole estimate costs and is
comparable across machines.

Optionally (--lifetimes PYTHON) it runs the `lifetimes` package's own pipeline on the same file
(or on a subsample of customers, --lifetimes-customers) in another interpreter, and compares.

Usage:
    .venv/bin/python bench/clv.py [--customers N] [--runs 3] [--keep orders.csv]
        [--lifetimes /tmp/lifetimes-venv/bin/python] [--lifetimes-customers N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CDNOW = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
SPEND = {"p": 6.25, "q": 3.74, "v": 15.44}
START = np.datetime64("2024-01-01")
COHORT_DAYS = 84  # first purchases over 12 weeks
OBSERVED_DAYS = 273  # as-of date: 39 weeks after the cohort starts
SPLIT_SHARE = 0.05

CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
from remedy import clv
marks = {{}}
start = time.perf_counter()
result = clv.estimate_clv(
    {path!r}, progress=lambda stage: marks.setdefault(stage, time.perf_counter())
)
end = time.perf_counter()
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
other = {other!r}
print(json.dumps({{
    "wall": end - start,
    "read": marks["fitting"] - start,
    "fit": marks["scoring"] - marks["fitting"],
    "score": end - marks["scoring"],
    "vm_hwm_mib": int(hwm.split()[1]) / 1024,
    "customers": result.customers,
    "orders": result.orders,
    "r": result.bgnbd.r, "alpha": result.bgnbd.alpha, "a": result.bgnbd.a, "b": result.bgnbd.b,
    "p": result.gamma_gamma.p if result.gamma_gamma else None,
    "q": result.gamma_gamma.q if result.gamma_gamma else None,
    "v": result.gamma_gamma.v if result.gamma_gamma else None,
    "log_likelihood": result.bgnbd.log_likelihood,
    "other_log_likelihood": clv.bgnbd_log_likelihood(
        other, result.frequency, result.recency, result.T
    ) if other else None,
    "total_clv": float(result.clv.sum()),
}}))
"""

REFERENCE = """
import json, time
import numpy as np
start = time.perf_counter()
np.loadtxt({path!r}, delimiter=",", skiprows=1, usecols=2)
print(json.dumps({{"wall": time.perf_counter() - start}}))
"""

GENERATE = """
import sys
sys.path.insert(0, {bench!r})
from clv import simulate_orders
open({path!r}, "wb").write(simulate_orders({customers}))
print("{{}}")
"""

LIFETIMES = """
import json, sys, time
import numpy as np, pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data
path, keep = sys.argv[1], int(sys.argv[2])
start = time.perf_counter()
orders = pd.read_csv(path, parse_dates=["date"])
if keep:  # ids are C + the customer's index, so the first `keep` form a random sample
    orders = orders[orders["customer_id"].str[1:].astype(int) < keep]
read = time.perf_counter()
summary = summary_data_from_transaction_data(
    orders, "customer_id", "date", monetary_value_col="amount",
    observation_period_end="{as_of}", freq="D", freq_multiplier=7,
)
summarised = time.perf_counter()
bgf = BetaGeoFitter(penalizer_coef=0.0)
bgf.fit(summary["frequency"], summary["recency"], summary["T"])
repeat = summary[summary["frequency"] > 0]
ggf = GammaGammaFitter(penalizer_coef=0.0)
ggf.fit(repeat["frequency"], repeat["monetary_value"])
fitted = time.perf_counter()
clv = ggf.customer_lifetime_value(
    bgf, summary["frequency"], summary["recency"], summary["T"], summary["monetary_value"],
    time=12, discount_rate=1.10 ** (1 / 12) - 1, freq="W",
)
end = time.perf_counter()
print(json.dumps({{
    "wall": end - start, "read": read - start, "summary": summarised - read,
    "fit": fitted - summarised, "score": end - fitted, "customers": len(summary),
    "orders": len(orders), "total_clv": float(clv.sum()),
    **{{k: float(v) for k, v in bgf.params_.items()}},
    **{{k: float(v) for k, v in ggf.params_.items()}},
}}))
"""


def simulate_orders(customers: int, seed: int = 2005) -> bytes:
    """The CSV bytes of a simulated order log (see the module docstring)."""
    rng = np.random.default_rng(seed)
    first_day = rng.integers(0, COHORT_DAYS, customers)
    T_weeks = (OBSERVED_DAYS - first_day) / 7.0
    rate = rng.gamma(CDNOW["r"], 1.0 / CDNOW["alpha"], customers)
    drop = rng.beta(CDNOW["a"], CDNOW["b"], customers)
    lifetime = rng.geometric(drop)
    arrivals = rng.poisson(rate * T_weeks)
    repeats = np.minimum(lifetime, arrivals)
    # Arrival times: uniform on (0, T]; the first `repeats` of each customer's sorted arrivals.
    owner = np.repeat(np.arange(customers), arrivals)
    times = rng.uniform(0.0, 1.0, len(owner)) * T_weeks[owner]
    order = np.lexsort((times, owner))
    owner, times = owner[order], times[order]
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(arrivals) - arrivals, arrivals)
    seen = rank < repeats[owner]
    repeat_owner, repeat_day = owner[seen], first_day[owner[seen]] + (times[seen] * 7).astype(int)
    repeat_day = np.minimum(repeat_day, OBSERVED_DAYS)

    who = np.concatenate((np.arange(customers), repeat_owner))
    day = np.concatenate((first_day, repeat_day))
    nu = rng.gamma(SPEND["q"], 1.0 / SPEND["v"], customers)
    cents = np.maximum(np.round(rng.gamma(SPEND["p"], 1.0 / nu[who]) * 100), 1).astype(np.int64)
    # Split some transactions into two same-day orders (the reader must merge them back).
    split = (rng.random(len(who)) < SPLIT_SHARE) & (cents >= 2)
    share = rng.uniform(0.2, 0.8, int(split.sum()))
    part = np.clip((cents[split] * share).astype(np.int64), 1, cents[split] - 1)
    rest = cents.copy()
    rest[split] -= part
    who = np.concatenate((who, who[split]))
    day = np.concatenate((day, day[split]))
    cents = np.concatenate((rest, part))
    sort = np.lexsort((who, day))
    return _csv_bytes(who[sort], day[sort], cents[sort])


def _csv_bytes(who: np.ndarray, day: np.ndarray, cents: np.ndarray) -> bytes:
    """Assemble `C0000001,2024-01-05,12.34` lines with numpy: fixed-width byte matrix, then
    padding bytes (0) removed."""
    n = len(who)
    width = 8 + 1 + 10 + 1 + 12 + 1
    rows = np.zeros((n, width), dtype=np.uint8)
    rows[:, 0] = ord("C")
    rows[:, 1:8] = _digits(who, 7)
    rows[:, 8] = ord(",")
    rows[:, 9:19] = (START + day).astype("S10").view(np.uint8).reshape(n, 10)
    rows[:, 19] = ord(",")
    whole = _digits(cents // 100, 9)
    leading = np.cumsum(whole != ord("0"), axis=1) == 0
    leading[:, -1] = False  # keep one digit before the point
    whole[leading] = 0
    rows[:, 20:29] = whole
    rows[:, 29] = ord(".")
    rows[:, 30:32] = _digits(cents % 100, 2)
    rows[:, 32] = ord("\n")
    body = rows.ravel()
    return b"customer_id,date,amount\n" + body[body != 0].tobytes()


def _digits(values: np.ndarray, count: int) -> np.ndarray:
    powers = 10 ** np.arange(count - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10 + ord("0")).astype(np.uint8)


def run_measured(code: str, python: str = sys.executable, args: tuple[str, ...] = ()) -> dict:
    """Run `code` in a fresh interpreter; its JSON output plus wall time and peak RSS.

    Reaping with os.wait4 gives this child's own ru_maxrss, not a maximum over all children.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen([python, "-c", code, *args], stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"child failed ({process.returncode}):\n{err.read()}")
        result = json.loads(out.read().strip().splitlines()[-1])
    result["process_wall"] = wall
    result["peak_mib"] = usage.ru_maxrss / 1024  # Linux reports KiB
    return result


def run_cli(path: Path) -> dict:
    """`remedy clv PATH -f json -o FILE` as a user runs it: start-up, read, fit, score, write.

    JSON (parameters and summary) is what the lifetimes pipeline produces too; `-f csv` adds
    a per-row Python writer that costs more than the fit (see BENCHMARKS.md)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "clv.json"
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "remedy", "clv", str(path), "-f", "json", "-o", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit("remedy clv failed")
    return {"process_wall": wall, "peak_mib": usage.ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write the simulated CSV here and keep it")
    parser.add_argument("--lifetimes", help="python of a venv with lifetimes installed")
    parser.add_argument(
        "--lifetimes-customers", type=int, default=0, help="subsample for lifetimes (0 = all)"
    )
    options = parser.parse_args()

    # Everything heavy runs in children: on Linux a child's ru_maxrss starts from the RSS of
    # the process it was forked from, so this parent must stay small.
    with tempfile.TemporaryDirectory() as folder:
        path = options.keep or Path(folder) / "orders.csv"
        started = time.perf_counter()
        run_measured(
            GENERATE.format(
                bench=str(Path(__file__).parent), path=str(path), customers=options.customers
            )
        )
        print(
            f"simulated {options.customers:,} customers, {path.stat().st_size / 2**20:.0f} MiB "
            f"in {time.perf_counter() - started:.1f} s -> {path}",
            file=sys.stderr,
        )
        lifetimes = None
        if options.lifetimes:
            as_of = str(START + OBSERVED_DAYS)
            lifetimes = run_measured(
                LIFETIMES.format(as_of=as_of),
                options.lifetimes,
                (str(path), str(options.lifetimes_customers)),
            )
        other = (
            [lifetimes[k] for k in ("r", "alpha", "a", "b")]
            if lifetimes and not options.lifetimes_customers
            else None
        )
        references = []
        runs = []
        cli = []
        for _ in range(options.runs):
            references.append(run_measured(REFERENCE.format(path=str(path)))["wall"])
            runs.append(run_measured(CHILD.format(root=str(ROOT), path=str(path), other=other)))
            cli.append(run_cli(path))
        report(options, runs, statistics.median(references), lifetimes)
        cli_wall = statistics.median(run["process_wall"] for run in cli)
        cli_peak = statistics.median(run["peak_mib"] for run in cli)
        print()
        print(
            f"End to end, `remedy clv FILE -f json -o OUT` (start-up, read, fit, score, write): "
            f"median {cli_wall:.2f} s, peak {cli_peak:.0f} MiB over {len(cli)} runs."
        )
        if lifetimes is not None and not options.lifetimes_customers:
            theirs = lifetimes["process_wall"]
            print(
                f"lifetimes end to end (its process, imports included): "
                f"{theirs:.2f} s; ratio {theirs / cli_wall:.1f}x."
            )


def report(
    options: argparse.Namespace, runs: list[dict], reference: float, lifetimes: dict | None
) -> None:
    def median(key: str) -> float:
        return statistics.median(run[key] for run in runs)

    wall = median("wall")
    first = runs[0]
    print(
        f"### `remedy clv` benchmark ({first['customers']:,} customers, {first['orders']:,} orders)"
    )
    print()
    print(f"| measure | median of {len(runs)} | goal |")
    print("|---|---:|---:|")
    print(f"| estimate_clv wall (read + fit + score) | {wall:.2f} s | <= 5 s |")
    print(f"| - read orders + build histories | {median('read'):.2f} s | |")
    print(f"| - fit BG/NBD + Gamma-Gamma | {median('fit'):.2f} s | |")
    print(f"| - score customers | {median('score'):.2f} s | |")
    print(f"| child process wall (incl. start-up, imports) | {median('process_wall'):.2f} s | |")
    print(f"| peak memory (child ru_maxrss) | {median('peak_mib'):.0f} MiB | <= 1024 MiB |")
    print(f"| peak memory (child VmHWM, cross-check) | {median('vm_hwm_mib'):.0f} MiB | |")
    print(f"| reference: np.loadtxt of the amount column | {reference:.2f} s | |")
    print(f"| ratio estimate / reference | {wall / reference:.2f} | |")
    print()
    names = ("r", "alpha", "a", "b", "p", "q", "v")
    truth = {**CDNOW, **SPEND}
    print("| parameter | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    print("| simulated | " + " | ".join(f"{truth[n]:.4g}" for n in names) + " |")
    print("| remedy | " + " | ".join(f"{first[n]:.6g}" for n in names) + " |")
    if lifetimes is not None:
        keys = ("r", "alpha", "a", "b", "p", "q", "v")
        print("| lifetimes | " + " | ".join(f"{lifetimes[k]:.6g}" for k in keys) + " |")
        print()
        sample = (
            f"a subsample of {lifetimes['customers']:,} customers"
            if options.lifetimes_customers
            else "the same log"
        )
        print(
            f"lifetimes on {sample}: {lifetimes['wall']:.1f} s wall "
            f"(read {lifetimes['read']:.1f}, summary {lifetimes['summary']:.1f}, "
            f"fit {lifetimes['fit']:.1f}, CLV {lifetimes['score']:.1f}), "
            f"peak {lifetimes['peak_mib']:.0f} MiB."
        )
        if not options.lifetimes_customers:
            print(
                f"Speed ratio lifetimes / remedy: {lifetimes['wall'] / wall:.1f}x; "
                f"r differs by {abs(lifetimes['r'] / first['r'] - 1):.3%}. BG/NBD "
                f"log-likelihood at remedy's estimate {first['log_likelihood']:,.3f}, at "
                f"lifetimes' {first['other_log_likelihood']:,.3f} (same data, same formula)."
            )


if __name__ == "__main__":
    main()
