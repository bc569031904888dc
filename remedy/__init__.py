"""remedy: plan what to do for customers after a company's mistake.

The package is a library first: `remedy.load` reads an incident file, `remedy.stake` values what
is at stake, `remedy.options` prices each remedy, `remedy.score` and `remedy.decide` choose them,
`remedy.plan` assembles the plan (`remedy.plan_file(path)` does all of it), `remedy.drafts`
writes the messages. `remedy.cli` is a thin command-line layer over them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from remedy.plan import Plan

__version__ = "0.1.0"


def plan_file(path: str | Path, *, draws: int = 10_000, seed: int = 0) -> Plan:
    """Load an incident file and plan it: the same plan `remedy plan FILE` prints.

    Imports the planner on first use, so `import remedy` stays fast.
    """
    from remedy.plan import plan_file as _plan_file

    return _plan_file(path, draws=draws, seed=seed)
