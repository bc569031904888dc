"""The customers reader is strict where money is at stake, bounded, and never echoes the file."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from remedy.customers import MAX_LINE, MAX_ROW, BadRow, CustomerReader, read_customers
from remedy.errors import InputError

HEADER = "id,name,email,order_id,order_value\n"
ROW = "c{n},Ann,a{n}@example.com,A-{n},10.00\n"


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "customers.csv"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", newline="")
    else:
        path.write_bytes(text)
    return path


def rows(n: int, start: int = 1) -> str:
    return "".join(ROW.format(n=i) for i in range(start, start + n))


def first_error(path: Path, currency: str = "USD") -> str:
    with pytest.raises(InputError) as caught:
        list(CustomerReader(path, currency=currency))
    return caught.value.message


def test_a_row_with_more_fields_than_the_header_is_an_error(tmp_path: Path) -> None:
    # The bug this guards: an unquoted 1,035.50 read as an order of 1.
    path = write(tmp_path, HEADER + rows(2) + "c3,Cy,c@example.com,A-1002,1,035.50\n")
    message = first_error(path)
    assert message.startswith(f"{path}:4: 6 fields, but the header has 5 (")
    assert '"1,234.50"' in message  # the hint: quote it


def test_a_row_with_fewer_fields_is_an_error_even_when_the_columns_it_needs_are_there(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "id,name,email,order_id,order_value,note\n" + rows(1)[:-1] + "\n")
    assert first_error(path).startswith(f"{path}:2: 5 fields, but the header has 6 (")


def test_skipped_shape_errors_are_reported_not_dropped(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + rows(1) + "c2,Bo,b@example.com,A-2,1,035.50\n" + rows(1, 3))
    bad: list[BadRow] = []
    good = list(read_customers(path, on_bad_row="skip", bad_rows=bad))
    assert [c.id for c in good] == ["c1", "c3"]
    assert [(b.line, b.column) for b in bad] == [(3, "")]


def test_duplicate_and_missing_columns_are_summarised_not_echoed(tmp_path: Path) -> None:
    secret = "root:x:0:0:root:/root:/bin/bash"
    path = write(tmp_path, secret + "\n" + "daemon:x:1:1\n")
    message = first_error(path)
    assert message.startswith(f"{path}:1: missing columns id, name, email, order_id, order_value")
    assert secret not in message and "columns found: root:x:0:0:root:/..." in message
    wide = ",".join(f"c{i}" for i in range(100_000))
    path = write(tmp_path, wide + "\n")
    message = first_error(path)
    assert "... (100,000 in all)" in message and len(message) < 300 + len(str(path))
    path = write(tmp_path, "id,name,email,order_id,order_value,EMAIL\n")
    assert first_error(path) == f"{path}:1: column 'email' appears twice (rename or remove one)"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("NaN", "is not a number"),
        ("inf", "is not a number"),
        ("-Infinity", "is not a number"),
        ("1e400", "not a plain amount"),
        ("99999999999999999999", "is more than 1,000,000,000,000"),
        ("$12.50", "without a currency sign"),
        ("12.50 USD", "without a currency sign"),
        ("-3", "is negative"),
        ('"1.234,50"', "uses a decimal comma (write '1234.50')"),
        ("1.0" + "0" * 5000, "has 5,001 decimals"),
    ],
)
def test_amounts_that_are_not_plain_are_refused_with_a_hint(
    tmp_path: Path, value: str, words: str
) -> None:
    path = write(tmp_path, HEADER + rows(1) + f"c2,Bo,b@example.com,A-2,{value}\n")
    message = first_error(path)
    assert message.startswith(f"{path}:3: order_value: "), message
    assert words in message, message
    assert len(message) < 200 + len(str(path))


def test_grouped_amounts_are_read_exactly_only_when_unambiguous(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + 'c1,A,a@example.com,A-1,"1,234.50"\nc2,B,b@x.io,A-2,"1,234"\n')
    assert [c.order_value for c in read_customers(path)] == [Decimal("1234.50"), Decimal("1234")]
    # In dinars (3 decimals) "1,234" could be 1.234 written with a decimal comma: refused.
    path = write(tmp_path, HEADER + 'c1,A,a@example.com,A-1,"1,234"\n')
    assert "is ambiguous in KWD" in first_error(path, currency="KWD")


def test_clv_must_be_finite(tmp_path: Path) -> None:
    path = write(tmp_path, "id,name,email,order_id,order_value,clv\nc1,A,a@x.io,1,1,1e400\n")
    assert first_error(path) == f"{path}:2: clv: '1e400' is not a finite number (write e.g. 250)"


def test_an_unclosed_quote_is_reported_where_it_opened(tmp_path: Path) -> None:
    text = HEADER + rows(4) + 'c5,"Ann,a@example.com,A-5,10\n' + rows(20, 6)
    path = write(tmp_path, text)
    assert first_error(path).startswith(f"{path}:6: a quoted value opened on this line is never")


def test_an_unclosed_quote_in_a_big_file_is_reported_where_it_opened(tmp_path: Path) -> None:
    # The csv module gives up at its field size limit, far from the quote: we still say line 6.
    text = HEADER + rows(4) + 'c5,"Ann,a@example.com,A-5,10\n' + rows(10_000, 6)
    path = write(tmp_path, text)
    assert first_error(path).startswith(f"{path}:6: a quoted value opened on this line")


def test_rows_are_bounded_even_if_the_csv_field_limit_was_raised(tmp_path: Path) -> None:
    text = HEADER + rows(2) + 'c3,"Ann,a@example.com,A-3,10\n' + rows(40_000, 4)
    assert len(text) > MAX_ROW
    path = write(tmp_path, text)
    old = csv.field_size_limit(10**9)  # another library in the process may have raised it
    try:
        message = first_error(path)
    finally:
        csv.field_size_limit(old)
    assert message.startswith(f"{path}:4: a quoted value opened on this line is not closed within")


def test_a_quote_inside_a_quoted_value_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + 'c1,"Ann ""Nan"" Lee",a@example.com,"A-1\n2",10\n' + rows(1, 3))
    assert [(c.line, c.name) for c in read_customers(path)] == [(2, 'Ann "Nan" Lee'), (4, "Ann")]


def test_a_long_field_is_refused_without_holding_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + rows(1000) + "x" * 1_000_000 + ",A,a@x.io,A-1,10\n")
    message = first_error(path)
    assert message.startswith(f"{path}:1002: a value is longer than 131,072 characters")
    path = write(tmp_path, HEADER + "x," * (MAX_LINE // 2 + 10) + "\n")
    message = first_error(path)
    assert message.startswith(f"{path}:2: the line is longer than 1,048,576 characters")


def test_nul_bytes_and_bad_encoding_name_their_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, (HEADER + rows(3) + "c4,Zo\x00e,z@x.io,A-4,1\n").encode())
    assert first_error(path).startswith(f"{path}:5:6: a NUL byte")
    data = (HEADER + rows(2000)).encode() + "c9,Zoë,z@x.io,A-9,1\n".encode("latin-1")
    path = write(tmp_path, data)
    assert (
        first_error(path) == f"{path}:2002:6: byte 0xeb is not UTF-8 (save the file as CSV UTF-8)"
    )


def test_control_characters_in_a_bad_value_are_escaped(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "c1,A,\x1b[31mx@evil\x1b[0m,A-1,1\n")
    message = first_error(path)
    assert "\x1b" not in message and "\\x1b[31mx@evil" in message


def test_header_reads_only_the_header(tmp_path: Path) -> None:
    path = write(tmp_path, "ID, Name ,email,order_id,order_value,Segment\n" + "garbage\n")
    assert CustomerReader(path).header() == {
        "id": 0,
        "name": 1,
        "email": 2,
        "order_id": 3,
        "order_value": 4,
        "segment": 5,
    }
