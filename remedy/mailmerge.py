"""Writing drafted messages: JSONL, CSV, or one .eml file per email; and `merge`, the whole run.

`merge(incident, offers, customers_path, out_path, fmt, ...)` is what `remedy drafts` calls: it
streams the customers file through `remedy.drafts.CustomerMerge` into the chosen writer and returns
a `MergeReport` (counts, bad rows, apology checks). Outputs appear atomically: a file is written
beside its target and renamed into place, an .eml folder is filled beside its target and renamed;
an interrupted or failed run leaves nothing behind, and an existing output is replaced only with
`force`.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from json.encoder import encode_basestring
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal, TypeVar

from remedy.apology import ApologyCheck
from remedy.customers import BadRow, OnBadRow
from remedy.drafts import CustomerMerge, Message
from remedy.errors import UsageError
from remedy.fileio import atomic_writer, check_writable
from remedy.offer import Offer

if TYPE_CHECKING:
    from remedy.holdouts import HoldoutDraw
    from remedy.incident import Incident

Format = Literal["jsonl", "csv", "eml"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv", "eml")
CSV_COLUMNS = ("customer_id", "channel", "to", "subject", "body", "segment", "arm")

T = TypeVar("T")
Progress = Callable[[int, int], None]  # (bytes of the customers file read, its size)


# --- JSONL -----------------------------------------------------------------------------------


def _json(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def jsonl_line(message: Message) -> str:
    """One message as a JSON object on one line (keys: customer_id, segment, arm when set,
    channel, to, subject, body), with its newline."""
    # Built by hand from C-escaped strings: several times faster than json.dumps of a dict, and
    # the same text as json.dumps(..., ensure_ascii=False, separators=(",", ":")).
    arm = "" if message.arm is None else f'"arm":{_json(message.arm)},'
    return (
        f'{{"customer_id":{_json(message.customer_id)},"segment":{_json(message.segment)},{arm}'
        f'"channel":{_json(message.channel)},"to":{_json(message.to)},'
        f'"subject":{_json(message.subject)},"body":{encode_basestring(message.body)}}}\n'
    )


def write_jsonl(messages: Iterable[Message], stream: IO[str]) -> int:
    """Write one JSON object per line (UTF-8 text, not ASCII-escaped); return the count."""
    return _write_lines(map(jsonl_line, messages), stream)


def _write_lines(lines: Iterable[str], stream: IO[str]) -> int:
    """Write text lines in batches; a UTF-8 text stream is bypassed for its byte buffer.

    Lines are encoded one by one: an ASCII line encodes at copying speed, while a batch joined
    as text would be encoded character by character as soon as one line in it is not ASCII.
    """
    buffer = getattr(stream, "buffer", None)
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
    count = 0
    if buffer is not None and encoding == "utf8":
        stream.flush()
        write_bytes = buffer.write
        chunk: list[bytes] = []
        for line in lines:
            chunk.append(line.encode("utf-8"))
            if len(chunk) >= 512:  # fewer, larger writes
                write_bytes(b"".join(chunk))
                count += len(chunk)
                chunk.clear()
        if chunk:
            write_bytes(b"".join(chunk))
            count += len(chunk)
        buffer.flush()
        return count
    write = stream.write
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= 512:
            write("".join(batch))
            count += len(batch)
            batch.clear()
    if batch:
        write("".join(batch))
        count += len(batch)
    return count


# --- CSV -------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str | None) -> str:
    """A cell a spreadsheet will not run as a formula: a leading = + - @ tab or CR gets an
    apostrophe in front (OWASP's advice against CSV injection)."""
    if not cell:
        return ""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def write_csv(messages: Iterable[Message], stream: IO[str]) -> int:
    """Write a header and one row per message (columns: `CSV_COLUMNS`); return the count.

    `stream` should be opened with `newline=""` (as `remedy.fileio.atomic_writer` does).
    """
    writer = csv.writer(stream)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for m in messages:
        writer.writerow(
            [
                neutralise(v)
                for v in (m.customer_id, m.channel, m.to, m.subject, m.body, m.segment, m.arm)
            ]
        )
        count += 1
    return count


# --- .eml ------------------------------------------------------------------------------------

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_CRLF = SMTP  # RFC 5322 wants CRLF line ends; default policy otherwise


def sender_address(incident: Incident) -> str | None:
    """`Name <email>` for the From header, from the incident's sender (None without an email)."""
    from email.headerregistry import Address

    sender = incident.sender
    if sender is None or not sender.email:
        return None
    local, _, domain = sender.email.partition("@")
    display = f"{sender.name}, {sender.company}"  # the company is required
    return str(Address(display_name=display, username=local, domain=domain))


def email_file(message: Message, sender: str | None, date: str) -> bytes:
    """One email as RFC 5322 bytes (CRLF), marked as an unsent draft."""
    mail = EmailMessage(policy=_CRLF)
    if sender:
        mail["From"] = sender
    if message.to:
        mail["To"] = message.to
    mail["Subject"] = message.subject or ""
    mail["Date"] = date
    mail["X-Unsent"] = "1"  # mail clients open the file as a draft to send
    mail["X-Remedy-Segment"] = message.segment
    if message.arm is not None:
        mail["X-Remedy-Arm"] = message.arm
    mail.set_content(message.body)
    return mail.as_bytes()


def write_eml(
    messages: Iterable[Message],
    folder: str | Path,
    *,
    sender: str | None,
    force: bool = False,
    date: str | None = None,
) -> tuple[int, int]:
    """Write each email message to `folder/NNNNNN-<customer>.eml`; return (written, skipped).

    SMS and phone scripts are not emails: they are counted as skipped. The folder is filled
    under a temporary name beside it and renamed into place when complete; an existing folder is
    replaced only with `force`.
    """
    folder = Path(folder)
    check_writable(folder, force, folder=True)
    parent = folder.parent  # Path("out").parent is Path(".")
    date = date or formatdate(localtime=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=parent))
    written = skipped = 0
    try:
        for message in messages:
            if message.channel != "email":
                skipped += 1
                continue
            written += 1
            who = _UNSAFE_NAME.sub("_", message.customer_id or message.segment)[:60]
            (temp / f"{written:06d}-{who}.eml").write_bytes(email_file(message, sender, date))
        if folder.exists():
            if not force:  # appeared while we worked
                raise UsageError(f"{folder}: already exists (pass --force to replace it)")
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".old", dir=parent))
            os.replace(folder, old / folder.name)
            os.replace(temp, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(temp, folder)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return written, skipped


# --- the whole run ---------------------------------------------------------------------------


@dataclass
class MergeReport:
    """What a mail merge did: counts, skipped bad rows, the apology checks of the drafts."""

    out_path: str
    format: str
    customers: int = 0
    messages: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    bad_rows: list[BadRow] = field(default_factory=list)
    checks: dict[tuple[str, str], ApologyCheck] = field(default_factory=dict)
    skipped_messages: int = 0  # not written: SMS and phone scripts in eml format
    limited: bool = False  # stopped at `limit` messages
    slow_templates: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. an SMS longer than its segments

    @property
    def failed_checks(self) -> list[tuple[str, str, ApologyCheck]]:
        """(segment, channel, check) for each draft that fails the apology check."""
        return [(s, c, check) for (s, c), check in self.checks.items() if not check.ok]


def _limited(messages: Iterator[T], limit: int | None, report: MergeReport) -> Iterator[T]:
    if limit is None:
        yield from messages
        return
    if limit == 0:
        report.limited = True
        return
    for count, message in enumerate(messages, 1):  # stops right after the last one
        yield message
        if count >= limit:
            report.limited = True
            return


def _with_progress(
    messages: Iterable[T], merge: CustomerMerge, progress: Progress | None
) -> Iterator[T]:
    if progress is None:
        yield from messages
        return
    for count, message in enumerate(messages, 1):
        if count % 8192 == 0:
            progress(merge.bytes_read, merge.total_bytes)
        yield message


def merge(
    incident: Incident,
    offers: Sequence[Offer],
    customers_path: str | Path,
    out_path: str | Path,
    fmt: Format = "jsonl",
    *,
    limit: int | None = None,
    force: bool = False,
    on_bad_row: OnBadRow = "fail",
    templates_dir: str | Path | None = None,
    progress: Progress | None = None,
    clv_by_id: Mapping[str, float] | None = None,
    floor_offers: Sequence[Offer] = (),
    holdout: HoldoutDraw | None = None,
) -> MergeReport:
    """Draft one message per customer and channel and write them to `out_path`.

    `fmt`: `jsonl` or `csv` (a file; `-` for standard output) or `eml` (a folder of emails).
    `limit` stops after that many messages (emails, for eml). Bad rows fail the run
    (`InputError`, nothing written) or, with `on_bad_row='skip'`, are listed in the report.
    `progress(bytes_read, total_bytes)` is called now and then, and once at the end.
    `clv_by_id` (customer id -> CLV, e.g. estimated from an order history) ranks customers
    when the customers file has no `clv` column. With `holdout` (a `remedy.holdouts.HoldoutDraw`)
    its customers are drafted from `floor_offers` (one per offer: the obligation floor) instead.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown format '{fmt}' (one of: {', '.join(FORMATS)})")
    if limit is not None and limit < 0:
        raise UsageError("--limit must be 0 or more")
    report = MergeReport(out_path=str(out_path), format=fmt)
    run = CustomerMerge(
        incident,
        offers,
        customers_path,
        templates_dir=templates_dir,
        on_bad_row=on_bad_row,
        bad_rows=report.bad_rows,
        clv_by_id=clv_by_id,
        floor_offers=floor_offers,
    )
    if holdout is not None:
        if not floor_offers:
            raise ValueError("a holdout needs the plan's floor offers")
        run.holdout = holdout.prepare(run)  # a first pass: the arms' sizes per segment
    stream: Iterator[Message] = _with_progress(run, run, progress)
    if fmt == "eml":
        emails = (m for m in stream if m.channel == "email" or _count_skip(report))
        written, _ = write_eml(
            _limited(emails, limit, report),
            out_path,
            sender=sender_address(incident),
            force=force,
        )
        report.messages = written
    else:
        if fmt == "jsonl":
            # The fast path: lines built from skeletons whose fixed text is JSON-escaped once;
            # the same bytes as write_jsonl over the messages (a test holds them equal).
            lines = _with_progress(run.json_lines(), run, progress)

            def write(out: IO[str]) -> int:
                return _write_lines(_limited(lines, limit, report), out)
        else:

            def write(out: IO[str]) -> int:
                return write_csv(_limited(stream, limit, report), out)

        if str(out_path) == "-":
            report.messages = write(sys.stdout)
            sys.stdout.flush()
        else:
            with atomic_writer(Path(out_path), force=force) as out:
                report.messages = write(out)
    if progress is not None:
        progress(run.total_bytes, run.total_bytes)  # done (also when stopped at the limit)
    report.customers = run.customers
    report.by_channel = dict(run.by_channel)
    report.checks = dict(run.checks)
    report.slow_templates = run.slow_templates
    report.warnings = run.warnings
    return report


def _count_skip(report: MergeReport) -> bool:
    report.skipped_messages += 1
    return False
