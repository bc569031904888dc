"""The CLI's promises about files and streams: confinement, consistency between commands,
exit 70 and 130, colour, and output that does not depend on the hash seed."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from remedy.cli import app

from .conftest import ROOT

BAGS = ROOT / "incidents" / "mothers-day-bags.yaml"
PRICE_CAP = ROOT / "incidents" / "6pm-price-cap.yaml"
FAST = ["--draws", "500"]


def bags_in(folder: Path, customers: str = "customers.csv", count: bool = True) -> Path:
    """The Mother's Day incident copied into `folder`, its customers file renamed."""
    folder.mkdir(parents=True, exist_ok=True)
    text = BAGS.read_text().replace("mothers-day-bags.customers.csv", customers)
    if not count:
        text = text.replace("  customers: 120 ", "  # customers: 120 ")
    path = folder / "incident.yaml"
    path.write_text(text)
    return path


def customers_csv(path: Path) -> Path:
    shutil.copy(ROOT / "incidents" / "mothers-day-bags.customers.csv", path)
    return path


# --- confinement -----------------------------------------------------------------------------


def test_an_incident_cannot_read_outside_its_folder(runner: CliRunner, tmp_path: Path) -> None:
    customers_csv(tmp_path / "data.csv")
    incident = bags_in(tmp_path / "inc", "../data.csv")
    for command in (["check"], ["plan", *FAST], ["explain", "refund"], ["drafts", "-o", "-"]):
        args = [command[0], str(incident), *command[1:]]
        result = runner.invoke(app, args)
        assert result.exit_code == 1, (command, result.output)
        line = result.stdout if command[0] == "check" else result.stderr
        assert line.startswith(f"{incident}:41:9: customers.file: '../data.csv' leads out of")
        assert "--allow-outside" in line
    result = runner.invoke(app, ["check", str(incident), "--allow-outside", str(tmp_path)])
    assert result.exit_code == 0, result.output
    env = {"REMEDY_ALLOW_OUTSIDE": f"/nonexistent-but-ignored-not{os.pathsep}{tmp_path}"}
    result = runner.invoke(app, ["check", str(incident)], env=env)
    assert result.exit_code == 2 and "REMEDY_ALLOW_OUTSIDE: /nonexistent" in result.stderr
    result = runner.invoke(
        app, ["check", str(incident)], env={"REMEDY_ALLOW_OUTSIDE": str(tmp_path)}
    )
    assert result.exit_code == 0, result.output


def test_an_incident_on_stdin_is_confined_to_the_current_folder(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    customers_csv(tmp_path / "customers.csv")
    text = bags_in(tmp_path / "x").read_text()
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["check", "-"], input=text).exit_code == 0
    monkeypatch.chdir(tmp_path / "x")
    result = runner.invoke(app, ["check", "-"], input=text.replace("customers.csv", "../c.csv"))
    assert result.exit_code == 1 and result.stdout.startswith("<stdin>:41:9: customers.file:")


# --- consistency between commands ------------------------------------------------------------


def test_plan_warns_that_a_missing_customers_file_stops_drafts(
    runner: CliRunner, tmp_path: Path
) -> None:
    incident = bags_in(tmp_path, "missing.csv")
    result = runner.invoke(app, ["plan", str(incident), "-f", "json", *FAST])
    assert result.exit_code == 0 and json.loads(result.stdout)["plan"]["actions"]
    assert result.stderr == (
        f"warning: {incident}: customers.file: {tmp_path / 'missing.csv'} does not exist; "
        "planned without it, but `remedy drafts` cannot write messages until it does\n"
    )
    check = runner.invoke(app, ["check", str(incident)])
    assert check.exit_code == 1 and "customers.file:" in check.stdout


def test_check_reads_the_customers_file_as_drafts_would(runner: CliRunner, tmp_path: Path) -> None:
    incident = bags_in(tmp_path)
    good = (ROOT / "incidents" / "mothers-day-bags.customers.csv").read_text()
    (tmp_path / "customers.csv").write_text(good + "c999,Al,al@example.com,MD-9,1,035.50,10\n")
    result = runner.invoke(app, ["check", str(incident)])
    assert result.exit_code == 1
    assert result.stdout.startswith(
        f"{incident}: customers.file: {tmp_path / 'customers.csv'}:122:"
    )
    assert "fields, but the header has 6" in result.stdout
    drafts = runner.invoke(app, ["drafts", str(incident), "-o", str(tmp_path / "m.jsonl")])
    assert drafts.exit_code == 1 and ":122: " in drafts.stderr
    assert not (tmp_path / "m.jsonl").exists()


def test_check_reads_the_orders_file_as_plan_would(runner: CliRunner, tmp_path: Path) -> None:
    incident = bags_in(tmp_path)
    customers_csv(tmp_path / "customers.csv")
    text = incident.read_text().replace(
        "  file: customers.csv", "  file: customers.csv\n  orders: o.csv"
    )
    incident.write_text(text)
    (tmp_path / "o.csv").write_text("customer_id,date,amount\nc0001,2024-01-01,5\n\x00\n")
    result = runner.invoke(app, ["check", str(incident)])
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{incident}: customers.orders: {tmp_path / 'o.csv'}")


def test_plan_counts_customers_with_the_strict_reader(runner: CliRunner, tmp_path: Path) -> None:
    # The count comes from the file when the incident gives none: a long field is a located
    # error (it used to be exit 70 from a second csv reader), and a good file counts its rows.
    incident = bags_in(tmp_path, count=False)
    customers_csv(tmp_path / "customers.csv")
    result = runner.invoke(app, ["plan", str(incident), "-f", "json", *FAST])
    assert result.exit_code == 0, result.output
    assert sum(a["customers"] for a in json.loads(result.stdout)["plan"]["actions"]) >= 120
    with (tmp_path / "customers.csv").open("a") as stream:
        stream.write("x" * 200_000 + ",A,a@example.com,O-1,1,1\n")
    result = runner.invoke(app, ["plan", str(incident), *FAST])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"{tmp_path / 'customers.csv'}:122: a value is longer than")


# --- exit 70 and 130 -------------------------------------------------------------------------


def test_an_internal_error_is_one_line_and_debug_shows_the_traceback(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    import remedy.plan

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("x" * 5000)

    monkeypatch.setattr(remedy.plan, "plan_in_detail", broken)
    result = runner.invoke(app, ["plan", str(PRICE_CAP), *FAST])
    assert result.exit_code == 70
    assert result.stderr.count("\n") == 1 and len(result.stderr) <= 301
    assert result.stderr.startswith("remedy: internal error (ZeroDivisionError: xxx")
    assert "--debug" in result.stderr and "Traceback" not in result.stderr
    result = runner.invoke(app, ["--debug", "plan", str(PRICE_CAP), *FAST])
    assert result.exit_code == 70
    assert "Traceback (most recent call last)" in result.stderr
    assert "ZeroDivisionError" in result.stderr


def test_an_interrupt_during_a_write_exits_130_and_leaves_nothing(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import remedy.mailmerge

    incident = bags_in(tmp_path)
    customers_csv(tmp_path / "customers.csv")
    (tmp_path / "old.csv").write_text("the old drafts")
    calls = 0

    def interrupted(cell: str | None) -> str:
        nonlocal calls
        calls += 1
        if calls > 200:  # well into the rows: the temporary file has content
            raise KeyboardInterrupt
        return cell or ""

    monkeypatch.setattr(remedy.mailmerge, "neutralise", interrupted)
    before = sorted(p.name for p in tmp_path.iterdir())
    for out, extra in ((tmp_path / "new.csv", []), (tmp_path / "old.csv", ["--force"])):
        calls = 0
        result = runner.invoke(app, ["drafts", str(incident), "-o", str(out), "-f", "csv", *extra])
        assert result.exit_code == 130, result.output
        assert result.stderr == "remedy: interrupted; no output was written\n"
        assert sorted(p.name for p in tmp_path.iterdir()) == before  # no partial or temp file
    assert (tmp_path / "old.csv").read_text() == "the old drafts"


def test_an_interrupt_while_planning_to_a_file_exits_130(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import remedy.fileio

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(remedy.fileio.os, "fsync", interrupted)
    result = runner.invoke(app, ["plan", str(PRICE_CAP), "-o", str(tmp_path / "p.md"), *FAST])
    assert result.exit_code == 130
    assert list(tmp_path.iterdir()) == []


# --- colour and determinism (subprocesses: a real terminal, a real hash seed) ----------------


def run_remedy(args: list[str], env: dict[str, str], cwd: Path | None = None) -> bytes:
    full = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    full.update(env)
    done = subprocess.run(
        [sys.executable, "-m", "remedy", *args],
        capture_output=True,
        env=full,
        cwd=cwd,
        timeout=60,
        check=True,
    )
    return done.stdout


def on_a_terminal(args: list[str], env: dict[str, str]) -> bytes:
    """Run remedy with stdout on a pseudo-terminal; return what it printed."""
    full = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    full.update({"COLUMNS": "120", "LINES": "40", **env})
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "remedy", *args],
        stdout=follower,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env=full,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=60) == 0
    return b"".join(chunks)


def test_no_color_and_dumb_terminals_get_no_escape_codes() -> None:
    args = ["plan", str(PRICE_CAP), *FAST]
    coloured = on_a_terminal(args, {"TERM": "xterm-256color"})
    assert b"\x1b[" in coloured  # the control: a colour terminal does get colour
    for env in ({"TERM": "xterm-256color", "NO_COLOR": "1"}, {"TERM": "dumb"}):
        plain = on_a_terminal(args, env)
        assert b"\x1b" not in plain, env
        assert b"honor" in plain


def test_outputs_do_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    runs = {
        "table": ["plan", str(BAGS), *FAST],
        "markdown": ["plan", str(BAGS), "-f", "markdown", *FAST],
        "drafts": ["drafts", str(BAGS), "-o", "-", "-f", "csv", *FAST],
    }
    for name, args in runs.items():
        outputs = {run_remedy(args, {"PYTHONHASHSEED": seed}) for seed in ("0", "4242")}
        assert len(outputs) == 1, name
        assert len(next(iter(outputs))) > 1000, name


# --- bounded by design -----------------------------------------------------------------------

SEGMENTED = """\
id: ranked
title: Orders a day late
kind: late_delivery
summary: Our warehouse shipped your order a day late.
affected:
  customers: 120
  order_value: 50
business:
  clv: [100, 200, 400]
segments:
  - name: vip
    share: 0.1
    clv: [1000, 2000, 4000]
  - name: rest
    share: 0.9
customers:
  file: customers.csv
sender:                      # remedy drafts refuses unsigned messages
  name: Maya
  company: Stitched Moments
"""


@pytest.mark.parametrize("policy", ["fail", "skip"])
def test_ranking_by_clv_is_capped_so_memory_stays_bounded(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, policy: str
) -> None:
    import remedy.drafts

    (tmp_path / "incident.yaml").write_text(SEGMENTED)
    customers_csv(tmp_path / "customers.csv")
    args = ["drafts", str(tmp_path / "incident.yaml"), "-o", "-", "--on-bad-row", policy, *FAST]
    monkeypatch.setattr(remedy.drafts, "MAX_RANKED", 120)  # exactly met: fine
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.stdout.count('"segment":"vip"') >= 12
    monkeypatch.setattr(remedy.drafts, "MAX_RANKED", 119)  # one over
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{tmp_path / 'customers.csv'}:121: more than 119 customers")
    assert "'segment' column" in result.stderr


def test_a_pipe_named_on_the_command_line_is_read(tmp_path: Path) -> None:
    # `remedy clv <(zcat orders.csv.gz)`: the shell passes /dev/fd/N, a pipe.
    import threading

    read_end, write_end = os.pipe()
    text = (ROOT / "incidents" / "6pm-price-cap.yaml").read_bytes()

    def feed() -> None:
        with os.fdopen(write_end, "wb") as stream:
            stream.write(text)

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "remedy", "check", f"/dev/fd/{read_end}"],
            pass_fds=(read_end,),
            capture_output=True,
            timeout=60,
        )
    finally:
        os.close(read_end)
        writer.join()
    assert done.returncode == 0, done.stderr
    assert done.stderr == b"1 file checked: 1 valid, 0 invalid\n"
