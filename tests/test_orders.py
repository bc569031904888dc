"""Reading order CSVs: columns, dates, amounts, ids, line numbers in errors, both parse paths."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remedy.errors import InputError, UsageError
from remedy.orders import read_orders


def read(text: str, **columns: str) -> object:
    return read_orders("orders.csv", text.encode("utf-8"), **columns)


def test_reads_columns_into_arrays() -> None:
    orders = read_orders(
        "orders.csv",
        b"customer_id,date,amount\nc1,2024-01-02,10.5\nc2,2024-01-03,3\nc1,2024-02-01,-2.25\n",
    )
    assert orders.customer_ids == ["c1", "c2"]
    assert orders.customer.tolist() == [0, 1, 0]
    assert orders.date.dtype == np.dtype("datetime64[D]")
    assert orders.date.tolist() == [dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 2, 1)]
    assert orders.amount.tolist() == [10.5, 3.0, -2.25]
    assert orders.line.tolist() == [2, 3, 4]
    assert orders.columns == ("customer_id", "date", "amount")


def test_aliases_case_insensitive_and_extra_columns() -> None:
    orders = read_orders(
        "o.csv", b"Order_Date,sku,EMAIL,Total\n2024-05-01,x,a@b.c,1\n2024-05-02,y,d@e.f,2\n"
    )
    assert orders.columns == ("EMAIL", "Order_Date", "Total")
    assert orders.customer_ids == ["a@b.c", "d@e.f"]
    assert orders.amount.tolist() == [1.0, 2.0]


def test_explicit_column_names() -> None:
    orders = read_orders(
        "o.csv", b"who,when,paid\nx,2024-01-01,5\n", customer_col="who", date_col="When",
        amount_col="paid",
    )  # fmt: skip
    assert orders.columns == ("who", "when", "paid")


def test_missing_column_lists_columns_found() -> None:
    with pytest.raises(InputError) as info:
        read_orders("o.csv", b"id,day,amount\nx,2024-01-01,5\n")
    message = str(info.value)
    assert message.startswith("o.csv:1: no customer column")
    assert "columns found: id, day, amount" in message
    assert "--customer-col" in message
    with pytest.raises(InputError, match="no column named 'nope'"):
        read_orders("o.csv", b"customer_id,date,amount\n", amount_col="nope")


def test_semicolon_file_is_explained() -> None:
    with pytest.raises(InputError, match="semicolons"):
        read_orders("o.csv", b"customer_id;date;amount\nx;2024-01-01;5\n")


def test_bad_date_names_line_and_column() -> None:
    text = "customer_id,date,amount\n" + "c,2024-01-01,1\n" * 15 + "c,2024-13-01,2\n"
    with pytest.raises(InputError) as info:
        read(text)
    assert str(info.value) == ("orders.csv:17: date: '2024-13-01' is not a date (use YYYY-MM-DD)")


@pytest.mark.parametrize("value", ["2023-02-29", "01/02/2024", "2024-1-2", "x", "2024-01-01Z"])
def test_invalid_dates(value: str) -> None:
    with pytest.raises(InputError, match=r"orders\.csv:3: date: .* is not a date"):
        read(f"customer_id,date,amount\nc,2024-01-01,1\nc,{value},1\n")


def test_dates_with_times_and_spaces() -> None:
    orders = read(
        "customer_id,date,amount\n"
        "c,2024-02-29T23:59:59Z,1\nc,2024-03-01 08:00:00,1\nc, 2024-03-02 ,1\n"
    )
    assert orders.date.astype(str).tolist() == ["2024-02-29", "2024-03-01", "2024-03-02"]


def test_bad_amount_names_line() -> None:
    with pytest.raises(InputError) as info:
        read("customer_id,date,amount\nc,2024-01-01,1\nc,2024-01-02,12.5x\n")
    assert str(info.value).startswith("orders.csv:3: amount: '12.5x' is not an amount")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12.50", 12.5),
        ("-3", -3.0),
        (".75", 0.75),
        ("5.", 5.0),
        ("$12.50", 12.5),
        ("€7", 7.0),
        ("£-2.5", -2.5),
        ("-$2.5", -2.5),
        ("+4", 4.0),
        ("1e3", 1000.0),
        ("0.1", 0.1),
        ("123456789012.345", 123456789012.345),
        ("123456789012345.67", 123456789012345.67),
    ],
)
def test_amount_forms(text: str, value: float) -> None:
    orders = read(f"customer_id,date,amount\nc,2024-01-01,{text}\n")
    assert orders.amount.tolist() == [value]


@pytest.mark.parametrize("text", ["nan", "inf", "12,50", "1.2.3", "--1", "-", "(5)", ""])
def test_rejected_amounts(text: str) -> None:
    quoted = f'"{text}"' if "," in text else text
    with pytest.raises(InputError, match=r"orders\.csv:2: amount: "):
        read(f"customer_id,date,amount\nc,2024-01-01,{quoted}\n")


def test_quoted_file_with_thousands_separator_and_commas_in_ids() -> None:
    orders = read(
        'customer_id,date,amount\n"Smith, J",2024-01-01,"1,234.50"\n'
        '"Smith, J",2024-01-05,"$2,000"\nplain,2024-01-02,3\n'
    )
    assert orders.customer_ids == ["Smith, J", "plain"]
    assert orders.amount.tolist() == [1234.5, 2000.0, 3.0]
    assert orders.line.tolist() == [2, 3, 4]


def test_grouped_amounts_are_read_only_when_unambiguous() -> None:
    orders = read('customer_id,date,amount\nc,2024-01-01,"1,234,567"\nc,2024-01-02,"£1,234"\n')
    assert orders.amount.tolist() == [1234567.0, 1234.0]
    with pytest.raises(InputError, match=r"^orders\.csv:3: amount: '1,234' is ambiguous"):
        read('customer_id,date,amount\nc,2024-01-01,1\nc,2024-01-02,"1,234"\n')


@pytest.mark.parametrize(
    ("text", "hint"),
    [("nan", "NaN and infinity"), ("-inf", "NaN and infinity"), ("1e400", "too large"),
     ("1e15", "too large"), ("2000000000000000", "too large")],
)  # fmt: skip
def test_non_finite_and_huge_amounts_are_refused_with_a_hint(text: str, hint: str) -> None:
    with pytest.raises(InputError, match=rf"^orders\.csv:3: amount: .*{hint}"):
        read(f"customer_id,date,amount\nc,2024-01-01,1\nc,2024-01-02,{text}\n")


def test_duplicate_column_names_are_an_error() -> None:
    with pytest.raises(InputError, match=r"^orders\.csv:1: column 'amount' appears twice"):
        read("customer_id,date,amount,Amount\nc,2024-01-01,1,2\n")
    with pytest.raises(InputError, match="appears twice"):
        read('customer_id,date,amount,amount\n"c",2024-01-01,1,2\n')


def test_nul_bytes_and_unclosed_quotes_name_the_line_where_they_start() -> None:
    with pytest.raises(InputError, match=r"^orders\.csv:3: contains NUL bytes"):
        read("customer_id,date,amount\nc,2024-01-01,1\nc,2024-01-02,\x002\nc,2024-01-03,1\n")
    rows = "".join(f"c,2024-01-0{day},1\n" for day in range(1, 5))
    text = f'customer_id,date,amount\n{rows}"d,2024-01-06,1\n{rows}{rows}'
    with pytest.raises(InputError, match=r"^orders\.csv:6: a quoted field starting on this line"):
        read(text)


def test_messages_quote_only_a_short_excerpt_of_the_data() -> None:
    huge = "9" * 1_000_000
    for text in (
        f"customer_id,date,amount\nc,{huge},1\n",
        f"customer_id,date,amount\nc,2024-01-01,x{huge}\n",
        "customer_id," + ",".join(f"col{i}" for i in range(100_000)) + "\n",
        f"customer_id,date,amount,{huge}\nc,2024-01-01,1\n",
        f"customer_id,date,amount\nc,2024-01-01,1\n{huge},2024-01-01,1,1\n",
    ):
        with pytest.raises(InputError) as info:
            read(text)
        message = str(info.value)
        assert len(message) <= 300 and "\n" not in message, message[:400]


def test_quoted_file_error_line_numbers_count_embedded_newlines() -> None:
    text = 'customer_id,date,amount,note\nc,2024-01-01,1,"two\nlines"\nc,2024-99-01,1,x\n'
    with pytest.raises(InputError, match=r"^orders\.csv:4: date: '2024-99-01'"):
        read(text)


def test_wrong_field_count() -> None:
    with pytest.raises(InputError, match=r"orders\.csv:3: expected 3 fields .* found 4"):
        read("customer_id,date,amount\nc,2024-01-01,1\nc,2024-01-01,1,5\n")
    with pytest.raises(InputError, match=r"orders\.csv:2: expected 3 fields .* found 2"):
        read("customer_id,date,amount\nc,2024-01-01\nc,2024-01-01,1\n")


def test_crlf_bom_blank_lines_and_no_final_newline() -> None:
    data = b"\xef\xbb\xbfcustomer_id,date,amount\r\nc1,2024-01-01,1\r\n\r\n  \r\nc2,2024-01-02,2"
    orders = read_orders("o.csv", data)
    assert orders.customer_ids == ["c1", "c2"]
    assert orders.amount.tolist() == [1.0, 2.0]
    assert orders.line.tolist() == [2, 5]


def test_empty_inputs() -> None:
    with pytest.raises(InputError, match="is empty"):
        read_orders("o.csv", b"")
    orders = read_orders("o.csv", b"customer_id,date,amount\n")
    assert len(orders) == 0
    assert orders.customer_ids == []


def test_empty_customer_id() -> None:
    with pytest.raises(InputError, match=r"o\.csv:3: customer_id: is empty"):
        read_orders("o.csv", b"customer_id,date,amount\nc,2024-01-01,1\n ,2024-01-01,1\n")


def test_binary_and_non_utf8_input() -> None:
    with pytest.raises(InputError, match="NUL bytes"):
        read_orders("o.csv", "customer_id,date,amount\n".encode("utf-16"))
    with pytest.raises(InputError, match=r"o\.csv:3: customer_id: is not valid UTF-8"):
        read_orders("o.csv", b"customer_id,date,amount\nc,2024-01-01,1\n\xff,2024-01-01,1\n")


def test_missing_file_is_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        read_orders(tmp_path / "nope.csv")
    with pytest.raises(UsageError, match="folder"):
        read_orders(tmp_path)


def test_reads_path(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_bytes(b"customer_id,date,amount\nc,2024-01-01,1\n")
    assert read_orders(path).customer_ids == ["c"]


def test_long_ids_hash_path_keeps_distinct_customers() -> None:
    # Ids longer than 8 bytes go through the hash-and-verify path; ids of one length differing
    # only in their last byte, and prefixes of each other, must stay distinct.
    ids = ["customer-000001", "customer-000002", "customer-00000", "customer-000001x", "é" * 9]
    rows = [f"{ids[i % 5]},2024-01-01,{i}" for i in range(20)]
    orders = read("customer_id,date,amount\n" + "\n".join(rows) + "\n")
    assert orders.customer_ids == ids
    assert orders.customer.tolist() == [i % 5 for i in range(20)]


id_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters=',"'
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            id_text,
            st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
            st.decimals(min_value=-(10**6), max_value=10**6, places=2, allow_nan=False),
        ),
        min_size=1,
        max_size=30,
    ),
    st.booleans(),
)
def test_fast_and_csv_paths_agree_with_python(rows: list, quote: bool) -> None:
    """Both parse paths give exactly what a plain Python reading gives."""
    lines = ["customer_id,date,amount"]
    for customer, date, amount in rows:
        cell = f'"{customer}"' if quote else customer
        lines.append(f"{cell},{date.isoformat()},{amount}")
    orders = read("\n".join(lines) + "\n")
    expected_ids = list(dict.fromkeys(customer.strip() for customer, _, _ in rows))
    assert orders.customer_ids == expected_ids
    assert [orders.customer_ids[c] for c in orders.customer.tolist()] == [
        customer.strip() for customer, _, _ in rows
    ]
    assert orders.date.tolist() == [date for _, date, _ in rows]
    assert orders.amount.tolist() == [float(str(amount)) for _, _, amount in rows]


def test_hash_collisions_never_merge_customers(monkeypatch: pytest.MonkeyPatch) -> None:
    from remedy import orders as orders_module

    # Every id hashes to the same value: the byte-for-byte check must catch it and fall back
    # to the exact string grouping.
    monkeypatch.setattr(
        orders_module, "_hash_rows", lambda words, lengths: np.zeros(len(words), np.uint64)
    )
    ids = ["customer-b", "customer-a", "customer-b", "customer-cc", "customer-a"]
    rows = [f"{customer},2024-01-0{i + 1},1" for i, customer in enumerate(ids)]
    result = read("customer_id,date,amount\n" + "\n".join(rows) + "\n")
    assert result.customer_ids == ["customer-b", "customer-a", "customer-cc"]
    assert result.customer.tolist() == [0, 1, 0, 2, 1]


def test_radix_argsort_is_a_stable_argsort() -> None:
    from remedy.orders import radix_argsort

    rng = np.random.default_rng(5)
    for keys in (
        rng.integers(0, 2**62, 5000),
        rng.integers(0, 300, 5000),
        rng.integers(0, 2**40, 5000).astype(np.uint64),
        np.zeros(10, dtype=np.int64),
        np.array([3], dtype=np.int64),
    ):
        np.testing.assert_array_equal(radix_argsort(keys), np.argsort(keys, kind="stable"))


def test_grouping_keys_sharing_32_bits_keeps_them_apart() -> None:
    """group_keys sorts by 32 bits of the key; keys that share them must still be told apart
    (here every key's high 32 bits are one of three values)."""
    from remedy.orders import group_keys

    rng = np.random.default_rng(6)
    keys = (rng.integers(0, 3, 4000).astype(np.uint64) << np.uint64(32)) | rng.integers(
        0, 40, 4000
    ).astype(np.uint64)
    order, new_run = group_keys(keys, mixed=True)
    ordered = keys[order]
    starts = np.flatnonzero(new_run)
    # Equal keys are contiguous, each group in row order, and every group is one key.
    assert len(starts) == len(np.unique(keys))
    for begin, end in zip(starts, [*starts[1:], len(keys)], strict=True):
        assert (ordered[begin:end] == ordered[begin]).all()
        assert (np.diff(order[begin:end]) > 0).all()


def test_gather_reads_each_field_zero_padded() -> None:
    from remedy.orders import _gather

    rng = np.random.default_rng(7)
    for _ in range(200):
        size = int(rng.integers(1, 120))
        buf = rng.integers(1, 256, size).astype(np.uint8)
        starts = rng.integers(0, size, 30)
        lengths = np.minimum(rng.integers(0, 30, 30), size - starts)
        width = int(rng.integers(1, 25))
        expected = np.zeros((30, width), dtype=np.uint8)
        for row, (start, length) in enumerate(zip(starts, lengths, strict=True)):
            field = buf[start : start + min(length, width)]
            expected[row, : len(field)] = field
        np.testing.assert_array_equal(_gather(buf, starts, lengths, width), expected)


@pytest.mark.parametrize(
    "variant",
    ["blank line", "crlf", "no final newline", "spaces", "whitespace line"],
)
def test_regular_and_irregular_bodies_read_alike(variant: str) -> None:
    """A regular body (LF, no blank line, every line's commas) is tokenised in one pass; the
    same orders with a blank line, CRLF or other irregularities take the general path and
    give the same result."""
    rows = [f"c{i % 7},2024-0{1 + i % 9}-1{i % 10},{i}.{i % 100:02d}" for i in range(50)]
    regular = "customer_id,date,amount\n" + "\n".join(rows) + "\n"
    if variant == "blank line":
        other = regular.replace("\nc3,", "\n\nc3,", 1)
    elif variant == "crlf":
        other = regular.replace("\n", "\r\n")
    elif variant == "no final newline":
        other = regular.rstrip("\n")
    elif variant == "spaces":
        other = regular.replace(",", " , ")
    else:
        other = regular.replace("\nc3,", "\n   \nc3,", 1)
    a, b = read(regular), read(other)
    assert a.customer_ids == b.customer_ids
    for field in ("customer", "date", "amount"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_large_regular_files_report_errors_in_field_order() -> None:
    """A large regular body is read by the one-pass path: a bad id is still reported before
    a bad date, and a bad date before a bad amount, each naming its line."""
    rows = [f"c{i % 900},2024-01-{1 + i % 28:02d},{i % 97}.50" for i in range(60_000)]
    bad_id, bad_date, bad_amount = list(rows), list(rows), list(rows)
    bad_id[50_000] = ",2024-01-01,1"
    bad_id[40_000] = bad_date[40_000] = "c1,2024-13-01,1"
    bad_id[30_000] = bad_date[30_000] = bad_amount[30_000] = "c1,2024-01-01,abc"
    header = "customer_id,date,amount\n"
    with pytest.raises(InputError, match=r"orders.csv:50002: customer_id: is empty"):
        read(header + "\n".join(bad_id) + "\n")
    with pytest.raises(InputError, match=r"orders.csv:40002: date: '2024-13-01' is not a date"):
        read(header + "\n".join(bad_date) + "\n")
    with pytest.raises(InputError, match=r"orders.csv:30002: amount: 'abc' is not an amount"):
        read(header + "\n".join(bad_amount) + "\n")
    assert len(read(header + "\n".join(rows) + "\n").amount) == 60_000
