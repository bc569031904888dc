"""The mutation score of the core modules (issue 8): small deliberate bugs, one at a time.

mutmut (configured in pyproject.toml's [tool.mutmut]) copies the package to mutants/, makes
every mutant of score.py, plan.py, apology.py and mailmerge.py, and runs the tests that reach
each one; a mutant is killed when a test fails (or times out, or crashes).

    python bench/mutation.py                 # every mutant: about 5,000, hours on 2 cores
    python bench/mutation.py --sample 150    # a seeded random sample per module, ~20-30 min
    python bench/mutation.py --report        # only summarise the last run (mutants/*.meta)

Run it with the mutation venv's Python (`make mutation` does). The score of a sample comes
with a 95% Wilson interval. Not run in CI: it takes far longer than the suite.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import subprocess
import sys
from pathlib import Path

MODULES = ("score", "plan", "apology", "mailmerge")
GOAL = 0.90
KILLED = {1, 3, 24, -24, 152, 255, 36, 37, -9, -11}  # failed, timed out, crashed, type check


def mutmut(*args: str) -> None:
    command = [str(Path(sys.executable).with_name("mutmut")), "run", "--max-children", "2", *args]
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL)


def results() -> dict[str, dict[str, int | None]]:
    """Mutant name -> exit code (None: not run), per module."""
    out = {}
    for module in MODULES:
        meta = Path("mutants/remedy") / f"{module}.py.meta"
        out[module] = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
    return out


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def report(names: dict[str, list[str]] | None) -> str:
    codes = results()
    lines = [
        "| module | mutants | run | killed | survived | no test reaches it | score (95% CI) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    survivors: list[str] = []
    total_k = total_n = 0
    for module in MODULES:
        chosen = names[module] if names else list(codes[module])
        run = [n for n in chosen if codes[module].get(n) is not None]
        killed = sum(codes[module][n] in KILLED for n in run)
        untested = sum(codes[module][n] in (5, 33) for n in run)
        survivors += [n for n in run if codes[module][n] == 0]
        low, high = wilson(killed, len(run))
        score = killed / len(run) if run else 0.0
        total_k, total_n = total_k + killed, total_n + len(run)
        survived = len(run) - killed - untested
        lines.append(
            f"| {module}.py | {len(codes[module])} | {len(run)} | {killed} | {survived} | "
            f"{untested} | **{score:.1%}** ({low:.1%}-{high:.1%}) |"
        )
    low, high = wilson(total_k, total_n)
    lines.append(
        f"| all four | {sum(len(c) for c in codes.values())} | {total_n} | {total_k} | | | "
        f"**{total_k / max(total_n, 1):.1%}** ({low:.1%}-{high:.1%}) |"
    )
    lines += ["", f"Goal: at least {GOAL:.0%} killed in each module.", "", "Survivors:"]
    lines += [f"- {name}" for name in sorted(survivors)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, help="mutants per module (default: all)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--report", action="store_true", help="only summarise the last run")
    parser.add_argument("--write", type=Path, help="also write the summary to this file")
    args = parser.parse_args()
    names: dict[str, list[str]] | None = None
    if not args.report:
        shutil.rmtree("mutants", ignore_errors=True)  # fresh copies of the code and the tests
        if args.sample is None:
            mutmut()
        else:
            mutmut("remedy.mailmerge.x_neutralise__mutmut_1")  # makes every mutant, runs one
            rng = random.Random(args.seed)
            names = {
                module: sorted(rng.sample(sorted(codes), min(args.sample, len(codes))))
                for module, codes in results().items()
            }
            mutmut(*[name for chosen in names.values() for name in chosen])
    elif Path("mutants/sample.json").exists():
        names = json.loads(Path("mutants/sample.json").read_text())
    if names is not None:
        Path("mutants/sample.json").write_text(json.dumps(names))
    text = report(names)
    print(text, end="")
    if args.write:
        args.write.write_text(text)


if __name__ == "__main__":
    main()
