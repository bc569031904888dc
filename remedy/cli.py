"""The `remedy` command line: parse arguments, call the core, render the result.

Nothing here decides anything: the library modules do. Every expected error is a
`remedy.errors.RemedyError` and becomes one line on stderr with its exit code, in `main`.
Heavy modules (numpy, pydantic, yaml, jinja2, rich) are imported inside the commands that need
them, so `remedy --help` and scripts calling remedy in a loop start fast.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from remedy import __version__
from remedy.errors import ExitCode, GateError, RemedyError, UsageError, one_line

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
        except KeyboardInterrupt:
            # Outputs are atomic, so nothing half-written is left; say so and exit 130.
            _err("remedy: interrupted; no output was written")
            raise typer.Exit(ExitCode.INTERRUPTED) from None
        except BrokenPipeError:
            # The reader went away (`remedy plan ... | head`): nothing more to say.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(ExitCode.OK) from None
        except UnicodeEncodeError:
            _err(
                "remedy: the output stream cannot encode the text "
                "(set PYTHONIOENCODING=utf-8 or a UTF-8 locale)"
            )
            raise typer.Exit(ExitCode.USAGE) from None
        except OSError as exc:
            # Disk full, permission denied, a vanished folder: the machine's problem, not a bug.
            where = f"{exc.filename}: " if exc.filename else ""
            _err(f"remedy: {where}{exc.strerror or exc}")
            raise typer.Exit(ExitCode.USAGE) from None
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
    html = "html"


class ExplainFormat(str, Enum):
    text = "text"
    json = "json"
    html = "html"


class ClvFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    html = "html"


class DraftsFormat(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    eml = "eml"


class LintFormat(str, Enum):
    text = "text"
    json = "json"


class LintChannel(str, Enum):
    email = "email"
    sms = "sms"
    phone = "phone"
    post = "post"


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
    """One line on stderr: at most 300 characters, control characters escaped."""
    sys.stderr.write(one_line(message.rstrip("\n")) + "\n")


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


def _load(file: str, allow_outside: list[str] | None = None) -> Incident:
    from remedy.fileio import allowed_folders
    from remedy.load import load_incident

    return load_incident(file, allow_outside=allowed_folders(allow_outside or ()))


def _need_matplotlib() -> None:
    """-f html draws its charts with matplotlib: say so at once when it is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError(
            "-f html needs matplotlib, which this installation lacks (pip install matplotlib)"
        ) from None


def _html_reports() -> Any:
    """`remedy.report_html` (matplotlib and Jinja2 come with it: imported only for -f html)."""
    _need_matplotlib()
    import remedy.report_html

    return remedy.report_html


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    # Colour only on a terminal. Rich drops colour for NO_COLOR but keeps bold and underline;
    # NO_COLOR and TERM=dumb mean no escape codes at all.
    plain = bool(os.environ.get("NO_COLOR")) or os.environ.get("TERM") == "dumb"
    if plain:
        return Console(stderr=stderr, highlight=False, soft_wrap=False, color_system=None)
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


OUTPUT = typer.Option(None, "-o", "--output", help="Write the result to this file (atomic).")
ALLOW_OUTSIDE = typer.Option(
    None,
    "--allow-outside",
    metavar="DIR",
    help=(
        "Let the incident name files in DIR, outside its own folder (repeatable; "
        "also REMEDY_ALLOW_OUTSIDE)."
    ),
)
FORCE = typer.Option(False, "--force", help="Replace an existing output file.")


# --- check -----------------------------------------------------------------------------------


def _incident_files(
    paths: list[str], allowed: tuple[Path, ...] = ()
) -> tuple[list[str], dict[str, str]]:
    """The incident files to check, and those found in a folder that are refused (with why):
    a symbolic link leading out of the folder searched, which a pull request could add to
    make CI read any file as an incident."""
    from remedy.fileio import outside_reason

    files: list[str] = []
    refused: dict[str, str] = {}
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
                if p.is_file()  # not a folder named x.yaml, not a broken link
                and not any(part.startswith(".") for part in p.relative_to(path).parts[:-1])
            )
            files.extend(str(p) for p in found)
            for p in found:
                if p.is_symlink() and outside_reason(p.relative_to(path), path, allowed):
                    refused[str(p)] = (
                        f"is a symbolic link to a file outside {raw} (not read; name it on the "
                        "command line, or pass --allow-outside DIR)"
                    )
        elif path.exists():
            files.append(raw)
        else:
            raise UsageError(f"{raw}: no such file or folder")
    return files, refused


def _model_problems(file: str, incident: Incident) -> list[Any]:
    """What `plan` would refuse in a file that parses: `check` must not pass what `plan` fails."""
    from remedy.errors import InputError, Location, Problem
    from remedy.history import with_customer_count
    from remedy.score import build_model

    where = Location("<stdin>" if file == "-" else file)
    problems = []
    refs = incident.customers
    for key, path in (
        ("customers.file", None if refs is None else refs.file),
        ("customers.orders", None if refs is None else refs.orders),
    ):
        if path is None:
            continue
        if not os.path.lexists(path):
            problems.append(Problem(where, key, f"{path} does not exist (fix the path)"))
            continue
        # The same strict readers as plan, drafts and clv, over the whole file: a file that
        # passes check also drafts and values.
        try:
            _read_through(key, path, incident.currency)
        except (InputError, UsageError) as exc:
            problems.append(Problem(where, key, exc.message))
    if problems:
        return problems
    if refs is not None and refs.orders is not None:
        return []  # CLV comes from the history at plan time; fitting it here would be slow
    try:
        build_model(with_customer_count(incident))
    except InputError as exc:
        problems.append(Problem(where, "", exc.message))
    return problems


def _read_through(key: str, path: Path, currency: str) -> None:
    """Read a file an incident names with the reader that plan, drafts or clv would use."""
    if key == "customers.file":
        from remedy.customers import CustomerReader

        for _ in CustomerReader(path, currency=currency):
            pass
        return
    from remedy.fileio import ORDERS_MAX_BYTES, max_bytes, read_bytes
    from remedy.orders import read_orders

    read_orders(path, read_bytes(path, max_bytes(ORDERS_MAX_BYTES), regular_only=True))


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
    allow_outside: list[str] | None = ALLOW_OUTSIDE,
) -> None:
    """Validate incident files: exit 0 when all are valid, 1 when any is not.

    Example: remedy check incidents/
    """
    from remedy.errors import IncidentError, InputError, Location, Problem
    from remedy.fileio import allowed_folders
    from remedy.load import load_incident

    allowed = allowed_folders(allow_outside or ())
    files, refused = _incident_files(paths, allowed)
    if not files:
        raise UsageError(f"no *.yaml or *.yml files in {', '.join(paths)}")
    results: list[tuple[str, list[Problem]]] = []
    warnings: dict[str, list[Problem]] = {}
    for file in files:
        if file in refused:
            results.append((file, [Problem(Location(file), "", refused[file])]))
            continue
        try:
            incident = load_incident(file, allow_outside=allowed)
            results.append((file, _model_problems(file, incident)))
            warnings[file] = _placeholder_warnings(file, incident)
        except IncidentError as exc:
            results.append((file, exc.problems))
        except (InputError, UsageError) as exc:  # over the size limit, unreadable
            message = exc.message.removeprefix(f"{file}: ")
            results.append((file, [Problem(Location(file), "", message)]))
    invalid = sum(1 for _, problems in results if problems)
    if format is CheckFormat.json:
        payload = {
            "schema_version": 1,
            "valid": invalid == 0,
            "files": [
                {
                    "file": f,
                    "valid": not p,
                    "problems": [x.as_dict() for x in p],
                    "warnings": [x.as_dict() for x in warnings.get(f, [])],
                }
                for f, p in results
            ],
        }
        sys.stdout.write(_json(payload))
    else:
        for file, problems in results:
            flagged = [("error", problem) for problem in problems]
            flagged += [("warning", warning) for warning in warnings.get(file, [])]
            for level, problem in flagged:
                if format is CheckFormat.github:
                    loc = problem.location
                    text = f"{problem.key}: {problem.message}" if problem.key else problem.message
                    text = one_line(text).replace("%", "%25")
                    sys.stdout.write(
                        f"::{level} file={loc.path},line={loc.line or 1},col={loc.column or 1}::"
                        f"{text}\n"
                    )
                elif level == "warning":
                    sys.stdout.write(
                        f"{problem.location}: warning: {problem.key}: {problem.message}\n"
                    )
                else:
                    sys.stdout.write(f"{problem}\n")
    ok = len(files) - invalid
    warned = sum(1 for file, problems in results if warnings.get(file) and not problems)
    _err(
        f"{len(files)} file{'s' if len(files) != 1 else ''} checked: {ok} valid, {invalid} invalid"
        + (f" ({warned} with warnings)" if warned else "")
    )
    if invalid:
        raise typer.Exit(ExitCode.INVALID_INPUT)


def _placeholder_warnings(file: str, incident: Incident) -> list[Any]:
    """Fields that still hold the starter's placeholder text (`remedy new`), located in the file
    when it can be read again (not for stdin)."""
    from remedy.errors import Location, Problem
    from remedy.starter import placeholders

    found = placeholders(incident)
    if not found:
        return []
    from remedy.errors import RemedyError
    from remedy.fileio import max_bytes, read_bytes
    from remedy.load import MAX_BYTES

    lines: list[str] = []
    if file != "-":
        try:  # the file was just read and validated: read it again, within the same limits
            data = read_bytes(file, max_bytes(MAX_BYTES), regular_only=True)
            lines = data.decode("utf-8-sig").splitlines()
        except (RemedyError, OSError, UnicodeDecodeError):
            lines = []
    out = []
    for key, text in found:
        line = column = 0
        for number, content in enumerate(lines, 1):
            at = content.find(text)
            if at >= 0:
                line, column = number, at + 1
                break
        out.append(
            Problem(
                Location("<stdin>" if file == "-" else file, line, column),
                key,
                f"still holds the starter's placeholder '{text}' (replace it: remedy drafts "
                "refuses to send it to customers)",
            )
        )
    return out


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


_NEW_FLAGS = {
    "id": "--title",
    "title": "--title",
    "affected.customers": "--customers",
    "affected.order_value": "--order-value",
    "sender.name": "--sender",
    "sender.role": "--role",
    "sender.company": "--company",
    "sender.email": "--email",
}


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
        if money < 0 or not money.is_finite() or money != money.quantize(Decimal("0.01")):
            raise InvalidOperation
    except InvalidOperation:
        raise UsageError(
            f"--order-value: '{order_value}' is not an amount in dollars and cents (e.g. 49.95)"
        ) from None
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
    text = starter_text(starter, None if to_stdout else str(path))
    # The starter must be valid as written: check it before handing it over, and blame the
    # flag (not the generated file) for what is wrong.
    from remedy.errors import IncidentError
    from remedy.load import load_incident

    try:
        load_incident("new.yaml", text.encode("utf-8"))
    except IncidentError as exc:
        problem = exc.problems[0]
        flag = _NEW_FLAGS.get(problem.key, "--title")
        raise UsageError(f"{flag}: {problem.message}") from None
    if to_stdout:
        sys.stdout.write(text)
        return
    from remedy.fileio import write_text_atomic

    write_text_atomic(path, text, force=force)
    _err(f"wrote {path}; edit it, then: remedy check {path} && remedy plan {path}")


# --- plan ------------------------------------------------------------------------------------

DRAWS = typer.Option(10_000, "--draws", min=100, max=1_000_000, help="Monte Carlo draws.")
SEED = typer.Option(0, "--seed", help="Random seed: same file and seed, same output.")
TEMPLATES = typer.Option(
    None, "--templates", help="Folder of templates overriding the built-in ones by file name."
)


def _planned(incident: Incident, draws: int, seed: int, file: str) -> Any:
    """The plan run for an incident (`remedy.plan.plan_incident`), naming the file in errors."""
    from remedy.plan import plan_incident

    with _about(file):
        return plan_incident(incident, draws=draws, seed=seed, progress=_stage_reporter("clv"))


@contextlib.contextmanager
def _about(file: str) -> Iterator[None]:
    """Name the incident file in model-level errors that do not name a file themselves."""
    from remedy.errors import InputError

    try:
        yield
    except InputError as exc:
        name = "<stdin>" if file == "-" else file
        if exc.message.startswith((name, "/")) or re.match(r"^[^\s:]+:\d+", exc.message):
            raise
        raise InputError(f"{name}: {exc.message}") from None


@app.command()
def plan(
    file: str = typer.Argument(..., metavar="FILE", help="Incident file; - for stdin."),
    format: PlanFormat = typer.Option(
        PlanFormat.table,
        "--format",
        "-f",
        help="table, json, markdown or html (a page with charts).",
    ),
    draws: int = DRAWS,
    seed: int = SEED,
    max_cost: float | None = typer.Option(
        None, "--max-cost", min=0, help="Gate: exit 3 if the plan costs more than this."
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Gate: exit 3 if the plan cannot keep within the budget."
    ),
    templates: Path | None = TEMPLATES,
    allow_outside: list[str] | None = ALLOW_OUTSIDE,
    output: Path | None = OUTPUT,
    force: bool = FORCE,
) -> None:
    """Score the remedies and print the recommended plan, with draft messages.

    Example: remedy plan incidents/6pm-price-cap.yaml --format json
    """
    _precheck_output(output, force)
    incident = _load(file, allow_outside)
    _warn_missing_customers(incident, file)
    run = _planned(incident, draws, seed, file)
    result = run.plan
    from remedy.drafts import draft_messages

    notes: list[str] = []
    messages = draft_messages(incident, result.offers, templates_dir=templates, warnings=notes)
    _warn_weak_drafts(messages)
    from remedy.drafts import not_ready_to_send

    blockers = not_ready_to_send(incident)
    for note in [blockers, *notes] if blockers else notes:
        _err(f"warning: drafts: {note}")
    if format is PlanFormat.json:
        from remedy.report import plan_to_json

        _emit(_json(plan_to_json(result, messages)), output, force)
    elif format is PlanFormat.markdown:
        from remedy.report import plan_to_markdown

        _emit(plan_to_markdown(result, messages), output, force)
    elif format is PlanFormat.html:
        page = _html_reports().plan_to_html(
            result, messages, incident=run.incident, clv_by_customer=run.clv_by_customer
        )
        _emit(page, output, force)
    else:
        _emit_table(result, messages, output, force)
    _gates(result, max_cost, strict)


def _warn_missing_customers(incident: Incident, file: str) -> None:
    """The plan needs no customers file when the count is given; the mail merge does."""
    refs = incident.customers
    if refs is None or refs.file is None or incident.affected.customers is None:
        return  # without a count, reading the file fails with its own message
    if not os.path.lexists(refs.file):
        name = "<stdin>" if file == "-" else file
        _err(
            f"warning: {name}: customers.file: {refs.file} does not exist; planned without "
            "it, but `remedy drafts` cannot write messages until it does"
        )


def _warn_weak_drafts(messages: Any) -> None:
    """Say which drafts fail the apology check (built-in ones should not; a user's may)."""
    for message in messages:
        if not message.checks.ok:
            first = message.checks.to_text().splitlines()
            detail = "; ".join(line.strip() for line in first[1:3])
            _err(f"warning: the {message.segment} {message.channel} draft needs work: {detail}")


def _emit_table(result: Any, messages: Any, output: Path | None, force: bool) -> None:
    from remedy.tables import render_plan

    if output is None or str(output) == "-":
        render_plan(result, messages, _console())
        return
    import io

    from rich.console import Console

    buffer = io.StringIO()
    render_plan(result, messages, Console(file=buffer, width=100, no_color=True))
    _emit(buffer.getvalue(), output, force)


def _gates(result: Any, max_cost: float | None, strict: bool) -> None:
    from remedy.customers import minor_units
    from remedy.money import format_money

    # The plan's cost as it is reported (to the currency's minor unit), so a limit equal to
    # the printed total passes and one cent under it fails.
    cost = round(result.total_cost, minor_units(result.currency))
    if max_cost is not None and cost > max_cost + 1e-9:
        raise GateError(
            f"gate failed: the plan costs {format_money(result.total_cost, result.currency)}, "
            f"more than --max-cost {format_money(max_cost, result.currency)}"
        )
    if strict and result.budget is not None and cost > result.budget + 1e-9:
        raise GateError(
            f"gate failed (--strict): the plan costs "
            f"{format_money(result.total_cost, result.currency)}, over the budget of "
            f"{format_money(result.budget, result.currency)} (its obligations alone exceed it)"
        )


@app.command()
def explain(
    file: str = typer.Argument(..., metavar="FILE", help="Incident file; - for stdin."),
    option: str = typer.Argument(..., metavar="OPTION", help="Option id, e.g. honor or refund."),
    format: ExplainFormat = typer.Option(
        ExplainFormat.text, "--format", "-f", help="text, json or html (a page)."
    ),
    draws: int = DRAWS,
    seed: int = SEED,
    allow_outside: list[str] | None = ALLOW_OUTSIDE,
    output: Path | None = OUTPUT,
    force: bool = FORCE,
) -> None:
    """Show the arithmetic behind one option's score, with every input and its source.

    Example: remedy explain incidents/6pm-price-cap.yaml honor
    """
    _precheck_output(output, force)
    incident = _load(file, allow_outside)
    with _about(file):
        explanation, valued = _explain(incident, option, draws, seed)
    if format is ExplainFormat.json:
        _emit(_json(explanation.to_json()), output, force)
    elif format is ExplainFormat.html:
        reports = _html_reports()
        views = reports.clv_views_of(valued.incident, valued.clv_override, valued.clv_by_customer)
        _emit(reports.explanation_to_html(explanation, views), output, force)
    else:
        _emit(explanation.to_text(), output, force)


def _explain(incident: Incident, option: str, draws: int, seed: int) -> Any:
    from remedy.explain import explain_option
    from remedy.plan import value_incident

    valued = value_incident(incident, progress=_stage_reporter("clv"))
    explanation = explain_option(
        valued.incident,
        option,
        draws=draws,
        seed=seed,
        clv_override=valued.clv_override,
        notes=valued.notes,
    )
    return explanation, valued


# --- drafts and lint -------------------------------------------------------------------------


@app.command()
def drafts(
    file: str = typer.Argument(..., metavar="FILE", help="Incident file with customers.file."),
    out: Path = typer.Option(
        ...,
        "--out",
        "-o",
        "--output",
        help="Output file (jsonl, csv) or folder (eml); - for stdout (jsonl, csv).",
    ),
    format: DraftsFormat = typer.Option(
        DraftsFormat.jsonl, "--format", "-f", help="jsonl, csv or eml (a folder of emails)."
    ),
    limit: int | None = typer.Option(None, "--limit", min=0, help="Stop after N messages."),
    on_bad_row: BadRow = typer.Option(
        BadRow.fail, "--on-bad-row", help="fail (default) or skip rows with a bad email or amount."
    ),
    holdout: float | None = typer.Option(
        None,
        "--holdout",
        metavar="SHARE",
        help="Hold out this share of the customers (0 to 0.5, stratified by segment, drawn "
        "with --seed): they get the obligations and the apology only. Needs --assignments.",
    ),
    assignments: Path | None = typer.Option(
        None,
        "--assignments",
        metavar="PATH",
        help="Write each customer's arm here (CSV, atomic), for remedy review.",
    ),
    templates: Path | None = TEMPLATES,
    draws: int = DRAWS,
    seed: int = SEED,
    allow_outside: list[str] | None = ALLOW_OUTSIDE,
    force: bool = FORCE,
) -> None:
    """Write one message per customer and channel of their plan (mail merge).

    Example: remedy drafts incident.yaml --out messages.jsonl
    Holdout: remedy drafts incident.yaml --out m.jsonl --holdout 0.1 --assignments arms.csv
    """
    from remedy.mailmerge import merge

    incident = _load(file, allow_outside)
    if incident.customers is None or incident.customers.file is None:
        raise UsageError(
            f"{file}: no customers file (add 'customers: {{file: affected.csv}}' to the incident)"
        )
    from remedy.drafts import not_ready_to_send
    from remedy.errors import InputError

    blockers = not_ready_to_send(incident)
    if blockers:
        name = "<stdin>" if file == "-" else file
        raise InputError(f"{name}: refusing to draft messages for customers: {blockers}")
    if str(out) == "-" and format is DraftsFormat.eml:
        raise UsageError("--out -: eml writes a folder of files; give a folder name")
    if holdout is not None:
        from remedy.holdouts import check_share

        check_share(holdout)
        if assignments is None:
            raise UsageError(
                "--holdout needs --assignments PATH: without the assignment remedy review "
                "cannot tell the arms apart, and the holdout would withhold remedies for nothing"
            )
    if assignments is not None:
        if str(assignments) == "-":
            raise UsageError("--assignments: give a file name (the messages may use stdout)")
        _precheck_output(assignments, force)
    if str(out) != "-" and format is not DraftsFormat.eml:
        _precheck_output(out, force)
    run = _planned(incident, draws, seed, file)
    draw = None
    if assignments is not None:
        from remedy.holdouts import HoldoutDraw, nothing_to_withhold

        offers, floors = run.plan.offers, run.plan.floor_offers
        if holdout and nothing_to_withhold(offers, floors):
            raise UsageError(
                "--holdout: the plan is the obligation floor in every segment, so a holdout "
                "would withhold nothing and measure nothing (leave --holdout out)"
            )
        draw = HoldoutDraw(holdout or 0.0, seed, incident.id, [o.segment for o in offers])
    report = merge(
        incident,
        run.plan.offers,
        incident.customers.file,
        out,
        format.value,
        limit=limit,
        force=force,
        on_bad_row=on_bad_row.value,
        templates_dir=templates,
        progress=_progress_bar("drafts"),
        clv_by_id=run.clv_by_customer,
        floor_offers=run.plan.floor_offers,
        holdout=draw,
    )
    if draw is not None and assignments is not None:
        rows = draw.write_assignments(assignments, force)
        for line in draw.summary(run.plan.offers, run.plan.floor_offers):
            _err(line)
        _err(f"wrote {assignments} ({rows:,} customers)")
    for bad in report.bad_rows:
        _err(f"skipped {bad.located(incident.customers.file)}")
    for note in report.warnings:
        _err(f"warning: drafts: {note}")
    for segment, channel, check in report.failed_checks:
        _err(f"warning: {segment} {channel} draft: {check.to_text().splitlines()[0]}")
    if report.limited:
        _err(f"{report.messages} messages (stopped at --limit {limit}) -> {out}")
    else:
        _err(f"{report.messages} messages for {report.customers} customers -> {out}")


def _progress_bar(label: str) -> Any:
    """A progress callback (done, total) drawing a bar on stderr, only on a terminal."""
    if not sys.stderr.isatty():
        return None
    width = 30

    def report(done: int, total: int) -> None:
        share = min(1.0, done / total) if total else 1.0
        filled = int(share * width)
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {share:4.0%}")
        if share >= 1.0:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return report


@app.command()
def lint(
    message_file: str = typer.Argument(
        ..., metavar="MESSAGE_FILE", help="A message you wrote (plain text); - for stdin."
    ),
    prevention: bool = typer.Option(
        False, "--prevention", help="The incident names a prevention step: require one."
    ),
    channel: LintChannel = typer.Option(
        LintChannel.email,
        "--channel",
        "-c",
        help="email, sms, phone or post: decides what the message must contain.",
    ),
    format: LintFormat = typer.Option(LintFormat.text, "--format", "-f", help="text or json."),
) -> None:
    """Check an apology you wrote: what it has, what it lacks, and hedges that weaken it.

    Exit 0 when it passes, 1 when it needs work (a required component missing, or a hedge).
    Example: remedy lint my-email.txt --channel email
    """
    from remedy.apology import lint_text
    from remedy.errors import InputError
    from remedy.fileio import max_bytes, read_bytes

    raw = read_bytes(message_file, max_bytes(1024 * 1024))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{message_file}: is not UTF-8 text (save it as UTF-8)") from None
    check_result = lint_text(text, prevention_given=prevention, channel=channel.value)
    name = "<stdin>" if message_file == "-" else message_file
    if format is LintFormat.json:
        sys.stdout.write(_json({"schema_version": 1, "file": name, **check_result.as_dict()}))
    else:
        sys.stdout.write(check_result.to_text(name).rstrip("\n") + "\n")
    if not check_result.ok:
        raise typer.Exit(ExitCode.INVALID_INPUT)


# --- clv -------------------------------------------------------------------------------------


def _stage_reporter(label: str) -> Any:
    """A stage callback for long work: one status line per stage on stderr, on a terminal."""
    if not sys.stderr.isatty():
        return None

    def report(stage: str) -> None:
        sys.stderr.write(f"{label}: {stage}...\n")
        sys.stderr.flush()

    return report


def _parse_date(value: str | None, flag: str) -> Any:
    if value is None:
        return None
    import datetime as dt

    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{flag}: '{value}' is not a date (use YYYY-MM-DD)") from None


@app.command()
def clv(
    orders: str = typer.Argument(
        ...,
        metavar="ORDERS",
        help="Order history: CSV (- for stdin), .csv.gz or .parquet; with --summary, a summary.",
    ),
    customer_col: str | None = typer.Option(
        None, "--customer-col", help="Customer id column (default: customer_id or an alias)."
    ),
    date_col: str | None = typer.Option(
        None, "--date-col", help="Order date column, YYYY-MM-DD (default: date or an alias)."
    ),
    amount_col: str | None = typer.Option(
        None, "--amount-col", help="Order amount column (default: amount or an alias)."
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="End of observation, YYYY-MM-DD (default: the last order date)."
    ),
    time_unit: TimeUnit = typer.Option(TimeUnit.week, "--time-unit", help="day, week or month."),
    horizon: float | None = typer.Option(
        None, "--horizon", min=0, help="CLV horizon in time units (default: one year)."
    ),
    discount_rate: float = typer.Option(
        0.10, "--discount-rate", min=0, max=1, help="Annual discount rate for CLV."
    ),
    gross_margin: float | None = typer.Option(
        None, "--gross-margin", min=0, max=1, help="Margin: CLV in margin, not revenue."
    ),
    summary: bool = typer.Option(
        False,
        "--summary",
        help="ORDERS is a per-customer summary: customer_id, frequency, recency, T, "
        "monetary_value (recency and T in --time-unit).",
    ),
    holdout_from: str | None = typer.Option(
        None,
        "--holdout-from",
        help="Fit on orders before this date and compare predicted with actual purchases "
        "from it to --as-of.",
    ),
    predict: float | None = typer.Option(
        None,
        "--predict",
        min=0,
        help="Window for expected_purchases, in time units (default: the horizon).",
    ),
    format: ClvFormat = typer.Option(
        ClvFormat.table,
        "--format",
        "-f",
        help="table (summary), json (summary), csv (rows), html (a page with charts).",
    ),
    output: Path | None = OUTPUT,
    force: bool = FORCE,
) -> None:
    """Estimate customer lifetime value from an order history (BG/NBD + Gamma-Gamma).

    Example: remedy clv orders.csv --time-unit week --format json
    """
    from remedy.clv import ClvOptions, estimate_clv

    _precheck_output(output, force)
    options = ClvOptions(
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        as_of=_parse_date(as_of, "--as-of"),
        time_unit=time_unit.value,
        horizon=horizon,
        discount_rate=discount_rate,
        gross_margin=gross_margin,
        summary=summary,
        holdout_from=_parse_date(holdout_from, "--holdout-from"),
        predict=predict,
    )
    if summary and holdout_from is not None:
        raise UsageError("--holdout-from needs an order history, not a --summary")
    data = None
    if orders == "-":
        from remedy.orders import PRECISE_LIMIT

        # Standard input is read into memory, so it is bounded; a file is read out of core.
        data = sys.stdin.buffer.read(PRECISE_LIMIT + 1)
        if len(data) > PRECISE_LIMIT:
            raise UsageError(
                f"<stdin>: more than {PRECISE_LIMIT // 2**20} MiB on standard input; give the "
                "file's path instead, so it is read out of core"
            )
    result = estimate_clv(
        "<stdin>" if orders == "-" else orders,
        data=data,
        options=options,
        progress=_stage_reporter("clv"),
    )
    if format is not ClvFormat.table:  # the table report lists them itself
        for warning in result.warnings:
            _err(f"warning: {warning}")
    if format is ClvFormat.json:
        import json

        # Strict JSON: to_json() holds no NaN or Infinity, and allow_nan=False makes sure.
        text = json.dumps(result.to_json(), indent=2, ensure_ascii=False, allow_nan=False)
        _emit(text + "\n", output, force)
    elif format is ClvFormat.csv:
        _emit_rows_csv(result.iter_rows(), output, force)
    elif format is ClvFormat.html:
        _emit(_html_reports().clv_to_html(result), output, force)
    else:
        width = _console().width if sys.stdout.isatty() else 80
        _emit(result.text_report(width=width), output, force)


def _emit_rows_csv(rows: Any, output: Path | None, force: bool) -> None:
    """Stream CSV rows (one per customer: a million for a large export) to stdout or,
    atomically, to `output`, without holding the whole text in memory."""
    if output is None or str(output) == "-":
        _write_rows_csv(rows, sys.stdout)
        sys.stdout.flush()
        return
    from remedy.fileio import atomic_writer

    with atomic_writer(output, force=force) as stream:
        _write_rows_csv(rows, stream)
    _err(f"wrote {output}")


def _write_rows_csv(rows: Any, stream: Any) -> None:
    import csv

    from remedy.mailmerge import neutralise

    writer: Any = None
    for row in rows:
        if writer is None:
            writer = csv.DictWriter(stream, fieldnames=list(row), lineterminator="\n")
            writer.writeheader()
        writer.writerow({k: neutralise(v) if isinstance(v, str) else v for k, v in row.items()})


# --- review ----------------------------------------------------------------------------------


class ReviewFormat(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"
    html = "html"


@app.command()
def review(
    file: str = typer.Argument(..., metavar="FILE", help="Incident file (with occurred_on)."),
    orders: str | None = typer.Option(
        None,
        "--orders",
        metavar="ORDERS",
        help="Order history through --as-of: CSV, .csv.gz or .parquet (default: the "
        "incident's customers.orders).",
    ),
    assignments: Path | None = typer.Option(
        None,
        "--assignments",
        metavar="PATH",
        help="The arms written by drafts --holdout: measures the remedy's recovery.",
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="End of the window, YYYY-MM-DD (default: the last order date)."
    ),
    format: ReviewFormat = typer.Option(
        ReviewFormat.table,
        "--format",
        "-f",
        help="table, json, markdown or html (a page with a chart).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap: same seed, same output."),
    replicates: int = typer.Option(
        2000, "--replicates", min=200, max=100_000, help="Bootstrap replicates."
    ),
    write_assumptions: Path | None = typer.Option(
        None,
        "--write-assumptions",
        metavar="PATH",
        help="Write the calibrated delta and recovery as YAML for the next incident file.",
    ),
    customer_col: str | None = typer.Option(
        None, "--customer-col", help="Customer id column (default: customer_id or an alias)."
    ),
    date_col: str | None = typer.Option(
        None, "--date-col", help="Order date column (default: date or an alias)."
    ),
    amount_col: str | None = typer.Option(
        None, "--amount-col", help="Order amount column (default: amount or an alias)."
    ),
    allow_outside: list[str] | None = ALLOW_OUTSIDE,
    output: Path | None = OUTPUT,
    force: bool = FORCE,
) -> None:
    """After the incident: what it cost in purchases, and what the remedy won back.

    Example: remedy review incident.yaml --orders orders.csv --assignments arms.csv
    """
    from remedy.errors import InputError

    _precheck_output(output, force)
    if write_assumptions is not None:
        _precheck_output(write_assumptions, force)
    when = _parse_date(as_of, "--as-of")
    if format is ReviewFormat.html:
        _need_matplotlib()  # before the fit and the bootstrap, not after
    incident = _load(file, allow_outside)
    name = "<stdin>" if file == "-" else file
    if orders is None:
        refs = incident.customers
        if refs is None or refs.orders is None:
            raise UsageError(
                f"{name}: no order history: give --orders ORDERS (or customers.orders in the "
                "incident)"
            )
        orders = str(refs.orders)
    if orders == "-":
        raise UsageError("--orders: give the order history's path (it is read more than once)")
    if assignments is not None and not assignments.is_file():
        raise UsageError(f"--assignments: {assignments}: no such file")
    from remedy.review import RENDERERS, assumptions_yaml, review_incident

    plan = None
    try:
        with _about(file):
            plan = _planned(incident, 10_000, 0, file).plan
    except InputError as exc:
        _err(f"warning: the plan's cost is left out: {exc.message}")
    result = review_incident(
        incident,
        orders,
        assignments=assignments,
        as_of=when,
        columns=(customer_col, date_col, amount_col),
        seed=seed,
        replicates=replicates,
        plan=plan,
        incident_name=name,
        progress=_stage_reporter("review"),
    )
    for warning in result.warnings:
        _err(f"warning: {warning}")
    if format is ReviewFormat.json:
        import json

        text = json.dumps(result.to_json(), indent=2, ensure_ascii=False, allow_nan=False)
        _emit(text + "\n", output, force)
    else:
        _emit(RENDERERS[format.value](result), output, force)
    if write_assumptions is not None:
        from remedy.fileio import write_text_atomic

        write_text_atomic(write_assumptions, assumptions_yaml(result), force=force)
        _err(f"wrote {write_assumptions}")


# --- entry point -----------------------------------------------------------------------------


def main() -> None:
    """Run the CLI (the `remedy` console script and `python -m remedy`)."""
    # remedy's matrices are small: one BLAS thread is as fast, and on a busy machine (a CI
    # runner, a shared box) BLAS threads that spin waiting for a core made plans several times
    # slower. Set before numpy is imported; an explicit setting in the environment wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    app()
