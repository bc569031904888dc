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


def one_line(text: str) -> str:
    """Messages are one line: a newline from the user's data is shown as \\n, not printed."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


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
            "message": self.message,
        }


class IncidentError(InputError):
    """An incident file has one or more problems; the first is the message."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(str(problems[0]))
        self.problems = problems
