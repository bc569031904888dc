"""Outputs are atomic: an interrupted write leaves nothing, an existing file needs --force."""

from __future__ import annotations

from pathlib import Path

import pytest

from remedy.errors import UsageError
from remedy.fileio import atomic_writer, write_text_atomic


def test_interrupted_write_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    with pytest.raises(KeyboardInterrupt), atomic_writer(target) as stream:
        stream.write("half of it")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_interrupted_replace_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    target.write_text("the old plan")
    with pytest.raises(KeyboardInterrupt), atomic_writer(target, force=True) as stream:
        stream.write("half of the new one")
        raise KeyboardInterrupt
    assert target.read_text() == "the old plan"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]


def test_existing_file_needs_force(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("keep me")
    with pytest.raises(UsageError, match="--force"):
        write_text_atomic(target, "new")
    assert target.read_text() == "keep me"
    write_text_atomic(target, "new", force=True)
    assert target.read_text() == "new"


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="folder"):
        write_text_atomic(tmp_path, "x", force=True)
