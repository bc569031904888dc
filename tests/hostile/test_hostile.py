"""Every case of the hostile corpus (cases.yaml), run through the CLI in a child process.

The cases run two at a time (a thread per child process) as soon as the module's first test
needs one; each test then checks its own case's outcome.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from .corpus import Case, Outcome, load_cases, run

CASES = load_cases()
MAX_LINE = 300


def test_the_corpus_is_broad() -> None:
    names = [c.name for c in CASES]
    assert len(CASES) >= 40
    for prefix, least in (("ref-", 15), ("incident-", 5), ("cust-", 15), ("orders-", 8)):
        assert sum(n.startswith(prefix) for n in names) >= least, prefix


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest) -> Iterator[dict[str, Future[Outcome]]]:
    """Start every selected case at once, on as many workers as there are cores."""
    selected = [
        item.callspec.params["case"]
        for item in request.session.items
        if hasattr(item, "callspec") and isinstance(item.callspec.params.get("case"), Case)
    ]
    workers = max(2, min(4, os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {case.name: pool.submit(run, case) for case in selected}
        yield futures
        for future in futures.values():
            future.cancel()


# A known failure owned by another change is run and expected to fail; once fixed it passes,
# and strict xfail turns that into a failure, so its `known:` line gets removed.
PARAMS = [
    pytest.param(c, id=c.name, marks=pytest.mark.xfail(reason=c.known, strict=True))
    if c.known
    else pytest.param(c, id=c.name)
    for c in CASES
]


@pytest.mark.parametrize("case", PARAMS)
def test_hostile_case(case: Case, outcomes: dict[str, Future[Outcome]]) -> None:
    outcome = outcomes[case.name].result()
    report = (
        f"{case.about}\nexit {outcome.code} in {outcome.seconds:.2f} s, peak "
        f"{outcome.peak_mib} MiB\nstdout: {outcome.stdout[:500]!r}\n"
        f"stderr: {outcome.stderr[:500]!r}"
    )
    # Bounded in time and memory.
    assert outcome.code is not None, f"did not finish within {case.timeout} s\n{report}"
    assert outcome.peak_mib is not None, report
    assert outcome.peak_mib < case.memory_mib, report
    # The exit code of invalid input (1) or a usage or file problem (2).
    assert outcome.code in case.exit, report
    # One line saying so: on stdout for check (stderr has its summary), else on stderr.
    if case.run[0] == "check":
        message, rest = outcome.stdout, outcome.stderr
        assert rest.endswith("checked: 0 valid, 1 invalid\n"), report
    else:
        message, rest = outcome.stderr, outcome.stdout
        assert rest == "", report  # a failed run prints no result
    assert message.endswith("\n") and message.count("\n") == 1, report
    line = message[:-1]
    assert len(line) <= MAX_LINE and line.isprintable(), report
    assert "Traceback" not in outcome.stdout + outcome.stderr, report
    assert case.names in line, report
    assert case.says in line, report
    for text in case.never:
        assert text not in outcome.stdout + outcome.stderr, report
    # Nothing left behind: no output, no temporary file, nothing changed.
    assert outcome.after == outcome.before, report
