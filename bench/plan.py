"""The planner at its largest: 50 segments, several custom options, 100 million customers.

Builds the largest incident the format allows (50 segments, the most option combinations the
planner accepts) with a binding budget and call capacity, then times `make_plan` and measures its
peak memory in fresh processes, at several draw counts. A reference is measured in the same run:
one numpy matrix product of the same number of cells, so load on the shared machine shows in
both. Reports medians.

    python bench/plan.py [--runs 3] [--draws 10000 50000] [--write bench/plan-results.md]

Goals (issue 9, item 13): <= 5 s and <= 1 GiB at 10,000 draws; memory must not grow with the
draws beyond a fixed chunk.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SEGMENTS = 50


def largest_incident(binding: bool = True) -> dict[str, object]:
    """50 segments (counts summing to 100M), four custom options, every built-in that
    applies to a late delivery, calls; with `binding`, a budget and a call capacity that bind
    across segments (the mixed-integer program), else neither."""
    counts = [2_000_000] * SEGMENTS
    segments = []
    for i in range(SEGMENTS):
        clv = 40 + 25 * i
        segment: dict[str, object] = {
            "name": f"s{i:02d}",
            "count": counts[i],
            "clv": [clv * 0.5, clv, clv * 2],
        }
        if i % 5 == 0:  # some segments lose more than the default
            segment["customer_loss"] = [5, 8 + i % 7, 15]
        segments.append(segment)
    custom = {
        f"gift_{name}": {
            "label": f"A {name} gift",
            "cost_per_customer": [cost * 0.8, cost, cost * 1.3],
            "value": cost * 2,
            "matches": ["late_delivery"],
            "scope": "segment",
        }
        for name, cost in (("small", 3), ("medium", 8), ("large", 15))
    }
    custom["apology_card"] = {
        "label": "A handwritten card for everyone",
        "cost_per_customer": 1.5,
        "matches": ["other"],
        "scope": "incident",
    }
    return {
        "id": "largest-legal-incident",
        "title": "Every order of a very large store arrived late",
        "kind": "late_delivery",
        "affected": {"customers": sum(counts), "order_value": 80},
        "business": {"clv": [100, 200, 400], **({"budget": 150_000_000} if binding else {})},
        "segments": segments,
        "options": {
            "store_credit": {"amount": 10},
            "ship_upgrade": {"cost_per_order": [6, 9, 14], "value": 15},
            "refund": {"amount": 80},
            "personal_call": {
                "caller": "support",
                "capacity_hours": 20_000 if binding else 20_000_000,
            },
            **custom,
        },
    }


PROBE = """\
import json, resource, sys, time
from remedy.incident import Incident
from remedy.plan import make_plan
incident = Incident.model_validate(json.loads(open(sys.argv[1]).read()))
draws = int(sys.argv[2])
start = time.perf_counter()
plan = make_plan(incident, draws=draws, seed=0)
took = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": took, "peak_mib": peak, "summary_len": len(plan.summary),
                  "candidates": len(plan.candidates), "gap": plan.optimality_gap}))
"""

REFERENCE = """\
import json, time
import numpy as np
rng = np.random.default_rng(0)
a = rng.random((512, 2048)); b = rng.random(2048)
start = time.perf_counter()
for _ in range(200):
    a @ b
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def run(code: str, *args: str) -> dict[str, float]:
    # As the CLI runs it: one BLAS thread (remedy.cli.main sets it).
    env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--draws", type=int, nargs="+", default=[2000, 10_000, 50_000])
    parser.add_argument("--write", type=Path, help="write a Markdown table here")
    parser.add_argument(
        "--variant", choices=("free", "binding"), nargs="+", default=["free", "binding"]
    )
    args = parser.parse_args()
    rows = []
    for variant in args.variant:
        rows += measure(variant, args.draws, args.runs)
    if args.write:
        lines = [
            "# Planner at its largest: 50 segments, 100M customers",
            "",
            f"`python bench/plan.py --runs {args.runs}` on {platform.python_implementation()} "
            f"{platform.python_version()}, {platform.machine()}, load average "
            f"{os.getloadavg()[0]:.1f} at the end.",
            "",
            "| variant | draws | make_plan, median | peak memory | reference | ratio |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for variant, draws, took, peak, ref, ratio in rows:
            lines.append(
                f"| {variant} | {draws:,} | {took:.2f} s | {peak:.0f} MiB | {ref:.3f} s | "
                f"{ratio:.1f} |"
            )
        args.write.write_text("\n".join(lines) + "\n")


def measure(
    variant: str, draws_list: list[int], runs: int
) -> list[tuple[str, int, float, float, float, float]]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "largest.json"
        path.write_text(json.dumps(largest_incident(variant == "binding")))
        for draws in draws_list:
            times, peaks, refs = [], [], []
            for _ in range(runs):
                refs.append(run(REFERENCE)["seconds"])
                probe = run(PROBE, str(path), str(draws))
                times.append(probe["seconds"])
                peaks.append(probe["peak_mib"])
            took, ref = statistics.median(times), statistics.median(refs)
            rows.append((variant, draws, took, max(peaks), ref, took / ref))
            print(
                f"{variant:8} {draws:>7,} draws: {took:.2f} s (median of {runs}), peak "
                f"{max(peaks):.0f} MiB; reference {ref:.3f} s; ratio {took / ref:.1f}",
                flush=True,
            )
    return rows


if __name__ == "__main__":
    main()
