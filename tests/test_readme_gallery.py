"""The README's gallery of drafts is what remedy writes today, never a stale copy.

The test renders three drafts through the CLI and compares them with the block between the
gallery markers in README.md. After changing the wording, rewrite the block with

    REMEDY_UPDATE_GALLERY=1 .venv/bin/pytest tests/test_readme_gallery.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

from remedy.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START = "<!-- gallery:start (tests/test_readme_gallery.py writes this block) -->"
END = "<!-- gallery:end -->"


def _plan_email(runner: CliRunner, incident: str) -> dict[str, str]:
    result = runner.invoke(
        app, ["plan", str(ROOT / "incidents" / f"{incident}.yaml"), "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    messages = json.loads(result.stdout)["messages"]
    email: dict[str, str] = next(m for m in messages if m["channel"] == "email")
    return email


def _first_merged_email(runner: CliRunner, incident: str) -> dict[str, str]:
    args = ["drafts", str(ROOT / "incidents" / f"{incident}.yaml"), "--out", "-", "--limit", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    email: dict[str, str] = json.loads(result.stdout.splitlines()[0])
    return email


def gallery() -> str:
    """The gallery block, rendered now."""
    runner = CliRunner()
    entries = [
        (
            "The pricing bug, honored (`remedy plan incidents/6pm-price-cap.yaml`, the email)",
            _plan_email(runner, "6pm-price-cap"),
        ),
        (
            "Mother's Day bags never made, to the first customer of the file "
            "(`remedy drafts incidents/mothers-day-bags.yaml --out -`)",
            _first_merged_email(runner, "mothers-day-bags"),
        ),
        (
            "A reminder that reached a grieving customer "
            "(`remedy plan incidents/bereavement-flowers.yaml`, the email)",
            _plan_email(runner, "bereavement-flowers"),
        ),
    ]
    parts = [START]
    for caption, email in entries:
        parts.append(
            f"**{caption}**\n\n```text\nSubject: {email['subject']}\n\n{email['body']}\n```"
        )
    parts.append(END)
    return "\n\n".join(parts)


def test_the_readme_gallery_is_what_remedy_writes() -> None:
    text = README.read_text(encoding="utf-8")
    assert START in text and END in text, "README.md has lost its gallery markers"
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    current = START + rest.split(END, 1)[0] + END
    expected = gallery()
    if os.environ.get("REMEDY_UPDATE_GALLERY") == "1":
        README.write_text(before + expected + after, encoding="utf-8")
        return
    assert current == expected, (
        "the README gallery is stale: run REMEDY_UPDATE_GALLERY=1 .venv/bin/pytest "
        "tests/test_readme_gallery.py"
    )
