"""The customers file, the writers (JSONL, CSV, .eml) and the whole mail merge run."""

from __future__ import annotations

import csv
import email
import io
import json
from decimal import Decimal
from email import policy
from pathlib import Path
from typing import Any

import pytest

from remedy.customers import BadRow, CustomerReader, read_customers
from remedy.drafts import Message, iter_customer_messages
from remedy.errors import InputError, UsageError
from remedy.incident import Incident
from remedy.mailmerge import (
    CSV_COLUMNS,
    _write_lines,
    email_file,
    merge,
    neutralise,
    sender_address,
    write_csv,
    write_eml,
    write_jsonl,
)
from remedy.offer import Offer

HEADER = "id,name,email,order_id,order_value,clv,phone\n"


def incident(**changes: Any) -> Incident:
    data: dict[str, Any] = {
        "id": "late",
        "title": "Orders a day late",
        "kind": "late_delivery",
        "summary": "Our warehouse shipped your order a day late.",
        "affected": {"customers": 10, "order_value": 80},
        "sender": {
            "name": "Tony",
            "role": "CEO",
            "company": "Shoes & Co",
            "email": "t@example.com",
        },
        "tone": "warm",
    }
    data.update(changes)
    return Incident.model_validate(data)


PLAN = [Offer("all", ("refund", "personal_call"), 10, calls=1, refund_amount=Decimal("80"))]


def write(tmp_path: Path, text: str, name: str = "customers.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- reading customers -----------------------------------------------------------------------

GOOD = HEADER + (
    "c1,Ann Lee,ann@example.com,A-1,120.50,900,+1 555 0101\n"
    "c2,Bo,bo@example.com,A-2,,,\n"
    'c3,"Cy, Jr.",,A-3,"1,234.00",10,+44 20 7946 0000\n'
)


def test_valid_rows_are_read_with_exact_amounts(tmp_path: Path) -> None:
    rows = list(read_customers(write(tmp_path, "\ufeff" + GOOD)))  # a byte-order mark is fine
    assert [(c.line, c.id, c.name, c.email, c.order_value, c.clv, c.phone) for c in rows] == [
        (2, "c1", "Ann Lee", "ann@example.com", Decimal("120.50"), 900.0, "+1 555 0101"),
        (3, "c2", "Bo", "bo@example.com", None, None, None),
        (4, "c3", "Cy, Jr.", None, Decimal("1234.00"), 10.0, "+44 20 7946 0000"),
    ]


BAD = HEADER + (
    "c1,Ann,ann@example.com,A-1,10,,\n"
    "c2,Bo,,A-2,10,,\n"  # no email and no phone
    "c3,Cy,not-an-email,A-3,10,,\n"
    "c4,Di,di@example.com,A-4,12.345,,\n"  # more decimals than USD has
    "c5,Ed,ed@example.com,A-5,$10,,\n"
    "\n"
    '"c6","Fay\nSmith",fay@example.com,A-6,-3,,\n'  # a quoted line break: the record starts at 8
    "c7,Gus,gus@example.com,A-7,10,lots,\n"
    "c8,Hal,hal@example.com,A-8,10,,12\n"
    ",Ivy,ivy@example.com,A-9,10,,\n"
    "c10,Jo\n"
    "c11,Kim,kim@example.com,A-11,10,,\n"
)


def test_bad_rows_are_skipped_and_reported_with_line_and_column(tmp_path: Path) -> None:
    bad: list[BadRow] = []
    rows = list(read_customers(write(tmp_path, BAD), on_bad_row="skip", bad_rows=bad))
    assert [c.id for c in rows] == ["c1", "c11"]
    assert [(b.line, b.column) for b in bad] == [
        (3, "email"),
        (4, "email"),
        (5, "order_value"),
        (6, "order_value"),
        (8, "order_value"),
        (10, "clv"),
        (11, "phone"),
        (12, "id"),
        (13, ""),
    ]
    assert bad[0].message == "missing email"
    assert "at most 2" in bad[2].message
    assert str(bad[-1]).startswith("line 13: 2 fields, but the header has 7 (")


def test_bad_rows_fail_with_file_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, BAD)
    with pytest.raises(InputError, match=rf"^{path}:3: email: missing email$"):
        list(read_customers(path))


def test_skipping_needs_somewhere_to_report(tmp_path: Path) -> None:
    calls: list[BadRow] = []
    path = write(tmp_path, BAD)
    with pytest.raises(ValueError, match="needs bad_rows"):
        read_customers(path, on_bad_row="skip")
    list(read_customers(path, on_bad_row="skip", bad_rows=calls.append))  # a callback works
    assert len(calls) == 9


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", r":1: the file is empty"),
        ("id,name,email\n", r":1: missing columns order_id, order_value"),
        ("id,name,email,order_id,order_value,Email\n", r":1: column 'email' appears twice"),
        (
            HEADER + 'c1,"unclosed,x@y.io,1,1,,\n',
            r":2: a quoted value opened on this line is never",
        ),
    ],
)
def test_unusable_files_are_input_errors(tmp_path: Path, text: str, error: str) -> None:
    with pytest.raises(InputError, match=error):
        list(read_customers(write(tmp_path, text)))


def test_a_missing_or_non_utf8_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        list(read_customers(tmp_path / "nope.csv"))
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "c1,Zoë,z@example.com,1,1,,\n").encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        list(read_customers(path))


def test_names_are_cleaned_of_control_characters(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + 'c1,"Ann\tLee\r\n  Jr",ann@example.com,A\x07-1,1,,\n')
    (row,) = read_customers(path)
    assert row.name == "Ann Lee Jr"
    assert row.order_id == "A -1"


def test_yen_amounts_have_no_decimals(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "c1,A,a@example.com,1,5000,,\nc2,B,b@example.com,2,10.5,,\n")
    bad: list[BadRow] = []
    rows = list(CustomerReader(path, currency="JPY", on_bad_row="skip", bad_rows=bad))
    assert [r.order_value for r in rows] == [Decimal("5000")]
    assert "JPY amounts have at most 0" in bad[0].message


# --- writers ----------------------------------------------------------------------------------


def message(**changes: Any) -> Message:
    fields: dict[str, Any] = {
        "channel": "email",
        "segment": "all",
        "subject": "Sorry",
        "body": 'Hi Ann,\n\n"Quotes" and \\ backslashes, é, 😀.',
        "to": "ann@example.com",
        "customer_id": "c1",
        "checks": None,
    }
    fields.update(changes)
    return Message(**fields)


def test_jsonl_has_one_object_per_line() -> None:
    out = io.StringIO()
    messages = [message(), message(channel="sms", subject=None, to="+1 555 0101")]
    assert write_jsonl(messages, out) == 2
    lines = out.getvalue().splitlines()
    assert [json.loads(line) for line in lines] == [
        {k: v for k, v in m.as_dict().items()} for m in messages
    ]
    assert set(json.loads(lines[0])) >= {"customer_id", "channel", "to", "subject", "body"}


def test_csv_cells_cannot_become_formulas() -> None:
    out = io.StringIO(newline="")
    hostile = message(
        customer_id='=HYPERLINK("http://x")', subject="+1 cmd", body="@SUM(A1)", to="-2+3"
    )
    assert write_csv([hostile, message(body="\tTab"), message(body="\rCR")], out) == 3
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[1][:5] == ['\'=HYPERLINK("http://x")', "email", "'-2+3", "'+1 cmd", "'@SUM(A1)"]
    assert rows[2][4] == "'\tTab" and rows[3][4] == "'\rCR"
    assert neutralise("Hi") == "Hi" and neutralise(None) == ""


def test_eml_files_parse_back(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    sender = sender_address(incident())
    assert sender == '"Tony, Shoes & Co" <t@example.com>'
    messages = [message(), message(channel="sms"), message(customer_id="../../c2", subject=None)]
    assert write_eml(messages, folder, sender=sender) == (2, 1)
    files = sorted(folder.iterdir())
    assert [f.name for f in files] == ["000001-c1.eml", "000002-.._.._c2.eml"]
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert parsed["From"] == sender
    assert parsed["To"] == "ann@example.com"
    assert parsed["Subject"] == "Sorry"
    assert parsed["X-Unsent"] == "1"
    assert parsed["Date"]
    body = parsed.get_body()
    assert body is not None
    assert b"\r\n" in files[0].read_bytes()  # RFC 5322 line ends
    assert body.get_content().replace("\r\n", "\n").rstrip("\n") == message().body


def test_eml_folder_is_replaced_only_with_force(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "old.eml").write_text("old")
    with pytest.raises(UsageError, match="already exists"):
        write_eml([message()], folder, sender=None)
    assert write_eml([message()], folder, sender=None, force=True) == (1, 0)
    assert [f.name for f in folder.iterdir()] == ["000001-c1.eml"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary folders left


def test_eml_leaves_nothing_behind_on_failure(tmp_path: Path) -> None:
    def failing() -> Any:
        yield message()
        raise InputError("boom")

    with pytest.raises(InputError):
        write_eml(failing(), tmp_path / "out", sender=None)
    assert list(tmp_path.iterdir()) == []


def test_email_file_refuses_header_injection() -> None:
    with pytest.raises(ValueError):
        email_file(message(subject="Hi\r\nBcc: x@evil.test"), None, "date")


# --- the whole run -------------------------------------------------------------------------


def customers_file(tmp_path: Path, rows: int = 30) -> Path:
    lines = [HEADER]
    for i in range(rows):
        name = ['Ann "Nan" Lee', "Bo\\b Ray", "Zoë Ünal", "Kai"][i % 4]
        phone = "+1 555 0100" if i % 2 else ""
        lines.append(f'c{i},"{name.replace(chr(34), chr(34) * 2)}",p{i}@example.com,O-{i},'
                     f"{10 + i}.25,{i * 7 % 11},{phone}\n")  # fmt: skip
    return write(tmp_path, "".join(lines))


def test_the_fast_jsonl_path_writes_what_write_jsonl_writes(tmp_path: Path) -> None:
    path = customers_file(tmp_path)
    report = merge(incident(), PLAN, path, tmp_path / "fast.jsonl", "jsonl")
    reference = io.StringIO()
    write_jsonl(iter_customer_messages(incident(), PLAN, path), reference)
    fast = (tmp_path / "fast.jsonl").read_text(encoding="utf-8")
    assert fast == reference.getvalue()
    assert report.messages == 30 + 15 + 1
    assert report.by_channel == {"email": 30, "sms": 15, "phone": 1}
    assert report.customers == 30
    assert report.slow_templates == [] and report.warnings == []
    assert all(check.ok for check in report.checks.values())
    first = json.loads(fast.splitlines()[0])
    assert first["body"].startswith("Hi Ann,\n\nYour order O-0 will reach you later")
    assert "$10.25" in first["body"]


def test_merge_to_csv_and_eml(tmp_path: Path) -> None:
    path = customers_file(tmp_path, rows=4)
    report = merge(incident(), PLAN, path, tmp_path / "out.csv", "csv")
    rows = list(csv.DictReader((tmp_path / "out.csv").open(newline="", encoding="utf-8")))
    assert len(rows) == report.messages == 7
    assert rows[0]["customer_id"] == "c0" and rows[0]["channel"] == "email"
    report = merge(incident(), PLAN, path, tmp_path / "mail", "eml")
    assert report.messages == 4 and report.skipped_messages == 3
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 4


def test_merge_refuses_to_overwrite_and_fails_cleanly(tmp_path: Path) -> None:
    path = customers_file(tmp_path, rows=3)
    out = tmp_path / "out.jsonl"
    out.write_text("keep")
    with pytest.raises(UsageError, match="already exists"):
        merge(incident(), PLAN, path, out, "jsonl")
    assert out.read_text() == "keep"
    bad = write(tmp_path, HEADER + "c1,A,a@example.com,1,1,,\nc2,B,,2,1,,\n", "bad.csv")
    with pytest.raises(InputError, match=r"bad\.csv:3: email: missing email"):
        merge(incident(), PLAN, bad, tmp_path / "new.jsonl", "jsonl")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "customers.csv", "out.jsonl"]


def test_merge_skips_bad_rows_into_the_report(tmp_path: Path) -> None:
    bad = write(tmp_path, HEADER + "c1,A,a@example.com,1,1,,\nc2,B,,2,1,,\nc3,C,c@x.io,3,1,,\n")
    report = merge(incident(), PLAN, bad, tmp_path / "o.jsonl", "jsonl", on_bad_row="skip")
    assert [b.as_dict() for b in report.bad_rows] == [
        {"line": 3, "column": "email", "message": "missing email"}
    ]
    assert report.customers == 2


def test_merge_limit_and_progress(tmp_path: Path) -> None:
    path = customers_file(tmp_path, rows=40)
    seen: list[tuple[int, int]] = []
    report = merge(
        incident(), PLAN, path, tmp_path / "o.jsonl", "jsonl", limit=5,
        progress=lambda done, total: seen.append((done, total)),
    )  # fmt: skip
    assert report.messages == 5 and report.limited
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == 5
    assert seen[-1][0] == seen[-1][1] == path.stat().st_size
    with pytest.raises(UsageError, match="unknown format"):
        merge(incident(), PLAN, path, tmp_path / "x", "xml")  # type: ignore[arg-type]


# --- what a mutation run showed untested -----------------------------------------------------


def test_an_email_file_is_exactly_these_bytes() -> None:
    """Header names, their order and the draft marker, as a mail client reads them."""
    date = "Tue, 01 Dec 2026 10:00:00 +0000"
    data = email_file(message(arm="holdout", body="Hi Ann,\n\nSorry."), "T <t@example.com>", date)
    assert data == (
        b"From: T <t@example.com>\r\nTo: ann@example.com\r\nSubject: Sorry\r\n"
        b"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
        b"X-Unsent: 1\r\nX-Remedy-Segment: all\r\nX-Remedy-Arm: holdout\r\n"
        b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: 7bit\r\n'
        b"MIME-Version: 1.0\r\n\r\nHi Ann,\r\n\r\nSorry.\r\n"
    )
    bare = email_file(message(to=None, subject=None, body="Hi."), None, date)
    assert bare.startswith(b"Subject:\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\nX-Unsent: 1\r\n")


def test_a_sender_without_an_email_has_no_address() -> None:
    sender = {"name": "Tony", "company": "Co", "email": "t@mail.example.com"}
    assert sender_address(incident(sender=sender)) == '"Tony, Co" <t@mail.example.com>'
    assert sender_address(incident(sender={"name": "Tony", "company": "Co"})) is None


@pytest.mark.parametrize("encoding", ["utf-8", "UTF8", "latin-1", None])
def test_lines_are_counted_and_written_whole_in_every_batch(encoding: str | None) -> None:
    """1,100 lines cross two 512-line batches, on the byte path (UTF-8) and the text path."""
    lines = [f"line {i} é\n" for i in range(1100)]
    if encoding is None:
        stream: Any = io.StringIO()
        assert _write_lines(iter(lines), stream) == 1100
        assert stream.getvalue() == "".join(lines)
        return
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, newline="")
    stream.write("head\n")  # pending text is flushed before the byte path writes
    assert _write_lines(iter(lines), stream) == 1100
    stream.flush()
    assert raw.getvalue().decode(encoding) == "head\n" + "".join(lines)


def test_the_eml_folder_is_filled_beside_its_final_place(tmp_path: Path) -> None:
    """The temporary folder is a sibling (same file system: the rename is atomic)."""
    folder = tmp_path / "mail"
    seen: list[list[str]] = []

    def messages() -> Any:
        yield message()
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        yield message(customer_id="c2")

    assert write_eml(messages(), folder, sender=None) == (2, 0)
    assert len(seen[0]) == 1 and seen[0][0].startswith(".mail.") and seen[0][0].endswith(".tmp")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mail"]


def test_merge_passes_templates_sender_and_force_through(tmp_path: Path) -> None:
    path = customers_file(tmp_path, rows=2)
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "email_subject.j2").write_text("Our mistake, {{ customer.first_name }}")
    (tmp_path / "mail").mkdir()
    with pytest.raises(UsageError, match="already exists"):
        merge(incident(), PLAN, path, tmp_path / "mail", "eml", templates_dir=templates)
    report = merge(
        incident(), PLAN, path, tmp_path / "mail", "eml", templates_dir=templates, force=True
    )
    assert (report.messages, report.skipped_messages, report.format) == (2, 2, "eml")
    assert report.out_path == str(tmp_path / "mail")
    first = email.message_from_bytes(
        sorted((tmp_path / "mail").iterdir())[0].read_bytes(), policy=policy.default
    )
    assert first["Subject"] == "Our mistake, Ann"
    assert first["From"] == '"Tony, Shoes & Co" <t@example.com>'


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "eml"])
def test_merge_limits_and_reports_progress_in_every_format(tmp_path: Path, fmt: str) -> None:
    """9,000 customers: progress is reported along the way (every 8,192 messages), not only
    at the end; a limit stops every writer."""
    path = customers_file(tmp_path, rows=9000)
    seen: list[tuple[int, int]] = []
    report = merge(
        incident(), PLAN, path, tmp_path / "all", fmt,  # type: ignore[arg-type]
        progress=lambda done, total: seen.append((done, total)),
    )  # fmt: skip
    size = path.stat().st_size
    assert report.messages == (9000 if fmt == "eml" else 9000 + 4500 + 1)
    assert not report.limited
    # 13,501 messages: once at the 8,192nd, once at the end.
    assert len(seen) == 2 and 0 < seen[0][0] < size and seen[-1] == (size, size)
    assert all(total == size for _, total in seen)
    limited = merge(incident(), PLAN, path, tmp_path / "three", fmt, limit=3)  # type: ignore[arg-type]
    assert limited.messages == 3 and limited.limited
    if fmt == "csv":
        assert len(list(csv.reader((tmp_path / "three").open(newline="")))) == 1 + 3


def test_a_limit_of_zero_writes_nothing_and_says_so(tmp_path: Path) -> None:
    path = customers_file(tmp_path, rows=3)
    report = merge(incident(), PLAN, path, tmp_path / "none.jsonl", "jsonl", limit=0)
    assert report.messages == 0 and report.limited is True
    assert (tmp_path / "none.jsonl").read_text() == ""
    with pytest.raises(UsageError, match=r"^--limit must be 0 or more$"):
        merge(incident(), PLAN, path, tmp_path / "x.jsonl", "jsonl", limit=-1)
    with pytest.raises(UsageError, match=r"^unknown format 'xml' \(one of: jsonl, csv, eml\)$"):
        merge(incident(), PLAN, path, tmp_path / "x", "xml")  # type: ignore[arg-type]


def test_merge_writes_jsonl_by_default(tmp_path: Path) -> None:
    path = customers_file(tmp_path, rows=2)
    report = merge(incident(), PLAN, path, tmp_path / "out")
    assert report.format == "jsonl"
    assert json.loads((tmp_path / "out").read_text().splitlines()[0])["customer_id"] == "c0"


def test_long_customer_ids_make_short_file_names(tmp_path: Path) -> None:
    assert write_eml([message(customer_id="x" * 100)], tmp_path / "m", sender=None) == (1, 0)
    assert [p.name for p in (tmp_path / "m").iterdir()] == [f"000001-{'x' * 60}.eml"]


def test_a_folder_that_appears_while_writing_is_not_replaced(tmp_path: Path) -> None:
    folder = tmp_path / "mail"

    def messages() -> Any:
        yield message()
        folder.mkdir()  # another run got there first
        (folder / "theirs.eml").write_text("keep")

    with pytest.raises(UsageError, match=r"mail: already exists \(pass --force to replace it\)$"):
        write_eml(messages(), folder, sender=None)
    assert [p.name for p in tmp_path.iterdir()] == ["mail"]
    assert [p.name for p in folder.iterdir()] == ["theirs.eml"]


def test_a_holdout_needs_the_floor_offers(tmp_path: Path) -> None:
    from remedy.holdouts import HoldoutDraw

    path = customers_file(tmp_path, rows=2)
    holdout = HoldoutDraw(0.5, 0, "late", ["all"])
    with pytest.raises(ValueError, match=r"^a holdout needs the plan's floor offers$"):
        merge(incident(), PLAN, path, tmp_path / "o.jsonl", "jsonl", holdout=holdout)
    assert not (tmp_path / "o.jsonl").exists()


@pytest.mark.parametrize(
    ("encoding", "as_bytes"), [("UTF-8", True), ("utf8", True), ("ascii", False)]
)
def test_a_utf8_stream_is_written_through_its_byte_buffer(encoding: str, as_bytes: bool) -> None:
    """The fast path: a UTF-8 text stream's own buffer takes the encoded lines."""

    class Stream:
        def __init__(self) -> None:
            self.buffer = io.BytesIO()
            self.encoding = encoding
            self.text: list[str] = []

        def write(self, text: str) -> None:
            self.text.append(text)

        def flush(self) -> None:
            pass

    stream = Stream()
    assert _write_lines(iter(["a\n", "b\n"]), stream) == 2  # type: ignore[arg-type]
    assert (stream.buffer.getvalue(), "".join(stream.text)) == (
        (b"a\nb\n", "") if as_bytes else (b"", "a\nb\n")
    )
