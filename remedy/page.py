"""The HTML page frame: one self-contained page with its sections, for `-f html`.

Every HTML report (`remedy plan`, `explain`, `clv`, and `review`) is `render_page(title,
sections)`: the styles and the one small script are inline, charts are inline SVG, fonts are the
reader's own, and a Content-Security-Policy forbids the page to load anything, so it works from an
email attachment or a file share and never touches the network. It reads on a phone (one column,
tables scroll sideways) and prints (each section starts a page; buttons and navigation hide).

Text is data: the helpers below escape everything they are given (markupsafe, Jinja2's own
escaping); only `Markup` built by these helpers is inserted as HTML. A title of `<script>` shows
as text. The page holds no date and no random id, so the same input gives the same bytes.

Building blocks, each returning `Markup`: `paragraph`, `facts` (key figures as tiles), `table`
(with `Cell` for a number the tests can read back), `figure` (a `remedy.charts.Chart` with its
text alternative and data table), `card` (a draft with a copy button), `bullets`, `notice`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from remedy import __version__

if TYPE_CHECKING:
    from remedy.charts import Chart

_ID = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class Section:
    """One section of a page: an anchor id (`[a-z][a-z0-9-]*`), a heading and its body.

    `body` is HTML built with this module's helpers (which escape all text they are given);
    `lead` is a plain-text line shown under the heading.
    """

    id: str
    title: str
    body: Markup
    lead: str = ""

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise ValueError(f"section id {self.id!r} must match {_ID.pattern}")


@dataclass(frozen=True)
class Cell:
    """A table cell: the text shown, and optionally the number behind it (`data-value`) under a
    name (`data-key`), so tests and scripts can check the page against the JSON output."""

    text: str
    value: float | int | None = None
    key: str = ""
    numeric: bool = True
    strong: bool = False


@dataclass(frozen=True)
class Fact:
    """A key figure: label, the value as text, an optional detail line, and the number behind it."""

    label: str
    text: str
    detail: str = ""
    value: float | int | None = None
    key: str = ""


def _data(key: str, value: float | int | None) -> Markup:
    if value is None or not key:
        return Markup("")
    return Markup(' data-key="{}" data-value="{}"').format(key, _number(value))


def _number(value: float | int) -> str:
    """A number as the JSON output writes it (`repr` of the rounded float), for `data-value`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def paragraph(*parts: str | Markup, cls: str = "") -> Markup:
    """A paragraph of text (escaped) and Markup parts, joined as given."""
    klass = Markup(' class="{}"').format(cls) if cls else Markup("")
    return Markup("<p{}>{}</p>\n").format(klass, Markup("").join(escape(p) for p in parts))


def strong(text: str) -> Markup:
    return Markup("<strong>{}</strong>").format(text)


def code(text: str) -> Markup:
    return Markup("<code>{}</code>").format(text)


def notice(text: str | Markup) -> Markup:
    """A highlighted line: a warning, a gate, a weak fit."""
    return Markup('<p class="notice">{}</p>\n').format(text)


def bullets(items: Iterable[str | Markup], cls: str = "") -> Markup:
    rows = Markup("").join(Markup("<li>{}</li>").format(item) for item in items)
    if not rows:
        return Markup("")
    klass = Markup(' class="{}"').format(cls) if cls else Markup("")
    return Markup("<ul{}>{}</ul>\n").format(klass, rows)


def facts(items: Sequence[Fact]) -> Markup:
    """Key figures as tiles (two or three a row on a wide screen, one on a phone)."""
    tiles = Markup("").join(
        Markup(
            '<div class="fact"><dt>{}</dt><dd><span class="big"{}>{}</span>{}</dd></div>'
        ).format(
            f.label,
            _data(f.key, f.value),
            f.text,
            Markup('<span class="detail">{}</span>').format(f.detail) if f.detail else "",
        )
        for f in items
    )
    return Markup('<dl class="facts">{}</dl>\n').format(tiles)


def table(
    columns: Sequence[str],
    rows: Iterable[Sequence[str | Cell | Markup]],
    *,
    caption: str = "",
    numeric: Sequence[int] = (),
    row_classes: Sequence[str] | None = None,
    cls: str = "",
) -> Markup:
    """A table in a sideways-scrolling wrapper. Strings are text (escaped); `numeric` column
    indexes are right-aligned; `Cell` carries a number in `data-value`; `row_classes` marks rows
    (e.g. "plan")."""
    right = set(numeric)
    head = Markup("").join(
        Markup('<th scope="col"{}>{}</th>').format(Markup(' class="num"') if i in right else "", c)
        for i, c in enumerate(columns)
    )
    body: list[Markup] = []
    for r, row in enumerate(rows):
        cells: list[Markup] = []
        for i, cell in enumerate(row):
            if isinstance(cell, Cell):
                inner: Markup | str = strong(cell.text) if cell.strong else cell.text
                is_num = cell.numeric and (i in right or cell.value is not None)
                cells.append(
                    Markup("<td{}{}>{}</td>").format(
                        Markup(' class="num"') if is_num else "",
                        _data(cell.key, cell.value),
                        inner,
                    )
                )
            else:
                cells.append(
                    Markup("<td{}>{}</td>").format(
                        Markup(' class="num"') if i in right else "", cell
                    )
                )
        klass = row_classes[r] if row_classes is not None and r < len(row_classes) else ""
        body.append(
            Markup("<tr{}>{}</tr>\n").format(
                Markup(' class="{}"').format(klass) if klass else "", Markup("").join(cells)
            )
        )
    cap = Markup("<caption>{}</caption>").format(caption) if caption else Markup("")
    return Markup(
        '<div class="scroll"><table{}>{}<thead><tr>{}</tr></thead>\n<tbody>\n{}</tbody></table>'
        "</div>\n"
    ).format(Markup(' class="{}"').format(cls) if cls else "", cap, head, Markup("").join(body))


def figure(chart: Chart) -> Markup:
    """A chart: its inline SVG (with a title and description for screen readers), a caption
    saying how to read it, and its numbers as a table under a disclosure."""
    data = table(chart.columns, chart.rows, numeric=chart.numeric, cls="data")
    return Markup(
        '<figure class="chart" id="{}">\n<div class="scroll">{}</div>\n'
        "<figcaption>{}</figcaption>\n"
        "<details><summary>The numbers behind this chart</summary>\n{}</details>\n</figure>\n"
    ).format(f"fig-{chart.id}", Markup(chart.svg), chart.caption, data)


def card(title: str, text: str, *, subject: str = "", copy_id: str) -> Markup:
    """A message in a card: heading, then the text as written (with its subject line, if any),
    selectable with line breaks kept, and a Copy button (shown only where the script runs)."""
    return Markup(
        '<article class="card"><header><h3>{}</h3>'
        '<button type="button" class="copy" data-copy="{}" hidden>Copy</button></header>'
        '<pre class="message" id="{}">{}</pre></article>\n'
    ).format(
        title,
        copy_id,
        copy_id,
        (f"Subject: {subject}\n\n" if subject else "") + text.rstrip("\n"),
    )


def _asset(name: str) -> str:
    return (resources.files("remedy") / "templates" / "html" / name).read_text(encoding="utf-8")


def _script_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def render_page(
    title: str,
    sections: Sequence[Section],
    *,
    kicker: str = "",
    intro: Markup | str = "",
    footer: str = "",
) -> str:
    """The whole page: `title` as its heading (and the window title), `kicker` a small line
    above it (e.g. "Remediation plan"), `intro` under it, a table of contents, the sections in
    order, and `footer` (how it was made). Returns the HTML text; the same arguments give the
    same bytes."""
    import jinja2

    ids = [s.id for s in sections]
    if len(set(ids)) != len(ids):
        raise ValueError(f"section ids repeat: {ids}")
    script = _asset("page.js")
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: _asset(name)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    context: dict[str, Any] = {
        "title": title,
        "kicker": kicker,
        "intro": intro,
        "sections": sections,
        "footer": footer,
        "css": Markup(_asset("page.css")),
        "script": Markup(script),
        "script_hash": _script_hash(script),
        "version": __version__,
    }
    return env.get_template("page.html.j2").render(context)
