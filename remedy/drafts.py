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

Every draft is run through the apology check (`remedy.apology`); the result is on `Message.checks`.
Built-in drafts pass it for every incident. The check requires, for each channel: acknowledgement,
an offer of repair, regret, an explanation, a way to reach a person, and, when the incident gives
`prevention:`, the prevention step; except the SMS, which has no room for the explanation or the
prevention step (the email and post carry them).

Fast mail merge. Templates are compiled once. For each combination of segment, channel and
"shape" of customer (which fields they have: name, order id, order value, own refund amount; and
whether they get a call), the template is rendered once with markers in place of the customer's
fields, giving a skeleton: fixed text with holes. Each customer's message is then the skeleton
with their values put in the holes, one `str.join`. The skeleton is trusted only when
the template prints customer fields as they are (`{{ customer.name }}`, directly or through a
macro): a template that computes with them (joins them with `~`, filters them, compares them) is
detected (markers are objects that raise when used as anything but output, two renders with
different markers must agree, and the first customer of each skeleton is also rendered in full and
compared) and then rendered in full for every customer: slower, still correct.

SMS length. An SMS is kept to one 160-character segment when the full text fits, or when it fits
with the explanation shortened to no fewer than 40 characters; otherwise up to 320 characters (two
segments) with the explanation shortened as needed. Only the explanation is ever shortened (at a
sentence end when one fits, else at a word, with "..."), never the offer or the contact. If even
a compact wording (no greeting, short signature) cannot hold the offer, the contact and 40
characters of explanation in 320, drafting stops with an `InputError` saying what to shorten.
Lengths are in characters; the built-in wording is plain ASCII, but a customer's name or the
incident's text may hold characters outside the GSM alphabet, which phones then send in 70-char
segments.

Sender. Messages are signed with the sender's name, then "role, company" (or just the company) and
a direct contact (email and/or phone) in the text. Without a `sender:` the company is unknown, so
messages are signed "Customer care", written as "we", and ask the customer to reply.

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
own `order_value` when their row gives one, else the plan's amount. Any other amount is a fixed
refund, the same for everyone.
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

SMS_SEGMENT = 160
SMS_MAX = 320
MIN_EXPLANATION = 40
MAX_FIRST_NAME = 20  # longer first tokens are not used as a greeting

# Customer fields a template may print, as (index, placeholder used for the apology check).
F_NAME, F_FIRST, F_ORDER_ID, F_ORDER_VALUE, F_REFUND, F_EXPLANATION = range(6)
_PLACEHOLDERS = ("[name]", "[first name]", "[order id]", "[order value]", "[refund]")


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


# --- text helpers ----------------------------------------------------------------------------

_BLANK_LINES = re.compile(r"\n{3,}")
_INNER_SPACES = re.compile(r"(?<=\S) {2,}")
_SENTENCE_END = re.compile(r"[.!?](?=\s)")


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


def _cut(text: str, budget: int) -> str:
    """Shorten `text` to at most `budget` characters: at a sentence end, else a word, with '...'."""
    if len(text) <= budget:
        return text
    ends = [m.end() for m in _SENTENCE_END.finditer(text) if m.end() <= budget]
    if ends and ends[-1] >= budget // 2:
        return text[: ends[-1]]
    room = max(budget - 3, 0)
    space = text.rfind(" ", 0, room + 1)
    head = text[:space] if space >= room // 2 else text[:room]
    return head.rstrip(" ,;:-") + "..."


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


class _Facts:
    """Everything the templates need that does not depend on the customer."""

    def __init__(self, incident: Incident, offers: Sequence[Offer]) -> None:
        self.incident = incident
        self.offers = list(offers)
        self.currency = incident.currency
        sender = incident.sender
        if sender is not None:
            title = f"{sender.role}, {sender.company}" if sender.role else sender.company
            self.sender = SimpleNamespace(
                person=True,
                name=sender.name,
                role=sender.role or "",
                company=sender.company,
                signature=sender.name,
                title=title,
            )
            self.contact = SimpleNamespace(email=sender.email or "", phone=sender.phone or "")
        else:
            self.sender = SimpleNamespace(
                person=False, name="", role="", company="", signature="Customer care", title=""
            )
            self.contact = SimpleNamespace(email="", phone="")
        self.explanation = _sentence(incident.summary or incident.title)
        self.sms_explanation = _one_line(self.explanation)
        minutes = incident.options.personal_call.minutes.likely
        self.common: dict[str, Any] = {
            "kind": incident.kind,
            "fault": incident.fault,
            "tone": incident.tone,
            "title": _one_line(incident.title),
            "occasion": _one_line(incident.occasion or ""),
            "occurred_on": format_date(incident.occurred_on) if incident.occurred_on else "",
            "prevention": _sentence(incident.prevention) if incident.prevention else "",
            "currency": incident.currency,
            "company": self.sender.company,
            "sender": self.sender,
            "contact": self.contact,
            "call_minutes": f"{minutes:g}",
        }
        # A refund is "per order" (a full refund: each customer gets back what they paid) when
        # the file sets no amount or sets the average order value; another amount is a fixed
        # (partial) refund, the same for everyone.
        amount = incident.options.refund.amount
        self.refund_per_order = amount is None or amount == incident.affected.order_value
        self._money: dict[Decimal, str] = {}

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
        if not offer.has("refund"):
            return None
        if offer.refund_amount is not None:
            return offer.refund_amount
        return self.incident.affected.order_value

    def offer_view(self, offer: Offer, call: bool, refund: Any) -> SimpleNamespace:
        """What one segment (or customer) is offered, as template variables."""
        options = offer.options
        custom = [
            _label(offer.custom_labels.get(o, o)) for o in options if o in offer.custom_labels
        ]
        return self._view(
            options, offer.segment, call, refund, self.money(offer.credit_amount), custom
        )

    def public_view(self) -> SimpleNamespace:
        """What every affected customer gets (options common to all segments), for the post."""
        offers = [o for o in self.offers if o.customers > 0] or self.offers
        if not offers:
            return self._view((), ALL, False, "", "", [])
        common = [o for o in offers[0].options if all(x.has(o) for x in offers[1:])]
        refunds = {self.refund_amount(o) for o in offers}
        credits = {o.credit_amount for o in offers}
        refund = self.money(refunds.pop()) if len(refunds) == 1 else ""
        credit = self.money(credits.pop()) if len(credits) == 1 else ""
        labels = [
            _label(offers[0].custom_labels.get(o, o))
            for o in common
            if o in offers[0].custom_labels
        ]
        return self._view(tuple(common), ALL, False, refund, credit, labels)

    def _view(
        self,
        options: Sequence[str],
        segment: str,
        call: bool,
        refund: Any,
        credit: str,
        custom: list[str],
    ) -> SimpleNamespace:
        has = set(options)
        refund_on = "refund" in has
        tangible = bool(
            has & {"honor", "refund", "ship_upgrade", "replacement", "store_credit"} or custom
        )
        return SimpleNamespace(
            segment=segment,
            options=list(options),
            honor="honor" in has,
            refund=refund_on,
            refund_amount=refund if refund_on else "",
            refund_full=self.refund_per_order,
            ship_upgrade="ship_upgrade" in has,
            replacement="replacement" in has,
            store_credit="store_credit" in has,
            credit=credit if "store_credit" in has else "",
            custom=custom,
            call=call,
            refund_or_reship=refund_on and bool(has & {"ship_upgrade", "replacement"}),
            tangible=tangible,
            apology_only=not tangible,
        )


def _customer_view(shape: int, slot: SlotFn, generic: bool) -> SimpleNamespace:
    def pick(index: int) -> Any:
        return slot(index) if shape & (1 << index) else ""

    return SimpleNamespace(
        name=pick(F_NAME),
        first_name=pick(F_FIRST),
        order_id=pick(F_ORDER_ID),
        order_value=pick(F_ORDER_VALUE),
        generic=generic,
    )


# --- skeletons -------------------------------------------------------------------------------

_MARKER_TAGS = ("sl", "QzQzQzQzQzQzQzQzQz")


class _Variant:
    """One template rendered for one segment, channel and shape of customer.

    With a skeleton, `fill(values)` puts the values in its holes and joins; without one (the
    template computes with customer fields), every fill is a full render.
    """

    __slots__ = ("built", "counts", "direct", "fast", "jparts", "make", "name", "on_slow", "parts",
                 "positions", "static_len", "templates", "tidy", "verified")  # fmt: skip

    def __init__(
        self,
        templates: Templates,
        name: str,
        make: Callable[[SlotFn, bool], dict[str, Any]],
        tidy: Callable[[str], str],
        *,
        direct: bool = False,
        on_slow: Callable[[str], None] | None = None,
    ) -> None:
        self.templates = templates
        self.name = name
        self.make = make  # (slot function, compact) -> context
        self.tidy = tidy
        self.direct = direct  # render every fill (one-off drafts: a skeleton would cost more)
        self.on_slow = on_slow
        self.built = direct
        self.fast = False  # True once a trusted skeleton exists
        self.parts: list[str] = []  # the skeleton: fixed text, with holes at `positions`
        self.jparts: list[str] = []  # the same, JSON-escaped once for JSONL output
        self.positions: tuple[tuple[int, int], ...] = ()  # (index in parts, field index)
        self.static_len = 0
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
                text = self.templates.render(self.name, self.make(probe.slot, False))
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
        self.static_len = sum(len(s) for s in statics)
        for index in fields:
            self.counts[index] = self.counts.get(index, 0) + 1

    def render(self, values: Sequence[str], compact: bool = False) -> str:
        """A full render with real values (the slow path, and the reference for verification)."""
        return self.tidy(self.templates.render(self.name, self.make(lambda i: values[i], compact)))

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
    """Fits one SMS variant pair (normal, compact) to 160/320 characters for given values."""

    def __init__(self, normal: _Variant, compact: _Variant, explanation: str, where: str) -> None:
        self.variants = (normal, compact)
        self.explanation = explanation
        self.where = where
        self._cuts: dict[int, str] = {}

    def _cut(self, budget: int) -> str:
        text = self._cuts.get(budget)
        if text is None:
            text = self._cuts[budget] = _cut(self.explanation, budget)
        return text

    def _choose(self, fixed: int, count: int) -> int | None:
        """The explanation budget per occurrence, or None when it does not fit."""
        full = len(self.explanation)
        if count == 0:
            return 0 if fixed <= SMS_MAX else None
        for target in (SMS_SEGMENT, SMS_MAX):
            if fixed + count * full <= target:
                return full
            if fixed + count * MIN_EXPLANATION <= target:
                return (target - fixed) // count
        return None

    def fill(self, values: list[str]) -> str:
        for compact, variant in enumerate(self.variants):
            if variant.ready():
                fixed = variant.static_len
                for index, times in variant.counts.items():
                    if index != F_EXPLANATION:
                        fixed += times * len(values[index])
                count = variant.counts.get(F_EXPLANATION, 0)
                budget = self._choose(fixed, count)
                if budget is None:
                    continue
                values[F_EXPLANATION] = self._cut(budget)
                text = variant.fill(values)
                if len(text) <= SMS_MAX:
                    return text
            text_or_none = self._fit_slow(variant, values, bool(compact))
            if text_or_none is not None:
                return text_or_none
        raise InputError(
            f"{self.where}: the SMS needs more than {SMS_MAX} characters for the offer and the "
            f"contact alone (shorten the custom option labels, or the sender's name or email)"
        )

    def _fit_slow(self, variant: _Variant, values: list[str], compact: bool) -> str | None:
        """Fit by rendering: binary search on the explanation's length (any template)."""

        def render(budget: int) -> str:
            values[F_EXPLANATION] = self._cut(budget)
            return variant.render(values, compact)

        full = len(self.explanation)
        text = render(full)
        if len(text) <= SMS_SEGMENT:
            return text
        for target in (SMS_SEGMENT, SMS_MAX):
            if target == SMS_MAX and len(text) <= SMS_MAX:
                return text
            shortest = render(MIN_EXPLANATION)
            if len(shortest) > target:
                continue
            low, high, best = MIN_EXPLANATION + 1, full, shortest
            while low <= high:
                middle = (low + high) // 2
                candidate = render(middle)
                if len(candidate) <= target:
                    best, low = candidate, middle + 1
                else:
                    high = middle - 1
            return best
        return None


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
        self, incident: Incident, offers: Sequence[Offer], templates_dir: str | Path | None
    ) -> None:
        self.incident = incident
        self.offers = list(offers)
        self.templates = templates_for(templates_dir)
        self.facts = _Facts(incident, offers)
        self.prevention = incident.prevention is not None
        self._bundles: dict[tuple[int, int, bool, bool], _Bundle] = {}
        self.slow: set[str] = set()  # templates rendered in full for each customer

    def context(
        self,
        channel: str,
        offer_view: Callable[[SlotFn], SimpleNamespace],
        shape: int,
        generic: bool,
    ) -> Callable[[SlotFn, bool], dict[str, Any]]:
        facts = self.facts
        sms = channel == "sms"

        def make(slot: SlotFn, compact: bool) -> dict[str, Any]:
            return {
                **facts.common,
                "channel": channel,
                "compact": compact,
                "explanation": slot(F_EXPLANATION) if sms else facts.explanation,
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
                return facts.offer_view(offer, with_call, refund)

            return view

        def variant(name: str, channel: str, tidy: Callable[[str], str]) -> _Variant:
            make = drafter.context(channel, view_for(call and channel == "email"), shape, generic)
            return _Variant(templates, name, make, tidy, direct=generic, on_slow=drafter.slow.add)

        if offer is None:
            self.post = variant("post.j2", "post", _tidy)
            return
        self.subject = variant("email_subject.j2", "email", _one_line)
        self.body = variant("email_body.j2", "email", _tidy)
        self.phone = variant("phone_script.j2", "phone", _tidy)
        # The SMS always uses a skeleton: its length arithmetic needs one.
        sms_ctx = drafter.context("sms", view_for(False), shape, generic)
        normal = _Variant(templates, "sms.j2", sms_ctx, _one_line, on_slow=drafter.slow.add)
        compact = _Variant(templates, "sms.j2", lambda s, c: sms_ctx(s, True), _one_line)
        self.sms = _SmsFitter(normal, compact, facts.sms_explanation, templates.origin("sms.j2"))
        self.email_check = self.sms_check = self.phone_check = _NOT_CHECKED

    def check(self) -> None:
        """The apology checks, once, on the text with placeholders for the customer's fields."""
        if self.email_check is not _NOT_CHECKED:
            return
        sample = [*_PLACEHOLDERS, self.drafter.facts.sms_explanation]
        prevention = self.drafter.prevention
        self.email_check = _check_email(
            self.subject.fill(sample), self.body.fill(sample), prevention
        )
        self.sms_check = lint_text(self.sms.fill(list(sample)), channel="sms")
        self.phone_check = lint_text(
            self.phone.fill(sample), prevention_given=prevention, channel="phone"
        )


_NOT_CHECKED = lint_text("")


# A public post (status page, blog, social) only when enough customers were hit that others
# will have heard; below this the incident is a private matter between us and a few customers.
PUBLIC_POST_MIN_CUSTOMERS = 20


# --- segment drafts --------------------------------------------------------------------------


def draft_messages(
    incident: Incident, offers: Sequence[Offer], *, templates_dir: str | Path | None = None
) -> list[Message]:
    """The drafts for a plan: per segment an email, an SMS and (with calls) a phone script, in
    plan order, then one public post (segment "all") unless the incident is a private matter
    of fewer than `PUBLIC_POST_MIN_CUSTOMERS` customers. Each carries its apology check."""
    drafter = _Drafter(incident, offers, templates_dir)
    facts = drafter.facts
    messages: list[Message] = []
    prevention = drafter.prevention
    for index, offer in enumerate(drafter.offers):
        refund = facts.money(facts.refund_amount(offer))
        shape = (1 << F_REFUND) if refund else 0
        values = ["", "", "", "", refund, facts.sms_explanation]
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
    if sum(offer.customers for offer in drafter.offers) < PUBLIC_POST_MIN_CUSTOMERS:
        # One grieving customer or one stolen parcel is a private matter, not a public one.
        return messages
    post_bundle = _Bundle(drafter, -1, 0, False, True)
    post = post_bundle.post.fill(["", "", "", "", "", facts.sms_explanation])
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
        self.drafter = _Drafter(incident, [*self.offers, *self.floor_offers], templates_dir)
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
        drafted = self.drafter.offers  # the plan's offers, then the floor's (holdout) ones
        refunds = [facts.money(facts.refund_amount(o)) for o in drafted]
        has_refund = [o.has("refund") for o in drafted]
        held = self.holdout
        floors = len(offers)
        floor_calls = [o.calls > 0 for o in self.floor_offers]
        per_order = facts.refund_per_order
        money = facts.money
        money_cache = facts._money
        bundles: dict[tuple[int, int, bool], _Bundle] = {}
        explanation = facts.sms_explanation
        j_explanation = _escape(explanation)
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
                first = name.partition(" ")[0]
                if len(first) > MAX_FIRST_NAME:
                    first = ""
                if amount is None:
                    order_value = ""
                else:
                    order_value = money_cache.get(amount) or money(amount)
                if has_refund[offer_index]:
                    refund = order_value if per_order and order_value else refunds[offer_index]
                else:
                    refund = ""
                shape = (
                    (name != "")
                    | (first != "") << 1
                    | (order_id != "") << 2
                    | (order_value != "") << 3
                    | (refund != "") << 4
                )
                key = (offer_index, shape, call)
                bundle = bundles.get(key)
                if bundle is None:
                    bundle = bundles[key] = self.drafter.bundle(offer_index, shape, call, False)
                    bundle.check()
                    self._note_checks(bundle, arm)
                values = [name, first, order_id, order_value, refund, explanation]
                segment = bundle.segment
                customers += 1
                if json:
                    probe = name + order_id + ident + (email or "")
                    if not ('"' in probe or "\\" in probe or not probe.isprintable()):
                        # the usual case: nothing to escape in this customer's fields
                        jvalues = values.copy()
                        jvalues[F_EXPLANATION] = j_explanation
                        j_id, j_email = ident, email or ""
                    else:
                        jvalues = [escape(v) for v in values[:F_EXPLANATION]]
                        jvalues.append(j_explanation)
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
                    text = bundle.sms.fill(values)
                    values[F_EXPLANATION] = explanation
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
