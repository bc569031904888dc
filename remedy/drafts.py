"""Draft the messages a founder would send: email, SMS, phone script, public post; and mail merge.

Two entry points:

- `draft_messages(incident, offers)`: one email, one SMS and (for segments with calls) one phone
  script per segment, then one public post for the incident (segment "all"). These are what
  `remedy plan` shows.
- `iter_customer_messages(incident, offers, customers_path)`: one message per customer and channel
  of their plan, streaming from the customers CSV (`remedy drafts`). `remedy.mailmerge` writes
  them as JSONL, CSV or .eml files.

Templates are Jinja2 files under `remedy/templates/` (README.md there lists the variables). A
`templates_dir` overrides any of them by file name. They run in Jinja's SandboxedEnvironment with
StrictUndefined: a typo is an `InputError` naming the template file, line and variable. Text from
the incident or the customers file is only ever passed as a variable value, never compiled, so
`{{ 7*7 }}` in a customer's name prints as written.

What the templates say comes from the plan's `Offer` (the order's fate, the remedies, what is
given only on request, who calls) and the incident (kind, fault, tone, business type,
circumstance, dates): a draft says what the plan does and nothing more. `variant` (from the
incident's id) picks among equivalent wordings and structures, so two incidents do not read
alike while one incident always drafts the same text. A playful tone falls back to warm after a
missed occasion, a loss, a repeat, a hard time or the customer's own mistake.

Every draft is run through the apology check (`remedy.apology`); the result is on `Message.checks`.
Built-in drafts pass it for every incident. The check asks each channel for what it has room
for: an SMS needs no explanation or prevention step (one segment cannot hold them; the email and
the post carry them).

Fast mail merge. Templates are compiled once. For each combination of segment, channel and
"shape" of customer (which fields they have: name, first and formal name, order id, order value,
own refund amount; whether that refund is all they paid, whether they have an email; and whether
they get a call), the template is rendered once with markers in place of the customer's
fields, giving a skeleton: fixed text with holes. Each customer's message is then the skeleton
with their values put in the holes, one `str.join`. The skeleton is trusted only when
the template prints customer fields as they are (`{{ customer.name }}`, directly or through a
macro): a template that computes with them (joins them with `~`, filters them, compares them) is
detected (markers are objects that raise when used as anything but output, two renders with
different markers must agree, and the first customer of each skeleton is also rendered in full and
compared) and then rendered in full for every customer: slower, still correct.

SMS length. An SMS fits one segment by default (160 GSM-7 characters, or 70 when a character
is outside the GSM alphabet; `drafts.sms_segments` allows up to three): `sms.j2` is rendered at
six levels, from the fullest wording to the barest, and the first that fits is sent. Every level
is whole sentences (the summary is never quoted, so never cut); the shorter ones point to the
email for the rest. When not even the barest fits, it is sent anyway and a warning says so.

Sender. Messages are signed with the sender's name, then "role, company" (or just the company) and
a direct contact (email and/or phone) in the text. Without a `sender:` the company is unknown, so
messages are signed "Customer care", written as "we", and ask the customer to reply;
`not_ready_to_send` says why such drafts (or ones with the starter's placeholders) must not go
to customers, and `remedy drafts` refuses them.

Greetings. `remedy.names` reads a customer's name as typed ("Dr. Jane Smith", "Smith, John",
"MRS ANNA LEE") into a first name for "Hi Jane" and a formal name for "Dear Dr Smith"; without
one the draft greets without a name.

Money and dates. Amounts are exact in the incident's currency (`$1,234.50`, `€300.00`, `¥5,000`).
Dates read "Friday 21 May 2010" in every tone.

Customers and plans (mail merge). A customer belongs to the segment in their `segment` column when
the plan has several segments and the file has that column; otherwise, with one segment, to it;
otherwise segments are filled by CLV rank: the customers sorted by `clv` (highest first, blank
last, ties in file order) fill the offers in plan order, each offer taking its share of the file
(`offer.customers` / total planned customers); without a `clv` column that is an error. Personal
calls go, within a segment, to the `offer.calls` customers with the highest CLV (ties and blank
CLV in file order). Both need a quick first pass over the file, reading only the CLV and segment
columns. Calls alone keep just the running top `calls` customers per segment (rows that could
enter it are fully validated, so a bad row never takes a call). Ranking keeps 16 bytes per
customer during the first pass and 2 bytes per line of the file during the second (with
`on_bad_row='skip'` the first pass validates every row, so skipped rows take no rank). Without
calls or ranking there is no first pass, and memory does not depend on the file at all.

Channels: everyone with an email gets the email; everyone with a phone (a `phone` column) gets the
SMS; customers allocated a call get the phone script (`to` is their phone, else their email).

Refunds: the refund is "per order" when the incident sets no `options.refund.amount` or sets it
to `affected.order_value` (the wording then says "a full refund"): each customer is refunded their
own `order_value` when their row gives one, else "everything you paid" (no figure is invented).
Any other amount is a fixed refund, the same for everyone, but never more than a customer paid:
a customer whose order is below it is refunded their order in full (when the amount exceeds the
average order value, the plan's notes say so).
"""

from __future__ import annotations

import datetime as dt
import re
import traceback
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from json.encoder import encode_basestring
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Literal

from remedy.apology import ApologyCheck, lint_text
from remedy.customers import (
    BadRowSink,
    Customer,
    CustomerReader,
    OnBadRow,
    light_clv,
)
from remedy.errors import InputError, RemedyError, UsageError
from remedy.money import format_money
from remedy.names import MAX_FIRST_NAME, TITLES, greeting_names
from remedy.offer import ALL, Offer

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.sandbox import SandboxedEnvironment

    from remedy.incident import Incident

Channel = Literal["email", "sms", "phone", "post"]
CHANNELS: tuple[Channel, ...] = ("email", "sms", "phone", "post")

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAMES = ("email_subject.j2", "email_body.j2", "sms.j2", "phone_script.j2", "post.j2")
PARTIAL_NAMES = ("_phrases.j2",)  # shared macros; user files starting with "_" are partials too

# SMS segments: one holds 160 GSM-7 characters (70 when a character needs UCS-2); a message of
# several segments holds 153 (67) per segment, the rest going to the header that joins them.
SMS_SEGMENT = 160
SMS_SEGMENT_UCS2 = 70
SMS_PART = 153
SMS_PART_UCS2 = 67
SMS_LEVELS = 6  # sms.j2 wordings, from the fullest (0) to the barest (5); see `_SmsFitter`

# Customer fields a template may print (slots), and flags of the customer's "shape".
F_NAME, F_FIRST, F_FORMAL, F_ORDER_ID, F_ORDER_VALUE, F_REFUND = range(6)
N_FIELDS = 6
B_REFUND_FULL = 1 << 6  # the refund is all the customer paid ("a full refund")
B_EMAIL = 1 << 7  # the customer also gets the email (an SMS may point to it)
# What the apology check reads in place of the customer's fields.
_PLACEHOLDERS = (
    "[name]",
    "[first name]",
    "[formal name]",
    "[order id]",
    "[order value]",
    "[refund]",
)


@dataclass(frozen=True, slots=True)
class Message:
    """One draft: a segment's (customer_id and to are None) or one customer's.

    `arm` is a customer's arm in the mail merge: "treated" (the plan) or "holdout" (the
    obligation floor and the apology only; see `remedy.holdouts`); None for segment drafts.
    """

    channel: str
    segment: str
    subject: str | None
    body: str
    to: str | None
    customer_id: str | None
    checks: ApologyCheck
    arm: str | None = None

    def as_dict(self, *, checks: bool = False) -> dict[str, Any]:
        """The message as a JSON-ready mapping; with `checks`, the apology check too."""
        data: dict[str, Any] = {
            "customer_id": self.customer_id,
            "segment": self.segment,
            "channel": self.channel,
            "to": self.to,
            "subject": self.subject,
            "body": self.body,
        }
        if self.arm is not None:
            data["arm"] = self.arm
        if checks:
            data["checks"] = self.checks.as_dict()
        return data


# --- money and dates -------------------------------------------------------------------------

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def format_date(day: dt.date) -> str:
    """`Friday 21 May 2010`: unambiguous everywhere, independent of the machine's locale."""
    return f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def short_date(day: dt.date) -> str:
    """`Fri 21 May`: for an SMS, where the year goes without saying."""
    return f"{_DAYS[day.weekday()][:3]} {day.day} {_MONTHS[day.month - 1][:3]}"


_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def days_text(days: int) -> str:
    """`a day`, `two days`, `12 days`."""
    if days == 1:
        return "a day"
    return f"{_NUMBERS[days] if days < len(_NUMBERS) else days} days"


# --- text helpers ----------------------------------------------------------------------------

_BLANK_LINES = re.compile(r"\n{3,}")
_INNER_SPACES = re.compile(r"(?<=\S) {2,}")


def _tidy(text: str) -> str:
    """Plain-text layout: no trailing spaces, at most one blank line, no doubled spaces."""
    lines = [_INNER_SPACES.sub(" ", line.rstrip()) for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _sentence(text: str) -> str:
    """Paragraphs kept, lines within a paragraph joined, a final full stop ensured."""
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text.strip())]
    joined = "\n\n".join(p for p in paragraphs if p)
    if joined and joined[-1] not in ".!?…\"')":
        joined += "."
    return joined


def _label(text: str) -> str:
    text = _one_line(text)
    return text if not text or text[-1] in ".!?" else text + "."


# Words a summary may start with that are not names: "A bug ..." reads as "a bug ..." after a
# colon; any other first word ("Zappos", "UPS", "I") keeps its capital, and the templates then
# give the summary a sentence of its own instead.
_LOWERABLE_WORDS = """a an the our we my your some several one two three four five six seven eight
    nine ten it its this that these those there on in at when after during while because for
    last yesterday today tonight every each all most many no as due between from over since until
    his her their both earlier late early part parts orders customers people"""
_LOWERABLE = frozenset(_LOWERABLE_WORDS.split())
_SECOND_PERSON = re.compile(r"\b(?:you|your|yours|yourself|you're|you've|you'll|you'd)\b", re.I)


def _inline(text: str) -> str:
    """`text` fit to follow a colon ("A bug hid ..." -> "a bug hid ..."), or "" when its first
    word may be a name and must keep its capital."""
    first = text.split(" ", 1)[0]
    if ":" in text:
        return ""  # "...: ...: ..." reads badly; the text gets a sentence of its own
    if (
        first.lower() in _LOWERABLE
        and first[:1].isupper()
        and (first[1:].islower() or not first[1:])
    ):
        return text[0].lower() + text[1:]
    return ""


def speaks_to_one(text: str) -> bool:
    """True when a text addresses one customer ("your order"): not for a public post."""
    return _SECOND_PERSON.search(text) is not None


# GSM 03.38: the basic alphabet (one septet each) and its extension table (two septets each).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")
_ASCII_NOT_BASIC = frozenset("^{}\\[~]|`")


def gsm_units(text: str) -> int:
    """Septets `text` takes in the GSM-7 alphabet, or -1 when it needs UCS-2."""
    if text.isascii() and _ASCII_NOT_BASIC.isdisjoint(text):
        return len(text)  # the usual case
    units = 0
    for char in text:
        if char in _GSM_BASIC:
            units += 1
        elif char in _GSM_EXTENSION:
            units += 2
        else:
            return -1
    return units


def ucs2_units(text: str) -> int:
    """UTF-16 code units: what a UCS-2 SMS counts."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def sms_segments(text: str) -> int:
    """How many SMS segments `text` takes."""
    units = gsm_units(text)
    if units < 0:
        units = ucs2_units(text)
        return 1 if units <= SMS_SEGMENT_UCS2 else -(-units // SMS_PART_UCS2)
    return 1 if units <= SMS_SEGMENT else -(-units // SMS_PART)


def sms_limits(segments: int) -> tuple[int, int]:
    """(GSM-7 septets, UCS-2 units) that fit in `segments` segments."""
    if segments <= 1:
        return SMS_SEGMENT, SMS_SEGMENT_UCS2
    return SMS_PART * segments, SMS_PART_UCS2 * segments


def _escape(text: str) -> str:
    """JSON string escaping without the quotes; escaping pieces and joining them equals escaping
    the joined text (escapes are per character)."""
    return encode_basestring(text)[1:-1]


def _escape_value(text: str) -> str:
    """`_escape` for short field values, skipping the work when nothing needs escaping."""
    if '"' in text or "\\" in text or not text.isprintable():
        return _escape(text)
    return text


# --- templates -------------------------------------------------------------------------------


class _SlotMisuse(Exception):
    """A customer field was used as anything but output while rendering a skeleton."""


class _Probe:
    """The markers of one skeleton render, and whether the template misused one."""

    __slots__ = ("misused", "tag")

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.misused = False

    def slot(self, index: int) -> _Slot:
        return _Slot(index, self)


class _Slot:
    """Stands for a customer's field in a skeleton render. Printing it (through the environment's
    `finalize`) gives a marker; any other use marks the render as unusable and raises."""

    __slots__ = ("index", "probe")

    def __init__(self, index: int, probe: _Probe) -> None:
        self.index = index
        self.probe = probe

    def __bool__(self) -> bool:
        return True  # only non-empty fields become slots: the skeleton's shape says so

    def _misuse(self, *args: object, **kwargs: object) -> Any:
        self.probe.misused = True
        raise _SlotMisuse

    def __getattr__(self, name: str) -> Any:
        self.probe.misused = True
        raise AttributeError(name)

    __str__ = __repr__ = __format__ = __len__ = __iter__ = __contains__ = _misuse
    __getitem__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __hash__ = _misuse
    __add__ = __radd__ = __mul__ = __rmul__ = __mod__ = __rmod__ = _misuse
    __int__ = __float__ = __index__ = __call__ = _misuse


def _finalize(value: Any) -> Any:
    if type(value) is _Slot:
        return f"\x00{value.probe.tag}{value.index}\x00"
    return value


def _template_location(exc: BaseException, names: Iterable[str]) -> tuple[str, int] | None:
    """The innermost template frame of a rendering error (Jinja rewrites tracebacks so templates
    appear as frames with their own file name and line)."""
    suffixes = tuple(names)
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith(".j2") or frame.filename.endswith(suffixes):
            found = (frame.filename, frame.lineno or 0)
    return found


def _bytecode_cache() -> Any:
    """An on-disk cache of compiled templates, or None.

    Compiling the templates costs about 90 ms, most of a plan's drafting time; scripts that
    call remedy in a loop should not pay it every run. Jinja2 keys each entry by the template's
    name, file and source checksum, so an edited template is recompiled. The folder is private
    to the user (0700); `REMEDY_NO_CACHE=1` turns the cache off, and an unwritable home simply
    means no cache.
    """
    import os
    import sys

    import jinja2

    if os.environ.get("REMEDY_NO_CACHE"):
        return None
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    version = f"py{sys.version_info[0]}{sys.version_info[1]}-jinja{jinja2.__version__}"
    folder = base / "remedy" / f"templates-{version}"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK):
            return None
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


TEMPLATE_MAX_BYTES = 256 * 1024


def _file_loader(search: list[str]) -> Any:
    """Jinja2's file loader, reading through `remedy.fileio`: a template that is a FIFO, a
    device or a folder is refused (Jinja2 would silently fall back to the built-in one), and a
    template is at most `TEMPLATE_MAX_BYTES` of UTF-8 (`REMEDY_MAX_BYTES` overrides it)."""
    import os
    import posixpath

    import jinja2
    from jinja2.loaders import split_template_path

    from remedy.fileio import file_kind, max_bytes, read_bytes

    class Loader(jinja2.FileSystemLoader):
        def get_source(self, environment: Any, template: str) -> tuple[str, str, Any]:
            pieces = split_template_path(template)
            for folder in self.searchpath:
                filename = posixpath.join(folder, *pieces)
                try:
                    kind = file_kind(os.stat(filename).st_mode)
                except OSError:
                    continue
                if kind is not None:
                    raise InputError(f"{filename}: is {kind}, not a template file")
                data = read_bytes(filename, max_bytes(TEMPLATE_MAX_BYTES), regular_only=True)
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    line = data[: exc.start].count(b"\n") + 1
                    raise InputError(
                        f"{filename}:{line}: byte 0x{data[exc.start]:02x} is not UTF-8 "
                        "(save the template as UTF-8)"
                    ) from None
                mtime = os.path.getmtime(filename)

                def uptodate(filename: str = filename, mtime: float = mtime) -> bool:
                    try:
                        return os.path.getmtime(filename) == mtime
                    except OSError:
                        return False

                return text, os.path.normpath(filename), uptodate
            raise jinja2.TemplateNotFound(template)

    return Loader(search)


class Templates:
    """The compiled templates of one drafting run: built-in ones, overridden by file name."""

    def __init__(self, templates_dir: str | Path | None = None) -> None:
        import jinja2
        from jinja2.sandbox import SandboxedEnvironment

        search = [str(TEMPLATE_DIR)]
        self.user_dir: Path | None = None
        if templates_dir is not None:
            self.user_dir = Path(templates_dir)
            if not self.user_dir.is_dir():
                raise UsageError(f"{self.user_dir}: templates folder does not exist")
            self._check_names(self.user_dir)
            search.insert(0, str(self.user_dir))
        self.env: SandboxedEnvironment = SandboxedEnvironment(
            loader=_file_loader(search),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # plain text; data never reaches the compiler, so nothing to escape
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            finalize=_finalize,
            auto_reload=False,
            extensions=["jinja2.ext.do"],
            bytecode_cache=_bytecode_cache(),
        )
        self.compiled: dict[str, Template] = {}
        for name in TEMPLATE_NAMES:
            try:
                self.compiled[name] = self.env.get_template(name)
            except RemedyError:
                raise  # the file could not be read: already one clear line
            except Exception as exc:
                raise self._error(exc, name) from None

    @staticmethod
    def _check_names(folder: Path) -> None:
        import difflib

        known = set(TEMPLATE_NAMES) | set(PARTIAL_NAMES)
        for path in sorted(folder.glob("*.j2")):
            if path.name in known or path.name.startswith("_"):
                continue
            close = difflib.get_close_matches(path.name, sorted(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise InputError(
                f"{path}: not a template remedy uses{hint}; the names are "
                f"{', '.join(TEMPLATE_NAMES)} (files starting with '_' are yours to include)"
            )

    def origin(self, name: str) -> str:
        """The file a template comes from: the user's override, else the built-in one."""
        if self.user_dir is not None and (self.user_dir / name).is_file():
            return str(self.user_dir / name)
        return str(TEMPLATE_DIR / name)

    def _error(self, exc: Exception, name: str) -> InputError:
        import jinja2

        if isinstance(exc, jinja2.TemplateSyntaxError):
            where = exc.filename or self.origin(exc.name or name)
            return InputError(f"{where}:{exc.lineno}: template syntax error: {exc.message}")
        if isinstance(exc, jinja2.TemplateNotFound):
            return InputError(f"{self.origin(name)}: includes '{exc.name}', which does not exist")
        location = _template_location(exc, [*TEMPLATE_NAMES, *PARTIAL_NAMES])
        where = f"{location[0]}:{location[1]}" if location else self.origin(name)
        if isinstance(exc, jinja2.UndefinedError):
            return InputError(
                f"{where}: undefined variable: {exc.message} (see remedy/templates/README.md "
                "for the variables)"
            )
        if isinstance(exc, jinja2.exceptions.SecurityError):
            return InputError(f"{where}: not allowed in a template: {exc}")
        return InputError(f"{where}: template error: {type(exc).__name__}: {exc}")

    def render(self, name: str, context: dict[str, Any]) -> str:
        """Render one template; any failure is an `InputError` naming the file and line."""
        try:
            return self.compiled[name].render(context)
        except (_SlotMisuse, RemedyError):
            raise
        except Exception as exc:
            raise self._error(exc, name) from None


# --- contexts --------------------------------------------------------------------------------

SlotFn = Callable[[int], Any]

# Kinds whose harm is small and recoverable enough for a light touch (voice.md: never after a
# missed occasion, a loss of money or goods, or a bereavement).
_LIGHT_KINDS = ("late_delivery", "outage", "pricing_error", "other")
_GOODS_KINDS = ("not_fulfilled", "lost_in_transit", "quality_defect", "other")
_EXPRESS_GOODS_KINDS = ("not_fulfilled", "lost_in_transit", "quality_defect")

# The words each kind of business uses (business.type).
_WORDS = {
    "store": {
        "order": "order",
        "ref": "order",
        "credit": "store credit",
        "credit_where": "to your account",
        "place": "our store",
        "customers": "customers",
    },
    "subscription": {
        "order": "subscription",
        "ref": "invoice",
        "credit": "service credit",
        "credit_where": "to your account, to come off your next invoice",
        "place": "our service",
        "customers": "customers",
    },
    "service": {
        "order": "booking",
        "ref": "booking",
        "credit": "credit",
        "credit_where": "to your account, toward your next booking",
        "place": "our service",
        "customers": "clients",
    },
}


def incident_variant(incident: Incident) -> int:
    """A number fixed for an incident (from its id) that picks among the built-in wordings, so
    two incidents read differently while one incident always drafts the same text."""
    import zlib

    return zlib.crc32(incident.id.encode("utf-8"))


class _Facts:
    """Everything the templates need that does not depend on the customer."""

    def __init__(self, incident: Incident, offers: Sequence[Offer]) -> None:
        from remedy.names import greeting_names

        self.incident = incident
        self.offers = list(offers)
        self.currency = incident.currency
        sender = incident.sender
        if sender is not None:
            title = f"{sender.role}, {sender.company}" if sender.role else sender.company
            self.sender = SimpleNamespace(
                person=True,
                name=sender.name,
                first=greeting_names(sender.name)[0] or sender.name,
                role=sender.role or "",
                company=sender.company,
                signature=sender.name,
                title=title,
            )
            self.contact = SimpleNamespace(email=sender.email or "", phone=sender.phone or "")
        else:
            self.sender = SimpleNamespace(
                person=False,
                name="",
                first="",
                role="",
                company="",
                signature="Customer care",
                title="",
            )
            self.contact = SimpleNamespace(email="", phone="")
        self.explanation = _sentence(incident.summary or incident.title)
        public = incident.public_summary or incident.summary
        # Without a public summary, a summary that speaks to one customer ("your order") cannot
        # go in a post: the title (one line saying what happened) stands in, and a warning says
        # so when a post is drafted.
        self.public_from_title = public is None or (
            incident.public_summary is None and speaks_to_one(public)
        )
        # Empty: the post says what happened in its own words, by kind (never the title: it is
        # internal wording).
        self.public_explanation = (
            "" if self.public_from_title or public is None else _sentence(public)
        )
        minutes = incident.options.personal_call.minutes.likely
        kind = incident.kind
        circumstance = incident.circumstance or ""
        tone: str = incident.tone
        if tone == "playful" and not self._light():
            tone = "warm"
        delivery = incident.delivery
        promised = delivery.promised if delivery is not None else None
        expected = delivery.expected if delivery is not None else None
        late = (expected - promised).days if promised and expected else 0
        customers = sum(o.customers for o in self.offers)
        self.sms_limits = sms_limits(incident.drafts.sms_segments)
        self.common: dict[str, Any] = {
            "kind": kind,
            "fault": incident.fault,
            "tone": tone,
            "tone_asked": incident.tone,
            "business": incident.business.type,
            "words": self._words(),
            "circumstance": circumstance,
            "sensitive": bool(circumstance),
            "repeat": incident.repeat,
            "variant": incident_variant(incident),
            "title": _one_line(incident.title),
            "explanation": self.explanation,
            "explanation_inline": _inline(self.explanation),
            "public_explanation": self.public_explanation,
            "public_explanation_inline": _inline(self.public_explanation)
            if self.public_explanation
            else "",
            "occasion": _one_line(incident.occasion or ""),
            "occasion_public": not speaks_to_one(incident.occasion or ""),
            # A dated occasion the goods were meant for (not a hard time the customer is in).
            "occasion_missed": bool(incident.occasion)
            and not circumstance
            and kind in ("late_delivery", *_EXPRESS_GOODS_KINDS),
            "occurred_on": format_date(incident.occurred_on) if incident.occurred_on else "",
            "occurred_short": short_date(incident.occurred_on) if incident.occurred_on else "",
            "delivery": SimpleNamespace(
                promised=format_date(promised) if promised else "",
                expected=format_date(expected) if expected else "",
                promised_short=short_date(promised) if promised else "",
                expected_short=short_date(expected) if expected else "",
                late_by=days_text(late) if late > 0 else "",
            ),
            "prevention": _sentence(incident.prevention) if incident.prevention else "",
            "prevention_inline": _inline(_sentence(incident.prevention))
            if incident.prevention
            else "",
            "currency": incident.currency,
            "company": self.sender.company,
            "sender": self.sender,
            "contact": self.contact,
            "call_minutes": f"{minutes:g}",
            "affected_customers": f"{customers:,}",
        }
        # A refund is "per order" (a full refund: each customer gets back what they paid) when
        # the file sets no amount or sets the average order value; another amount is a fixed
        # (partial) refund, the same for everyone, but never more than a customer paid.
        amount = incident.options.refund.amount
        self.refund_per_order = amount is None or amount == incident.affected.order_value
        self._money: dict[Decimal, str] = {}

    def _words(self) -> SimpleNamespace:
        words = dict(_WORDS[self.incident.business.type])
        if self.incident.business.type == "subscription" and self.incident.kind in (
            "late_delivery",
            *_GOODS_KINDS,
        ):
            words["order"] = "order"  # a subscription that ships goods (a box, a kit)
        return SimpleNamespace(**words)

    def _light(self) -> bool:
        """Whether a playful tone may stay playful: a small, recoverable harm to people who are
        not going through something hard, this time only, and not their own mistake."""
        incident = self.incident
        if incident.occasion or incident.circumstance or incident.repeat:
            return False
        return incident.fault != "customer" and incident.kind in _LIGHT_KINDS

    def tone_for(self, offer: Offer | None) -> str:
        """The register for drafts of `offer` (None: the public post, for every offer): a
        mispriced order that is not honored takes a deal back, a loss and no joke."""
        tone: str = self.common["tone"]
        if tone != "playful" or self.incident.kind != "pricing_error":
            return tone
        offers = [offer] if offer is not None else self.offers
        return "playful" if offers and all(o.order_fate == "honored" for o in offers) else "warm"

    def money(self, amount: Decimal | None) -> str:
        """An amount in the incident's currency (cached: customers share order values)."""
        if amount is None:
            return ""
        text = self._money.get(amount)
        if text is None:
            text = format_money(amount, self.currency)
            if len(self._money) < 50_000:
                self._money[amount] = text
        return text

    def refund_amount(self, offer: Offer) -> Decimal | None:
        """The plan's refund per order for `offer`, or None."""
        if not offer.has("refund") and offer.order_fate not in _REFUND_FATES:
            return None
        if offer.refund_amount is not None:
            return offer.refund_amount
        return self.incident.affected.order_value

    def segment_refund(self, offer: Offer) -> tuple[str, bool]:
        """The refund a segment draft states, and whether it is everything the customer paid.
        A fixed amount above the order value is not stated: each customer gets what they paid
        (the mail merge caps it; the plan's notes say so)."""
        amount = self.refund_amount(offer)
        paid = self.incident.affected.order_value
        if amount is None:
            return "", self.refund_per_order
        if self.refund_per_order:
            return self.money(amount), True
        if paid is not None and amount >= paid:
            return ("" if amount > paid else self.money(amount)), True
        return self.money(amount), False

    def offer_view(self, offer: Offer, call: bool, refund: Any, full: bool) -> SimpleNamespace:
        """What one segment (or customer) is offered, as template variables."""
        return self._view(offer, offer.options, call, refund, full, self.money(offer.credit_amount))

    def public_view(self) -> SimpleNamespace:
        """What every affected customer gets (options common to all segments), for the post."""
        offers = [o for o in self.offers if o.customers > 0] or self.offers
        if not offers:
            return self._view(None, (), False, "", True, "")
        first = offers[0]
        common = tuple(o for o in first.options if all(x.has(o) for x in offers[1:]))
        refunds = {self.segment_refund(o) for o in offers}
        refund, full = refunds.pop() if len(refunds) == 1 else ("", self.refund_per_order)
        credits = {o.credit_amount for o in offers}
        credit = self.money(credits.pop()) if len(credits) == 1 else ""
        fates = {o.order_fate for o in offers}
        fate = fates.pop() if len(fates) == 1 else None
        choices = {o.choice for o in offers}
        shared = Offer(
            segment=ALL,
            options=common,
            customers=sum(o.customers for o in offers),
            custom_labels=first.custom_labels,
            order_fate=fate,
            on_request=tuple(o for o in first.on_request if o in common),
            choice=choices == {True},
        )
        return self._view(shared, common, False, refund, full, credit)

    def _view(
        self,
        offer: Offer | None,
        options: Sequence[str],
        call: bool,
        refund: Any,
        full: bool,
        credit: str,
    ) -> SimpleNamespace:
        incident = self.incident
        kind = incident.kind
        has = set(options)
        asked = set(offer.on_request) if offer is not None else set()
        given = has - asked
        fate = (offer.order_fate if offer is not None else None) or ""
        custom_ids = [o for o in options if offer is not None and o in offer.custom_labels]
        labels = {o: _label(offer.custom_labels[o]) for o in custom_ids} if offer else {}
        upgrade = "ship_upgrade" in has
        goods_express = upgrade and kind in _EXPRESS_GOODS_KINDS
        proof = [o for o in asked if incident.options.get(o).proof_required]
        refund_shown = bool(has & {"refund"}) or fate in _REFUND_FATES
        refund_view = SimpleNamespace(
            amount=refund if refund_shown else "",
            full=full,
            days=incident.options.refund.within_days or 0,
        )
        tangible = bool(
            given & {"honor", "ship_upgrade", "replacement", "store_credit"}
            or ("refund" in given and kind != "pricing_error")
            or [o for o in custom_ids if o in given]
            or (fate and fate != "on_its_way")  # a late order arriving is no remedy
        )
        expiry = incident.options.store_credit.expires_after or ""
        return SimpleNamespace(
            options=list(options),
            fate=fate,
            choice=bool(offer is not None and offer.choice),
            honor="honor" in given,
            refund="refund" in given,
            pay_difference="pay_difference" in has,
            replacement="replacement" in given,
            store_credit="store_credit" in given,
            # late_delivery (and kinds without goods to send): express shipping, on the late
            # order itself or on the next one; elsewhere `express` sends the goods themselves.
            express=upgrade and not goods_express and "ship_upgrade" in given,
            express_goods=goods_express,
            express_on=incident.options.ship_upgrade.applies_to,
            refund_info=refund_view,
            refund_amount=refund_view.amount,
            refund_full=full,
            credit=credit if "store_credit" in has else "",
            credit_expiry=expiry,
            custom=[labels[o] for o in custom_ids if o in given],
            asked=SimpleNamespace(
                any=bool(asked),
                refund="refund" in asked,
                store_credit="store_credit" in asked,
                express="ship_upgrade" in asked and not goods_express,
                replacement="replacement" in asked,
                custom=[labels[o] for o in custom_ids if o in asked],
                proof=bool(proof),
            ),
            call=call,
            caller=(offer.caller if offer is not None else None) or "support",
            caller_me=bool(offer is not None and offer.caller == "founder" and self.sender.person),
            tangible=tangible,
            apology_only=not tangible and not asked,
        )


# Order fates that return the customer's money (a refund is stated with them).
_REFUND_FATES = ("cancelled_refunded", "pay_difference", "refund_or_goods", "refunded")


def _customer_view(shape: int, slot: SlotFn, generic: bool) -> SimpleNamespace:
    def pick(index: int) -> Any:
        return slot(index) if shape & (1 << index) else ""

    return SimpleNamespace(
        name=pick(F_NAME),
        first_name=pick(F_FIRST),
        formal_name=pick(F_FORMAL),
        order_id=pick(F_ORDER_ID),
        order_value=pick(F_ORDER_VALUE),
        has_email=generic or bool(shape & B_EMAIL),
        generic=generic,
    )


# --- skeletons -------------------------------------------------------------------------------

_MARKER_TAGS = ("sl", "QzQzQzQzQzQzQzQzQz")


class _Variant:
    """One template rendered for one segment, channel and shape of customer.

    With a skeleton, `fill(values)` puts the values in its holes and joins; without one (the
    template computes with customer fields), every fill is a full render.
    """

    __slots__ = ("built", "counts", "direct", "fast", "jparts", "make", "name", "on_slow",
                 "parts", "positions", "static_gsm", "static_ucs2", "templates", "tidy",
                 "verified")  # fmt: skip

    def __init__(
        self,
        templates: Templates,
        name: str,
        make: Callable[[SlotFn], dict[str, Any]],
        tidy: Callable[[str], str],
        *,
        direct: bool = False,
        on_slow: Callable[[str], None] | None = None,
    ) -> None:
        self.templates = templates
        self.name = name
        self.make = make  # slot function -> context
        self.tidy = tidy
        self.direct = direct  # render every fill (one-off drafts: a skeleton would cost more)
        self.on_slow = on_slow
        self.built = direct
        self.fast = False  # True once a trusted skeleton exists
        self.parts: list[str] = []  # the skeleton: fixed text, with holes at `positions`
        self.jparts: list[str] = []  # the same, JSON-escaped once for JSONL output
        self.positions: tuple[tuple[int, int], ...] = ()  # (index in parts, field index)
        self.static_gsm = 0  # SMS size of the fixed text: GSM-7 septets (-1: needs UCS-2)
        self.static_ucs2 = 0  # and UTF-16 code units
        self.counts: dict[int, int] = {}
        self.verified = False

    def ready(self) -> bool:
        """Build the skeleton on first use; True when fills use it."""
        if not self.built:
            self.built = True
            self._build()
            if not self.fast and self.on_slow is not None:
                self.on_slow(self.name)
        return self.fast

    def _build(self) -> None:
        parsed: list[tuple[tuple[str, ...], tuple[int, ...]]] = []
        for tag in _MARKER_TAGS:
            probe = _Probe(tag)
            try:
                text = self.templates.render(self.name, self.make(probe.slot))
            except (InputError, _SlotMisuse):
                if probe.misused:
                    return  # computes with a customer field: render each message in full
                raise
            if probe.misused:
                return
            parts = re.split(f"\x00{tag}(\\d+)\x00", self.tidy(text))
            statics = tuple(parts[0::2])
            if any("\x00" in s for s in statics):
                return  # a marker was transformed (a filter ran over it)
            parsed.append((statics, tuple(int(i) for i in parts[1::2])))
        if parsed[0] != parsed[1]:
            return  # the output depends on the length or content of a field
        statics, fields = parsed[0]
        parts = [statics[0]]
        positions = []
        for index, static in zip(fields, statics[1:], strict=True):
            positions.append((len(parts), index))
            parts.append("")
            parts.append(static)
        self.parts = parts
        self.jparts = [_escape(part) for part in parts]
        self.positions = tuple(positions)
        self.fast = True
        septets = [gsm_units(s) for s in statics]
        self.static_gsm = -1 if -1 in septets else sum(septets)
        self.static_ucs2 = sum(ucs2_units(s) for s in statics)
        for index in fields:
            self.counts[index] = self.counts.get(index, 0) + 1

    def render(self, values: Sequence[str]) -> str:
        """A full render with real values (the slow path, and the reference for verification)."""
        return self.tidy(self.templates.render(self.name, self.make(lambda i: values[i])))

    def fill(self, values: Sequence[str]) -> str:
        """This variant's text for one set of values."""
        if not (self.fast or self.ready()):
            return self.render(values)
        parts = self.parts  # filled in place and joined: far cheaper than str.format on 1 KB
        for position, index in self.positions:
            parts[position] = values[index]
        text = "".join(parts)
        if not self.verified:
            self.verified = True
            if text != self.render(values):
                self.fast = False  # the skeleton does not match a real render: never trust it
                if self.on_slow is not None:
                    self.on_slow(self.name)
                return self.render(values)
        return text

    def fill_json(self, values: Sequence[str], jvalues: Sequence[str]) -> str:
        """`fill`, JSON-escaped (without quotes). `jvalues` are `values` escaped; the fixed text
        was escaped once, which saves escaping a kilobyte per message."""
        if not self.verified:
            self.fill(values)  # checks the skeleton against a full render first
        if not self.fast:
            return _escape(self.fill(values))
        parts = self.jparts
        for position, index in self.positions:
            parts[position] = jvalues[index]
        return "".join(parts)


class _SmsFitter:
    """Picks, for one customer, the fullest SMS wording that fits the incident's segments.

    `sms.j2` is rendered at `SMS_LEVELS` levels, from the fullest wording (0) to the barest (5):
    the first three carry every remedy, the others the order's outcome or only the apology, and
    point to the email (or a reply) for the rest. Every level is made of whole sentences, so
    nothing is ever cut. The size is counted as a phone counts it: GSM-7 septets, or UTF-16 units
    when a character (in a name, say) is outside the GSM alphabet. When not even the barest
    wording fits (a very long company name), it is used anyway and `warnings` says how many
    segments it takes.
    """

    def __init__(self, levels: Sequence[_Variant], limits: tuple[int, int], where: str) -> None:
        self.levels = levels
        self.gsm_limit, self.ucs2_limit = limits
        self.where = where
        self.warnings: list[str] = []

    def fill(self, values: list[str]) -> str:
        # Sizes are added up from the skeleton's fixed text and the customer's values, each
        # value measured once (-2: not yet): no text is built until a level fits.
        units = [-2] * len(values)
        for variant in self.levels:
            if variant.fast or variant.ready():
                gsm = variant.static_gsm
                if gsm > self.gsm_limit:
                    continue  # the fixed text alone is too long (in UCS-2 it is longer still)
                if gsm >= 0:
                    for index, times in variant.counts.items():
                        size = units[index]
                        if size == -2:
                            size = units[index] = gsm_units(values[index])
                        if size < 0:
                            gsm = -1
                            break
                        gsm += times * size
                if gsm >= 0:
                    if gsm <= self.gsm_limit:
                        return variant.fill(values)
                    continue
                ucs2 = variant.static_ucs2
                for index, times in variant.counts.items():
                    ucs2 += times * ucs2_units(values[index])
                if ucs2 <= self.ucs2_limit:
                    return variant.fill(values)
                continue
            text = variant.render(values)
            if self._fits(text):
                return text
        text = self.levels[-1].fill(values)
        if not self._fits(text) and not self.warnings:
            self.warnings.append(
                f"{self.where}: the shortest SMS takes {sms_segments(text)} segments "
                f"({len(text)} characters): shorten the sender's name or company, or allow "
                "more with drafts.sms_segments"
            )
        return text

    def _fits(self, text: str) -> bool:
        units = gsm_units(text)
        if units >= 0:
            return units <= self.gsm_limit
        return ucs2_units(text) <= self.ucs2_limit


def _check_email(subject: str, body: str, prevention: bool) -> ApologyCheck:
    return lint_text(f"{subject}\n\n{body}", prevention_given=prevention)


_TEMPLATE_CACHE: dict[tuple[str, ...], Templates] = {}


def templates_for(templates_dir: str | Path | None) -> Templates:
    """Compiled templates, reused while the files are unchanged (compiling costs ~50 ms)."""
    key: tuple[str, ...] = ("",)
    if templates_dir is not None:
        folder = Path(templates_dir)
        if not folder.is_dir():
            raise UsageError(f"{folder}: templates folder does not exist")
        key = (
            str(folder.resolve()),
            *(
                f"{p.name}:{p.stat().st_mtime_ns}:{p.stat().st_size}"
                for p in sorted(folder.glob("*.j2"))
            ),
        )
    templates = _TEMPLATE_CACHE.get(key)
    if templates is None:
        if len(_TEMPLATE_CACHE) >= 8:
            _TEMPLATE_CACHE.clear()
        templates = _TEMPLATE_CACHE[key] = Templates(templates_dir)
    return templates


class _Drafter:
    """Drafts for one incident and plan: compiled templates, facts, and a cache of variants."""

    def __init__(
        self,
        incident: Incident,
        offers: Sequence[Offer],
        templates_dir: str | Path | None,
        plan_offers: Sequence[Offer] | None = None,
    ) -> None:
        self.incident = incident
        self.offers = list(offers)  # what is drafted (in a mail merge: the floor's offers too)
        self.templates = templates_for(templates_dir)
        # The facts (how many were affected, the register) come from the plan's offers.
        self.facts = _Facts(incident, offers if plan_offers is None else plan_offers)
        self.prevention = incident.prevention is not None
        self._bundles: dict[tuple[int, int, bool, bool], _Bundle] = {}
        self.slow: set[str] = set()  # templates rendered in full for each customer

    @property
    def warnings(self) -> list[str]:
        """What the drafts could not do as asked (an SMS over its segments), once each."""
        seen: dict[str, None] = {}
        for bundle in self._bundles.values():
            for warning in bundle.sms.warnings if bundle.sms is not None else ():
                seen.setdefault(warning)
        return list(seen)

    def context(
        self,
        channel: str,
        offer_view: Callable[[SlotFn], SimpleNamespace],
        shape: int,
        generic: bool,
        level: int = 0,
        tone: str | None = None,
    ) -> Callable[[SlotFn], dict[str, Any]]:
        facts = self.facts
        register = tone or facts.common["tone"]

        def make(slot: SlotFn) -> dict[str, Any]:
            return {
                **facts.common,
                "tone": register,
                "channel": channel,
                "level": level,
                "offer": offer_view(slot),
                "customer": _customer_view(shape, slot, generic),
            }

        return make

    def bundle(self, offer_index: int, shape: int, call: bool, generic: bool) -> _Bundle:
        key = (offer_index, shape, call, generic)
        bundle = self._bundles.get(key)
        if bundle is None:
            bundle = self._bundles[key] = _Bundle(self, offer_index, shape, call, generic)
        return bundle


class _Bundle:
    """The variants (email subject and body, SMS, phone script) for one offer, shape and call.

    `generic` bundles (segment drafts) render each template once, directly; per-customer ones
    build skeletons. Skeletons and apology checks are made on first use.
    """

    def __init__(
        self, drafter: _Drafter, offer_index: int, shape: int, call: bool, generic: bool
    ) -> None:
        facts = drafter.facts
        templates = drafter.templates
        offer = drafter.offers[offer_index] if offer_index >= 0 else None
        self.drafter = drafter
        self.segment = offer.segment if offer is not None else ALL
        self.j_segment = _escape(self.segment)

        def view_for(with_call: bool) -> Callable[[SlotFn], SimpleNamespace]:
            def view(slot: SlotFn) -> SimpleNamespace:
                if offer is None:
                    return facts.public_view()
                refund = slot(F_REFUND) if shape & (1 << F_REFUND) else ""
                return facts.offer_view(offer, with_call, refund, bool(shape & B_REFUND_FULL))

            return view

        tone = facts.tone_for(offer)

        def variant(name: str, channel: str, tidy: Callable[[str], str]) -> _Variant:
            make = drafter.context(
                channel, view_for(call and channel == "email"), shape, generic, tone=tone
            )
            return _Variant(templates, name, make, tidy, direct=generic, on_slow=drafter.slow.add)

        self.sms: _SmsFitter | None = None
        if offer is None:
            self.post = variant("post.j2", "post", _tidy)
            return
        self.subject = variant("email_subject.j2", "email", _one_line)
        self.body = variant("email_body.j2", "email", _tidy)
        self.phone = variant("phone_script.j2", "phone", _tidy)
        # The SMS always uses skeletons (one per level): its size arithmetic needs them.
        levels = [
            _Variant(
                templates,
                "sms.j2",
                drafter.context("sms", view_for(False), shape, generic, level, tone),
                _one_line,
                direct=generic,  # one-off drafts render each level once, and measure it
                on_slow=drafter.slow.add if level == 0 else None,
            )
            for level in range(SMS_LEVELS)
        ]
        where = f"{templates.origin('sms.j2')} ({self.segment})"
        self.sms = _SmsFitter(levels, facts.sms_limits, where)
        self.email_check = self.sms_check = self.phone_check = _NOT_CHECKED

    def check(self) -> None:
        """The apology checks, once, on the text with placeholders for the customer's fields."""
        if self.email_check is not _NOT_CHECKED:
            return
        sample = list(_PLACEHOLDERS)
        prevention = self.drafter.prevention
        self.email_check = _check_email(
            self.subject.fill(sample), self.body.fill(sample), prevention
        )
        assert self.sms is not None
        self.sms_check = lint_text(self.sms.fill(list(sample)), channel="sms")
        self.phone_check = lint_text(
            self.phone.fill(sample), prevention_given=prevention, channel="phone"
        )


_NOT_CHECKED = lint_text("")


# A public post (status page, blog, social) only when enough customers were hit that others
# will have heard; below this the incident is a private matter between us and a few customers.
PUBLIC_POST_MIN_CUSTOMERS = 20


# --- segment drafts --------------------------------------------------------------------------


def not_ready_to_send(incident: Incident) -> str:
    """Why the drafts of `incident` must not go to customers as they are, in one line, or "":
    no sender (an unsigned message reads as phishing), or text the starter file left to be
    replaced."""
    from remedy.starter import placeholders

    reasons = []
    if incident.sender is None:
        reasons.append(
            "sender: the incident has no sender, so the drafts are unsigned (add sender: with a "
            "name, company and email)"
        )
    keys = [key for key, _ in placeholders(incident)]
    if keys:
        reasons.append(
            f"{', '.join(keys)}: still the starter's placeholder text (replace it; "
            "remedy check shows where)"
        )
    return "; ".join(reasons)


def draft_messages(
    incident: Incident,
    offers: Sequence[Offer],
    *,
    templates_dir: str | Path | None = None,
    warnings: list[str] | None = None,
) -> list[Message]:
    """The drafts for a plan: per segment an email, an SMS and (with calls) a phone script, in
    plan order, then one public post (segment "all") unless the incident is a private matter
    of fewer than `PUBLIC_POST_MIN_CUSTOMERS` customers. Each carries its apology check.
    What could not be drafted as asked (an SMS longer than its segments) is appended to
    `warnings` when a list is given."""
    drafter = _Drafter(incident, offers, templates_dir)
    facts = drafter.facts
    messages: list[Message] = []
    prevention = drafter.prevention
    for index, offer in enumerate(drafter.offers):
        refund, full = facts.segment_refund(offer)
        shape = ((1 << F_REFUND) if refund else 0) | (B_REFUND_FULL if full else 0)
        values = ["", "", "", "", "", refund]
        everyone_called = offer.calls > 0 and offer.calls >= offer.customers
        bundle = drafter.bundle(index, shape, everyone_called, True)
        subject = bundle.subject.fill(values)
        body = bundle.body.fill(values)
        messages.append(
            Message(
                "email",
                offer.segment,
                subject,
                body,
                None,
                None,
                _check_email(subject, body, prevention),
            )
        )
        assert bundle.sms is not None
        sms = bundle.sms.fill(list(values))
        messages.append(
            Message("sms", offer.segment, None, sms, None, None, lint_text(sms, channel="sms"))
        )
        if offer.calls > 0:
            script = bundle.phone.fill(values)
            messages.append(
                Message(
                    "phone",
                    offer.segment,
                    None,
                    script,
                    None,
                    None,
                    lint_text(script, prevention_given=prevention, channel="phone"),
                )
            )
    if warnings is not None:
        warnings.extend(drafter.warnings)
    if sum(offer.customers for offer in drafter.offers) < PUBLIC_POST_MIN_CUSTOMERS:
        # One grieving customer or one stolen parcel is a private matter, not a public one.
        return messages
    if warnings is not None and facts.public_from_title:
        warnings.append(
            "the public post says only what kind of failure it was: the summary speaks to one "
            "customer (add public_summary, in the third person, to say what happened)"
        )
    post_bundle = _Bundle(drafter, -1, 0, False, True)
    post = post_bundle.post.fill([""] * N_FIELDS)
    messages.append(
        Message(
            "post",
            ALL,
            None,
            post,
            None,
            None,
            lint_text(post, prevention_given=prevention, channel="post"),
        )
    )
    return messages


# --- mail merge ------------------------------------------------------------------------------


def _peek_columns(path: Path) -> set[str]:
    # The one customers reader, header only: its problems are reported here, before drafting.
    return set(CustomerReader(path).header())


class CustomerMerge:
    """The per-customer messages of one incident, plan and customers file (iterate it once).

    Filled while iterating: `customers` (valid rows), `messages`, `by_channel`, `bytes_read` and
    `total_bytes` (progress), `checks` (one apology check per segment and channel, from the
    first customer of each), `slow_templates` (templates rendered in full for each message).
    `json_lines()` iterates over the same messages as JSONL lines (faster than writing Messages).
    """

    def __init__(
        self,
        incident: Incident,
        offers: Sequence[Offer],
        customers_path: str | Path,
        *,
        templates_dir: str | Path | None = None,
        on_bad_row: OnBadRow = "fail",
        bad_rows: BadRowSink | None = None,
        clv_by_id: Mapping[str, float] | None = None,
        floor_offers: Sequence[Offer] = (),
    ) -> None:
        if not offers:
            raise ValueError("the plan has no offers to draft")
        self.incident = incident
        self.offers = list(offers)
        self.path = Path(customers_path)
        self.on_bad_row = on_bad_row
        self.bad_rows = bad_rows
        # A holdout customer is drafted from their segment's floor offer, at index + len(offers).
        self.floor_offers = list(floor_offers)
        if self.floor_offers and len(self.floor_offers) != len(self.offers):
            raise ValueError("floor_offers needs one offer per segment of the plan")
        # holdout(customer_id, offer index) -> True for a holdout customer (remedy.holdouts).
        self.holdout: Callable[[str, int], bool] | None = None
        self.drafter = _Drafter(
            incident, [*self.offers, *self.floor_offers], templates_dir, plan_offers=self.offers
        )
        self.customers = 0
        self.messages = 0
        self.by_channel: dict[str, int] = {c: 0 for c in CHANNELS if c != "post"}
        self.checks: dict[tuple[str, str], ApologyCheck] = {}
        self._reader: CustomerReader | None = None
        self._started = False
        columns = _peek_columns(self.path)
        self._segment_column = len(self.offers) > 1 and "segment" in columns
        self._ranked = len(self.offers) > 1 and not self._segment_column
        # CLV estimated from an order history stands in for a missing `clv` column.
        self._clv_by_id = clv_by_id if "clv" not in columns else None
        if self._ranked and columns and "clv" not in columns and clv_by_id is None:
            raise InputError(
                f"{self.path}:1: the plan has {len(self.offers)} segments "
                f"({', '.join(o.segment for o in self.offers)}): add a 'segment' column, or a "
                "'clv' column to fill them by customer value"
            )

    @property
    def bytes_read(self) -> int:
        return self._reader.bytes_read if self._reader is not None else 0

    @property
    def total_bytes(self) -> int:
        return self._reader.total_bytes if self._reader is not None else 0

    @property
    def slow_templates(self) -> list[str]:
        return sorted(self.drafter.slow)

    @property
    def warnings(self) -> list[str]:
        """What could not be drafted as asked (an SMS longer than its segments), once each."""
        return self.drafter.warnings

    def __iter__(self) -> Iterator[Message]:
        return self._run(json=False)  # type: ignore[return-value]

    def json_lines(self) -> Iterator[str]:
        """The messages as JSONL lines (as `remedy.mailmerge.jsonl_line` writes them)."""
        return self._run(json=True)  # type: ignore[return-value]

    def allocation(self) -> Iterator[tuple[str, int]]:
        """(customer id, offer index) of every valid customer, as the merge allocates them, in
        file order, without drafting (a pass over the file, before or after the merge; for a
        stratified holdout)."""
        started, self._started = self._started, False
        try:
            yield from self._run(json=False, dry=True)  # type: ignore[misc]
        finally:
            self._started = started

    def _reader_for(self, *, quiet: bool) -> CustomerReader:
        sink: BadRowSink | None = self.bad_rows
        if quiet and self.on_bad_row == "skip":
            sink = _ignore  # the streaming pass reports them, once
        return CustomerReader(
            self.path,
            currency=self.incident.currency,
            on_bad_row=self.on_bad_row,
            bad_rows=sink,
            segments=tuple(o.segment for o in self.offers) if self._segment_column else None,
        )

    def _allocate(
        self,
    ) -> tuple[tuple[array[int], array[int]] | None, set[int] | None]:
        """The first pass, when needed. Returns ((lines, offer and call code of each), for
        CLV-ranked segments) or (lines of the customers who get a call)."""
        calls = any(o.calls > 0 for o in self.offers)
        if self._ranked:
            return self._rank(), None
        if calls:
            return None, self._top_clv()
        return None, None

    def _rank(self) -> tuple[array[int], array[int]]:
        # With on_bad_row='skip' every row is validated so that skipped rows take no place in
        # the ranking; with 'fail' a bad row stops the run anyway, so only CLV is read here.
        # Ranking holds ~35 bytes per customer: the count is capped so memory stays bounded.
        reader = self._reader_for(quiet=True)
        by_id = self._clv_by_id
        if self.on_bad_row == "fail" and by_id is None:
            lines, clvs = reader.clv_by_line(limit=MAX_RANKED)
        else:
            lines, clvs = array("q"), array("d")
            for customer in reader:
                if len(lines) >= MAX_RANKED:
                    raise InputError(_too_many_to_rank(self.path, customer.line))
                lines.append(customer.line)
                if by_id is not None:
                    clvs.append(by_id.get(customer.id, -1.0))
                else:
                    clvs.append(customer.clv if customer.clv is not None else -1.0)
        return lines, _ranking(self.offers, clvs)

    def _top_clv(self) -> set[int]:
        """Lines of the customers who get a call: per segment the `calls` highest CLV (ties in
        file order). Only rows that could enter the running top are validated; memory holds
        the top only."""
        import heapq

        reader = self._reader_for(quiet=True)
        heaps: list[list[tuple[float, int]]] = [[] for _ in self.offers]
        limits = [max(o.calls, 0) for o in self.offers]
        names = {o.segment.lower(): i for i, o in enumerate(self.offers)}
        rows = reader.rows()
        for line, row in rows:
            columns = reader.columns
            if self._segment_column:
                column = columns["segment"]
                found = names.get(row[column].strip().lower()) if column < len(row) else None
                if found is None:
                    continue  # a bad row; the streaming pass reports it
                offer_index = found
            else:
                offer_index = 0
            limit = limits[offer_index]
            if limit == 0:
                continue
            column = columns.get("clv", -1)
            if self._clv_by_id is not None:
                id_column = columns["id"]
                key_id = row[id_column].strip() if id_column < len(row) else ""
                clv: float | None = self._clv_by_id.get(key_id, -1.0)
            elif column >= 0:
                clv = light_clv(row[column]) if column < len(row) else None
            else:
                clv = -1.0
            if clv is None:
                continue
            key = (clv, -line)
            heap = heaps[offer_index]
            if len(heap) >= limit and key <= heap[0]:
                continue
            if type(reader.parse_row(row, line)) is not Customer:
                continue  # only valid customers get calls
            if len(heap) < limit:
                heapq.heappush(heap, key)
            else:
                heapq.heapreplace(heap, key)
        return {-negative for heap in heaps for _, negative in heap}

    def _run(self, *, json: bool, dry: bool = False) -> Iterator[Message | str | tuple[str, int]]:
        # The per-customer hot path, kept in one flat loop on purpose: every function call or
        # attribute lookup here is paid a million times in a large merge.
        if self._started:
            raise RuntimeError("a CustomerMerge can be iterated once")
        self._started = True
        ranked, call_lines = self._allocate()
        rank_lines, codes = ranked if ranked is not None else (array("q"), None)
        ranks = len(rank_lines)
        cursor = 0  # rank_lines and the reader are both in file order
        facts = self.drafter.facts
        offers = self.offers
        index = {o.segment: i for i, o in enumerate(offers)}
        # The plan's refund per offer (None: no refund), and what a customer without an order
        # value is told (the segment draft's wording); the floor's (holdout) offers follow.
        drafted = self.drafter.offers  # the plan's offers, then the floor's (holdout) ones
        plan_refunds = [facts.refund_amount(o) for o in drafted]
        segment_refunds = [facts.segment_refund(o) for o in drafted]
        held = self.holdout
        floors = len(offers)
        floor_calls = [o.calls > 0 for o in self.floor_offers]
        per_order = facts.refund_per_order
        money = facts.money
        money_cache = facts._money
        formal = facts.common["tone"] == "formal"
        bundles: dict[tuple[int, int, bool], _Bundle] = {}
        make = _message
        escape = _escape_value
        self._reader = reader = self._reader_for(quiet=dry)
        emails = sms = calls = customers = 0
        try:
            for line, ident, name, email, order_id, amount, _, segment_name, phone in reader:
                if codes is not None:
                    while cursor < ranks and rank_lines[cursor] < line:
                        cursor += 1  # a row the first pass took and this one did not
                    code = codes[cursor] if cursor < ranks and rank_lines[cursor] == line else -1
                    cursor += 1
                    if code < 0:
                        raise InputError(f"{self.path}: the file changed while it was being read")
                    offer_index, call = code >> 1, bool(code & 1)
                else:
                    offer_index = index[segment_name] if segment_name is not None else 0
                    call = call_lines is not None and line in call_lines
                if dry:
                    yield ident, offer_index
                    continue
                arm = "treated"
                if held is not None and held(ident, offer_index):
                    arm = "holdout"  # the obligation floor and the apology only
                    call = call and floor_calls[offer_index]
                    offer_index += floors
                if formal:
                    first, formal_name = greeting_names(name)
                else:
                    # remedy.names.first_name's short path, inlined: "Ann Lee" -> "Ann".
                    first, space, rest = name.partition(" ")
                    if not (
                        space
                        and first.istitle()
                        and first.isalpha()
                        and len(first) <= MAX_FIRST_NAME
                        and rest[:1].isupper()
                        and "," not in rest
                        and first.lower() not in TITLES
                    ):
                        first = greeting_names(name)[0]
                    formal_name = ""
                if amount is None:
                    order_value = ""
                else:
                    order_value = money_cache.get(amount) or money(amount)
                plan_refund = plan_refunds[offer_index]
                if plan_refund is None:
                    refund, full = "", False
                elif amount is None:
                    refund, full = segment_refunds[offer_index]
                    if per_order:
                        refund = ""  # "what you paid": the plan's average is not their order
                elif per_order or amount <= plan_refund:
                    refund, full = order_value, True  # never more than they paid
                else:
                    refund, full = money(plan_refund), False
                shape = (
                    (name != "")
                    | (first != "") << F_FIRST
                    | (formal_name != "") << F_FORMAL
                    | (order_id != "") << F_ORDER_ID
                    | (order_value != "") << F_ORDER_VALUE
                    | (refund != "") << F_REFUND
                    | (B_REFUND_FULL if full else 0)
                    | (B_EMAIL if email is not None else 0)
                )
                key = (offer_index, shape, call)
                bundle = bundles.get(key)
                if bundle is None:
                    bundle = bundles[key] = self.drafter.bundle(offer_index, shape, call, False)
                    bundle.check()
                    self._note_checks(bundle, arm)
                values = [name, first, formal_name, order_id, order_value, refund]
                segment = bundle.segment
                customers += 1
                if json:
                    probe = name + order_id + ident + (email or "")
                    if not ('"' in probe or "\\" in probe or not probe.isprintable()):
                        # the usual case: nothing to escape in this customer's fields
                        jvalues = values
                        j_id, j_email = ident, email or ""
                    else:
                        jvalues = [escape(v) for v in values]
                        j_id, j_email = escape(ident), escape(email or "")
                    head = f'{{"customer_id":"{j_id}","segment":"{bundle.j_segment}","arm":"{arm}",'
                if email is not None:
                    emails += 1
                    if json:
                        yield (
                            f'{head}"channel":"email","to":"{j_email}",'
                            f'"subject":"{bundle.subject.fill_json(values, jvalues)}",'
                            f'"body":"{bundle.body.fill_json(values, jvalues)}"}}\n'
                        )
                    else:
                        yield make(
                            "email",
                            segment,
                            bundle.subject.fill(values),
                            bundle.body.fill(values),
                            email,
                            ident,
                            bundle.email_check,
                            arm,
                        )
                if phone is not None:
                    sms += 1
                    text = bundle.sms.fill(values)  # type: ignore[union-attr]
                    if json:
                        yield (
                            f'{head}"channel":"sms","to":"{escape(phone)}",'
                            f'"subject":null,"body":"{escape(text)}"}}\n'
                        )
                    else:
                        yield make(
                            "sms",
                            segment,
                            None,
                            text,
                            phone,
                            ident,
                            bundle.sms_check,
                            arm,
                        )
                if call:
                    calls += 1
                    to = phone or email
                    if json:
                        yield (
                            f'{head}"channel":"phone","to":{_json_or_null(to)},'
                            f'"subject":null,"body":"{bundle.phone.fill_json(values, jvalues)}"}}\n'
                        )
                    else:
                        yield make(
                            "phone",
                            segment,
                            None,
                            bundle.phone.fill(values),
                            to,
                            ident,
                            bundle.phone_check,
                            arm,
                        )
        finally:
            if not dry:
                self.by_channel["email"] += emails
                self.by_channel["sms"] += sms
                self.by_channel["phone"] += calls
                self.messages = emails + sms + calls
                self.customers = customers

    def _note_checks(self, bundle: _Bundle, arm: str = "treated") -> None:
        segment = bundle.segment if arm == "treated" else f"{bundle.segment} ({arm})"
        for channel, check in (
            ("email", bundle.email_check),
            ("sms", bundle.sms_check),
            ("phone", bundle.phone_check),
        ):
            self.checks.setdefault((segment, channel), check)


def _json_or_null(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


_new_message = object.__new__
_message_setters = tuple(
    getattr(Message, name).__set__
    for name in ("channel", "segment", "subject", "body", "to", "customer_id", "checks", "arm")
)


def _message(
    channel: str,
    segment: str,
    subject: str | None,
    body: str,
    to: str | None,
    customer_id: str | None,
    checks: ApologyCheck,
    arm: str | None = None,
) -> Message:
    """`Message(...)` at half the cost: sets the slots directly (mail merge makes millions)."""
    message: Message = _new_message(Message)
    s_channel, s_segment, s_subject, s_body, s_to, s_id, s_checks, s_arm = _message_setters
    s_channel(message, channel)
    s_segment(message, segment)
    s_subject(message, subject)
    s_body(message, body)
    s_to(message, to)
    s_id(message, customer_id)
    s_checks(message, checks)
    s_arm(message, arm)
    return message


def _ignore(bad: object) -> None:
    return None


MAX_RANKED = 6_000_000  # customers ranked by CLV in one mail merge: ~35 bytes each, ~210 MB


def _too_many_to_rank(path: Path, line: int) -> str:
    return (
        f"{path}:{line}: more than {MAX_RANKED:,} customers to assign to segments by CLV "
        "(add a 'segment' column, which needs no ranking, or split the file)"
    )


def _ranking(offers: Sequence[Offer], clvs: array[float]) -> array[int]:
    """Offer index * 2 + call flag of each customer, in file order (the order of `clvs`).

    Customers sorted by CLV (highest first, ties in file order) fill the offers in plan order,
    each offer taking its share of the file; calls go to each offer's highest-CLV customers,
    who are the first of its ranks. `clvs` is used up (negated in place, to sort without a copy).
    """
    import numpy as np

    n = len(clvs)
    codes = array("h", [-1]) * n
    if n == 0:
        return codes
    negated = np.frombuffer(clvs, dtype=np.float64)
    negated *= -1.0
    order = np.argsort(negated, kind="stable")  # stable: ties stay in file order
    del negated
    weights = [max(o.customers, 0) for o in offers]
    total = sum(weights) or len(offers)
    if not sum(weights):
        weights = [1] * len(offers)
    bounds: list[int] = []
    running = 0
    for weight in weights:
        running += weight
        bounds.append(round(running * n / total))
    bounds[-1] = n
    view = np.frombuffer(codes, dtype=np.int16)
    start = 0
    for index, (offer, end) in enumerate(zip(offers, bounds, strict=True)):
        end = max(end, start)
        calls_end = start + min(max(offer.calls, 0), end - start)
        view[order[start:end]] = index * 2
        view[order[start:calls_end]] = index * 2 + 1
        start = end
    return codes


def iter_customer_messages(
    incident: Incident,
    offers: Sequence[Offer],
    customers_path: str | Path,
    *,
    templates_dir: str | Path | None = None,
    on_bad_row: OnBadRow = "fail",
    bad_rows: BadRowSink | None = None,
) -> Iterator[Message]:
    """Stream one message per customer and channel of their plan from the customers CSV.

    Bad rows fail (`InputError`, `file:line: column: message`) or, with `on_bad_row='skip'`,
    go to `bad_rows` (a list or a callback). See the module docstring for segments, calls,
    channels and refunds. For counts and progress use `CustomerMerge` directly.
    """
    return iter(
        CustomerMerge(
            incident,
            offers,
            customers_path,
            templates_dir=templates_dir,
            on_bad_row=on_bad_row,
            bad_rows=bad_rows,
        )
    )
