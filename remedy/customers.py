"""Reading the affected customers file, one row at a time.

The file is a CSV with a header row. Columns (names are case-insensitive; extra columns are
ignored, so a shop's export can be used as it is, but every row must have as many fields as
the header):

    id, name, email, order_id, order_value   required columns
    clv, segment, phone                      optional columns

Rows are read streaming with the `csv` module: memory does not grow with the file. The file is
opened through `remedy.fileio` (a regular file only), and bounded: a line at most `MAX_LINE`
characters, a row (a quoted value may span lines) at most `MAX_ROW`, no NUL byte; a decoding
error, a NUL byte or a quote never closed is reported at the line where it starts. Each row is
validated; a bad row becomes a `BadRow(line, column, message)` and the policy decides what happens:
`fail` raises `InputError("file:line: column: message")` at the first one, `skip` reports every
bad row to the caller (a list or a callback) and goes on. Bad rows are never dropped silently:
`skip` without somewhere to report them is refused.

Rules for a row:
- `id` is required.
- `email` is required unless the file has a `phone` column and the row gives a phone (such a
  customer is reached by SMS only). An email must look like `local@domain.tld`.
- `order_value` may be blank (the segment's amounts are used); otherwise it is an exact amount:
  digits with an optional decimal point (`1234.5`), grouping commas only when unambiguous
  (`1,234.50`; `1,234` unless the currency has three decimals), not negative, with no more
  decimals than the currency has (`49.999` is refused in USD, `100.5` in JPY). Currency signs,
  decimal commas, NaN and infinity are refused with a hint.
- `clv` may be blank (ranked last); otherwise a finite, non-negative number.
- Names and order ids are data: control characters and line breaks become spaces, runs of spaces
  collapse. Fields longer than 200 characters are refused.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
import re
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, NamedTuple

from remedy.errors import InputError, UsageError, excerpt, printable, summarise
from remedy.fileio import open_input

REQUIRED_COLUMNS = ("id", "name", "email", "order_id", "order_value")
OPTIONAL_COLUMNS = ("clv", "segment", "phone")
MAX_FIELD = 200
MAX_LINE = 1024 * 1024  # characters in one line of the file
MAX_ROW = 1024 * 1024  # characters in one row (a quoted value may span lines)
MAX_VALUE = Decimal("1e12")

OnBadRow = Literal["fail", "skip"]
BadRowSink = list["BadRow"] | Callable[["BadRow"], None]

_EMAIL = re.compile(r"[^@\s,;<>\"()\[\]\\]+@[^@\s,;<>\"()\[\]\\]+\.[^@\s,;<>\"()\[\]\\.]+")
_PHONE = re.compile(r"(?=(?:[^0-9]*[0-9]){6})\+?[0-9().\- ]{6,40}")  # 6+ digits
_PLAIN_AMOUNT = re.compile(r"\d{1,13}(?:\.\d+)?")
_GROUPED_AMOUNT = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

# Currencies with other than 2 minor units (ISO 4217); everything else has 2.
MINOR_UNITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip


def minor_units(currency: str) -> int:
    """Decimal places of a currency (JPY 0, USD 2, KWD 3)."""
    return MINOR_UNITS.get(currency, 2)


@dataclass(frozen=True)
class BadRow:
    """A row of the customers file that cannot be used: where, which column, what is wrong."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        column = f" {self.column}:" if self.column else ""
        return f"line {self.line}:{column} {self.message}"

    def located(self, path: str | Path) -> str:
        """`file:line: column: message`, the form error messages use."""
        column = f" {self.column}:" if self.column else ""
        return f"{path}:{self.line}:{column} {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, "column": self.column, "message": self.message}


class Customer(NamedTuple):
    """One valid row. A NamedTuple rather than a dataclass: rows are many and built fast."""

    line: int
    id: str
    name: str
    email: str | None
    order_id: str
    order_value: Decimal | None
    clv: float | None
    segment: str | None
    phone: str | None


class _RowError(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def _clean(value: str, column: str) -> str:
    value = value.strip()
    if not value.isprintable():
        value = _SPACES.sub(" ", _CONTROL.sub(" ", value)).strip()
    elif "  " in value:
        value = _SPACES.sub(" ", value)
    if len(value) > MAX_FIELD:
        raise _RowError(column, f"longer than {MAX_FIELD} characters")
    return value


class _AmountParser:
    """Exact amounts with a small cache: many rows share the same order value."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.places = minor_units(currency)
        self.cache: dict[str, Decimal] = {}

    def __call__(self, raw: str, column: str) -> Decimal:
        cached = self.cache.get(raw)
        if cached is not None:
            return cached
        text = raw.strip()
        if _PLAIN_AMOUNT.fullmatch(text):
            digits = text
        elif _GROUPED_AMOUNT.fullmatch(text) and ("." in text or self.places < 3):
            # Unambiguous: "1,234.50", or "1,234" where a decimal comma would give more
            # decimals than the currency has. "1,234" in KWD (3 decimals) is refused.
            digits = text.replace(",", "")
        else:
            raise _RowError(column, _amount_problem(text, self.currency))
        value = Decimal(digits)
        decimals = len(digits) - digits.index(".") - 1 if "." in digits else 0
        if decimals > self.places:
            raise _RowError(
                column,
                f"{excerpt(text, 30)} has {decimals:,} decimals; {self.currency} amounts have at "
                f"most {self.places}",
            )
        if value > MAX_VALUE:
            raise _RowError(column, f"{excerpt(text, 30)} is more than {MAX_VALUE:,.0f}")
        if len(self.cache) < 50_000:  # order values repeat: most rows hit the cache
            self.cache[raw] = value
        return value


def _shape_problem(fields: int, width: int) -> str:
    if fields > width:
        return (
            f"{fields:,} fields, but the header has {width} (a value with a comma in it needs "
            'quotes: "1,234.50")'
        )
    return f"{fields:,} fields, but the header has {width} (an empty value still needs its comma)"


def _amount_problem(text: str, currency: str) -> str:
    """Why a text is not an amount, with the fix."""
    shown = excerpt(text, 30)
    if re.fullmatch(r"[-+]?(nan|inf|infinity)", text, re.IGNORECASE):
        return f"{shown} is not a number (write the amount, e.g. 49.95)"
    if text.startswith("-"):
        return f"{shown} is negative (an order value is 0 or more)"
    if re.search(r"[^\d.,\s]", text) and re.search(r"\d", text):
        return f"{shown} is not a plain amount (write digits like 49.95, without a currency sign)"
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+,\d+", text):
        digits = text.replace(".", "").replace(",", ".")
        return f"{shown} uses a decimal comma (write {excerpt(digits, 20)})"
    if re.fullmatch(r"\d{1,13}[.,]\d*|[\d,]+", text) and "," in text:
        return (
            f"{shown} is ambiguous in {currency} (write digits with a decimal point, "
            "without grouping commas, e.g. 1234.500)"
        )
    if re.fullmatch(r"\d{14,}(?:\.\d*)?", text):
        return f"{shown} is more than {MAX_VALUE:,.0f}"
    return f"{shown} is not an amount (write digits like 49.95, without a currency sign)"


def _parse_clv(raw: str, column: str) -> float | None:
    text = raw.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise _RowError(column, f"{excerpt(text, 30)} is not a number") from None
    if not math.isfinite(value):
        raise _RowError(column, f"{excerpt(text, 30)} is not a finite number (write e.g. 250)")
    if value < 0:
        raise _RowError(column, f"{excerpt(text, 30)} must be a number, 0 or more")
    return value


class CustomerReader:
    """Iterates over the valid customers of one file, applying the bad-row policy.

    `segments`, when given, lists the segment names a `segment` column may use (compared
    case-insensitively). `bytes_read` says how far the reader is, for progress reports.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        currency: str = "USD",
        on_bad_row: OnBadRow = "fail",
        bad_rows: BadRowSink | None = None,
        segments: tuple[str, ...] | None = None,
    ) -> None:
        if on_bad_row not in ("fail", "skip"):
            raise ValueError(f"on_bad_row must be 'fail' or 'skip', not {on_bad_row!r}")
        if on_bad_row == "skip" and bad_rows is None:
            raise ValueError("on_bad_row='skip' needs bad_rows (a list or a callback)")
        self.path = Path(path)
        self.on_bad_row = on_bad_row
        self.bad_rows = bad_rows
        self.segments = segments
        self.amount = _AmountParser(currency)
        self.total_bytes = 0
        self._raw: io.BufferedReader | None = None
        self.columns: dict[str, int] = {}
        self.width = 0  # fields in the header: every row must have as many
        self._feed = _Feed(None, self.path)
        self._parse: Callable[[list[str], int], Any] = _not_started
        self.rows_read = 0  # data rows seen, valid or not

    @property
    def bytes_read(self) -> int:
        """Bytes consumed so far (approximate while reading, exact at the end)."""
        if self._raw is None or self._raw.closed:
            return self.total_bytes
        return self._raw.tell()

    def report(self, bad: BadRow) -> None:
        """Apply the bad-row policy to one bad row: raise, or hand it to `bad_rows`."""
        if self.on_bad_row == "fail":
            raise InputError(bad.located(self.path))
        if isinstance(self.bad_rows, list):
            self.bad_rows.append(bad)
        elif self.bad_rows is not None:
            self.bad_rows(bad)

    def _open(self) -> io.TextIOWrapper:
        # Only a regular file: the file is read twice for some plans, and a FIFO or a device
        # named by an incident must be refused, not waited on.
        try:
            raw = open_input(self.path, regular_only=True)
        except UsageError as exc:  # name the incident's key that points at the file
            raise UsageError(f"customers.file: {exc.message}") from None
        self.total_bytes = os.fstat(raw.fileno()).st_size
        self._raw = raw  # type: ignore[assignment]
        # utf-8-sig: spreadsheet exports often start with a byte-order mark.
        return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="", errors="strict")

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Any]:
        """A csv reader over the file, closed afterwards; a decoding or CSV error while reading
        becomes one `InputError` naming the line where the problem starts."""
        stream = self._open()
        feed = self._feed = _Feed(stream, self.path)
        reader = csv.reader(feed.lines(), strict=True)
        try:
            yield reader
        except UnicodeDecodeError:
            raise InputError(_bad_utf8(self.path)) from None
        except csv.Error as exc:
            raise InputError(self._csv_error(exc, feed.done + 1, reader.line_num)) from None
        finally:
            stream.close()

    def _csv_error(self, exc: csv.Error, start: int, line: int) -> str:
        """The message for a row the csv module cannot read: an unclosed quote is reported
        where it was opened, not where the file (or the field size limit) ended."""
        opened = _open_quote_line(self.path, start)
        if opened is not None:
            return (
                f"{self.path}:{opened}: a quoted value opened on this line is never closed "
                '(close the quote, or write "" for a quote inside a quoted value)'
            )
        if _longest_value(self.path, line) > csv.field_size_limit():
            return (
                f"{self.path}:{line}: a value is longer than {csv.field_size_limit():,} "
                "characters (is this the customers file?)"
            )
        return (
            f"{self.path}:{line}: not a readable CSV row ({printable(str(exc))[:60]}; "
            "check the quotes on this line)"
        )

    def _header(self, reader: Iterator[list[str]]) -> dict[str, int]:
        try:
            header = next(reader)
        except StopIteration:
            raise InputError(f"{self.path}:1: the file is empty (expected a header row)") from None
        self._feed.done = getattr(reader, "line_num", 1)
        self.width = len(header)
        columns: dict[str, int] = {}
        for index, name in enumerate(header):
            key = name.strip().lower()
            if key in columns:
                raise InputError(
                    f"{self.path}:1: column {excerpt(key, 30)} appears twice (rename or remove one)"
                )
            if key:
                columns[key] = index
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise InputError(
                f"{self.path}:1: missing column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)} (the header needs: {', '.join(REQUIRED_COLUMNS)}; "
                f"columns found: {summarise(header)})"
            )
        return columns

    def header(self) -> dict[str, int]:
        """The columns of the file (lowercase name -> index), reading only its header row."""
        with self._reading() as reader:
            self.columns = self._header(reader)
        return self.columns

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """The raw data rows as (line, fields), blank lines left out; reads the header first
        (setting `columns`). Line numbers are where each record starts."""
        with self._reading() as reader:
            self.columns = self._header(reader)
            self._parse = self._row_parser(self.columns)
            feed = self._feed
            line_end = reader.line_num
            for row in reader:
                line = line_end + 1
                feed.done = line_end = reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                yield line, row

    def parse_row(self, row: list[str], line: int) -> Customer | BadRow:
        """Validate one raw row (from `rows`), without applying the bad-row policy."""
        result: Customer | BadRow = self._parse(row, line)
        return result

    def __iter__(self) -> Iterator[Customer]:
        # The loop of rows(), inlined: one generator layer less per customer.
        report = self.report
        count = 0
        with self._reading() as reader:
            try:
                self.columns = self._header(reader)
                parse = self._parse = self._row_parser(self.columns)
                feed = self._feed
                line_end = reader.line_num
                for row in reader:
                    line = line_end + 1
                    feed.done = line_end = reader.line_num
                    if not row or (len(row) == 1 and not row[0].strip()):
                        continue
                    count += 1
                    result = parse(row, line)
                    if type(result) is Customer:
                        yield result
                    else:
                        report(result)
            finally:
                self.rows_read = count

    def clv_by_line(self, limit: int | None = None) -> tuple[array[int], array[float]]:
        """(line, CLV) of every row, blank CLV as -1, reading only the CLV column; a row too
        short or with a bad CLV goes through the bad-row policy with the full row's message.
        Other columns are not checked: the caller validates them later. More than `limit`
        rows is an `InputError` (16 bytes are kept per row)."""
        lines: array[int] = array("q")
        clvs: array[float] = array("d")
        add_line, add_clv = lines.append, clvs.append
        with self._reading() as reader:
            self.columns = self._header(reader)
            self._parse = self._row_parser(self.columns)
            column = self.columns["clv"]
            width = self.width
            feed = self._feed
            most = limit if limit is not None else -1
            line_end = reader.line_num
            for row in reader:
                line = line_end + 1
                feed.done = line_end = reader.line_num
                try:
                    if len(row) != width:
                        raise IndexError(line)
                    text = row[column]
                    value = float(text) if text else -1.0
                    if not 0 <= value < math.inf:
                        raise ValueError(text)
                except (IndexError, ValueError):
                    if not row or (len(row) == 1 and not row[0].strip()):
                        continue  # a blank line
                    bad = self._parse(row, line)
                    if type(bad) is BadRow:
                        self.report(bad)
                        continue
                    value = -1.0  # a blank CLV with spaces around it
                if len(lines) == most:
                    raise InputError(
                        f"{self.path}:{line}: more than {most:,} customers to assign to segments "
                        "by CLV (add a 'segment' column, which needs no ranking, or split the file)"
                    )
                add_line(line)
                add_clv(value)
        return lines, clvs

    def _row_parser(self, columns: dict[str, int]) -> Callable[[list[str], int], Any]:
        """A function from (row, line) to a Customer or a BadRow."""
        width = self.width
        c_id, c_name, c_email = columns["id"], columns["name"], columns["email"]
        c_order, c_value = columns["order_id"], columns["order_value"]
        c_clv = columns.get("clv")
        c_segment = columns.get("segment")
        c_phone = columns.get("phone")
        segments = {s.lower(): s for s in self.segments} if self.segments is not None else None
        names = summarise(list(segments.values()), most=8, limit=30) if segments else ""
        amount = self.amount
        amounts = amount.cache
        email_match = _EMAIL.fullmatch
        phone_match = _PHONE.fullmatch
        new_tuple = tuple.__new__  # Customer(...) without the keyword machinery

        def parse(row: list[str], line: int) -> Customer | BadRow:
            if len(row) != width:
                return BadRow(line, "", _shape_problem(len(row), width))
            try:
                ident, name, order_id = row[c_id], row[c_name], row[c_order]
                if (
                    len(ident) <= MAX_FIELD
                    and len(name) <= MAX_FIELD
                    and len(order_id) <= MAX_FIELD
                    and (ident + name + order_id).isprintable()  # one check for the usual case
                    and "  " not in name
                ):
                    ident, name, order_id = ident.strip(), name.strip(), order_id.strip()
                else:
                    ident = _clean(ident, "id")
                    name = _clean(name, "name")
                    order_id = _clean(order_id, "order_id")
                if not ident:
                    raise _RowError("id", "missing id")
                phone: str | None = None
                if c_phone is not None:
                    phone = row[c_phone].strip() or None
                    if phone is not None and phone_match(phone) is None:
                        raise _RowError("phone", f"{excerpt(phone, 40)} is not a phone number")
                email: str | None = row[c_email].strip()
                if not email:
                    if phone is None:
                        raise _RowError("email", "missing email")
                    email = None
                elif len(email) > 254 or email_match(email) is None:
                    raise _RowError("email", f"{excerpt(email, 60)} is not an email address")
                raw = row[c_value]
                value = amounts.get(raw)
                if value is None and raw.strip():
                    value = amount(raw, "order_value")
                clv: float | None = None
                if c_clv is not None and row[c_clv]:
                    try:
                        clv = float(row[c_clv])
                        valid = 0 <= clv < math.inf
                    except ValueError:
                        valid = False
                    if not valid:  # blank with spaces (None), or raises with the message
                        clv = _parse_clv(row[c_clv], "clv")
                segment: str | None = None
                if c_segment is not None:
                    segment = row[c_segment].strip() or None
                    if segments is not None:
                        if segment is None:
                            raise _RowError("segment", f"missing segment (one of: {names})")
                        known = segments.get(segment.lower())
                        if known is None:
                            raise _RowError(
                                "segment",
                                f"unknown segment {excerpt(segment, 40)} (one of: {names})",
                            )
                        segment = known
            except _RowError as exc:
                return BadRow(line, exc.column, exc.message)
            return new_tuple(
                Customer, (line, ident, name, email, order_id, value, clv, segment, phone)
            )

        return parse


def light_clv(text: str) -> float | None:
    """CLV as the row parser reads it (blank is -1, ranked last); None when it is invalid."""
    if not text:
        return -1.0
    try:
        value = float(text)
    except ValueError:
        return None if text.strip() else -1.0
    return value if 0 <= value < math.inf else None


class _Feed:
    """The lines of a customers file for the csv module, with the limits that keep memory
    bounded: no line longer than `MAX_LINE` characters, no row (a quoted value may span lines)
    longer than `MAX_ROW`, no NUL character. The readers set `done` to the last line of each row
    they take, so the feed knows where the current row started."""

    __slots__ = ("done", "path", "stream")

    def __init__(self, stream: io.TextIOWrapper | None, path: Path) -> None:
        self.stream = stream
        self.path = path
        self.done = 0  # the last line of the last complete row (the header's is 1)

    def lines(self) -> Iterator[str]:
        assert self.stream is not None
        readline = self.stream.readline
        number = 0
        row_chars = 0
        row_done = 0
        while True:
            line = readline(MAX_LINE + 1)
            if not line:
                return
            number += 1
            if len(line) > MAX_LINE:
                raise InputError(
                    f"{self.path}:{number}: the line is longer than {MAX_LINE:,} characters "
                    "(is this the customers CSV file?)"
                )
            if "\x00" in line:
                raise InputError(
                    f"{self.path}:{number}:{line.index(chr(0)) + 1}: a NUL byte: this is not a "
                    "text CSV file (save it as CSV UTF-8)"
                )
            if row_done != self.done:
                row_done = self.done
                row_chars = 0
            row_chars += len(line)
            if row_chars > MAX_ROW:
                start = _open_quote_line(self.path, self.done + 1) or self.done + 1
                raise InputError(
                    f"{self.path}:{start}: a quoted value opened on this line is not closed "
                    f"within {MAX_ROW:,} characters (close the quote)"
                )
            yield line


def _text_lines(path: Path, skip: int = 0) -> Iterator[tuple[int, str]]:
    """(line number, text) from line `skip + 1` on, split as the csv reader splits them, with
    undecodable bytes kept as surrogates; for locating problems after a read failed."""
    with open_input(path, regular_only=True) as raw:
        stream = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
        number = 0
        while True:
            line = stream.readline(MAX_LINE + 1)
            if not line:
                return
            number += 1
            if number > skip:
                yield number, line


_SURROGATE = re.compile("[\udc80-\udcff]")


def _bad_utf8(path: Path) -> str:
    """`file:line:col: byte 0x.. is not UTF-8 ...` for the first byte that does not decode."""
    for number, line in _text_lines(path):
        found = _SURROGATE.search(line)
        if found:
            byte = ord(found.group()) - 0xDC00
            return (
                f"{path}:{number}:{found.start() + 1}: byte 0x{byte:02x} is not UTF-8 "
                "(save the file as CSV UTF-8)"
            )
    return f"{path}: is not UTF-8 text (save the file as CSV UTF-8)"  # pragma: no cover


def _longest_value(path: Path, line: int) -> int:
    """The length of the longest comma-separated piece of a line (no quote is open in it)."""
    for _, text in _text_lines(path, skip=line - 1):
        return max(len(piece) for piece in text.rstrip("\r\n").split(","))
    return 0


def _open_quote_line(path: Path, start: int) -> int | None:
    """The line of the quote left open in the row that starts at line `start`, or None when
    no quote is open there (scanning at most `MAX_ROW` characters, as the csv module reads)."""
    opened: int | None = None
    at_field_start = True
    quoted = False
    pending_quote = False  # in a quoted value, a quote that may be the first of ""
    seen = 0
    for number, line in _text_lines(path, skip=start - 1):
        for char in line:
            if quoted:
                if pending_quote:
                    pending_quote = False
                    if char == '"':
                        continue  # "" is a quote inside the value
                    quoted = False
                elif char == '"':
                    pending_quote = True
                    continue
                else:
                    continue
            if char == '"' and at_field_start:
                quoted, opened = True, number
                at_field_start = False
            elif char == ",":
                at_field_start = True
            elif char in "\r\n":
                if not quoted:
                    return None  # the row ended with every quote closed
            else:
                at_field_start = False
        seen += len(line)
        if seen > MAX_ROW:
            break
    return opened if quoted and not pending_quote else None


def _not_started(row: list[str], line: int) -> Any:
    raise RuntimeError("read the header first (iterate rows())")


def read_customers(
    path: str | Path,
    *,
    currency: str = "USD",
    on_bad_row: OnBadRow = "fail",
    bad_rows: BadRowSink | None = None,
    segments: tuple[str, ...] | None = None,
) -> Iterator[Customer]:
    """Stream the valid customers of a CSV file (see the module docstring for the rules).

    With `on_bad_row='fail'` the first bad row raises `InputError` (`file:line: column: message`);
    with `'skip'` every bad row goes to `bad_rows` (a list to append to, or a callback) and
    reading goes on.
    """
    return iter(
        CustomerReader(
            path, currency=currency, on_bad_row=on_bad_row, bad_rows=bad_rows, segments=segments
        )
    )
