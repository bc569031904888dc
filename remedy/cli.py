"""The `remedy` command line: parse arguments, call the core, render the result.

Nothing here decides anything: the library modules do. Every expected error is a
`remedy.errors.RemedyError` and becomes one line on stderr with its exit code, in `main`.
Heavy modules (numpy, pydantic, yaml, jinja2, rich) are imported inside the commands that need
them, so `remedy --help` and scripts calling remedy in a loop start fast.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from remedy import __version__
from remedy.errors import ExitCode, GateError, RemedyError, UsageError

if TYPE_CHECKING:
    from remedy.incident import Incident


class RemedyGroup(TyperGroup):
    """Maps every failure to one line on stderr and an exit code, in one place.

    Overriding `invoke` (not `main`) means the mapping applies the same way under
    `typer.testing.CliRunner` as in the installed script.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except RemedyError as exc:
            _err(f"remedy: {exc.message}" if isinstance(exc, GateError) else exc.message)
            raise typer.Exit(exc.exit_code) from None
        except BrokenPipeError:
            # The reader went away (`remedy plan ... | head`): nothing more to say.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(ExitCode.OK) from None
        except Exception as exc:
            if STATE.debug:
                import traceback

                traceback.print_exc()
            else:
                _err(
                    f"remedy: internal error ({type(exc).__name__}: {exc}); this is a bug. "
                    "Run again with --debug to see the traceback, and please report it."
                )
            raise typer.Exit(ExitCode.INTERNAL) from None


app = typer.Typer(
    cls=RemedyGroup,
    name="remedy",
    help=(
        "Plan what to do for customers after a mistake: value them, score the remedies, "
        "draft the messages."
    ),
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class _State:
    debug = False


STATE = _State()


class CheckFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"


class PlanFormat(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"


class ClvFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class DraftsFormat(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    eml = "eml"


class LintFormat(str, Enum):
    text = "text"
    json = "json"


class TimeUnit(str, Enum):
    day = "day"
    week = "week"
    month = "month"


class BadRow(str, Enum):
    skip = "skip"
    fail = "fail"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"remedy {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show the traceback of internal errors."),
) -> None:
    """remedy: a remediation planner for the morning after a mistake."""
    STATE.debug = debug


# --- shared helpers --------------------------------------------------------------------------


def _err(message: str) -> None:
    sys.stderr.write(message.rstrip("\n") + "\n")


def _emit(text: str, output: Path | None, force: bool) -> None:
    """Write a result to stdout, or atomically to `output`."""
    if output is None or str(output) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from remedy.fileio import write_text_atomic

    write_text_atomic(output, text, force=force)
    _err(f"wrote {output}")


def _precheck_output(output: Path | None, force: bool) -> None:
    """Refuse to clobber before doing any work."""
    if output is not None and str(output) != "-":
        from remedy.fileio import check_writable

        check_writable(output, force)


def _json(data: Any) -> str:
    import json

    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _load(file: str) -> Incident:
    from remedy.load import load_incident

    return load_incident(file)


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    # Rich honours NO_COLOR and TERM=dumb itself; colour only on a terminal.
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


OUTPUT = typer.Option(None, "-o", "--output", help="Write the result to this file (atomic).")
FORCE = typer.Option(False, "--force", help="Replace an existing output file.")


# --- check -----------------------------------------------------------------------------------


def _incident_files(paths: list[str]) -> list[str]:
    files: list[str] = []
    for raw in paths:
        if raw == "-":
            files.append(raw)
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p
                for pattern in ("*.yaml", "*.yml")
                for p in path.rglob(pattern)
                if not any(part.startswith(".") for part in p.relative_to(path).parts[:-1])
            )
            files.extend(str(p) for p in found)
        elif path.exists():
            files.append(raw)
        else:
            raise UsageError(f"{raw}: no such file or folder")
    return files


@app.command()
def check(
    paths: list[str] = typer.Argument(
        ...,
        metavar="PATH...",
        help="Incident files or folders (searched for *.yaml, *.yml); - for stdin.",
    ),
    format: CheckFormat = typer.Option(
        CheckFormat.text, "--format", "-f", help="text, json or github annotations."
    ),
) -> None:
    """Validate incident files: exit 0 when all are valid, 1 when any is not.

    Example: remedy check incidents/
    """
    from remedy.errors import IncidentError, InputError, Location, Problem

    files = _incident_files(paths)
    if not files:
        raise UsageError(f"no *.yaml or *.yml files in {', '.join(paths)}")
    results: list[tuple[str, list[Problem]]] = []
    for file in files:
        try:
            _load(file)
            results.append((file, []))
        except IncidentError as exc:
            results.append((file, exc.problems))
        except InputError as exc:  # e.g. a file over the size limit
            message = exc.message.removeprefix(f"{file}: ")
            results.append((file, [Problem(Location(file), "", message)]))
    invalid = sum(1 for _, problems in results if problems)
    if format is CheckFormat.json:
        payload = {
            "schema_version": 1,
            "valid": invalid == 0,
            "files": [
                {"file": f, "valid": not p, "problems": [x.as_dict() for x in p]}
                for f, p in results
            ],
        }
        sys.stdout.write(_json(payload))
    else:
        for _, problems in results:
            for problem in problems:
                if format is CheckFormat.github:
                    loc = problem.location
                    text = f"{problem.key}: {problem.message}" if problem.key else problem.message
                    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
                    sys.stdout.write(
                        f"::error file={loc.path},line={loc.line or 1},col={loc.column or 1}::"
                        f"{text}\n"
                    )
                else:
                    sys.stdout.write(f"{problem}\n")
    ok = len(files) - invalid
    _err(
        f"{len(files)} file{'s' if len(files) != 1 else ''} checked: {ok} valid, {invalid} invalid"
    )
    if invalid:
        raise typer.Exit(ExitCode.INVALID_INPUT)


# --- schema ----------------------------------------------------------------------------------


@app.command()
def schema(output: Path | None = OUTPUT, force: bool = FORCE) -> None:
    """Print the JSON Schema (draft 2020-12) of the incident format.

    Example: remedy schema -o incident.schema.json
    """
    from remedy.schema import schema_text

    _precheck_output(output, force)
    _emit(schema_text(), output, force)


# --- new -------------------------------------------------------------------------------------


@app.command()
def new(
    path: Path = typer.Argument(Path("incident.yaml"), help="Where to write it; - for stdout."),
    kind: str | None = typer.Option(
        None,
        "--kind",
        help=(
            "pricing_error, late_delivery, not_fulfilled, lost_in_transit, billing_error, "
            "outage, quality_defect or other."
        ),
    ),
    customers: int | None = typer.Option(
        None, "--customers", min=1, help="How many customers were affected."
    ),
    order_value: str | None = typer.Option(
        None, "--order-value", help="What the average affected order paid, e.g. 49.95."
    ),
    title: str | None = typer.Option(None, "--title", help="One line saying what happened."),
    company: str | None = typer.Option(None, "--company", help="Your company's name."),
    sender: str | None = typer.Option(None, "--sender", help="Who signs the messages."),
    role: str | None = typer.Option(None, "--role", help="The signer's role, e.g. CEO."),
    email: str | None = typer.Option(None, "--email", help="A direct contact address."),
    no_input: bool = typer.Option(
        False, "--no-input", help="Never prompt; use defaults for what is not given."
    ),
    force: bool = FORCE,
) -> None:
    """Write a starter incident file, valid as written, to edit and plan.

    Prompts for what the flags do not give, only on a terminal.
    Example: remedy new outage.yaml --kind outage --customers 1200 --company Acme --no-input
    """
    from decimal import Decimal, InvalidOperation

    from remedy.incident import KINDS
    from remedy.starter import Starter, starter_text

    to_stdout = str(path) == "-"
    if not to_stdout:
        _precheck_output(path, force)
    interactive = not no_input and sys.stdin.isatty() and sys.stderr.isatty()
    defaults = Starter()

    def ask(value: Any, prompt: str, default: Any, kind_: type = str) -> Any:
        if value is not None or not interactive:
            return default if value is None else value
        return typer.prompt(prompt, default=default, type=kind_, err=True)

    kind = ask(kind, f"Kind ({', '.join(KINDS)})", defaults.kind)
    if kind not in KINDS:
        import difflib

        close = difflib.get_close_matches(kind, KINDS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f" (one of: {', '.join(KINDS)})"
        raise UsageError(f"--kind: '{kind}' is not a kind{hint}")
    title = ask(title, "Title (one line)", "")
    customers = ask(customers, "Customers affected", defaults.customers, int)
    order_value = ask(order_value, "Average order value", defaults.order_value)
    try:
        money = Decimal(str(order_value))
        if money < 0 or not money.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise UsageError(f"--order-value: '{order_value}' is not an amount (e.g. 49.95)") from None
    company = ask(company, "Company", defaults.company)
    sender = ask(sender, "Who signs the messages", defaults.sender_name)
    role = ask(role, "Their role", defaults.role)
    email = ask(email, "Contact email", defaults.email)
    starter = Starter(
        kind=kind,
        customers=int(customers),
        order_value=f"{money:.2f}",
        company=company,
        sender_name=sender,
        role=role,
        email=email,
        title=title,
    )
    text = starter_text(starter)
    # The starter must be valid as written: check it before handing it over.
    from remedy.load import load_incident

    load_incident(str(path) if not to_stdout else "-", text.encode("utf-8"))
    if to_stdout:
        sys.stdout.write(text)
        return
    from remedy.fileio import write_text_atomic

    write_text_atomic(path, text, force=force)
    _err(f"wrote {path}; edit it, then: remedy check {path} && remedy plan {path}")


# --- entry point -----------------------------------------------------------------------------


def main() -> None:
    """Run the CLI (the `remedy` console script and `python -m remedy`)."""
    app()
