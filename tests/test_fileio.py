"""Outputs are atomic: an interrupted write leaves nothing, an existing file needs --force."""

from __future__ import annotations

from pathlib import Path

import pytest

from remedy.errors import UsageError
from remedy.fileio import (
    allowed_folders,
    atomic_writer,
    open_input,
    outside_reason,
    read_bytes,
    write_text_atomic,
)


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


# --- opening inputs --------------------------------------------------------------------------


def test_only_regular_files_are_opened(tmp_path: Path) -> None:
    import os
    import socket

    folder = tmp_path / "folder.csv"
    folder.mkdir()
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    sock_path = tmp_path / "s.csv"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    try:
        cases = {
            folder: "is a folder, not a file",
            Path("/dev/zero"): "is a device, not a file",
            sock_path: "is a socket, not a file",
            tmp_path / "missing.csv": "no such file",
        }
        for path, words in cases.items():
            with pytest.raises(UsageError, match=words):
                open_input(path)
        # A FIFO without a writer is refused at once where only files are allowed...
        with pytest.raises(UsageError, match=r"is a FIFO \(named pipe\), not a file"):
            open_input(fifo, regular_only=True)
        # ...and on the command line (a pipe like <(zcat x.gz)) opened without waiting.
        with open_input(fifo) as stream:
            assert stream.read() == b""
    finally:
        sock.close()


def test_a_broken_link_is_not_called_missing(tmp_path: Path) -> None:
    (tmp_path / "link.csv").symlink_to(tmp_path / "gone.csv")
    with pytest.raises(UsageError, match="broken symbolic link"):
        open_input(tmp_path / "link.csv")


def test_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    from remedy.errors import InputError

    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 101)
    with pytest.raises(InputError, match="larger than 100 bytes"):
        read_bytes(str(big), 100)
    assert read_bytes(str(big), 101) == b"x" * 101


# --- confinement -----------------------------------------------------------------------------


def test_files_named_by_an_incident_stay_in_its_folder(tmp_path: Path) -> None:
    base = tmp_path / "incident"
    (base / "data").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (base / "in.csv").write_text("x")
    (base / "out.csv").symlink_to(tmp_path / "outside" / "secret.csv")
    (base / "data" / "ok.csv").symlink_to(base / "in.csv")  # a link that stays inside is fine
    assert outside_reason(Path("in.csv"), base) is None
    assert outside_reason(Path("data/ok.csv"), base) is None
    assert outside_reason(Path("data/../in.csv"), base) is None
    assert outside_reason(Path(base / "in.csv"), base) is None  # absolute, but inside
    assert "absolute path" in (outside_reason(Path("/etc/passwd"), base) or "")
    assert "(..)" in (outside_reason(Path("../outside/x.csv"), base) or "")
    assert "symbolic link" in (outside_reason(Path("out.csv"), base) or "")
    allowed = [tmp_path / "outside"]
    assert outside_reason(Path("../outside/x.csv"), base, allowed) is None
    assert outside_reason(Path("out.csv"), base, allowed) is None
    assert outside_reason(Path("../elsewhere.csv"), base, allowed) is not None


def test_allowed_folders_come_from_flags_and_the_environment(tmp_path: Path) -> None:
    import os

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    env = {"REMEDY_ALLOW_OUTSIDE": f"{tmp_path / 'b'}{os.pathsep}"}
    assert allowed_folders([tmp_path / "a"], environ=env) == (tmp_path / "a", tmp_path / "b")
    with pytest.raises(UsageError, match=r"^--allow-outside .*nope: no such folder"):
        allowed_folders([tmp_path / "nope"], environ={})
    with pytest.raises(UsageError, match=r"^REMEDY_ALLOW_OUTSIDE: .*nope: no such folder"):
        allowed_folders([], environ={"REMEDY_ALLOW_OUTSIDE": str(tmp_path / "nope")})


# --- messages --------------------------------------------------------------------------------


def test_messages_are_one_short_printable_line() -> None:
    from remedy.errors import MAX_MESSAGE, excerpt, one_line, summarise

    text = one_line("f.csv:2: bad \x1b[31mred\x1b[0m\nnext\u202e " + "x" * 10_000 + " (the hint)")
    assert len(text) <= MAX_MESSAGE and text.isprintable()
    assert text.startswith("f.csv:2: bad \\x1b[31mred") and text.endswith("(the hint)")
    assert "\\n" in text and "\\u202e" in text
    assert excerpt("x" * 1_000_000) == "'" + "x" * 37 + "...' (1,000,000 characters)"
    assert excerpt("a\tb") == "'a\\tb'"
    header = ["root:x:0:0:root:/root:/bin/bash", "b", "", "d\x07", "e", "f"]
    assert summarise(header) == "root:x:0:0:root:/..., b, (blank), d\\x07, e, ... (6 in all)"
