"""Reading inputs and writing outputs safely.

Every file remedy reads is opened by `open_input` (or `read_bytes`, which caps the size): only
regular files, or pipes named on the command line, so a folder, a device or a FIFO is refused at
once instead of hanging or reading forever. Files named inside an incident must also stay inside
the incident's folder unless the user allows another one (`outside_reason`).

Outputs are written to a temporary file in the target's folder and renamed into place, so an
interrupted run never leaves a half-written file, and an existing file is replaced only when the
caller says so.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, BinaryIO

from remedy.errors import RemedyError, UsageError


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


ORDERS_MAX_BYTES = 128 * 1024 * 1024  # an order history is read whole; override: REMEDY_MAX_BYTES


def read_bytes(source: str | Path, limit: int, *, regular_only: bool = False) -> bytes:
    """Read a whole file, or standard input for `-`, refusing more than `limit` bytes (see
    `open_input` for what counts as a file, and `regular_only`)."""
    if str(source) == "-":
        data = sys.stdin.buffer.read(limit + 1)
    else:
        with open_input(source, regular_only=regular_only, limit=limit) as stream:
            data = stream.read(limit + 1)
    if len(data) > limit:
        raise _too_large(source, limit)
    return data


def _too_large(source: str | Path, limit: int) -> RemedyError:
    from remedy.errors import InputError

    name = "<stdin>" if str(source) == "-" else str(source)
    return InputError(
        f"{name}: file is larger than {limit:,} bytes "
        "(raise the limit with REMEDY_MAX_BYTES if it is genuine)"
    )


# --- opening inputs --------------------------------------------------------------------------

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_OPEN_FLAGS = os.O_RDONLY | _NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


def file_kind(mode: int) -> str | None:
    """What a file that is not a regular file is, in words ("a folder"); None for a file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"  # pragma: no cover - doors, whiteouts


def open_input(
    source: str | Path, *, regular_only: bool = False, limit: int | None = None
) -> BinaryIO:
    """Open a file to read it, binary, refusing at once what is not a file.

    Only a regular file is opened, or, when `regular_only` is false (a path the user typed on
    the command line), a pipe such as `<(zcat orders.csv.gz)`. A folder, a device (`/dev/zero`
    would never end), a socket, and for `regular_only` a FIFO (which would wait for a writer
    forever) are refused with a `UsageError` saying what the thing is. The file is opened
    non-blocking and its type checked on the open descriptor, so neither a FIFO without a
    writer nor a swap between a check and the open can make remedy hang. `limit` refuses a
    regular file larger than that many bytes before anything is read.
    """
    name = str(source)
    try:
        fd = os.open(name, _OPEN_FLAGS)
    except OSError as exc:
        raise _open_error(name, exc) from None
    try:
        info = os.fstat(fd)
        kind = file_kind(info.st_mode)
        if kind is not None and (regular_only or not stat.S_ISFIFO(info.st_mode)):
            raise UsageError(f"{name}: is {kind}, not a file{_hint(kind)}")
        if limit is not None and kind is None and info.st_size > limit:
            raise _too_large(name, limit)
        if _NONBLOCK:
            os.set_blocking(fd, True)  # a pipe's writer may be slower than us: wait for it
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _hint(kind: str) -> str:
    if kind == "a folder":
        return ""
    return " (name a regular file)"


def _open_error(name: str, exc: OSError) -> UsageError:
    if isinstance(exc, FileNotFoundError):
        try:
            os.lstat(name)
        except OSError:
            return UsageError(f"{name}: no such file")
        return UsageError(f"{name}: is a broken symbolic link (its target does not exist)")
    with contextlib.suppress(OSError):  # a socket cannot be opened (ENXIO): say what it is
        kind = file_kind(os.stat(name).st_mode)
        if kind is not None:
            return UsageError(f"{name}: is {kind}, not a file{_hint(kind)}")
    if isinstance(exc, PermissionError):
        return UsageError(f"{name}: cannot read it (permission denied)")
    return UsageError(f"{name}: cannot read it ({exc.strerror or type(exc).__name__})")


# --- confinement -----------------------------------------------------------------------------

ALLOW_OUTSIDE_ENV = "REMEDY_ALLOW_OUTSIDE"


def allowed_folders(
    flags: Sequence[str | Path] = (), *, environ: Mapping[str, str] | None = None
) -> tuple[Path, ...]:
    """The folders outside an incident's own that its files may come from: the
    `--allow-outside` values and `REMEDY_ALLOW_OUTSIDE` (paths separated by `os.pathsep`),
    resolved. A folder that does not exist is a usage error (a typo would otherwise be silent).
    """
    environ = os.environ if environ is None else environ
    named = [(f"--allow-outside {flag}", str(flag)) for flag in flags]
    raw = environ.get(ALLOW_OUTSIDE_ENV, "")
    named += [(f"{ALLOW_OUTSIDE_ENV}: {part}", part) for part in raw.split(os.pathsep) if part]
    folders = []
    for label, value in named:
        path = Path(value).expanduser()
        if not path.exists():
            raise UsageError(f"{label}: no such folder")
        folders.append(path.resolve())
    return tuple(folders)


def outside_reason(path: Path, base: Path, allowed: Sequence[Path] = ()) -> str | None:
    """Why `path`, named inside an incident whose folder is `base`, may not be read; None
    when it may.

    A file may be read when, symbolic links followed, it lies inside `base` or inside (or is)
    one of the `allowed` folders. An incident from a pull request must not be a way to read
    `~/.ssh` or a `.env`: no absolute path, no `..` and no symbolic link may lead out.
    """
    base = Path(os.path.realpath(base))
    target = path if path.is_absolute() else base / path
    real = Path(os.path.realpath(target))
    roots = (base, *(Path(os.path.realpath(a)) for a in allowed))
    if any(real == root or real.is_relative_to(root) for root in roots):
        return None
    if path.is_absolute():
        return "is an absolute path outside the incident's folder"
    if not Path(os.path.normpath(target)).is_relative_to(base):
        return "leads out of the incident's folder (..)"
    return "is a symbolic link to a file outside the incident's folder"


OUTSIDE_HINT = (
    "move the file into the incident's folder, or allow its folder with --allow-outside DIR "
    f"or {ALLOW_OUTSIDE_ENV}"
)
