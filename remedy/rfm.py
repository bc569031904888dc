"""Per-customer purchase summaries (frequency, recency, T, spend) from an order log or a file.

The CLV models see a customer only through this summary, so it is the one place where the
data-preparation rules live (they follow the BG/NBD literature and the `lifetimes` package):

* Orders by the same customer on the same day are one transaction; their amounts are summed, so
  a same-day return nets against the purchase.
* A transaction whose net total is zero or more is a purchase: a free sample or a 100% discount
  is still a visit that counts for frequency and recency. A day whose net total is negative (a
  return, a refund) is not a purchase; a warning counts them. Customers without any purchase are
  left out, with a warning.
* frequency x = purchase days - 1; recency t_x = last - first purchase day; T = as-of date -
  first purchase day; all three in time units (days / unit length).
* Spend (Gamma-Gamma) looks at repeat purchases with a positive total only: `spend_frequency`
  counts them and `monetary` is their mean (0 when there is none). A zero-value order has no
  spend to model.
* Orders after the as-of date are left out, with a warning (they are the future as seen from
  the as-of date; `holdout_from` compares predictions with them).
* With `holdout_from`, the calibration period ends the day before it: frequency, recency and T
  are measured on the orders before it (T up to that day), and `holdout_purchases` counts each
  calibration customer's purchase days from `holdout_from` to the as-of date (`holdout_spend`
  their total spend, for `remedy review`). Customers whose first purchase falls in the holdout
  window are not part of the calibration cohort.

Sources: an orders CSV read by `remedy.orders` (the strict reader) or, through DuckDB, a Parquet
file, a gzip-compressed CSV or any CSV too large to read into memory; or a ready summary file
(`read_summary_file`) with columns `customer_id, frequency, recency, T, monetary_value` and,
optionally, `spend_frequency` (default: frequency), as the SQL query `SUMMARY_SQL` produces.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from remedy.errors import InputError, UsageError
from remedy.orders import MAX_AMOUNT, Orders, excerpt, read_header

EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class CustomerSummary:
    """What the CLV models need per customer, aligned arrays in one order.

    `recency` and `T` are in time units of `unit_days` days. `recency_days` and `T_days` hold
    the same in whole days when they come from dated orders (None for a summary file): whole
    days let customers be grouped with integer arithmetic. `holdout_purchases` is set only when
    a holdout window was asked for.
    """

    source: str
    columns: tuple[str, ...]
    customer_ids: list[str]
    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    spend_frequency: np.ndarray
    monetary: np.ndarray
    unit_days: float
    as_of: dt.date | None
    orders: int | None
    transactions: int | None
    mean_transaction_value: float
    warnings: tuple[str, ...]
    recency_days: np.ndarray | None = None
    T_days: np.ndarray | None = None
    holdout_from: dt.date | None = None
    holdout_end: dt.date | None = None
    holdout_purchases: np.ndarray | None = None
    holdout_spend: np.ndarray | None = None  # the spend of those purchase days

    @property
    def customers(self) -> int:
        return len(self.frequency)

    @property
    def holdout_length(self) -> float:
        """The holdout window in time units (0 without one)."""
        if self.holdout_from is None or self.holdout_end is None:
            return 0.0
        return ((self.holdout_end - self.holdout_from).days + 1) / self.unit_days


def day_number(date: dt.date) -> int:
    """Days since 1970-01-01."""
    return (date - EPOCH).days


def summarise_orders(
    orders: Orders,
    unit_days: float,
    as_of: dt.date | None = None,
    holdout_from: dt.date | None = None,
) -> CustomerSummary:
    """Summarise an order log (see the module docstring for the rules)."""
    days: np.ndarray = orders.date.astype(np.int64)
    warnings: list[str] = []
    as_of_day = int(days.max()) if as_of is None else day_number(as_of)
    later = int(np.count_nonzero(days > as_of_day))
    if later:
        warnings.append(
            f"{later:,} order(s) dated after the as-of date "
            f"{(EPOCH + dt.timedelta(days=as_of_day)).isoformat()} are left out"
        )
    end_day = as_of_day if holdout_from is None else day_number(holdout_from) - 1
    first_day = int(days.min())
    if holdout_from is not None:
        _check_holdout(orders.source, holdout_from, first_day, end_day, as_of_day)
    span = as_of_day - first_day + 1

    # One sort by (customer, day) gives transactions and customers as contiguous runs.
    kept = np.flatnonzero(days <= as_of_day) if later else None
    customer = orders.customer if kept is None else orders.customer[kept]
    amount = orders.amount if kept is None else orders.amount[kept]
    key = customer * span + ((days if kept is None else days[kept]) - first_day)
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_key[1:] != sorted_key[:-1])))
    totals = np.add.reduceat(amount[order], starts) if len(starts) else np.zeros(0)
    transaction_key = sorted_key[starts]
    del order, sorted_key, key, customer, amount

    purchase = totals >= 0
    dropped = len(totals) - int(np.count_nonzero(purchase))
    if dropped:
        warnings.append(
            f"{dropped:,} customer-day transaction(s) with a negative total (returns, refunds) "
            "are not counted as purchases"
        )
    totals, transaction_key = totals[purchase], transaction_key[purchase]
    customer = transaction_key // span
    day = transaction_key % span + first_day
    in_window = day > end_day
    holdout_customer = customer[in_window]
    holdout_totals = totals[in_window]
    totals, customer, day = totals[~in_window], customer[~in_window], day[~in_window]

    first_of = np.flatnonzero(np.diff(customer, prepend=-1))
    last_of = np.append(first_of[1:], len(customer))[: len(first_of)] - 1
    codes = customer[first_of]
    lost = len(orders.customer_ids) - len(codes)
    if lost:
        why = "no purchase (only negative totals)"
        if holdout_from is not None:
            why = "no purchase before the holdout window (or only negative totals)"
        warnings.append(f"{lost:,} customer(s) have {why} and are left out")
    frequency = (last_of - first_of).astype(np.int64)
    repeat = np.ones(len(totals), dtype=bool)
    repeat[first_of] = False
    spending = repeat & (totals > 0)
    owner = np.cumsum(~repeat) - 1  # each transaction's customer position
    spend_frequency = np.bincount(owner[spending], minlength=len(codes)).astype(np.int64)
    spend_sum = np.bincount(owner[spending], weights=totals[spending], minlength=len(codes))
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(spend_frequency > 0, spend_sum / np.maximum(spend_frequency, 1), 0.0)
    positive = totals[totals > 0]
    recency_days = (day[last_of] - day[first_of]).astype(np.int64)
    T_days = (end_day - day[first_of]).astype(np.int64)
    holdout = holdout_spend = None
    if holdout_from is not None:
        position = np.full(len(orders.customer_ids), -1, dtype=np.int64)
        position[codes] = np.arange(len(codes))
        mine = position[holdout_customer]
        known = mine >= 0
        holdout = np.bincount(mine[known], minlength=len(codes)).astype(np.int64)
        holdout_spend = np.bincount(mine[known], holdout_totals[known], minlength=len(codes))
    all_ids = orders.customer_ids
    return CustomerSummary(
        source=orders.source,
        columns=orders.columns,
        # Codes are in order of first appearance and the sort keeps customers in code order.
        customer_ids=(
            all_ids if len(codes) == len(all_ids) else [all_ids[c] for c in codes.tolist()]
        ),
        frequency=frequency,
        recency=recency_days / unit_days,
        T=T_days / unit_days,
        spend_frequency=spend_frequency,
        monetary=monetary,
        unit_days=unit_days,
        as_of=EPOCH + dt.timedelta(days=end_day),
        orders=len(orders) - later,
        transactions=len(totals),
        mean_transaction_value=float(positive.mean()) if len(positive) else 0.0,
        warnings=tuple(warnings),
        recency_days=recency_days,
        T_days=T_days,
        holdout_from=holdout_from,
        holdout_end=None if holdout_from is None else EPOCH + dt.timedelta(days=as_of_day),
        holdout_purchases=holdout,
        holdout_spend=holdout_spend,
    )


def _check_holdout(
    source: str, holdout_from: dt.date, first_day: int, end_day: int, as_of_day: int
) -> None:
    if end_day < first_day:
        raise UsageError(
            f"--holdout-from: {holdout_from.isoformat()} is on or before the first order in "
            f"{source}, so there is nothing to fit on (choose a later date)"
        )
    if end_day >= as_of_day:
        raise UsageError(
            f"--holdout-from: {holdout_from.isoformat()} leaves no holdout window before the "
            f"as-of date {(EPOCH + dt.timedelta(days=as_of_day)).isoformat()} (choose an "
            "earlier date)"
        )


# --- Input kinds and DuckDB ------------------------------------------------------------------


def input_kind(name: str, summary: bool, data: bytes | None) -> str:
    """How to read `name`: 'summary', 'parquet', 'csv.gz', 'csv' (in memory) or 'csv-large'."""
    lowered = name.lower()
    if summary:
        return "summary"
    if lowered.endswith(".parquet") or lowered.endswith(".pq"):
        return "parquet"
    if lowered.endswith(".gz"):
        return "csv.gz"
    if data is None and name != "-":
        from remedy.orders import in_memory_limit, source_size

        size = source_size(name)
        if size is not None and size > in_memory_limit():
            return "csv-large"
    return "csv"


SUMMARY_SQL = """\
WITH transactions AS (            -- one row per customer and day: same-day orders add up
  SELECT customer_id, order_date, SUM(amount) AS total
  FROM orders
  WHERE order_date <= DATE '{as_of}'
  GROUP BY customer_id, order_date
), purchases AS (                 -- a day with a negative net total (a return) is no purchase
  SELECT customer_id, order_date, total FROM transactions WHERE total >= 0
), firsts AS (
  SELECT customer_id, MIN(order_date) AS first_date FROM purchases GROUP BY customer_id
)
SELECT
  p.customer_id,
  COUNT(*) - 1 AS frequency,
  date_diff('day', f.first_date, MAX(p.order_date)) / {unit_days} AS recency,
  date_diff('day', f.first_date, DATE '{as_of}') / {unit_days} AS T,
  COALESCE(
    SUM(CASE WHEN p.order_date > f.first_date AND p.total > 0 THEN p.total END)
    / NULLIF(COUNT(CASE WHEN p.order_date > f.first_date AND p.total > 0 THEN 1 END), 0),
    0) AS monetary_value,
  COUNT(CASE WHEN p.order_date > f.first_date AND p.total > 0 THEN 1 END) AS spend_frequency
FROM purchases p JOIN firsts f ON p.customer_id = f.customer_id
GROUP BY p.customer_id, f.first_date"""
"""The per-customer summary in SQL, as a warehouse would run it on its `orders` table
(customer_id, order_date DATE, amount); `{as_of}` is the last day observed and `{unit_days}` the
length of the time unit in days (7.0 for weeks). The README prints this text; the tests run it in
DuckDB and check it gives the same fit as the order-log path. `date_diff('day', a, b)` is the
one dialect-specific spelling (DuckDB, Trino); see the README for other warehouses."""

SUMMARY_COLUMNS = ("customer_id", "frequency", "recency", "T", "monetary_value")

# DuckDB works within this much memory and spills the rest to a temporary folder, so peak
# memory stays bounded whatever the input size.
DUCKDB_MEMORY = "384MB"

_DATE_TEXT = r"\d{4}-\d{2}-\d{2}([T ].*)?"
_AMOUNT_TEXT = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"


def _quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@contextlib.contextmanager
def _connect() -> Iterator[Any]:
    """A DuckDB connection with bounded memory that spills to a private temporary folder,
    removed afterwards. `REMEDY_DUCKDB_MEMORY` overrides the limit (e.g. 64MB, 2GB)."""
    import os
    import tempfile

    import duckdb

    with tempfile.TemporaryDirectory(prefix="remedy-duckdb-") as spill:
        connection = duckdb.connect(
            config={
                "memory_limit": os.environ.get("REMEDY_DUCKDB_MEMORY", DUCKDB_MEMORY),
                "temp_directory": spill,
                "preserve_insertion_order": False,
            }
        )
        try:
            connection.execute("SET enable_progress_bar = false")
            yield connection
        finally:
            connection.close()


def _scan(kind: str, path: str, header: list[str] | None) -> str:
    """The SQL table function reading `path`: every CSV field as text, validated below."""
    if kind == "parquet":
        return f"read_parquet({_literal(path)})"
    assert header is not None
    columns = ", ".join(f"{_literal(name)}: 'VARCHAR'" for name in header)
    compression = "gzip" if kind == "csv.gz" else "none"
    return (
        f"read_csv({_literal(path)}, header = true, auto_detect = false, delim = ',', "
        f"quote = '\"', escape = '\"', columns = {{{columns}}}, compression = '{compression}', "
        "strict_mode = true, null_padding = false, max_line_size = 1048576)"
    )


def _typed_columns(
    picked: tuple[str, str, str], types: dict[str, str]
) -> tuple[str, str, str, str]:
    """SQL for the customer id, date and amount of a row, and for "the row is valid".

    Text is held to the strict reader's plain forms (YYYY-MM-DD[T...] dates, plain decimal
    amounts); anything else is refused here and explained by the strict reader when it can.
    """
    customer, date, amount = (_quote_name(name) for name in picked)
    customer_sql = f"trim(CAST({customer} AS VARCHAR))"
    date_type = types.get(picked[1], "VARCHAR").upper()
    amount_type = types.get(picked[2], "VARCHAR").upper()
    if date_type.startswith(("DATE", "TIMESTAMP")):
        date_sql = f"CAST({date} AS DATE)"
        date_ok = f"{date} IS NOT NULL"
    else:
        text = f"trim(CAST({date} AS VARCHAR))"
        date_sql = f"TRY_CAST(left({text}, 10) AS DATE)"
        date_ok = f"regexp_full_match({text}, '{_DATE_TEXT}') AND {date_sql} IS NOT NULL"
    numeric = amount_type.startswith(
        ("DOUBLE", "FLOAT", "REAL", "DECIMAL", "INT", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT",
         "UINT", "UBIGINT", "USMALLINT", "UTINYINT", "NUMERIC")
    )  # fmt: skip
    if numeric:
        amount_sql = f"CAST({amount} AS DOUBLE)"
        amount_ok = f"{amount} IS NOT NULL AND isfinite({amount_sql})"
    else:
        text = f"trim(CAST({amount} AS VARCHAR))"
        amount_sql = f"TRY_CAST({text} AS DOUBLE)"
        amount_ok = f"regexp_full_match({text}, '{_AMOUNT_TEXT}')"
    valid = (
        f"({customer_sql} <> '' AND {date_ok} AND {amount_ok} "
        f"AND abs({amount_sql}) < {MAX_AMOUNT_SQL})"
    )
    return customer_sql, date_sql, amount_sql, valid


MAX_AMOUNT_SQL = "1e15"


def summarise_with_duckdb(
    name: str,
    kind: str,
    unit_days: float,
    wanted: tuple[str | None, str | None, str | None],
    as_of: dt.date | None = None,
    holdout_from: dt.date | None = None,
) -> CustomerSummary:
    """Summarise a Parquet file, a gzip CSV or a large CSV with DuckDB, out of core.

    Orders are first reduced to one row per customer and day (a table DuckDB may spill to
    disk), then `SUMMARY_SQL` runs on that table. Rows the strict reader would refuse are
    found in the same pass; the strict reader then names the line when the file is small
    enough to re-read in memory, otherwise the message shows the first such row.
    """
    from remedy.orders import check_source

    path = check_source(name)
    with _connect() as connection:
        return _summarise_connected(
            connection, name, kind, path, unit_days, wanted, as_of, holdout_from
        )


def _summarise_connected(
    connection: Any,
    name: str,
    kind: str,
    path: Path,
    unit_days: float,
    wanted: tuple[str | None, str | None, str | None],
    as_of: dt.date | None,
    holdout_from: dt.date | None,
) -> CustomerSummary:
    import duckdb

    from remedy.orders import pick_columns

    try:
        header: list[str] | None = None
        types: dict[str, str] = {}
        if kind == "parquet":
            described = connection.execute(f"DESCRIBE SELECT * FROM {_scan(kind, str(path), None)}")
            types = {row[0]: row[1] for row in described.fetchall()}
            columns = list(types)
        else:
            header = read_header(name, _first_line(path, kind))
            columns = header
        picked = pick_columns(name, columns, wanted)
        customer_sql, date_sql, amount_sql, valid = _typed_columns(picked, types)
        connection.execute(
            "CREATE TEMP TABLE orders AS SELECT "
            f"{customer_sql} AS customer_id, {date_sql} AS order_date, "
            f"SUM({amount_sql}) AS amount, COUNT(*) AS n, COUNT(*) FILTER (WHERE NOT {valid}) "
            f"AS bad FROM {_scan(kind, str(path), header)} GROUP BY ALL"
        )
        bad, orders, first, last = connection.execute(
            "SELECT COALESCE(SUM(bad), 0), COALESCE(SUM(n), 0), MIN(order_date), "
            "MAX(order_date) FROM orders"
        ).fetchone()
        if bad:
            return _refused_rows(
                name, kind, path, connection, wanted, as_of, holdout_from, unit_days
            )
        if orders == 0:
            raise InputError(f"{name}: has a header but no orders (expected one order per line)")
        as_of_date = last if as_of is None else as_of
        end = as_of_date if holdout_from is None else holdout_from - dt.timedelta(days=1)
        if holdout_from is not None:
            _check_holdout(name, holdout_from, day_number(first), day_number(end),
                           day_number(as_of_date))  # fmt: skip
        query = SUMMARY_SQL.format(as_of=end.isoformat(), unit_days="1.0")
        hold = (
            "SELECT customer_id, COUNT(*) AS held, SUM(amount) AS held_spend FROM orders "
            f"WHERE amount >= 0 AND order_date BETWEEN DATE '{holdout_from.isoformat()}' "
            f"AND DATE '{as_of_date.isoformat()}' GROUP BY customer_id"
            if holdout_from is not None
            else "SELECT NULL::VARCHAR AS customer_id, 0 AS held, 0.0 AS held_spend WHERE false"
        )
        result = connection.execute(
            f"WITH summary AS ({query}), hold AS ({hold}) "
            "SELECT s.*, COALESCE(h.held, 0) AS held, COALESCE(h.held_spend, 0.0) AS held_spend "
            "FROM summary s "
            "LEFT JOIN hold h ON s.customer_id = h.customer_id ORDER BY s.customer_id"
        ).fetchnumpy()
        stats = connection.execute(
            "SELECT COALESCE(SUM(n) FILTER (WHERE order_date <= DATE "
            f"'{as_of_date.isoformat()}'), 0), COUNT(*) FILTER (WHERE amount < 0 AND order_date "
            f"<= DATE '{end.isoformat()}'), COUNT(*) FILTER (WHERE order_date > DATE "
            f"'{as_of_date.isoformat()}'), (SELECT COUNT(DISTINCT customer_id) FROM orders), "
            f"AVG(amount) FILTER (WHERE amount > 0 AND order_date <= DATE '{end.isoformat()}') "
            "FROM orders"
        ).fetchone()
    except duckdb.Error as exc:
        return _engine_error(name, kind, path, exc, wanted, as_of, holdout_from, unit_days)
    kept_orders, negative_days, later_days, everyone, mean_value = stats
    recency_days = np.asarray(result["recency"], dtype=np.float64).round().astype(np.int64)
    T_days = np.asarray(result["T"], dtype=np.float64).round().astype(np.int64)
    frequency = np.asarray(result["frequency"], dtype=np.int64)
    warnings = []
    if later_days:
        warnings.append(
            f"orders on {later_days:,} customer-day(s) dated after the as-of date "
            f"{as_of_date.isoformat()} are left out"
        )
    if negative_days:
        warnings.append(
            f"{negative_days:,} customer-day transaction(s) with a negative total (returns, "
            "refunds) are not counted as purchases"
        )
    lost = int(everyone) - len(frequency)
    if lost:
        warnings.append(f"{lost:,} customer(s) have no purchase to fit on and are left out")
    return CustomerSummary(
        source=name,
        columns=picked,
        customer_ids=np.asarray(result["customer_id"]).tolist(),
        frequency=frequency,
        recency=recency_days / unit_days,
        T=T_days / unit_days,
        spend_frequency=np.asarray(result["spend_frequency"], dtype=np.int64),
        monetary=np.asarray(result["monetary_value"], dtype=np.float64),
        unit_days=unit_days,
        as_of=end,
        orders=int(kept_orders),
        transactions=int(frequency.sum() + len(frequency)),
        mean_transaction_value=float(mean_value or 0.0),
        warnings=tuple(warnings),
        recency_days=recency_days,
        T_days=T_days,
        holdout_from=holdout_from,
        holdout_end=None if holdout_from is None else as_of_date,
        holdout_purchases=(
            None if holdout_from is None else np.asarray(result["held"], dtype=np.int64)
        ),
        holdout_spend=(
            None if holdout_from is None else np.asarray(result["held_spend"], dtype=np.float64)
        ),
    )


def _first_line(path: Path, kind: str) -> bytes:
    """The first line of a CSV (decompressed for gzip), at most 1 MiB."""
    import gzip

    opener: Any = gzip.open if kind == "csv.gz" else open
    try:
        with opener(path, "rb") as stream:
            return bytes(stream.readline(2**20))
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot be read as {kind} ({_short(str(exc))})") from None


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _precise(
    name: str,
    kind: str,
    path: Path,
    wanted: tuple[str | None, str | None, str | None],
    as_of: dt.date | None,
    holdout_from: dt.date | None,
    unit_days: float,
) -> CustomerSummary | None:
    """Re-read a CSV with the strict in-memory reader when it is small enough: it either names
    the line that is wrong, or reads a form DuckDB was not asked to accept (`$12.50`)."""
    import gzip

    from remedy.orders import PRECISE_LIMIT, read_orders

    if kind == "parquet":
        return None
    if kind == "csv.gz":
        with gzip.open(path, "rb") as stream:
            data = stream.read(PRECISE_LIMIT + 1)
        if len(data) > PRECISE_LIMIT:
            return None
    else:
        if path.stat().st_size > PRECISE_LIMIT:
            return None
        data = path.read_bytes()
    orders = read_orders(name, data, *wanted)
    if len(orders) == 0:
        raise InputError(f"{name}: has a header but no orders (expected one order per line)")
    return summarise_orders(orders, unit_days, as_of, holdout_from)


def _refused_rows(
    name: str,
    kind: str,
    path: Path,
    connection: Any,
    wanted: tuple[str | None, str | None, str | None],
    as_of: dt.date | None,
    holdout_from: dt.date | None,
    unit_days: float,
) -> CustomerSummary:
    precise = _precise(name, kind, path, wanted, as_of, holdout_from, unit_days)
    if precise is not None:
        return precise
    count, customer = connection.execute(
        "SELECT SUM(bad), MIN(customer_id) FILTER (WHERE bad > 0) FROM orders"
    ).fetchone()
    who = "an empty customer id" if not customer else f"customer {excerpt(str(customer))}"
    raise InputError(
        f"{name}: {int(count):,} order(s) have an empty customer id, a date that is not "
        f"YYYY-MM-DD or an amount that is not a plain number below {MAX_AMOUNT_SQL} (first "
        f"by id: {who}; fix them, or export dates and amounts as plain text)"
    )


def _engine_error(
    name: str,
    kind: str,
    path: Path,
    exc: Exception,
    wanted: tuple[str | None, str | None, str | None],
    as_of: dt.date | None,
    holdout_from: dt.date | None,
    unit_days: float,
) -> CustomerSummary:
    """A file DuckDB could not read: the strict reader explains it when it can."""
    if kind != "parquet":
        precise = _precise(name, kind, path, wanted, as_of, holdout_from, unit_days)
        if precise is not None:
            return precise
    first = str(exc).split("\n", 1)[0]
    raise InputError(f"{name}: cannot be read as {kind} ({_short(first)})") from None


def read_summary_file(name: str, unit_days: float, data: bytes | None = None) -> CustomerSummary:
    """Read a per-customer summary (CSV, gzip CSV or Parquet) with the columns
    `SUMMARY_COLUMNS` (names case-insensitive) and optionally `spend_frequency`.

    recency and T are in the time unit of the run. Each customer must satisfy 0 <= recency <=
    T, recency = 0 when frequency = 0, a whole frequency >= 0 and a monetary value >= 0 that is
    the mean of `spend_frequency` (default: frequency when the value is positive, else 0)
    repeat purchases. Errors name the column and the first customer that breaks a rule.
    """
    from remedy.orders import check_source

    if data is not None or name == "-":
        raise UsageError("--summary: give the summary as a file (not standard input)")
    path = check_source(name)
    lowered = name.lower()
    kind = "parquet" if lowered.endswith((".parquet", ".pq")) else "csv"
    if lowered.endswith(".gz"):
        kind = "csv.gz"
    with _connect() as connection:
        return _read_summary_connected(connection, name, kind, path, unit_days)


def _read_summary_connected(
    connection: Any, name: str, kind: str, path: Path, unit_days: float
) -> CustomerSummary:
    import duckdb

    try:
        header = None if kind == "parquet" else read_header(name, _first_line(path, kind))
        scan = _scan(kind, str(path), header)
        names = [row[0] for row in connection.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()]
        by_lower: dict[str, str] = {}
        for found in names:
            key = found.strip().lower()
            if key in by_lower:
                raise InputError(f"{name}:1: column {excerpt(key)} appears twice in the header")
            by_lower[key] = found
        missing = [c for c in SUMMARY_COLUMNS if c.lower() not in by_lower]
        if missing:
            from remedy.orders import _columns_found

            raise InputError(
                f"{name}:1: a summary needs the columns {', '.join(SUMMARY_COLUMNS)}; missing "
                f"{', '.join(missing)} (columns found: {_columns_found(names)})"
            )
        select = [f"trim(CAST({_quote_name(by_lower['customer_id'])} AS VARCHAR)) AS customer_id"]
        for key in (*SUMMARY_COLUMNS[1:], "spend_frequency"):
            if key.lower() in by_lower:
                source = _quote_name(by_lower[key.lower()])
                select.append(f"TRY_CAST(trim(CAST({source} AS VARCHAR)) AS DOUBLE) AS {key}")
                select.append(f"CAST({source} AS VARCHAR) AS {key}_text")
        table = connection.execute(f"SELECT {', '.join(select)} FROM {scan}").fetchnumpy()
    except duckdb.Error as exc:
        first = str(exc).split("\n", 1)[0]
        raise InputError(f"{name}: cannot be read as a {kind} summary ({_short(first)})") from None
    ids = np.asarray(table["customer_id"], dtype=object)
    if len(ids) == 0:
        raise InputError(f"{name}: has a header but no customers")

    def column(key: str) -> np.ndarray:
        values = np.ma.filled(np.ma.asarray(table[key]).astype(np.float64), np.nan)
        texts = np.asarray(table[f"{key}_text"], dtype=object)
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            shown = texts[bad[0]]
            raise InputError(
                f"{name}: customer {excerpt(str(ids[bad[0]]))}: {key}: "
                f"{excerpt(str(shown)) if shown is not None else 'is empty'} is not a number"
            )
        return values

    def refuse(mask: np.ndarray, rule: str) -> None:
        bad = np.flatnonzero(mask)
        if len(bad):
            raise InputError(
                f"{name}: customer {excerpt(str(ids[bad[0]]))}: {rule} "
                f"({len(bad):,} customer(s) break this rule)"
            )

    refuse(np.array([not value for value in ids]), "customer_id is empty")
    frequency = column("frequency")
    recency = column("recency")
    T = column("T")
    monetary = column("monetary_value")
    refuse(
        (frequency < 0) | (frequency != np.round(frequency)),
        "frequency must be a whole number >= 0",
    )
    refuse(recency < 0, "recency must be >= 0")
    refuse(recency > T * (1 + 1e-12), "recency must not exceed T")
    refuse((frequency == 0) & (recency != 0), "recency must be 0 when frequency is 0")
    refuse(monetary < 0, "monetary_value must be >= 0")
    refuse(monetary >= MAX_AMOUNT, f"monetary_value must be below {MAX_AMOUNT:.0e}")
    if "spend_frequency" in table:
        spend = column("spend_frequency")
        refuse(
            (spend < 0) | (spend > frequency) | (spend != np.round(spend)),
            "spend_frequency must be a whole number from 0 to frequency",
        )
        refuse((spend > 0) & (monetary <= 0), "monetary_value must be > 0 when spend_frequency is")
        spend_frequency = np.where(monetary > 0, spend, 0).astype(np.int64)
    else:
        spend_frequency = np.where(monetary > 0, frequency, 0).astype(np.int64)
    weights = spend_frequency.astype(np.float64)
    mean_value = float(np.dot(weights, monetary) / weights.sum()) if weights.sum() else 0.0
    return CustomerSummary(
        source=name,
        columns=tuple(by_lower[c.lower()] for c in SUMMARY_COLUMNS),
        customer_ids=[str(value) for value in ids.tolist()],
        frequency=frequency.astype(np.int64),
        recency=recency,
        T=T,
        spend_frequency=spend_frequency,
        monetary=np.where(spend_frequency > 0, monetary, 0.0),
        unit_days=unit_days,
        as_of=None,
        orders=None,
        transactions=None,
        mean_transaction_value=mean_value,
        warnings=(),
    )


def looks_like_summary(name: str) -> bool:
    """Whether a file's columns are a per-customer summary's (frequency, recency, T,
    monetary_value) rather than an order log's: how an incident's `customers.orders` may name
    either without a separate key."""
    from remedy.orders import check_source

    path = check_source(name)
    lowered = name.lower()
    if lowered.endswith((".parquet", ".pq")):
        with _connect() as connection:
            described = connection.execute(f"DESCRIBE SELECT * FROM {_scan('parquet', name, None)}")
            names = [row[0] for row in described.fetchall()]
    else:
        names = read_header(name, _first_line(path, "csv.gz" if lowered.endswith(".gz") else "csv"))
    found = {column.strip().lower() for column in names}
    return {c.lower() for c in SUMMARY_COLUMNS[1:]} <= found
