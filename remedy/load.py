"""Loading an incident file: strict YAML in, a validated `Incident` out, or one clear line.

PyYAML's composer is recursive and its constructors guess types the YAML 1.1 way (`yes` is
true, `012` is octal 10). We read the event stream instead, with PyYAML's safe parser, and build
plain Python data ourselves, iteratively, recording the line and column of every key and value.
That lets us refuse what a careful reader should refuse (duplicate keys, ambiguous scalars, tags,
several documents, deep nesting, alias bombs) and point every error at `file:line:col`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from remedy.errors import IncidentError, Location, Problem, excerpt, printable
from remedy.fileio import max_bytes, read_bytes

if TYPE_CHECKING:
    from pydantic import ValidationError
    from pydantic_core import ErrorDetails

    from remedy.incident import Incident

MAX_BYTES = 5 * 1024 * 1024  # override with REMEDY_MAX_BYTES
MAX_DEPTH = 32
MAX_NODES = 100_000  # after alias expansion: a "billion laughs" file stops here

Path_ = tuple[str | int, ...]

_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}

_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$")
_FLOAT = re.compile(
    r"^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]+(?:[eE][-+]?[0-9]+)?$|^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$|^[-+]?[0-9][0-9_]*\.$"
)
_OCTAL_LIKE = re.compile(r"^[-+]?0[0-9_]+$")
_OTHER_INT = re.compile(
    r"^[-+]?0[xXoObB][0-9a-fA-F_]+$|^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$"
)
_DATE = re.compile(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$")
_TIMESTAMP = re.compile(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}")
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_YAML11_BOOLS = {"yes", "no", "on", "off", "y", "n"}
_NULLS = {"", "~", "null", "Null", "NULL"}
_INF_NAN = re.compile(r"^[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)$")


@dataclass
class Document:
    """Plain data read from YAML, with the location of every key and value by key path."""

    source: str
    data: Any
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: Path_, key: bool = False) -> Location:
        """The location of the value (or key) at `path`, else of its nearest ancestor."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while True:
            if probe in table:
                line, col = table[probe]
                return Location(self.source, line, col)
            if probe in self.values:
                line, col = self.values[probe]
                return Location(self.source, line, col)
            if not probe:
                return Location(self.source, 1, 1)
            probe = probe[:-1]


def _error(source: str, line: int, col: int, key: str, message: str) -> IncidentError:
    return IncidentError([Problem(Location(source, line, col), key, message)])


def _short(value: object, limit: int = 40) -> str:
    """A value from the file as short, printable text for a message (never the whole of a
    megabyte scalar)."""
    text = str(value)
    return printable(text if len(text) <= limit else text[: limit - 3] + "...")


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + _short(part)
    return out


def decode(source: str, data: bytes) -> str:
    """UTF-8 text (a byte-order mark is allowed), or an error at the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise _error(
            source,
            line,
            col,
            "",
            f"byte 0x{data[exc.start]:02x} is not UTF-8 (save the file as UTF-8)",
        ) from None


def _scalar(source: str, event: Any, path: Path_) -> Any:
    """Type one scalar by the YAML 1.2 core rules, refusing YAML 1.1 surprises."""
    value: str = event.value
    line, col = event.start_mark.line + 1, event.start_mark.column + 1
    key = _dotted(path)
    tag = event.tag
    if tag not in (None, "!") and tag not in _STANDARD_TAGS:
        raise _error(source, line, col, key, f"tag {_short(tag, 80)} is not allowed (remove it)")
    quoted = bool(event.style)  # plain scalars have no style ("" or None); quoted or block: text
    if tag == "tag:yaml.org,2002:str" or (quoted and tag is None) or tag == "!":
        return value
    if value in _NULLS:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if value in _YAML11_BOOLS or value.lower() in _YAML11_BOOLS:
        raise _error(
            source,
            line,
            col,
            key,
            f"'{value}' is ambiguous in YAML (write true or false, or quote it: \"{value}\")",
        )
    if _OCTAL_LIKE.match(value):
        raise _error(
            source,
            line,
            col,
            key,
            f"{_short(value)} has a leading zero, which YAML reads as octal (quote it: "
            f'"{_short(value)}")',
        )
    if _OTHER_INT.match(value):
        raise _error(
            source,
            line,
            col,
            key,
            f"'{_short(value)}' is read as a hex, octal or base-60 number by YAML (quote it or "
            "write "
            "plain digits)",
        )
    if _INF_NAN.match(value):
        raise _error(
            source, line, col, key, f"{_short(value)} is not a finite number (write a number)"
        )
    if _INT.match(value):
        return int(value.replace("_", ""))
    if _FLOAT.match(value):
        try:
            # Decimal keeps money exact: 49.95 stays 49.95, never 49.949999...
            return Decimal(value.replace("_", ""))
        except InvalidOperation:  # pragma: no cover - the regex admits only valid numbers
            return value
    if _DATE.match(value):
        try:
            return dt.date.fromisoformat(
                "-".join(p.zfill(2) if i else p for i, p in enumerate(value.split("-")))
            )
        except ValueError:
            raise _error(
                source, line, col, key, f"'{_short(value)}' is not a valid date (use YYYY-MM-DD)"
            ) from None
    if _TIMESTAMP.match(value):
        raise _error(
            source,
            line,
            col,
            key,
            f"'{_short(value)}' is a timestamp; write a date as YYYY-MM-DD, or quote it to make "
            "it text",
        )
    return value


def parse_yaml(source: str, text: str, max_nodes: int = MAX_NODES) -> Document:
    """Build plain data from YAML text, with locations; raise IncidentError on any problem."""
    import yaml

    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    doc = Document(source=source, data=None)
    anchors: dict[str, tuple[Any, int]] = {}
    # Each frame: [container, path, pending_key, anchor, size, start(line, col)].
    stack: list[list[Any]] = []
    documents = 0
    nodes = 0
    root: Any = None

    def place(value: Any, size: int, event: Any) -> None:
        nonlocal root, nodes
        nodes += size
        if nodes > max_nodes:
            line, col = event.start_mark.line + 1, event.start_mark.column + 1
            raise _error(
                source,
                line,
                col,
                "",
                f"the file expands to more than {max_nodes:,} values "
                "(aliases repeating aliases? write the values out)",
            )
        if not stack:
            root = value
            return
        frame = stack[-1]
        container, path = frame[0], frame[1]
        frame[4] += size
        line, col = event.start_mark.line + 1, event.start_mark.column + 1
        if isinstance(container, list):
            child = (*path, len(container))
            doc.values.setdefault(child, (line, col))
            container.append(value)
            return
        if frame[2] is _NO_KEY:
            if isinstance(value, dict | list):
                raise _error(
                    source, line, col, _dotted(path), "a key must be text, not a mapping or list"
                )
            if not isinstance(value, str) and (
                value is None or isinstance(value, bool | int | Decimal | dt.date)
            ):
                shown = "empty" if value is None else str(value).lower()
                raise _error(
                    source,
                    line,
                    col,
                    _dotted(path),
                    f"key {shown} is not text (keys are names like 'customers')",
                )
            if value in container:
                first = doc.keys.get((*path, value), (0, 0))
                raise _error(
                    source,
                    line,
                    col,
                    _dotted((*path, value)),
                    f"duplicate key (first given at line {first[0]}; keep one)",
                )
            frame[2] = value
            doc.keys[path + (value,)] = (line, col)
            return
        key = frame[2]
        doc.values.setdefault((*path, key), (line, col))
        container[key] = value
        frame[2] = _NO_KEY

    def child_path() -> Path_:
        if not stack:
            return ()
        frame = stack[-1]
        container, path = frame[0], frame[1]
        if isinstance(container, list):
            return (*path, len(container))
        if frame[2] is _NO_KEY:
            return (*path, "<key>")
        return (*path, frame[2])

    try:
        for parsed in yaml.parse(text, Loader=loader_cls):
            event: Any = parsed
            kind = type(event).__name__
            if kind == "DocumentStartEvent":
                documents += 1
                if documents > 1:
                    line = event.start_mark.line + 1
                    raise _error(
                        source,
                        line,
                        1,
                        "",
                        "a second YAML document ('---'); an incident file holds one (remove it)",
                    )
            elif kind in ("MappingStartEvent", "SequenceStartEvent"):
                tag = event.tag
                if tag is not None and tag not in _STANDARD_TAGS:
                    raise _error(
                        source,
                        event.start_mark.line + 1,
                        event.start_mark.column + 1,
                        _dotted(child_path()),
                        f"tag {_short(tag, 80)} is not allowed (remove it)",
                    )
                if len(stack) >= MAX_DEPTH:
                    raise _error(
                        source,
                        event.start_mark.line + 1,
                        event.start_mark.column + 1,
                        "",
                        f"nested more than {MAX_DEPTH} levels deep (flatten the file)",
                    )
                path = child_path()
                doc.values.setdefault(
                    path, (event.start_mark.line + 1, event.start_mark.column + 1)
                )
                container: Any = {} if kind == "MappingStartEvent" else []
                stack.append([container, path, _NO_KEY, event.anchor, 0, event])
            elif kind in ("MappingEndEvent", "SequenceEndEvent"):
                container, _path, _key, anchor, size, start = stack.pop()
                if anchor:
                    anchors[anchor] = (container, size + 1)
                place(container, size + 1, start)
            elif kind == "ScalarEvent":
                value = _scalar(source, event, child_path())
                if event.anchor:
                    anchors[event.anchor] = (value, 1)
                place(value, 1, event)
            elif kind == "AliasEvent":
                if event.anchor not in anchors:
                    raise _error(
                        source,
                        event.start_mark.line + 1,
                        event.start_mark.column + 1,
                        _dotted(child_path()),
                        f"alias *{_short(event.anchor)} refers to itself or to no anchor "
                        "(write the value)",
                    )
                value, size = anchors[event.anchor]
                place(value, size, event)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(source, text, exc) from None
    except yaml.YAMLError as exc:  # ReaderError: a control character and the like
        position = getattr(exc, "position", None)
        line, col = 1, 1
        if isinstance(position, int):
            before = text[:position]
            line = before.count("\n") + 1
            col = position - (before.rfind("\n") + 1) + 1
        reason = getattr(exc, "reason", None) or "unreadable character"
        raise _error(source, line, col, "", f"YAML: {reason} (remove control characters)") from None
    except RecursionError:  # pragma: no cover - the depth limit stops this first
        raise _error(source, 1, 1, "", "nested too deeply (flatten the file)") from None
    doc.data = root
    return doc


class _NoKey:
    def __repr__(self) -> str:
        return "<no key>"


_NO_KEY: Any = _NoKey()


_CLOSERS = {"[": "]", "{": "}", '"': '"', "'": "'"}


def _syntax_error(source: str, text: str, exc: Any) -> IncidentError:
    """A YAML syntax error, located where the broken construct began when that is known
    (an unclosed `[`, `{` or quote), with where parsing stopped and a hint."""
    problem, context = exc.problem_mark, exc.context_mark
    mark = problem or context
    line = mark.line + 1 if mark else 1
    col = mark.column + 1 if mark else 1
    what = printable((exc.problem or "invalid YAML").strip())[:100]
    if context is not None and problem is not None and context.index != problem.index:
        opener = _char_at(text, context)
        if opener in _CLOSERS:
            shown = "quote" if opener in "\"'" else "'" + opener + "'"
            return _error(
                source,
                context.line + 1,
                context.column + 1,
                "",
                f"YAML syntax: unclosed {shown} opened here (parsing stopped at line {line}, "
                f"column {col}: {what}; close it with {_CLOSERS[opener]!r})",
            )
    hint = _syntax_hint(what)
    if mark and _char_at(text, mark) == "\t":
        hint = " (YAML indents with spaces, not tabs)"
    began = ""
    if context is not None and problem is not None and context.line != problem.line:
        began = f" (in what begins at line {context.line + 1})"
    return _error(source, line, col, "", f"YAML syntax: {what}{began}{hint}")


def _char_at(text: str, mark: Any) -> str:
    index = getattr(mark, "index", -1)
    return text[index] if 0 <= index < len(text) else ""


def _syntax_hint(problem: str) -> str:
    if "mapping values are not allowed" in problem:
        return " (a missing space after ':' or a wrong indent? check the line above)"
    if "expected <block end>" in problem or "did not find expected key" in problem:
        return " (check the indentation: keys at one level must line up)"
    if "found character '\\t'" in problem or "\\t" in problem:
        return " (YAML indents with spaces, not tabs)"
    if "could not find expected ':'" in problem:
        return " (a key needs ':' after it)"
    if "found undefined alias" in problem:
        return " (define the anchor with &name before using *name)"
    return ""


def read_document(source: str, data: bytes | None = None) -> Document:
    """Read bytes (a path, or `-` for stdin) into a `Document`, with every hostile case refused."""
    limit = max_bytes(MAX_BYTES)
    raw = read_bytes(source, limit) if data is None else data
    if len(raw) > limit:
        raise _error(
            _display(source),
            1,
            1,
            "",
            f"file is larger than {limit:,} bytes (raise REMEDY_MAX_BYTES if it is genuine)",
        )
    name = _display(source)
    text = decode(name, raw)
    return parse_yaml(name, text)


def _display(source: str) -> str:
    return "<stdin>" if source == "-" else source


def load_incident(
    source: str | Path, data: bytes | None = None, *, allow_outside: Sequence[str | Path] = ()
) -> Incident:
    """Read and validate one incident file; raise `IncidentError` naming `file:line:col`.

    The files it names (`customers.file`, `customers.orders`) resolve relative to its folder
    (the current folder for `-`) and may not leave it, unless they lie in one of the
    `allow_outside` folders (see `remedy.fileio.allowed_folders` for the CLI's flag and
    environment variable).
    """
    source = str(source)
    doc = read_document(source, data)
    return validate(doc, base_dir=_base_dir(source), allow_outside=allow_outside)


def _base_dir(source: str) -> Path:
    return Path.cwd() if source == "-" else Path(source).resolve().parent


def validate(
    doc: Document, base_dir: Path | None = None, allow_outside: Sequence[str | Path] = ()
) -> Incident:
    """Validate a `Document` as an incident; every problem located, the first one raised.

    With `base_dir`, the files the incident names resolve against it and are confined to it
    and to the `allow_outside` folders (see `load_incident`)."""
    from pydantic import ValidationError

    from remedy.incident import Incident

    if doc.data is None:
        raise IncidentError(
            [
                Problem(
                    Location(doc.source, 1, 1),
                    "",
                    "the file is empty (start from `remedy new`, or see the README's format)",
                )
            ]
        )
    if not isinstance(doc.data, dict):
        loc = doc.locate(())
        raise IncidentError(
            [
                Problem(
                    loc,
                    "",
                    "an incident file is a YAML mapping of keys (id:, title:, kind: ...), "
                    f"not a {'list' if isinstance(doc.data, list) else 'single value'}",
                )
            ]
        )
    try:
        context = {"base_dir": base_dir, "allow_outside": tuple(Path(a) for a in allow_outside)}
        return Incident.model_validate(doc.data, context=context)
    except ValidationError as exc:
        raise IncidentError(problems_from(exc, doc)) from None


def problems_from(exc: ValidationError, doc: Document) -> list[Problem]:
    """Turn pydantic's errors into located, plain-words problems, in file order."""
    problems = []
    seen: set[str] = set()
    for err in exc.errors(include_url=False):
        path = _file_path(err["loc"])
        problem = _problem(err, path, doc)
        marker = str(problem)
        if marker not in seen:
            seen.add(marker)
            problems.append(problem)
    problems.sort(key=lambda p: (p.location.line, p.location.column))
    return problems


def _file_path(loc: tuple[str | int, ...]) -> Path_:
    # Custom options sit beside the built-in ones in the file (see Options._gather).
    parts = list(loc)
    if len(parts) >= 2 and parts[0] == "options" and parts[1] == "custom":
        del parts[1]
    return tuple(parts)


def _problem(err: ErrorDetails, path: Path_, doc: Document) -> Problem:
    from remedy.incident import BUILTIN_OPTIONS

    kind = err["type"]
    key = _dotted(path)
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if len(path) >= 2 and path[0] == "options" and str(path[1]) not in BUILTIN_OPTIONS:
        # A misspelt built-in option reads as a custom one; say so instead of asking for a label.
        close = difflib.get_close_matches(str(path[1]), BUILTIN_OPTIONS, n=1, cutoff=0.75)
        if close:
            return Problem(
                doc.locate(path[:2], key=True),
                _dotted(path[:2]),
                f"unknown option (did you mean '{close[0]}'? a custom option needs label, "
                "cost_per_customer, matches and scope)",
            )
    if kind == "value_error" and not path:
        # Whole-file checks start their message with the key they concern: point at it.
        message = err["msg"].removeprefix("Value error, ")
        found = re.match(r"^([a-z_]+(?:\.[a-z_]+)*): (.*)$", message)
        if found:
            where = tuple(found.group(1).split("."))
            return Problem(doc.locate(where, key=True), found.group(1), found.group(2))
    if kind == "extra_forbidden":
        name = str(path[-1])
        known = _known_keys(path[:-1])
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
        return Problem(doc.locate(path, key=True), key, f"unknown key ({hint})")
    if kind == "missing":
        parent = path[:-1]
        name = str(path[-1])
        under = f" to {_dotted(parent)}" if parent else ""
        return Problem(
            doc.locate(parent, key=True), key, f"required key is missing (add '{name}:'{under})"
        )
    location = doc.locate(path)
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", ""))
        choices = re.findall(r"'([^']*)'", expected)
        shown = excerpt(value) if isinstance(value, str) else _short(repr(value))
        close = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return Problem(
            location, key, f"{shown} is not allowed ({hint}one of: {', '.join(choices)})"
        )
    return Problem(location, key, _plain_message(kind, err["msg"], value, ctx))


def _plain_message(kind: str, msg: str, value: Any, ctx: dict[str, Any]) -> str:
    got = _describe(value)
    if kind == "string_type":
        return f"expected text, got {got} (quote it to make it text)"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected a whole number, got {got}"
    if kind in ("float_type", "float_parsing", "decimal_type", "decimal_parsing"):
        return f"expected a number, got {got} (write digits, e.g. 49.95)"
    if kind == "bool_type" or kind == "bool_parsing":
        return f"expected true or false, got {got}"
    if kind in ("date_type", "date_parsing", "date_from_datetime_parsing"):
        return f"expected a date, got {got} (write YYYY-MM-DD)"
    if kind in ("list_type",):
        return f"expected a list, got {got} (write '- item' lines or [a, b])"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping of keys, got {got} (indent 'key: value' lines below it)"
    if kind in ("greater_than_equal", "greater_than"):
        return f"must be at least {_num(ctx.get('ge', ctx.get('gt')))}, got {got}"
    if kind in ("less_than_equal", "less_than"):
        return f"must be at most {_num(ctx.get('le', ctx.get('lt')))}, got {got}"
    if kind == "string_pattern_mismatch":
        return f"{got} is not in the expected form ({_pattern_hint(str(ctx.get('pattern', '')))})"
    if kind == "string_too_long":
        return f"is too long (at most {ctx.get('max_length')} characters)"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"has too many items (at most {ctx.get('max_length')})"
    if kind == "decimal_max_places":
        return f"{got} has more than {ctx.get('decimal_places')} decimal places"
    if kind in ("decimal_max_digits", "decimal_whole_digits"):
        return f"{got} has too many digits"
    if kind == "finite_number":
        return "must be a finite number"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    return msg


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _pattern_hint(pattern: str) -> str:
    hints = {
        r"^[a-z0-9]+(?:-[a-z0-9]+)*$": "lowercase letters, digits and '-', e.g. 6pm-price-cap",
        r"^[A-Z]{3}$": "a three-letter ISO 4217 code, e.g. USD",
        r"^[^\n\r]*$": "one line",
        r"^[a-z][a-z0-9_]*$": "lowercase letters, digits and '_', starting with a letter",
        r"^[^@\s]+@[^@\s]+\.[^@\s]+$": "an email address, e.g. cs@example.com",
        r"^[0-9+().\- ]{3,40}$": "a phone number, e.g. 800-555-0100",
    }
    return hints.get(pattern, f"pattern {pattern}")


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return excerpt(value, 40)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dt.date):
        return f"the date {value.isoformat()}"
    return str(value)


def _known_keys(parent: Path_) -> list[str]:
    """The keys allowed at `parent` in the file, for "did you mean" hints."""
    from typing import get_args

    from pydantic import BaseModel

    from remedy.incident import BUILTIN_OPTIONS, CustomOption, Incident, Options

    model: Any = Incident
    for part in parent:
        if isinstance(part, int):
            continue
        if model is Options:
            model = getattr(Options.model_fields.get(str(part)), "annotation", CustomOption)
            if str(part) not in BUILTIN_OPTIONS:
                model = CustomOption
            continue
        fields = getattr(model, "model_fields", {})
        if part not in fields:
            return []
        annotation = fields[part].annotation
        candidates = [annotation, *get_args(annotation)]
        for arg in list(candidates):
            candidates.extend(get_args(arg))
        model = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if model is None:
            return []
    if model is Options:
        return list(BUILTIN_OPTIONS)
    names = [n for n in getattr(model, "model_fields", {}) if n != "custom"]
    return names
