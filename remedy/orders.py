"""Reading an order history CSV into numpy arrays, fast and with precise error messages.

One row is one order: a customer, a date and an amount. Columns are chosen by name (see
`COLUMN_ALIASES` for the names tried when none is given).

Speed matters because order logs are long (millions of rows). The common case, a file without
double quotes, is parsed without any per-row Python work: the bytes are viewed as a numpy array,
line and comma positions are found with vectorised comparisons, each column's bytes are gathered
into a fixed-width matrix, and dates and amounts are decoded from those matrices with integer
arithmetic. Rows the vectorised decoders reject (a currency symbol, an exponent, a bad value) are
re-read one by one with a lenient Python parser, which either accepts them or raises an
`InputError` naming the CSV line. Files containing double quotes go through the `csv` module and
then through the same decoders.

Accepted values:

* dates: `YYYY-MM-DD`, optionally followed by `T` or a space and a time, which is ignored;
* amounts: a plain decimal number (`12.5`, `-3`, `.75`), optionally signed, optionally with a
  leading currency symbol (`$`, `€`, `£`) or an exponent (`1e3`). Thousands separators are read
  exactly when they cannot be misread: `1,234.50` (with a decimal point), `1,234,567` (several
  groups) or `$1,234` (a dollar or pound sign); a bare `1,234` could mean 1.234 and is an error
  (in a CSV a comma only survives inside quotes). Anything else, including `nan`, `inf`, the
  decimal comma (`12,50`) and magnitudes of `MAX_AMOUNT` or more (which also keeps every sum
  finite), is an error rather than a guess;
* customer ids: any non-empty text; surrounding spaces are removed from every field.

A row with more or fewer fields than the header, a column name that appears twice, NUL bytes,
text that is not UTF-8 and a quote that is never closed are errors naming the line where the
problem starts. Messages quote at most a short excerpt of the data (`excerpt`), so a hostile
file cannot flood a CI log.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from remedy.errors import InputError

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "customer": ("customer_id", "customer", "customerid", "client_id", "email"),
    "date": ("date", "order_date", "created_at", "timestamp"),
    "amount": ("amount", "total", "order_value", "value", "price", "revenue"),
}
"""Column names tried, in order and case-insensitively, when no column name is given."""

_FLAGS = {"customer": "--customer-col", "date": "--date-col", "amount": "--amount-col"}

MAX_AMOUNT = 1e15
"""Amounts of this magnitude or more are refused: no order is worth a quadrillion in any currency,
and with every amount below it no sum of orders can overflow to infinity."""

_EXCERPT = 40  # characters of user data quoted in a message

# Rows are processed in chunks so that the temporary index matrices stay small (tens of MB).
_CHUNK = 1 << 17
# Bytes scanned at a time for commas and line ends (a megabyte stays in cache).
_SCAN = 1 << 20
# The longest amount field decoded by the vectorised parser; longer ones go the slow way.
_MAX_AMOUNT_WIDTH = 24
# Up to 15 significant digits an integer is exact in float64, so digits / 10**k is correctly
# rounded, exactly like float(text).
_MAX_FAST_DIGITS = 15
_POW10 = 10.0 ** np.arange(_MAX_AMOUNT_WIDTH + 1)
_DATE_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9]
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)

_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?")
_AMOUNT_RE = re.compile(
    r"(?P<sign1>[+-]?)\s*(?P<currency>[$€£]?)\s*(?P<sign2>[+-]?)"
    r"(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
)


@dataclass(frozen=True)
class Orders:
    """An order history: one entry per CSV data row, in file order.

    `customer` holds integer codes into `customer_ids` (unique ids in order of first
    appearance), `date` is `datetime64[D]`, `amount` is float64 and `line` the 1-based CSV line
    each order came from (the header is line 1), for error messages.
    """

    source: str
    customer_ids: list[str]
    customer: np.ndarray
    date: np.ndarray
    amount: np.ndarray
    line: np.ndarray
    columns: tuple[str, str, str]

    def __len__(self) -> int:
        return len(self.amount)


def excerpt(value: str, limit: int = _EXCERPT) -> str:
    """A short, printable, quoted excerpt of user data for an error message.

    Control characters are escaped and long values cut, with their length, so a message stays one
    short line whatever the file holds.
    """
    shown = value[:limit]
    text = repr(shown)
    if len(value) > limit:
        text = f"{text[:-1]}…{text[-1]} ({len(value):,} characters)"
    return text


def _columns_found(header: Sequence[str]) -> str:
    """The header summarised for a message: the first few names, each cut short."""
    shown = ", ".join(excerpt(name, 20)[1:-1] for name in header[:6])
    return shown + (f", … ({len(header):,} columns)" if len(header) > 6 else "")


IN_MEMORY_LIMIT = 128 * 2**20
"""Plain CSVs up to this size (the cap on an order history read whole) are read in memory by
the strict reader here; larger ones, and Parquet and gzip files, are summarised by DuckDB out
of core (`remedy.rfm`). Measured on 2 cores (`remedy clv` end to end, 2026-12-01): the
in-memory reader is faster and peaks lower at every size up to the cap, 1.6 s / 334 MiB
against 4.4 s / 493 MiB with DuckDB at 1M customers (56 MB), 4.7 s / 558 MiB against
14.1 s / 640 MiB at 2M (113 MB); its peak is about 5 times the file."""

PRECISE_LIMIT = 64 * 2**20
"""A file the out-of-core reader refuses is re-read by the strict in-memory reader, for a
message naming the line, when it is no larger than this (its peak memory stays under 1 GiB)."""


def in_memory_limit() -> int:
    """`IN_MEMORY_LIMIT`, or `REMEDY_IN_MEMORY_BYTES` when set (tests use it)."""
    import os

    raw = os.environ.get("REMEDY_IN_MEMORY_BYTES", "")
    return int(raw) if raw.isdigit() else IN_MEMORY_LIMIT


def check_source(source: str | Path, *, regular_only: bool = False) -> Path:
    """The path of an input file, checked: it exists and is a file we can read.

    Every reader opens its file through this (in memory via `read_source`, or by handing the
    checked path to DuckDB or gzip). The check is `remedy.fileio.open_input`'s: a folder,
    device or socket is refused at once, saying what it is, and with `regular_only` (a file
    named inside an incident) a FIFO too.
    """
    from remedy.fileio import open_input

    with open_input(source, regular_only=regular_only):
        pass
    return Path(source)


def source_size(source: str | Path) -> int | None:
    """The size of a regular file in bytes (None for anything else, e.g. a pipe)."""
    try:
        path = Path(source)
        return path.stat().st_size if path.is_file() else None
    except OSError:
        return None


def read_source(source: str | Path, data: bytes | None = None) -> bytes:
    """Return the bytes of `source`: `data` when given, standard input for `-`, else the file.

    The file is opened by `remedy.fileio` (a folder, device or socket is refused, a pipe named
    on the command line is read) and read whole up to `ORDERS_MAX_BYTES`
    (`REMEDY_MAX_BYTES` overrides it)."""
    if data is not None:
        return data
    from remedy.fileio import ORDERS_MAX_BYTES, max_bytes, read_bytes

    return read_bytes(source, max_bytes(ORDERS_MAX_BYTES))


def read_header(name: str, first_line: bytes) -> list[str]:
    """The column names of a CSV header line (quotes allowed), for the out-of-core readers."""
    if b"\x00" in first_line:
        raise InputError(
            f"{name}:1: contains NUL bytes, so it is not a UTF-8 text CSV (save it as CSV UTF-8)"
        )
    if first_line.startswith(b"\xef\xbb\xbf"):
        first_line = first_line[3:]
    text = _decode(name, 1, first_line).rstrip("\r\n")
    if not text.strip():
        raise InputError(f"{name}: is empty (expected a header line and one order per line)")
    try:
        return [field.strip() for field in next(csv.reader([text], strict=True))]
    except csv.Error:
        raise InputError(f"{name}:1: the header's quotes are not balanced (check line 1)") from None


def pick_columns(
    name: str, header: list[str], wanted: tuple[str | None, str | None, str | None]
) -> tuple[str, str, str]:
    """The customer, date and amount column names in `header` (see `COLUMN_ALIASES`)."""
    picked = _pick_columns(name, header, *wanted)
    return header[picked[0]], header[picked[1]], header[picked[2]]


def read_orders(
    source: str | Path,
    data: bytes | None = None,
    customer_col: str | None = None,
    date_col: str | None = None,
    amount_col: str | None = None,
) -> Orders:
    """Read an orders CSV (`data`, or the file `source` when `data` is None) into `Orders`.

    Raises `UsageError` when the file cannot be read and `InputError` naming `file:line` and
    the column when the content is wrong.
    """
    name = str(source)
    raw = read_source(source, data)
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise InputError(
            f"{name}:{line}: contains NUL bytes, so it is not a UTF-8 text CSV "
            "(save it as CSV UTF-8)"
        )
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    header_end = raw.find(b"\n")
    header_bytes = raw if header_end < 0 else raw[:header_end]
    if not header_bytes.strip():
        raise InputError(f"{name}: is empty (expected a header line and one order per line)")
    body_start = len(raw) if header_end < 0 else header_end + 1
    if b'"' in raw:
        return _read_with_csv_module(name, raw, customer_col, date_col, amount_col)
    header = [field.strip() for field in _decode(name, 1, header_bytes).rstrip("\r").split(",")]
    picked = _pick_columns(name, header, customer_col, date_col, amount_col)
    return _read_fast(name, raw, body_start, len(header), header, picked)


# --- Columns -----------------------------------------------------------------------------------


def _pick_columns(
    name: str,
    header: list[str],
    customer_col: str | None,
    date_col: str | None,
    amount_col: str | None,
) -> tuple[int, int, int]:
    """Indexes of the customer, date and amount columns in `header`."""
    if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        raise InputError(
            f"{name}:1: the header has no commas; the file looks separated by "
            f"{'semicolons' if ';' in header[0] else 'tabs'} (save it as comma-separated CSV)"
        )
    lowered = [column.lower() for column in header]
    seen: set[str] = set()
    for column in lowered:
        if column and column in seen:
            raise InputError(
                f"{name}:1: column {excerpt(column)} appears twice in the header "
                "(rename one, so it is clear which to read)"
            )
        seen.add(column)
    found = _columns_found(header)
    indexes: list[int] = []
    for role, wanted in (("customer", customer_col), ("date", date_col), ("amount", amount_col)):
        if wanted is not None:
            if wanted in header:
                index = header.index(wanted)
            elif wanted.strip().lower() in lowered:
                index = lowered.index(wanted.strip().lower())
            else:
                raise InputError(
                    f"{name}:1: no column named {excerpt(wanted)} for the {role} "
                    f"(columns found: {found}; check {_FLAGS[role]})"
                )
        else:
            candidates = [alias for alias in COLUMN_ALIASES[role] if alias in lowered]
            if not candidates:
                raise InputError(
                    f"{name}:1: no {role} column (looked for {', '.join(COLUMN_ALIASES[role])}; "
                    f"columns found: {found}; name it with {_FLAGS[role]})"
                )
            index = lowered.index(candidates[0])
        if index in indexes:
            raise InputError(
                f"{name}:1: column {excerpt(header[index])} cannot be both the "
                f"{('customer', 'date', 'amount')[indexes.index(index)]} and the {role} "
                f"(choose another with {_FLAGS[role]})"
            )
        indexes.append(index)
    return indexes[0], indexes[1], indexes[2]


# --- The fast path: no quotes ------------------------------------------------------------------


def _read_fast(
    name: str,
    raw: bytes,
    body_start: int,
    n_columns: int,
    header: list[str],
    picked: tuple[int, int, int],
) -> Orders:
    buf = np.frombuffer(raw, dtype=np.uint8)
    columns = (header[picked[0]], header[picked[1]], header[picked[2]])
    grid = _regular_rows(raw, buf, body_start, n_columns)
    if grid is not None:
        # Every line has its commas and no line is blank: the separators are the field bounds.
        ends = grid[:, -1]
        starts = np.empty(len(ends), dtype=ends.dtype)
        starts[0] = body_start
        np.add(ends[:-1], 1, out=starts[1:])
        lines: np.ndarray = np.arange(2, len(starts) + 2, dtype=starts.dtype)
        comma = _column_of(grid)
    else:
        starts, ends, lines, comma = _irregular_rows(name, raw, buf, body_start, n_columns)
        if len(starts) == 0:
            return _empty_orders(name, columns)

    has_spaces = b" " in raw  # one fast scan saves three gathers per field when there are none

    def field_bounds(column: int) -> tuple[np.ndarray, np.ndarray]:
        start = starts if column == 0 else comma(column - 1) + 1
        end = ends if column == n_columns - 1 else comma(column)
        return _strip_spaces(buf, start, end) if has_spaces else (start, end)

    def text_of(bounds: tuple[np.ndarray, np.ndarray]) -> Callable[[int], bytes]:
        return lambda row: raw[bounds[0][row] : bounds[1][row]]

    # One field at a time, freeing its temporaries, keeps the peak memory down.
    id_bounds = field_bounds(picked[0])
    id_lengths = id_bounds[1] - id_bounds[0]
    empty = np.flatnonzero(id_lengths == 0)
    if len(empty):
        raise InputError(
            f"{name}:{lines[empty[0]]}: {columns[0]}: is empty (every order needs a customer)"
        )
    _check_id_lengths(name, columns[0], id_lengths, lines)
    width = int(id_lengths.max())
    id_matrix = _gather(buf, id_bounds[0], id_lengths, -(-width // 8) * 8)
    del id_bounds
    codes, first_rows = _customer_codes(id_matrix, id_lengths)
    customer_ids = _decode_ids(name, columns[0], id_matrix, first_rows, lines)
    del id_matrix, id_lengths, first_rows

    date_bounds = field_bounds(picked[1])
    dates = _parse_dates(name, columns[1], buf, date_bounds, lines, text_of(date_bounds))
    del date_bounds
    amount_bounds = field_bounds(picked[2])
    amounts = _parse_amounts(name, columns[2], buf, amount_bounds, lines, text_of(amount_bounds))
    del amount_bounds
    return Orders(name, customer_ids, codes, dates, amounts, lines, columns)


def _regular_rows(
    raw: bytes, buf: np.ndarray, body_start: int, n_columns: int
) -> np.ndarray | None:
    """The positions of every line's commas and line end, one row per line, when the body is
    regular: LF line ends, no blank line, and exactly `n_columns - 1` commas on every line
    (the last line may lack its line end). None otherwise, and the general path reads it.

    One pass over the bytes finds commas and line ends together, a megabyte at a time so the
    masks stay in cache; positions are int32 when the file allows (half the memory).
    """
    if n_columns < 2 or body_start >= len(raw) or raw.find(b"\r", body_start) >= 0:
        return None
    dtype = np.int32 if len(raw) < 2**31 - 1 else np.int64
    pieces = []
    hit = np.empty(_SCAN, dtype=bool)
    newline = np.empty(_SCAN, dtype=bool)
    for lo in range(body_start, len(buf), _SCAN):
        block = buf[lo : lo + _SCAN]
        found, is_newline = hit[: len(block)], newline[: len(block)]
        np.equal(block, 44, out=found)
        np.equal(block, 10, out=is_newline)
        np.logical_or(found, is_newline, out=found)
        pieces.append((np.flatnonzero(found) + lo).astype(dtype))
    separators = np.concatenate(pieces) if pieces else np.zeros(0, dtype=dtype)
    if not raw.endswith(b"\n"):
        separators = np.append(separators, np.asarray(len(raw), dtype=dtype))
    if len(separators) == 0 or len(separators) % n_columns:
        return None
    grid = separators.reshape(-1, n_columns)
    # Each line's last separator is its line end, and no other one is.
    kinds = buf[np.minimum(separators, len(buf) - 1)] == 10
    if not raw.endswith(b"\n"):
        kinds[-1] = True
    if int(np.count_nonzero(kinds)) != len(grid) or not kinds[n_columns - 1 :: n_columns].all():
        return None
    return grid


def _column_of(grid: np.ndarray) -> Callable[[int], np.ndarray]:
    def column(k: int) -> np.ndarray:
        return grid[:, k]

    return column


def _irregular_rows(
    name: str, raw: bytes, buf: np.ndarray, body_start: int, n_columns: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Callable[[int], np.ndarray]]:
    """Line bounds, line numbers and comma positions for any body: CRLF line ends, blank and
    whitespace-only lines (skipped), and an error naming the first line with the wrong number
    of fields."""
    newlines = np.flatnonzero(buf[body_start:] == 10) + body_start
    starts = np.concatenate(([body_start], newlines + 1)).astype(np.int64)
    ends = np.concatenate((newlines, [len(raw)])).astype(np.int64)
    # Windows line ends: the \r belongs to the line break, not to the last field.
    has_cr = ends > starts
    has_cr[has_cr] = buf[ends[has_cr] - 1] == 13
    ends -= has_cr
    # Line numbers: the header is line 1. Empty lines are skipped, whitespace-only ones too.
    lines: np.ndarray = np.arange(2, len(starts) + 2, dtype=np.int64)
    keep = ends > starts
    if not keep.all() or (buf[starts[keep]] == 32).any():
        keep &= ~_all_spaces(buf, starts, ends)
    starts, ends, lines = starts[keep], ends[keep], lines[keep]
    commas = np.flatnonzero(buf[body_start:] == 44) + body_start
    if len(starts) == 0:
        return starts, ends, lines, lambda k: commas
    first_comma = _first_commas(commas, starts, ends, n_columns - 1)
    if first_comma is None:
        first_comma = np.searchsorted(commas, starts)
        n_commas = np.searchsorted(commas, ends) - first_comma
        row = np.flatnonzero(n_commas != n_columns - 1)[0]
        raise InputError(
            f"{name}:{lines[row]}: expected {n_columns} fields like the header, found "
            f"{n_commas[row] + 1} (quote fields that contain commas)"
        )
    offsets = first_comma

    def comma(k: int) -> np.ndarray:
        return commas[offsets + k]

    return starts, ends, lines, comma


MAX_ID = 256  # characters of a customer id; longer is not an id (and would cost memory)


def _check_id_lengths(name: str, column: str, lengths: np.ndarray, lines: np.ndarray) -> None:
    """Refuse customer ids longer than `MAX_ID`: ids are held in fixed-width arrays as wide as
    the longest, so one 1 MB id among 2,000 rows would take gigabytes."""
    long = np.flatnonzero(lengths > MAX_ID)
    if long.size:
        row = int(long[0])
        raise InputError(
            f"{name}:{lines[row]}: {column}: is {int(lengths[row]):,} characters long, longer than "
            f"{MAX_ID} characters (is this the customer id column?)"
        )


def _first_commas(
    commas: np.ndarray, starts: np.ndarray, ends: np.ndarray, per_line: int
) -> np.ndarray | None:
    """Index of each line's first comma, or None when some line has the wrong number of commas.

    With the right total, every line has the right count exactly when each line's share of the
    commas (taken in order) falls inside the line.
    """
    if per_line < 1 or len(commas) != len(starts) * per_line:
        return None
    first = np.arange(0, len(commas), per_line, dtype=np.int64)
    if (commas[first] >= starts).all() and (commas[first + per_line - 1] < ends).all():
        return first
    return None


def _all_spaces(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Which lines hold nothing but spaces (rare, so a loop over candidates is fine)."""
    result = ends <= starts
    for row in np.flatnonzero(~result & (buf[np.minimum(starts, len(buf) - 1)] == 32)):
        result[row] = not bytes(buf[starts[row] : ends[row]]).strip()
    return result


def _strip_spaces(
    buf: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Move field bounds past leading and trailing spaces; usually a single check."""
    start, end = start.copy(), end.copy()
    last = len(buf) - 1
    while True:
        moving = (start < end) & (buf[np.minimum(start, last)] == 32)
        if not moving.any():
            break
        start += moving
    while True:
        moving = (end > start) & (buf[np.maximum(end - 1, 0)] == 32)
        if not moving.any():
            break
        end -= moving
    return start, end


def _gather(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray, width: int) -> np.ndarray:
    """A (rows, width) uint8 matrix of each field's first bytes, zero-padded on the right.

    The bytes are read 8 at a time: an unaligned little-endian uint64 view of the buffer (one
    word starting at every byte) is indexed at each field's start, and the bytes past the
    field's length are masked off, one 1-D gather and one AND per 8 bytes of width.
    """
    words = max(-(-width // 8), 1)
    n = len(starts)
    if n == 0 or len(buf) < 8:
        return _gather_bytes(buf, starts, lengths, width)
    out = np.empty((n, words), dtype="<u8")
    view = np.ndarray((len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))
    last = len(buf) - 8
    for lo in range(0, n, _CHUNK):
        hi = min(lo + _CHUNK, n)
        chunk_starts, chunk_lengths = starts[lo:hi], lengths[lo:hi]
        for word in range(words):
            value = view[np.minimum(chunk_starts + 8 * word, last)]
            value &= _BYTE_MASKS[np.clip(chunk_lengths - 8 * word, 0, 8)]
            out[lo:hi, word] = value
    matrix = out.view(np.uint8).reshape(n, 8 * words)
    # Fields whose words run past the end of the buffer: copied byte by byte.
    for row in np.flatnonzero(starts > len(buf) - 8 * words):
        start = int(starts[row])
        tail = buf[start : start + min(int(lengths[row]), 8 * words)]
        matrix[row] = 0
        matrix[row, : len(tail)] = tail
    return matrix[:, :width] if width < 8 * words else matrix


_BYTE_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [2**64 - 1], dtype=np.uint64)


def _gather_bytes(
    buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray, width: int
) -> np.ndarray:
    """`_gather` for buffers shorter than 8 bytes (and no rows), one row at a time."""
    out = np.zeros((len(starts), width), dtype=np.uint8)
    for row in range(len(starts)):
        field = buf[int(starts[row]) : int(starts[row]) + min(int(lengths[row]), width)]
        out[row, : len(field)] = field
    return out


def _customer_codes(matrix: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer customer codes numbered by first appearance, and the row of each first appearance.

    Ids of up to 8 bytes are their own 64-bit key; longer ids are hashed to 64 bits, and the
    grouped rows are then compared byte for byte with their group's first row, so a hash
    collision cannot merge two customers: it sends us to the exact (slower) string sort
    instead. Grouping equal keys (`group_keys`) is a radix sort, not a comparison sort.
    """
    words = matrix.view("<u8")
    if words.shape[1] == 1:
        keys = words[:, 0]  # NUL bytes are refused, so zero padding cannot hide a difference
        exact = True
    else:
        keys = _hash_rows(words, lengths)
        exact = False
    order, new_run = group_keys(keys, mixed=not exact)
    run_starts = np.flatnonzero(new_run)
    run_lengths = np.diff(np.append(run_starts, len(keys)))
    if not exact:
        representative = np.repeat(order[run_starts], run_lengths)
        same = (lengths[order] == lengths[representative]).all()
        for lo in range(0, len(order), _CHUNK):
            if not same:
                break
            rows, reps = order[lo : lo + _CHUNK], representative[lo : lo + _CHUNK]
            same = bool((words[rows] == words[reps]).all())
        del representative
        if not same:  # a 64-bit hash collision: astronomically rare, but never merge customers
            strings = matrix.view(f"S{matrix.shape[1]}").ravel()
            _, first_rows, inverse = np.unique(strings, return_index=True, return_inverse=True)
            return _renumber_by_first_row(first_rows, inverse.ravel())
    # Each run keeps its rows in file order, so its first row is the earliest; numbering the
    # runs by it is a count over the rows, no sort.
    first_rows = order[run_starts]
    is_first = np.zeros(len(keys), dtype=bool)
    is_first[first_rows] = True
    code_of_run = np.cumsum(is_first, dtype=np.int64 if len(keys) >= 2**31 else np.int32)
    code_of_run = code_of_run[first_rows] - 1
    codes = np.empty(len(keys), dtype=np.int64)
    codes[order] = np.repeat(code_of_run, run_lengths)
    return codes, np.flatnonzero(is_first)


def radix_argsort(keys: np.ndarray) -> np.ndarray:
    """A stable argsort of non-negative integer keys, 16 bits at a time from the lowest.

    numpy sorts 16-bit integers stably with a radix sort (linear time) but larger ones with a
    merge sort; a few 16-bit passes are therefore 3-4 times faster than one stable argsort of
    32-bit keys over millions of rows. Digits that are the same in every key are skipped.
    """
    keys = np.asarray(keys)
    if keys.dtype.kind == "i":
        keys = keys.view(keys.dtype.str.replace("i", "u"))
    n = len(keys)
    order: np.ndarray | None = None
    if n > 1:
        for shift in range(0, int(keys.max()).bit_length(), 16):
            digit = (keys >> keys.dtype.type(shift)).astype(np.uint16)
            if digit.min() == digit.max():
                continue
            if order is None:
                order = np.argsort(digit, kind="stable")
            else:
                order = order[np.argsort(digit[order], kind="stable")]
    return np.arange(n) if order is None else order


def group_keys(keys: np.ndarray, mixed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """An order of the rows that puts equal 64-bit keys together, each group in row order, and
    a mask of the positions (in that order) where a new key starts.

    The rows are radix-sorted by 32 bits of the key (after a splitmix64 finaliser unless the
    keys are `mixed` already): two passes instead of four. Keys that share those 32 bits
    without being equal (a thousand or so pairs among a few million keys) are then sorted
    among themselves by their full value.
    """
    n = len(keys)
    new_run = np.ones(n, dtype=bool)
    if n < 2:
        return np.arange(n), new_run
    keys = keys.astype(np.uint64, copy=False)
    if mixed:
        short = (keys >> np.uint64(32)).astype(np.uint32)
    else:
        h = keys ^ (keys >> np.uint64(30))
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        short = (h >> np.uint64(32)).astype(np.uint32)
        del h
    order = radix_argsort(short)
    ordered = keys[order]
    np.not_equal(ordered[1:], ordered[:-1], out=new_run[1:])
    starts = np.flatnonzero(new_run)
    run_short = short[order[starts]]
    clash = run_short[1:] == run_short[:-1]
    if clash.any():
        # Several keys behind one 32-bit value: sort those rows by (value, key, row). The runs
        # of such a value are neighbours; mark them, then their rows.
        marked = np.zeros(len(starts), dtype=bool)
        marked[1:] |= clash
        marked[:-1] |= clash
        positions = np.flatnonzero(marked[np.cumsum(new_run) - 1])
        rows = order[positions]
        order[positions] = rows[np.lexsort((rows, keys[rows], short[rows]))]
        ordered = keys[order]
        np.not_equal(ordered[1:], ordered[:-1], out=new_run[1:])
    return order, new_run


def _renumber_by_first_row(
    first_rows: np.ndarray, inverse: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Renumber groups by their first row: a cumulative count over rows, no sort needed."""
    is_first = np.zeros(len(inverse), dtype=bool)
    is_first[first_rows] = True
    code_of = np.cumsum(is_first)[first_rows] - 1
    return code_of[inverse], np.flatnonzero(is_first)


def _hash_rows(words: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """A 64-bit hash per row of uint64 words (splitmix64-style mixing, wrapping arithmetic)."""
    h = lengths.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    for column in range(words.shape[1]):
        h ^= words[:, column]
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(31)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(29)
    return h


def _decode_ids(
    name: str, column: str, matrix: np.ndarray, first_rows: np.ndarray, lines: np.ndarray
) -> list[str]:
    """The unique ids as text, decoded in one call: the rows (zero-padded, and ids hold no NUL
    or line end) are laid end to end with line ends between them, the padding dropped, and the
    text split once."""
    unique = matrix[first_rows]
    block = np.empty((len(unique), unique.shape[1] + 1), dtype=np.uint8)
    block[:, :-1] = unique
    block[:, -1] = 10
    flat = block.ravel()
    text = flat.tobytes() if flat.all() else flat[flat != 0].tobytes()  # no padding: all alike
    try:
        return text.decode("utf-8").split("\n")[:-1]
    except UnicodeDecodeError:
        for position, value in enumerate(unique.view(f"S{unique.shape[1]}").ravel().tolist()):
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(
                    f"{name}:{lines[first_rows[position]]}: {column}: is not valid UTF-8 "
                    "(save the file as CSV UTF-8)"
                ) from None
        raise  # pragma: no cover - joined bytes fail only if one part fails


def _decode(name: str, line: int, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(
            f"{name}:{line}: is not valid UTF-8 (save the file as CSV UTF-8)"
        ) from None


# --- Dates -------------------------------------------------------------------------------------


def _parse_dates(
    name: str,
    column: str,
    buf: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray],
    lines: np.ndarray,
    text_of: Callable[[int], bytes],
) -> np.ndarray:
    """Decode `YYYY-MM-DD[T...]` fields to datetime64[D]; fall back to Python for the rest.

    Order logs are mostly in date order, so a row is often the same text as the row before:
    only the first of each such run is decoded (the first 16 bytes, compared as two 64-bit
    words, decide; a date's value depends on its first 11 bytes and its length, and bytes past
    the length are zero).
    """
    starts, ends = bounds
    lengths = ends - starts
    days = np.empty(len(starts), dtype=np.int64)
    bad_rows: list[np.ndarray] = []
    for lo in range(0, len(starts), _CHUNK):
        hi = min(lo + _CHUNK, len(starts))
        matrix = _gather(buf, starts[lo:hi], lengths[lo:hi], 16)
        words = matrix.view("<u8")
        new = np.empty(hi - lo, dtype=bool)
        new[0] = True
        np.not_equal(words[1:, 0], words[:-1, 0], out=new[1:])
        new[1:] |= words[1:, 1] != words[:-1, 1]
        heads = np.flatnonzero(new)
        head_days, head_bad = _dates_from_matrix(matrix[heads, :11], lengths[lo:hi][heads])
        runs = np.diff(np.append(heads, hi - lo))
        days[lo:hi] = np.repeat(head_days, runs)
        bad_rows.append(np.flatnonzero(np.repeat(head_bad, runs)) + lo)
    for row in np.concatenate(bad_rows):
        text = text_of(int(row)).decode("utf-8", errors="replace")
        days[row] = _date_from_text(name, int(lines[row]), column, text)
    return days.astype("datetime64[D]")


def _dates_from_matrix(matrix: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970-01-01 from a (rows, 11) byte matrix, and a mask of rows not understood.

    Pure integer arithmetic (validation, then the days-from-civil formula of H. Hinnant's
    "chrono-compatible low-level date algorithms"). numpy's own string-to-datetime64 cast is
    avoided on purpose: besides reporting no row, it crashed the interpreter on an invalid date
    in testing (numpy 2.4).
    """
    shape_ok = (
        ((lengths == 10) | ((lengths > 10) & ((matrix[:, 10] == 84) | (matrix[:, 10] == 32))))
        & (matrix[:, 4] == 45)
        & (matrix[:, 7] == 45)
    )
    digits = matrix[:, _DATE_DIGITS].astype(np.int32) - 48
    shape_ok &= ((digits >= 0) & (digits <= 9)).all(axis=1)
    year = digits[:, 0] * 1000 + digits[:, 1] * 100 + digits[:, 2] * 10 + digits[:, 3]
    month = digits[:, 4] * 10 + digits[:, 5]
    day = digits[:, 6] * 10 + digits[:, 7]
    month_ok = (month >= 1) & (month <= 12)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + (leap & (month == 2))
    ok = shape_ok & month_ok & (day >= 1) & (day <= month_days) & (year >= 1)
    # Days from civil: years start in March so that the leap day is the last day of a year.
    march_year = (year - (month <= 2)).astype(np.int64)
    era = march_year // 400
    year_of_era = march_year - era * 400
    day_of_year = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days = era * 146097 + day_of_era - 719468
    return np.where(ok, days, 0), ~ok


def _date_from_text(name: str, line: int, column: str, text: str) -> int:
    """Days since 1970-01-01 for a field the vectorised decoder did not accept, or an error."""
    import datetime as _dt

    value = text.strip()
    match = _DATE_RE.fullmatch(value)
    if match:
        try:
            date = _dt.date(int(match[1]), int(match[2]), int(match[3]))
            return (date - _dt.date(1970, 1, 1)).days
        except ValueError:
            pass
    if not value:
        raise InputError(f"{name}:{line}: {column}: is empty (every order needs a date)")
    raise InputError(f"{name}:{line}: {column}: {excerpt(value)} is not a date (use YYYY-MM-DD)")


# --- Amounts -----------------------------------------------------------------------------------


def _parse_amounts(
    name: str,
    column: str,
    buf: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray],
    lines: np.ndarray,
    text_of: Callable[[int], bytes],
) -> np.ndarray:
    """Decode plain decimal amounts to float64; fall back to Python for the rest."""
    starts, ends = bounds
    lengths = ends - starts
    width = int(min(max(int(lengths.max()), 1), _MAX_AMOUNT_WIDTH))
    amounts = np.empty(len(starts), dtype=np.float64)
    bad_rows: list[np.ndarray] = []
    for lo in range(0, len(starts), _CHUNK):
        hi = min(lo + _CHUNK, len(starts))
        matrix = _gather(buf, starts[lo:hi], lengths[lo:hi], width)
        values, bad = _amounts_from_matrix(matrix)
        bad |= lengths[lo:hi] > width
        amounts[lo:hi] = values
        bad_rows.append(np.flatnonzero(bad) + lo)
    for row in np.concatenate(bad_rows):
        text = text_of(int(row)).decode("utf-8", errors="replace")
        amounts[row] = _amount_from_text(name, int(lines[row]), column, text)
    return amounts


def _amounts_from_matrix(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values of `-?digits[.digits]` fields in a zero-padded byte matrix, and a mask of others.

    The digits are read as one integer (Horner's rule, exact in float64 below 2**53) and divided
    once by a power of ten, which rounds exactly like `float(text)`. Working column by column
    on the transposed matrix keeps every step a cheap one-dimensional operation.
    """
    columns = np.ascontiguousarray(matrix.T)
    rows = matrix.shape[0]
    integer = np.zeros(rows, dtype=np.float64)
    n_digits = np.zeros(rows, dtype=np.int64)
    n_dots = np.zeros(rows, dtype=np.int64)
    decimals = np.zeros(rows, dtype=np.int64)
    ok = np.ones(rows, dtype=bool)
    negative = columns[0] == 45
    for position, column in enumerate(columns):
        digit = column - np.uint8(48)
        is_digit = digit <= 9
        is_dot = column == 46
        # Zero bytes are padding, always at the end: NUL bytes were refused on reading.
        allowed = is_digit | is_dot | (column == 0)
        ok &= (allowed | negative) if position == 0 else allowed
        integer *= np.where(is_digit, 10.0, 1.0)
        integer += digit * is_digit
        n_digits += is_digit
        decimals += is_digit & (n_dots > 0)
        n_dots += is_dot
    ok &= (n_dots <= 1) & (n_digits >= 1) & (n_digits <= _MAX_FAST_DIGITS)
    values = integer / _POW10[decimals]
    return np.where(negative, -values, values), ~ok


def _amount_from_text(name: str, line: int, column: str, text: str) -> float:
    """The value of an amount field the vectorised decoder did not accept, or an error."""
    value = text.strip()
    match = _AMOUNT_RE.fullmatch(value)
    if match and not (match["sign1"] and match["sign2"]):
        digits = match["number"]
        if digits.count(",") == 1 and "." not in digits and match["currency"] not in ("$", "£"):
            raise InputError(
                f"{name}:{line}: {column}: {excerpt(value)} is ambiguous (a thousands separator "
                "or a decimal comma?); write 1234 or 1.234"
            )
        number = float(digits.replace(",", ""))
        if number >= MAX_AMOUNT:
            raise InputError(
                f"{name}:{line}: {column}: {excerpt(value)} is too large for an order amount "
                f"(the limit is {MAX_AMOUNT:.0e}; check the column and its unit)"
            )
        return -number if "-" in (match["sign1"] + match["sign2"]) else number
    if not value:
        raise InputError(f"{name}:{line}: {column}: is empty (every order needs an amount)")
    hint = (
        "NaN and infinity are not amounts"
        if value.strip("+-").lower() in ("nan", "inf", "infinity")
        else "use a plain number like 1234.50"
    )
    raise InputError(f"{name}:{line}: {column}: {excerpt(value)} is not an amount ({hint})")


# --- The csv-module path: files with quotes ----------------------------------------------------


def _read_with_csv_module(
    name: str,
    raw: bytes,
    customer_col: str | None,
    date_col: str | None,
    amount_col: str | None,
) -> Orders:
    text = _decode_all(name, raw)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    previous = 0  # the last line of the last complete record
    try:
        header = [field.strip() for field in next(reader)]
        picked = _pick_columns(name, header, customer_col, date_col, amount_col)
        columns = (header[picked[0]], header[picked[1]], header[picked[2]])
        ids: list[str] = []
        dates: list[bytes] = []
        amounts: list[bytes] = []
        lines: list[int] = []
        previous = reader.line_num
        for row in reader:
            line, previous = previous + 1, reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(header):
                raise InputError(
                    f"{name}:{line}: expected {len(header)} fields like the header, found "
                    f"{len(row)} (check the quotes on this line)"
                )
            customer = row[picked[0]].strip(" ")
            if not customer:
                raise InputError(
                    f"{name}:{line}: {columns[0]}: is empty (every order needs a customer)"
                )
            if len(customer) > MAX_ID:
                _check_id_lengths(name, columns[0], np.array([len(customer)]), np.array([line]))
            ids.append(customer)
            dates.append(row[picked[1]].strip().encode("utf-8"))
            amounts.append(row[picked[2]].strip().encode("utf-8"))
            lines.append(line)
    except csv.Error as exc:
        # The record that failed began on the line after the last good one: that is where an
        # unclosed quote was opened, however far the parser read looking for its end.
        start = previous + 1
        if "end of data" in str(exc) or reader.line_num > start:
            raise InputError(
                f"{name}:{start}: a quoted field starting on this line is never closed "
                "(check the quotes on this line)"
            ) from None
        raise InputError(f"{name}:{start}: {exc} (check the quotes)") from None
    if not ids:
        return _empty_orders(name, columns)
    line_array = np.array(lines, dtype=np.int64)
    index: dict[str, int] = {}
    codes = np.fromiter(
        (index.setdefault(customer, len(index)) for customer in ids), np.int64, len(ids)
    )
    date_buf, date_bounds = _pack(dates)
    amount_buf, amount_bounds = _pack(amounts)
    parsed_dates = _parse_dates(
        name, columns[1], date_buf, date_bounds, line_array, dates.__getitem__
    )
    parsed_amounts = _parse_amounts(
        name, columns[2], amount_buf, amount_bounds, line_array, amounts.__getitem__
    )
    return Orders(name, list(index), codes, parsed_dates, parsed_amounts, line_array, columns)


def _pack(fields: Sequence[bytes]) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Concatenate fields into one buffer with their bounds, for the vectorised decoders."""
    lengths = np.fromiter((len(field) for field in fields), np.int64, len(fields))
    ends = np.cumsum(lengths)
    buf = np.frombuffer(b"".join(fields) or b"\x00", dtype=np.uint8)
    return buf, (ends - lengths, ends)


def _decode_all(name: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{name}:{line}: is not valid UTF-8 (save the file as CSV UTF-8)"
        ) from None


def _empty_orders(name: str, columns: tuple[str, str, str]) -> Orders:
    return Orders(
        name,
        [],
        np.zeros(0, dtype=np.int64),
        np.zeros(0, dtype="datetime64[D]"),
        np.zeros(0, dtype=np.float64),
        np.zeros(0, dtype=np.int64),
        columns,
    )
