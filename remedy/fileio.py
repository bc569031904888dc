"""Reading inputs and writing outputs safely.

Outputs are written to a temporary file in the target's folder and renamed into place, so an
interrupted run never leaves a half-written file, and an existing file is replaced only when the
caller says so.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from remedy.errors import UsageError


def check_writable(path: Path, force: bool, *, folder: bool = False) -> None:
    """Refuse early (before any work) to replace an existing output without `force`.

    `folder` says the output is a folder (a mail merge to eml), not a file.
    """
    if path.exists():
        if folder and not path.is_dir():
            raise UsageError(f"{path}: is a file, not a folder")
        if not folder and path.is_dir():
            raise UsageError(f"{path}: is a folder, not a file")
        if not folder and not path.is_file():
            # A device or a pipe: renaming over it would replace it, even with --force.
            raise UsageError(
                f"{path}: is not a regular file (write to stdout and redirect instead)"
            )
        if not force:
            raise UsageError(f"{path}: already exists (pass --force to replace it)")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{path}: folder {parent} does not exist")


@contextlib.contextmanager
def atomic_writer(path: Path, force: bool = False, newline: str | None = "") -> Iterator[IO[str]]:
    """Open a text stream that becomes `path` only if the block finishes without error."""
    check_writable(path, force)
    parent = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        if path.exists() and not force:  # appeared while we worked
            raise UsageError(f"{path}: already exists (pass --force to replace it)")
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def max_bytes(default: int) -> int:
    """The input size limit: `REMEDY_MAX_BYTES` when set to a positive whole number."""
    raw = os.environ.get("REMEDY_MAX_BYTES")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise UsageError(f"REMEDY_MAX_BYTES: '{raw}' is not a positive whole number of bytes")
    return value


def write_text_atomic(path: Path, text: str, force: bool = False) -> None:
    """Write `text` to `path` atomically."""
    with atomic_writer(path, force=force) as stream:
        stream.write(text)


def read_bytes(source: str, limit: int) -> bytes:
    """Read a file, or standard input for `-`, refusing more than `limit` bytes."""
    if source == "-":
        data = sys.stdin.buffer.read(limit + 1)
    else:
        path = Path(source)
        if not path.exists():
            raise UsageError(f"{source}: no such file")
        if path.is_dir():
            raise UsageError(f"{source}: is a folder, not a file")
        try:
            with path.open("rb") as stream:
                data = stream.read(limit + 1)
        except OSError as exc:
            raise UsageError(f"{source}: cannot read it ({exc.strerror})") from None
    if len(data) > limit:
        from remedy.errors import InputError

        raise InputError(
            f"{source}: file is larger than {limit:,} bytes "
            "(raise the limit with REMEDY_MAX_BYTES if it is genuine)"
        )
    return data
