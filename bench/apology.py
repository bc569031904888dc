"""The apology check against its labelled corpus: accuracy, precision and recall, per part.

    .venv/bin/python bench/apology.py [--part tuning|heldout|all] [--file NAME] [--show-wrong]
                                      [--speed]

"Flawed" detection counts a case as predicted flawed when the check's `ok` is false. Components:
"X is missing", over the cases whose channel requires X. Hedge kinds: "the message has a hedge of
kind K". Forgiveness: "the message asks for it" (never required). `--show-wrong` lists the cases
whose verdict is wrong with the flaws the check predicted (for the tuning part while tuning; the
held-out part is scored, not studied). `--file NAME` scores one file of the corpus alone (say
tuning-fourth-heldout, round 4). `--speed` times the check on a 1 MB text. The held-out part,
heldout-v5.yaml, is written blind by another writer: until the lead adds it, it is empty.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.apology_metrics import PARTS, Counts, Score, load, load_file, score  # noqa: E402


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _row(name: str, counts: Counts) -> str:
    return (
        f"| {name} | {counts.support} | {counts.tp} | {counts.fp} | {counts.fn} | "
        f"{_pct(counts.precision)} | {_pct(counts.recall)} |"
    )


def report(part: str, result: Score, show_wrong: bool) -> str:
    """The figures for one part as Markdown."""
    flawed = result.flawed
    lines = [
        f"### {part}: {result.cases} cases",
        "",
        f"Verdict accuracy (good vs flawed): **{flawed.accuracy:.1%}** "
        f"({flawed.tp + flawed.tn}/{result.cases}); exact flaw lists: {result.exact}/"
        f"{result.cases}.",
        "",
        "| question | truly yes | TP | FP | FN | precision | recall |",
        "|---|---:|---:|---:|---:|---:|---:|",
        _row("message is flawed", flawed),
    ]
    for name, counts in result.components.items():
        lines.append(_row(f"missing {name}", counts))
    lines.append(_row("asks forgiveness (optional)", result.forgiveness))
    for kind, counts in result.hedges.items():
        if counts.support or counts.fp:
            lines.append(_row(f"hedge: {kind}", counts))
    if show_wrong and result.wrong:
        lines += ["", "Wrong verdicts:"]
        for case, predicted in result.wrong:
            lines.append(
                f"- {case.id} ({case.label}): predicted {sorted(predicted)}, "
                f"labelled {sorted(case.flaws)}"
            )
    return "\n".join(lines)


def speed() -> str:
    """Time the check on 1 MB of apology-like text (only its first MAX_CHARS are read)."""
    from remedy.apology import MAX_CHARS, lint_text

    sentence = (
        "We charged you twice, that's our mistake and I'm sorry for any inconvenience; a bug in "
        "our checkout retried the payment. We've refunded $20. Call me on 555-0134. "
    )
    text = (sentence * (1_048_576 // len(sentence) + 1))[:1_048_576]
    times = []
    for _ in range(5):
        start = time.perf_counter()
        lint_text(text, prevention_given=True)
        times.append(time.perf_counter() - start)
    times.sort()
    return (
        f"1 MiB text ({MAX_CHARS:,} characters read): median {times[2] * 1000:.0f} ms "
        f"(min {times[0] * 1000:.0f}, max {times[-1] * 1000:.0f}) over 5 runs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=(*PARTS, "all"), default="all")
    parser.add_argument("--file", help="score one corpus file alone (its name without .yaml)")
    parser.add_argument("--show-wrong", action="store_true")
    parser.add_argument("--speed", action="store_true")
    args = parser.parse_args()
    if args.file:
        print(report(args.file, score(load_file(args.file, args.file)), args.show_wrong))
        print()
    parts = () if args.file else PARTS if args.part == "all" else (args.part,)
    for part in parts:
        cases = load(part)
        if not cases:
            print(f"### {part}: no cases (heldout-v5.yaml is not in the tree yet)\n")
            continue
        print(report(part, score(cases), args.show_wrong))
        print()
    if args.speed:
        print(speed())


if __name__ == "__main__":
    main()
