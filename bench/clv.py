"""Benchmark `remedy clv` end to end on a simulated order log, against the lifetimes pipeline.

The log: customers drawn from BG/NBD with the CDNOW estimates (r=0.243, alpha=4.414, a=0.793,
b=2.426 per week) and Gamma-Gamma (p=6.25, q=3.74, gamma=15.44); first purchases spread over 12
weeks and observed until 39 weeks after the cohort start (so T is 27-39 weeks); about 5% of
transactions are split into two orders on the same day. About 2.2 orders per customer
(200,000 customers: 433,000 orders, 11 MB; 1,000,000: 2.17 million orders, 56 MB).

Each round runs, one after the other so that the machine's load falls on both alike:

1. `remedy clv ORDERS -f json -o OUT` as a user runs it (start-up, imports, read, fit, score,
   write), a fresh process; wall time, CPU time (user + system) and peak memory (ru_maxrss of
   that child, from os.wait4);
2. with --lifetimes PYTHON, the lifetimes pipeline in that interpreter, a fresh process:
   pandas.read_csv, summary_data_from_transaction_data, BetaGeoFitter, GammaGammaFitter and
   customer_lifetime_value over a year (weekly, 10% a year), the same figures;
3. `remedy.clv.estimate_clv` in a fresh process, timed inside it stage by stage (imports,
   read and summary, fit, score), for where the time goes.

Medians over the rounds are reported, with the ratio of the medians and the median of the
per-round ratios, and the load average before and after (the machines are shared). Bytecode
is cached, as for an installed package (a shell with PYTHONDONTWRITEBYTECODE would otherwise
recompile remedy on every run). --csv adds rounds of `-f csv` (a row per customer).

Usage:
    .venv/bin/python bench/clv.py [--customers N] [--runs 5] [--keep orders.csv]
        [--lifetimes /tmp/lifetimes-venv/bin/python] [--csv]

The lifetimes venv is a scratch one outside the repository, never a project dependency:
    python3 -m venv /tmp/lifetimes-venv && /tmp/lifetimes-venv/bin/pip install lifetimes
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

STAGES = """
import json, sys, time
started = time.perf_counter()
from remedy import clv
imported = time.perf_counter()
marks = {{}}
result = clv.estimate_clv(
    {path!r}, progress=lambda stage: marks.setdefault(stage, time.perf_counter())
)
end = time.perf_counter()
print(json.dumps({{
    "imports": imported - started,
    "read": marks["fitting"] - marks["reading"],
    "fit": marks["scoring"] - marks["fitting"],
    "score": end - marks["scoring"],
    "customers": result.customers,
    "orders": result.orders,
    "groups": result.bgnbd.groups,
    "r": result.bgnbd.r, "alpha": result.bgnbd.alpha, "a": result.bgnbd.a, "b": result.bgnbd.b,
    "p": result.gamma_gamma.p if result.gamma_gamma else None,
    "q": result.gamma_gamma.q if result.gamma_gamma else None,
    "v": result.gamma_gamma.v if result.gamma_gamma else None,
    "log_likelihood": result.bgnbd.log_likelihood,
    "bgnbd_evaluations": result.bgnbd.convergence.function_evaluations,
    "gg_evaluations": (
        result.gamma_gamma.convergence.function_evaluations if result.gamma_gamma else None
    ),
    "total_clv": float(result.clv.sum()),
    "scipy": any(name.split(".")[0] == "scipy" for name in sys.modules),
}}))
"""

GENERATE = """
import sys
sys.path.insert(0, {bench!r})
from clv import simulate_orders
open({path!r}, "wb").write(simulate_orders({customers}))
"""

LIFETIMES = """
import json, sys, time
started = time.perf_counter()
import numpy as np, pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data
imported = time.perf_counter()
orders = pd.read_csv(sys.argv[1], parse_dates=["date"])
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
    "imports": imported - started, "read": read - imported, "summary": summarised - read,
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


def run_process(
    command: list[str], env: dict[str, str], output: bool = False
) -> dict[str, float | dict]:
    """Run `command`; its wall time, CPU time and peak memory (os.wait4: this child's own
    ru_maxrss), and its JSON output when `output`."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"{command[:4]} failed:\n{err.read()[-3000:]}")
        result: dict[str, float | dict] = {
            "wall": wall,
            "cpu": usage.ru_utime + usage.ru_stime,
            "peak_mib": usage.ru_maxrss / 1024,  # Linux reports KiB
        }
        if output:
            out.seek(0)
            result["out"] = json.loads(out.read().strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="write the simulated CSV here and keep it")
    parser.add_argument("--lifetimes", help="python of a venv with lifetimes installed")
    parser.add_argument("--csv", action="store_true", help="also time `-f csv`")
    options = parser.parse_args()
    loads = [os.getloadavg()]

    with tempfile.TemporaryDirectory() as folder:
        # Installed packages run from compiled bytecode. remedy runs from the working tree:
        # its bytecode is cached in the temporary folder; lifetimes' venv has its own.
        plain = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        plain.pop("PYTHONPYCACHEPREFIX", None)
        env = {**plain, "PYTHONPYCACHEPREFIX": str(Path(folder) / "pycache")}
        path = options.keep or Path(folder) / "orders.csv"
        started = time.perf_counter()
        code = GENERATE.format(
            bench=str(Path(__file__).parent), path=str(path), customers=options.customers
        )
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        print(
            f"simulated {options.customers:,} customers, {path.stat().st_size / 2**20:.0f} MiB "
            f"in {time.perf_counter() - started:.1f} s -> {path}",
            file=sys.stderr,
        )
        out = Path(folder) / "clv.out"
        remedy = [sys.executable, "-m", "remedy", "clv", str(path), "-o", str(out), "--force"]
        stages_code = STAGES.format(path=str(path))
        lifetimes_code = LIFETIMES.format(as_of=str(START + OBSERVED_DAYS))
        run_process([*remedy, "-f", "json"], env)  # warm-up: bytecode and page cache
        if options.lifetimes:
            run_process([options.lifetimes, "-c", lifetimes_code, str(path)], plain)
        rounds: dict[str, list[dict]] = {"json": [], "csv": [], "lifetimes": [], "stages": []}
        for _ in range(options.runs):
            rounds["json"].append(run_process([*remedy, "-f", "json"], env))
            if options.lifetimes:
                rounds["lifetimes"].append(
                    run_process([options.lifetimes, "-c", lifetimes_code, str(path)], plain, True)
                )
            if options.csv:
                rounds["csv"].append(run_process([*remedy, "-f", "csv"], env))
            rounds["stages"].append(
                run_process([sys.executable, "-c", stages_code], env, output=True)
            )
        loads.append(os.getloadavg())
        report(options, rounds, loads)


def median(runs: list[dict], key: str) -> float:
    return statistics.median(float(run[key]) for run in runs)


def inner(runs: list[dict], key: str) -> float:
    return statistics.median(float(run["out"][key]) for run in runs)


def report(options: argparse.Namespace, rounds: dict[str, list[dict]], loads: list) -> None:
    stages = rounds["stages"]
    first = stages[0]["out"]
    runs = len(rounds["json"])
    print(
        f"### `remedy clv`: {first['customers']:,} customers, {first['orders']:,} orders "
        f"({first['groups']:,} (x, t_x, T) groups), median of {runs} rounds"
    )
    print()
    print(
        "Load average (1, 5, 15 min) before: "
        + ", ".join(f"{x:.2f}" for x in loads[0])
        + "; after: "
        + ", ".join(f"{x:.2f}" for x in loads[1])
        + f"; {os.cpu_count()} cores."
    )
    print()
    print("| process | wall | CPU (user + sys) | peak memory |")
    print("|---|---:|---:|---:|")
    rows = [("`remedy clv ORDERS -f json -o OUT`", "json")]
    if rounds["csv"]:
        rows.append(("`remedy clv ORDERS -f csv -o OUT`", "csv"))
    if rounds["lifetimes"]:
        rows.append(("lifetimes pipeline (its process, imports included)", "lifetimes"))
    for label, key in rows:
        runs_ = rounds[key]
        print(
            f"| {label} | {median(runs_, 'wall'):.2f} s | {median(runs_, 'cpu'):.2f} s "
            f"| {median(runs_, 'peak_mib'):.0f} MiB |"
        )
    print()
    print(
        f"In process (`estimate_clv`, median): imports {inner(stages, 'imports'):.3f} s, "
        f"read and summary {inner(stages, 'read'):.3f} s, fit {inner(stages, 'fit'):.3f} s "
        f"({first['bgnbd_evaluations']} BG/NBD and {first['gg_evaluations']} Gamma-Gamma "
        f"evaluations), score {inner(stages, 'score'):.3f} s; scipy imported: {first['scipy']}."
    )
    theirs = rounds["lifetimes"]
    if not theirs:
        return
    ours = rounds["json"]
    paired = [t["wall"] / o["wall"] for t, o in zip(theirs, ours, strict=True)]
    paired_cpu = [t["cpu"] / o["cpu"] for t, o in zip(theirs, ours, strict=True)]
    ratio = median(theirs, "wall") / median(ours, "wall")
    print()
    print(
        f"Speed-up over lifetimes, end to end: {ratio:.1f}x "
        f"(ratio of median walls; per-round ratios {min(paired):.1f}-{max(paired):.1f}x, median "
        f"{statistics.median(paired):.1f}x); CPU time {statistics.median(paired_cpu):.1f}x."
    )
    t = theirs[0]["out"]
    print(
        f"lifetimes inside its process (median): imports {inner(theirs, 'imports'):.2f} s, "
        f"read_csv {inner(theirs, 'read'):.2f} s, summary {inner(theirs, 'summary'):.2f} s, "
        f"fits {inner(theirs, 'fit'):.2f} s, CLV {inner(theirs, 'score'):.2f} s."
    )
    names = ("r", "alpha", "a", "b", "p", "q", "v")
    truth = {**CDNOW, **SPEND}
    print()
    print("| parameter | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    print("| simulated | " + " | ".join(f"{truth[n]:.4g}" for n in names) + " |")
    print("| remedy | " + " | ".join(f"{first[n]:.6g}" for n in names) + " |")
    print("| lifetimes | " + " | ".join(f"{t[n]:.6g}" for n in names) + " |")
    print()
    print(
        f"r differs by {abs(t['r'] / first['r'] - 1):.3%}; total CLV remedy "
        f"{first['total_clv']:,.0f}, lifetimes {t['total_clv']:,.0f}."
    )


if __name__ == "__main__":
    main()
