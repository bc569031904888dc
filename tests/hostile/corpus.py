"""The hostile corpus: build each case of `cases.yaml` in a scratch folder and run it.

Each case runs `python -m remedy ...` in a child process, in its own folder, with:
- standard input an open pipe that never receives data, so any read of it would hang;
- an address-space limit (`RLIMIT_AS`, 1 GiB), and its peak resident memory (`ru_maxrss`)
  reported by the child itself when it exits;
- a wall-clock limit (`timeout`): a hang fails the case instead of the suite.

Big inputs are generated here at test time (see `GENERATORS`), never committed; huge files are
sparse (`truncate`), so a 10 GB file costs no disk. `python -m tests.hostile` prints every
case's exit code, time and peak memory.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MANIFEST = HERE / "cases.yaml"
ADDRESS_SPACE = 1024 * 1024 * 1024  # RLIMIT_AS of every case

INCIDENT = """\
id: hostile
title: Orders a day late
kind: late_delivery
fault: ours
summary: Our warehouse shipped your order a day late.
affected:
{count}  order_value: 50
business:
  clv: [100, 200, 400]
sender:
  name: Sam
  role: Founder
  company: Acme
  email: sam@example.com
{customers}"""

HEADER = "id,name,email,order_id,order_value,clv\n"

# Runs remedy's CLI in the child under the limits, and reports the child's own peak memory
# (ru_maxrss, KiB on Linux) to the file named by REMEDY_HOSTILE_RSS, whatever the exit.
WRAPPER = """
import os, resource, runpy, sys
limit = int(os.environ["REMEDY_HOSTILE_AS"])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
sys.argv = ["remedy", *sys.argv[1:]]
try:
    runpy.run_module("remedy", run_name="__main__", alter_sys=True)
finally:
    with open(os.environ["REMEDY_HOSTILE_RSS"], "w") as out:
        out.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
"""


@dataclass(frozen=True)
class Case:
    """One hostile case from the manifest."""

    name: str
    about: str
    run: list[str]
    files: dict[str, Any]
    exit: tuple[int, ...] = (1, 2)
    names: str = ""  # the file the one line must name
    says: str = ""  # words of ours the line must hold
    never: tuple[str, ...] = ()  # text of the input that must not be printed
    env: dict[str, str] = field(default_factory=dict)
    cwd: str = "."
    timeout: float = 20.0
    memory_mib: int = 1024
    known: str = ""  # a known failure owned elsewhere: the case is expected to fail


@dataclass(frozen=True)
class Outcome:
    """What one run of a case did."""

    code: int | None  # None: killed at the time limit
    stdout: str
    stderr: str
    seconds: float
    peak_mib: float | None  # None: the child did not get to report it
    before: list[tuple[str, int]]
    after: list[tuple[str, int]]


def load_cases() -> list[Case]:
    """The cases of the manifest, in order."""
    import yaml

    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    defaults = data.get("defaults", {})
    cases = []
    for raw in data["cases"]:
        merged = {**defaults, **raw}
        merged["exit"] = tuple(merged.get("exit", (1, 2)))
        merged["never"] = tuple(merged.get("never", ()))
        merged["env"] = {k: str(v) for k, v in (merged.get("env") or {}).items()}
        cases.append(Case(**merged))
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return cases


# --- building a case's folder ----------------------------------------------------------------


def customers(rows: int = 3, start: int = 1, append: str = "", header: str = HEADER) -> str:
    """A valid customers CSV of `rows` rows, then `append` (the hostile part)."""
    body = "".join(
        f"c{i},Ann Lee,ann{i}@example.com,A-{i},50.00,{100 + i % 300}\n"
        for i in range(start, start + rows)
    )
    return header + body + append


def orders(rows: int = 3, append: str = "") -> str:
    """A valid orders CSV of `rows` rows, then `append`."""
    body = "".join(
        f"c{i % 50},2024-{1 + i % 12:02d}-{1 + i % 28:02d},{20 + i % 80}.50\n" for i in range(rows)
    )
    return "customer_id,date,amount\n" + body + append


def incident(file: str | None = None, orders: str | None = None, count: bool = True) -> str:
    """An incident naming `file` and `orders` (verbatim YAML scalars) as its customers files."""
    refs = ""
    if file is not None or orders is not None:
        refs = "customers:\n"
        refs += f"  file: {file}\n" if file is not None else ""
        refs += f"  orders: {orders}\n" if orders is not None else ""
    return INCIDENT.format(count="  customers: 100\n" if count else "", customers=refs)


def _long_id(rows: int, width: int) -> Iterator[str]:
    yield HEADER
    for i in range(rows):
        ident = "x" * width if i == rows // 2 else f"c{i}"
        yield f"{ident},Ann,a{i}@example.com,A-{i},50.00,100\n"


def _wide_header(columns: int) -> Iterator[str]:
    yield ",".join(f"k{i}" for i in range(columns)) + "\n"
    yield ",".join("v" for _ in range(columns)) + "\n"


def _one_line(size: int) -> Iterator[str]:
    yield HEADER
    chunk = "SECRET," * 10_000
    for _ in range(size // len(chunk)):
        yield chunk


def _unclosed_quote(rows: int, line: int) -> Iterator[str]:
    yield HEADER
    for i in range(2, rows + 2):
        name = '"Ann' if i == line else "Ann"
        yield f"c{i},{name},a{i}@example.com,A-{i},50.00,100\n"


def _valid_then(rows: int, last: str) -> Iterator[str]:
    yield HEADER
    for i in range(rows):
        yield f"c{i},Ann Lee {i % 97},ann{i}@example.com,A-{i},{10 + i % 90}.50,{i % 1000}\n"
    yield last


def _orders_long_id(rows: int, width: int) -> Iterator[str]:
    yield "customer_id,date,amount\n"
    for i in range(rows):
        ident = "x" * width if i == rows // 2 else f"c{i % 300}"
        yield f"{ident},2024-01-{1 + i % 28:02d},12.50\n"


def _orders_rows(rows: int) -> Iterator[str]:
    yield "customer_id,date,amount\n"
    for i in range(rows):
        yield f"c{i % 5000},2024-{1 + i % 12:02d}-{1 + i % 28:02d},{20 + i % 80}.50\n"


def _incident_with(key: str, value: str, repeat: int) -> Iterator[str]:
    """A small incident whose `key` (file: customers.file; else a top-level key on line 5)
    holds `value` repeated."""
    if key == "file":
        yield "id: x\ntitle: t\nkind: other\naffected:\n  customers: 1\ncustomers:\n  file: "
    else:
        yield f"id: x\ntitle: t\nkind: other\naffected: {{customers: 1}}\n{key}: "
    for _ in range(repeat):
        yield value
    yield "\n"


GENERATORS: dict[str, Callable[..., Iterator[str]]] = {
    "incident_with": _incident_with,
    "long_id": _long_id,
    "wide_header": _wide_header,
    "one_line": _one_line,
    "unclosed_quote": _unclosed_quote,
    "valid_then": _valid_then,
    "orders_long_id": _orders_long_id,
    "orders_rows": _orders_rows,
}


def build(case: Case, folder: Path) -> None:
    """Make the case's files in `folder` (paths ending in / are folders)."""
    for name, spec in case.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not isinstance(spec, dict):
            raise ValueError(f"{case.name}: {name}: a file spec is a mapping")
        kind, value = next(iter(spec.items()))
        if kind == "text":
            path.write_text(value, encoding="utf-8", newline="")
        elif kind == "latin1":  # code points below 256 written as those bytes: NUL, bad UTF-8
            path.write_bytes(value.encode("latin-1"))
        elif kind == "customers":
            path.write_text(customers(**(value or {})), encoding="utf-8", newline="")
        elif kind == "orders":
            path.write_text(orders(**(value or {})), encoding="utf-8", newline="")
        elif kind == "incident":
            path.write_text(incident(**(value or {})), encoding="utf-8")
        elif kind == "generate":
            args = dict(value)
            generator = GENERATORS[args.pop("name")]
            with path.open("w", encoding="utf-8", newline="") as out:
                out.writelines(generator(**args))
        elif kind == "sparse":  # a huge file that takes no disk
            with path.open("wb") as out:
                out.truncate(int(value))
        elif kind == "folder":
            path.mkdir(exist_ok=True)
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "socket":
            with socket.socket(socket.AF_UNIX) as sock:
                sock.bind(str(path))  # the socket file stays after it is closed
        elif kind == "symlink":
            path.symlink_to(value)
        else:
            raise ValueError(f"{case.name}: {name}: unknown kind {kind}")


def listing(folder: Path) -> list[tuple[str, int]]:
    """Every path under `folder` with its size (0 for what is not a regular file)."""
    out = []
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        size = info.st_size if path.is_file() and not path.is_symlink() else 0
        out.append((str(path.relative_to(folder)), size))
    return out


def run(case: Case, scratch: Path | None = None) -> Outcome:
    """Build and run one case; its folder is removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=f"hostile-{case.name}-", dir=scratch))
    side = Path(tempfile.mkdtemp(prefix="hostile-side-"))
    try:
        build(case, folder)
        before = listing(folder)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REMEDY_", "NO_COLOR"))}
        env.update(
            {
                "REMEDY_NO_CACHE": "1",
                "REMEDY_HOSTILE_AS": str(ADDRESS_SPACE),
                "REMEDY_HOSTILE_RSS": str(side / "rss"),
                # One BLAS thread: its per-thread buffers would count against RLIMIT_AS.
                "OPENBLAS_NUM_THREADS": "1",
                "OMP_NUM_THREADS": "1",
                "MKL_NUM_THREADS": "1",
                "PYTHONPATH": str(ROOT),
                "TERM": "dumb",
                **case.env,
            }
        )
        args = [a.replace("{dir}", str(folder)) for a in case.run]
        quiet_in, keep_open = os.pipe()  # stdin that never ends and never speaks
        started = time.perf_counter()
        with (side / "out").open("w+b") as out, (side / "err").open("w+b") as err:
            process = subprocess.Popen(
                [sys.executable, "-c", WRAPPER, *args],
                cwd=folder / case.cwd,
                env=env,
                stdin=quiet_in,
                stdout=out,
                stderr=err,
            )
            os.close(quiet_in)
            try:
                code: int | None = process.wait(timeout=case.timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                code = None
            finally:
                os.close(keep_open)
            seconds = time.perf_counter() - started
            out.seek(0)
            err.seek(0)
            stdout = out.read().decode("utf-8", "replace")
            stderr = err.read().decode("utf-8", "replace")
        rss = side / "rss"
        peak = int(rss.read_text()) / 1024 if rss.exists() and rss.read_text() else None
        return Outcome(code, stdout, stderr, seconds, peak, before, listing(folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(side, ignore_errors=True)


def main() -> None:
    """Run every case and print a table: exit code, seconds, peak memory."""
    print(f"{'case':40} {'exit':>4} {'s':>6} {'MiB':>6}  first line")
    for case in load_cases():
        outcome = run(case)
        line = (outcome.stdout if case.run[0] == "check" else outcome.stderr).split("\n")[0]
        peak = f"{outcome.peak_mib:6.0f}" if outcome.peak_mib is not None else "     ?"
        print(
            f"{case.name:40} {outcome.code!s:>4} {outcome.seconds:6.2f} {peak}  "
            f"{json.dumps(line)[:110]}"
        )
