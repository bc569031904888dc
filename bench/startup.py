"""Start-up cost of `remedy plan` against a bare Typer "hello world" (cli.md: Speed).

Runs `remedy plan incidents/6pm-price-cap.yaml --format json` and a Typer hello-world written to
a temporary file, with the same interpreter, alternately (so load on the machine hits both
alike), at least 10 times each; prints the medians and their ratio (goal: <= 1.4).

    python bench/startup.py [--runs 15] [--incident PATH] [--write bench/startup-results.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.4

HELLO = """\
import typer

app = typer.Typer()


@app.command()
def hello(name: str = "world") -> None:
    print(f"hello {name}")


if __name__ == "__main__":
    app()
"""


# Where the time of one `remedy plan` goes, phase by phase, in a fresh process.
PARTS = """\
import json, sys, time
t = [time.perf_counter()]
import typer; t.append(time.perf_counter())
import numpy; t.append(time.perf_counter())
import remedy.incident, remedy.load; t.append(time.perf_counter())
import remedy.plan, remedy.report; t.append(time.perf_counter())
incident = remedy.load.load_incident(sys.argv[1]); t.append(time.perf_counter())
plan = remedy.plan.make_plan(incident); t.append(time.perf_counter())
import remedy.drafts; t.append(time.perf_counter())
messages = remedy.drafts.draft_messages(incident, plan.offers); t.append(time.perf_counter())
json.dumps(remedy.report.plan_to_json(plan, messages)); t.append(time.perf_counter())
print(json.dumps([b - a for a, b in zip(t, t[1:])]))
"""
PHASES = (
    "import typer",
    "import numpy",
    "import the incident model (pydantic) and loader",
    "import remedy.plan and remedy.report",
    "load the incident file",
    "make_plan (10,000 draws)",
    "import remedy.drafts",
    "draft_messages",
    "plan_to_json",
)


def phases(incident: Path, env: dict[str, str], runs: int = 5) -> list[float]:
    """Median seconds of each phase of one plan, in fresh processes."""
    import json

    samples = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", PARTS, str(incident)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        samples.append(json.loads(done.stdout))
    return [statistics.median(column) for column in zip(*samples, strict=True)]


def remedy_command(incident: Path) -> list[str]:
    """`remedy plan` with the interpreter running this script (its venv's console script)."""
    script = Path(sys.executable).with_name("remedy")
    if script.exists():
        return [str(script), "plan", str(incident), "--format", "json"]
    return [sys.executable, "-m", "remedy", "plan", str(incident), "--format", "json"]


def timed(command: list[str], env: dict[str, str]) -> float:
    """Wall-clock seconds of one run; the command must succeed."""
    start = time.perf_counter()
    done = subprocess.run(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr[-500:]!r}")
    return elapsed


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (>= 10)")
    parser.add_argument("--incident", type=Path, default=ROOT / "incidents/6pm-price-cap.yaml")
    parser.add_argument("--write", type=Path, help="also write the results as Markdown here")
    args = parser.parse_args()
    runs = max(10, args.runs)

    with tempfile.TemporaryDirectory() as folder:
        hello_path = Path(folder) / "hello.py"
        hello_path.write_text(HELLO, encoding="utf-8")
        hello = [sys.executable, str(hello_path)]
        remedy = remedy_command(args.incident)
        # Installed packages run from compiled bytecode; a shell with PYTHONDONTWRITEBYTECODE
        # would recompile every module on every run. Cache bytecode in the temporary folder
        # for both commands alike.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(folder) / "pycache")
        for _ in range(2):  # warm the caches; not counted
            timed(hello, env), timed(remedy, env)
        hello_times: list[float] = []
        remedy_times: list[float] = []
        for _ in range(runs):
            hello_times.append(timed(hello, env))
            remedy_times.append(timed(remedy, env))
        parts = phases(args.incident, env)

    hello_median = statistics.median(hello_times)
    remedy_median = statistics.median(remedy_times)
    ratio = remedy_median / hello_median
    verdict = "meets" if ratio <= GOAL else "misses"
    ms = {
        "hello": (hello_median * 1000, min(hello_times) * 1000),
        "remedy": (remedy_median * 1000, min(remedy_times) * 1000),
    }
    lines = [
        f"runs each:            {runs} (alternating)",
        "typer hello (median): {:.0f} ms  (min {:.0f})".format(*ms["hello"]),
        "remedy plan (median): {:.0f} ms  (min {:.0f})".format(*ms["remedy"]),
        f"ratio:                {ratio:.2f}  ({verdict} the goal of <= {GOAL})",
    ]
    lines.append("where one plan's time goes (median of 5 fresh processes):")
    lines += [f"  {name:<50} {sec * 1000:6.0f} ms" for name, sec in zip(PHASES, parts, strict=True)]
    print("\n".join(lines))
    if args.write:
        machine = f"{platform.python_implementation()} {platform.python_version()}, "
        machine += f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        machine += f"load average {os.getloadavg()[0]:.1f}"
        text = [
            "# Start-up benchmark: `remedy plan` vs a bare Typer hello world",
            "",
            f"Command: `remedy plan {_shown(args.incident)} --format json`"
            f" vs `python hello.py` (Typer, one command), same interpreter ({machine}).",
            f"Measured with `python bench/startup.py --runs {runs}`: the two alternate, "
            "wall-clock time per process, medians; bytecode cached (as when installed).",
            "",
            "| | median | min |",
            "|---|---:|---:|",
            f"| typer hello | {hello_median * 1000:.0f} ms | {min(hello_times) * 1000:.0f} ms |",
            f"| remedy plan | {remedy_median * 1000:.0f} ms | {min(remedy_times) * 1000:.0f} ms |",
            "",
            f"Ratio {ratio:.2f}: {verdict} the goal of <= {GOAL}.",
            "",
            "Where one plan's time goes (median of 5 fresh processes):",
            "",
            "| phase | ms |",
            "|---|---:|",
            *[f"| {n} | {sec * 1000:.0f} |" for n, sec in zip(PHASES, parts, strict=True)],
        ]
        args.write.write_text("\n".join(text) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
