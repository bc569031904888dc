"""Benchmark `remedy review` end to end at 40,000 customers (the issue's goal: at most 30 s).

The shop is the proof tests' simulation (tests/review_simulation.py) at 40,000 customers: BG/NBD
and Gamma-Gamma customers over 600 days, an incident that hits 60% of the recent buyers (about
1,700), 30% of them held out, a 26-week window; about 175,000 orders. Each timed run is the whole
command in a fresh process (start-up, reading the incident, planning it for its cost, reading
the orders, the fit, 2,000 bootstrap replicates, the JSON):

    remedy review incident.yaml --orders orders.csv --assignments arms.csv -f json -o out.json

The median of the runs is reported with the range; the machine is shared, so the range says
how noisy it was.

Usage:
    .venv/bin/python bench/review.py [--customers 40000] [--runs 5] [--keep FOLDER]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.review_simulation import simulate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=40_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, default=None, help="write the shop here and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="remedy-review-bench-"))
    world = simulate(0, customers=args.customers)
    paths = world.write(folder)
    orders = len(world.day)
    print(
        f"{args.customers:,} customers, {orders:,} orders, {int(world.hit.sum()):,} affected "
        f"({int(world.held.sum()):,} held out); files in {folder}"
    )
    remedy = Path(sys.executable).parent / "remedy"
    command = [
        str(remedy),
        "review",
        str(paths["incident"]),
        "--orders",
        str(paths["orders"]),
        "--assignments",
        str(paths["assignments"]),
        "-f",
        "json",
        "-o",
        str(folder / "review.json"),
        "--force",
    ]
    times = []
    for run in range(args.runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
        print(f"run {run + 1}: {times[-1]:.2f} s")
    print(
        f"median {statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f}) "
        f"over {args.runs} runs; goal <= 30 s"
    )
    print("command:", " ".join(["remedy", *command[1:]]).replace(str(folder) + "/", ""))


if __name__ == "__main__":
    main()
