"""Exit codes and the errors the core raises.

Every expected failure is a `RemedyError` carrying its exit code; the CLI maps them to one line on
stderr in one place (`remedy.cli`). Anything else is a bug and exits with `INTERNAL`.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, documented in the README."""

    OK = 0
    INVALID_INPUT = 1
    USAGE = 2
    GATE_FAILED = 3
    INTERNAL = 70
    INTERRUPTED = 130


class RemedyError(Exception):
    """An expected failure with a one-line message for the user."""

    exit_code: ExitCode = ExitCode.INVALID_INPUT

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(RemedyError):
    """The input (incident file, orders file, customers file, template) is invalid."""

    exit_code = ExitCode.INVALID_INPUT


class UsageError(RemedyError):
    """The command was called wrongly: missing file, bad flag value, refusing to overwrite."""

    exit_code = ExitCode.USAGE


class GateError(RemedyError):
    """A CI gate failed: the plan costs more than `--max-cost`, or breaks the budget."""

    exit_code = ExitCode.GATE_FAILED


MAX_MESSAGE = 300  # characters in any one line remedy prints about a problem

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """`text` with every non-printable character escaped (`\\n`, `\\x1b`, `\\u202e`).

    Printed raw, control and format characters from a user's data could break a line, move the
    cursor, recolour a terminal (ESC sequences) or reorder what it shows (bidi overrides).
    """
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char.isprintable():
            out.append(char)
        elif char in _NAMED:
            out.append(_NAMED[char])
        elif ord(char) < 0x100:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(f"\\u{ord(char):04x}" if ord(char) < 0x10000 else f"\\U{ord(char):08x}")
    return "".join(out)


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    tail = min(90, limit // 3)
    return text[: limit - tail - 5] + " ... " + text[-tail:]


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """A message as one printable line of at most `limit` characters.

    Line breaks and control characters are escaped (`\\n`, `\\x1b`), never printed; a long
    message keeps its start (the location) and its end (the hint) and drops the middle.
    """
    return _shorten(printable(_shorten(text, limit)), limit)


def excerpt(value: object, limit: int = 40) -> str:
    """A short, quoted, printable excerpt of a user's data for an error message.

    Messages never echo a file's contents: at most `limit` characters are shown, control
    characters escaped, and the length given when it was cut (`'xxx...' (1,000,000 characters)`).
    """
    text = str(value)
    if len(text) <= limit:
        return f"'{printable(text)}'"
    return f"'{printable(text[: max(1, limit - 3)])}...' ({len(text):,} characters)"


def summarise(names: list[str], *, most: int = 5, limit: int = 20) -> str:
    """A list of names (the columns of a header) as a short phrase: the first few, each cut to
    `limit` characters and made printable, and how many there are in all."""
    shown = []
    for name in names[:most]:
        cut = name if len(name) <= limit else name[: limit - 3] + "..."
        shown.append(printable(cut) if cut else "(blank)")
    text = ", ".join(shown)
    if len(names) > most:
        text += f", ... ({len(names):,} in all)"
    return text


class Location:
    """Where something is in a file, 1-based, for messages like `file:line:col`."""

    __slots__ = ("column", "line", "path")

    def __init__(self, path: str, line: int = 0, column: int = 0) -> None:
        self.path = path
        self.line = line
        self.column = column

    def __str__(self) -> str:
        if self.line:
            return f"{self.path}:{self.line}:{self.column or 1}"
        return self.path


class Problem:
    """One problem found in a file: where, which key, what is wrong and how to fix it."""

    __slots__ = ("key", "location", "message")

    def __init__(self, location: Location, key: str, message: str) -> None:
        self.location = location
        self.key = key
        self.message = message

    def __str__(self) -> str:
        key = f" {self.key}:" if self.key else ""
        return one_line(f"{self.location}:{key} {self.message}")

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.location.path,
            "line": self.location.line,
            "column": self.location.column,
            "key": self.key,
            "message": one_line(self.message),
        }


class IncidentError(InputError):
    """An incident file has one or more problems; the first is the message."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(str(problems[0]))
        self.problems = problems
