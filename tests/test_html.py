"""`-f html`: one self-contained page, its sections, its numbers, its charts, its escaping.

The pages are parsed with the standard library's html.parser; a browser renders them in
tests/test_html_browser.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from remedy.cli import app
from remedy.money import format_money

from .conftest import ROOT
from .test_history import write_history

SIXPM = str(ROOT / "incidents" / "6pm-price-cap.yaml")
DRAWS = "2000"
PLAN_SECTIONS = [
    "recommendation",
    "candidates",
    "uncertainty",
    "sensitivity",
    "cost",
    "break-even",
    "constraints",
    "assumptions",
    "drafts",
]
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "source", "wbr", "area", "base"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()

    def all_text(self) -> str:
        return "".join(self.text) + "".join(c.all_text() for c in self.children)


class Page(HTMLParser):
    """A small DOM: every element with its attributes, children and text; comments kept."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.comments: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].text.append(data)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)

    def find(self, tag: str | None = None, **attrs: str) -> list[Node]:
        return [
            n
            for n in self.root.walk()
            if (tag is None or n.tag == tag) and all(n.attrs.get(k) == v for k, v in attrs.items())
        ]


def render(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def sixpm() -> tuple[str, dict]:
    runner = CliRunner()
    page = render(runner, "plan", SIXPM, "-f", "html", "--draws", DRAWS)
    data = json.loads(render(runner, "plan", SIXPM, "-f", "json", "--draws", DRAWS))
    return page, data


def test_one_self_contained_page_with_no_external_reference(sixpm: tuple[str, dict]) -> None:
    text, _ = sixpm
    assert text.startswith("<!DOCTYPE html>")
    assert "http://" not in text and "https://" not in text
    page = Page(text)
    for node in page.root.walk():
        assert "src" not in node.attrs, node.tag
        for name in ("href", "xlink:href"):
            if name in node.attrs:
                assert node.attrs[name].startswith("#"), node.attrs[name]
        assert node.tag not in ("link", "img", "iframe", "object", "embed", "base")
    styles = "".join(n.all_text() for n in page.find("style"))
    assert "@import" not in styles and "url(" not in styles and "@font-face" not in styles
    # The browser is told to load nothing, so nothing slips through either.
    csp = page.find("meta", **{"http-equiv": "Content-Security-Policy"})[0].attrs["content"]
    assert "default-src 'none'" in csp
    assert len(text.encode("utf-8")) < 3 * 2**20


def test_every_section_in_order_with_a_heading(sixpm: tuple[str, dict]) -> None:
    page = Page(sixpm[0])
    sections = [n.attrs["id"] for n in page.find("section")]
    assert sections == PLAN_SECTIONS
    assert [n.attrs["href"] for n in page.find("a")] == [f"#{s}" for s in PLAN_SECTIONS]
    for section in page.find("section"):
        assert section.children[0].tag == "h2" and section.children[0].all_text().strip()
    # The incident in two lines under the title.
    intro = page.find("div", **{"class": "intro"})[0]
    assert len(intro.children) == 2 and "6pm-price-cap" in intro.children[0].all_text()
    assert "pricing engine" in intro.children[1].all_text()


def _numbers(page: Page, key: str) -> list[tuple[float, str]]:
    return [
        (float(n.attrs["data-value"]), n.all_text().strip())
        for n in page.root.walk()
        if n.attrs.get("data-key") == key
    ]


def test_numbers_in_the_page_equal_the_json_output(sixpm: tuple[str, dict]) -> None:
    text, data = sixpm
    page = Page(text)
    money = data["currency"]
    for key in ("total_cost", "expected_net_value", "value_at_stake"):
        [(value, shown)] = _numbers(page, f"plan.{key}")
        assert value == data["plan"][key]
        assert shown == format_money(data["plan"][key], money)
    for key in ("cost", "retained_value", "net_value", "net_p10", "net_p90", "p_best"):
        found = _numbers(page, f"candidate.{key}")
        assert [v for v, _ in found] == [c[key] for c in data["candidates"]]
        if key != "p_best":
            shown = [format_money(c[key], money) for c in data["candidates"]]
            assert [s for _, s in found] == shown
    assert [v for v, _ in _numbers(page, "action.cost")] == [
        a["cost"] for a in data["plan"]["actions"]
    ]
    assert [v for v, _ in _numbers(page, "option.net_value")] == [
        o["net_value"] for o in data["options"]
    ]
    # The P10-P90 of the recommendation, and every draft as written.
    body = page.root.all_text()
    assert format_money(data["plan"]["net_p10"], money) in body
    assert format_money(data["plan"]["net_p90"], money) in body
    messages = [n.all_text() for n in page.find("pre")]
    assert len(messages) == len(data["messages"])
    for shown, message in zip(messages, data["messages"], strict=True):
        assert message["body"].rstrip("\n") in shown
        if message["subject"]:
            assert shown.startswith(f"Subject: {message['subject']}")


def test_every_chart_is_inline_svg_with_a_text_alternative(sixpm: tuple[str, dict]) -> None:
    page = Page(sixpm[0])
    svgs = page.find("svg")
    assert [s.attrs["id"] for s in svgs] == ["net-svg", "tornado-svg", "cost-svg", "breakeven-svg"]
    for svg in svgs:
        assert svg.attrs["role"] == "img"
        title_id, desc_id = svg.attrs["aria-labelledby"].split()
        assert page.find("title", id=title_id)[0].all_text().strip()
        assert len(page.find("desc", id=desc_id)[0].all_text()) > 40
        assert "viewbox" in svg.attrs  # scales to a phone's width
    for fig in page.find("figure"):
        tags = [n.tag for n in fig.walk()]
        assert "figcaption" in tags and "table" in tags  # how to read it, and its numbers
    # Units and currency on the axes, said in the chart's own text.
    text = sixpm[0]
    assert "Net value over the floor, USD" in text
    assert "Customer lifetime value (future margin), USD" in text
    assert "Cost, USD" in text


def test_ids_are_unique_and_references_resolve(sixpm: tuple[str, dict]) -> None:
    page = Page(sixpm[0])
    ids = [n.attrs["id"] for n in page.root.walk() if "id" in n.attrs]
    assert len(ids) == len(set(ids))
    known = set(ids)
    for node in page.root.walk():
        for name in ("href", "xlink:href"):
            if node.attrs.get(name, "").startswith("#"):
                assert node.attrs[name][1:] in known, node.attrs[name]
        for name in ("clip-path", "aria-labelledby", "data-copy"):
            value = node.attrs.get(name, "")
            for ref in value.replace("url(#", " ").replace(")", " ").split():
                assert ref in known, (name, value)


def test_the_page_prints_and_reads_on_a_phone(sixpm: tuple[str, dict]) -> None:
    text = sixpm[0]
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    assert "@media print" in text and "break-before: page" in text
    assert "@media (max-width" in text


def test_same_file_and_seed_give_the_same_bytes(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    args = ["plan", SIXPM, "-f", "html", "--draws", "500"]
    assert runner.invoke(app, [*args, "-o", str(out)]).exit_code == 0
    again = subprocess.run(
        [sys.executable, "-m", "remedy", *args], capture_output=True, check=True
    ).stdout
    assert out.read_bytes() == again
    other = render(runner, *args, "--seed", "1")
    assert other.encode() != again


def test_output_rules_are_the_usual_ones(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    out.write_text("keep")
    refused = runner.invoke(app, ["plan", SIXPM, "-f", "html", "--draws", "500", "-o", str(out)])
    assert refused.exit_code == 2 and out.read_text() == "keep"
    forced = runner.invoke(
        app, ["plan", SIXPM, "-f", "html", "--draws", "500", "-o", str(out), "--force"]
    )
    assert forced.exit_code == 0 and out.read_text().startswith("<!DOCTYPE html>")


def test_text_from_the_incident_is_data(runner: CliRunner, tmp_path: Path) -> None:
    hostile = "<script>alert(1)</script> & --> </svg> {{ 7*7 }}"
    path = tmp_path / "i.yaml"
    path.write_text(
        "id: x\n"
        f"title: '{hostile}'\n"
        "kind: late_delivery\n"
        f"summary: '{hostile}'\n"
        "affected:\n  customers: 300\n  order_value: 40\n"
        "options:\n  ship_upgrade:\n    cost_per_order: 8\n"
        "segments:\n"
        "  - name: vip\n    count: 100\n    clv: [200, 400, 900]\n"
        "  - name: regular\n    count: 200\n"
        "business:\n  clv: [50, 100, 300]\n"
        "sender:\n  name: '<img src=x onerror=alert(1)>'\n  company: Acme\n"
    )
    text = render(runner, "plan", str(path), "-f", "html", "--draws", "500")
    page = Page(text)
    assert len(page.find("script")) == 1  # only the page's own
    assert not page.find("img")
    assert page.find("h1")[0].all_text() == hostile
    assert page.find("title")[0].all_text() == hostile
    assert hostile in page.find("div", **{"class": "intro"})[0].all_text()
    assert any("<img src=x onerror=alert(1)>" in n.all_text() for n in page.find("pre"))
    assert all("<script" not in c for c in page.comments)
    # Several segments: every chart still in the page, one label per segment.
    assert len(page.find("svg")) == 4
    assert {n.all_text() for n in page.find("h3") if n.all_text().startswith("Segment")} == {
        "Segment vip",
        "Segment regular",
    }


def test_explain_html_uses_the_same_frame(runner: CliRunner) -> None:
    text = render(runner, "explain", SIXPM, "honor", "-f", "html", "--draws", DRAWS)
    page = Page(text)
    assert [n.attrs["id"] for n in page.find("section")] == ["segment-1", "plan"]
    assert "break-even CLV" in page.root.all_text()
    assert [s.attrs["id"] for s in page.find("svg")] == ["breakeven-1-svg"]
    data = json.loads(render(runner, "explain", SIXPM, "honor", "-f", "json", "--draws", DRAWS))
    [(value, shown)] = _numbers(page, "net_value")
    assert value == data["segments"][0]["net_value"] and shown == format_money(value, "USD")
    assert "http://" not in text and "https://" not in text


def test_clv_html_with_the_holdout_plot(runner: CliRunner, tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    write_history(orders, 300)
    text = render(runner, "clv", str(orders), "-f", "html", "--holdout-from", "2024-09-01")
    page = Page(text)
    assert [n.attrs["id"] for n in page.find("section")] == ["fit", "tiers", "top", "holdout"]
    assert [s.attrs["id"] for s in page.find("svg")] == ["clv-histogram-svg", "holdout-svg"]
    data = json.loads(render(runner, "clv", str(orders), "-f", "json"))
    [(customers, _)] = _numbers(page, "customers")
    assert customers == data["summary"]["customers"]
    tiers = [v for v, _ in _numbers(page, "tier.customers")]
    assert tiers == [t["customers"] for t in data["summary"]["tiers"]]
    plain = render(runner, "clv", str(orders), "-f", "html")
    assert [n.attrs["id"] for n in Page(plain).find("section")] == ["fit", "tiers", "top"]


def test_break_even_chart_shows_the_customers_own_clv_from_history(
    runner: CliRunner, tmp_path: Path
) -> None:
    write_history(tmp_path / "orders.csv", 400)
    path = tmp_path / "incident.yaml"
    path.write_text(
        "id: late\ntitle: Late orders\nkind: late_delivery\n"
        "affected:\n  customers: 400\n  order_value: 60\n"
        "options:\n  ship_upgrade:\n    cost_per_order: 8\n"
        "customers:\n  orders: orders.csv\n"
    )
    text = render(runner, "plan", str(path), "-f", "html", "--draws", "500")
    page = Page(text)
    # Value tiers, each drawn over its own customers' CLV (a histogram), not a PERT curve.
    desc = page.find("desc", id="breakeven-desc")[0].all_text()
    assert "top_5:" in desc and "rest:" in desc
    assert text.count("customers' CLV from the order history") == 3  # one panel per tier
    assert [n.attrs["id"] for n in page.find("section")] == PLAN_SECTIONS


def test_other_formats_do_not_import_matplotlib() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from remedy.cli import app\n"
        "assert 'matplotlib' not in sys.modules\n"
        "for fmt in ('json', 'table', 'markdown'):\n"
        "    r = CliRunner().invoke(app, ['plan', sys.argv[1], '-f', fmt, '--draws', '200'])\n"
        "    assert r.exit_code == 0, r.output\n"
        "print('matplotlib' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, SIXPM], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_missing_matplotlib_is_a_clear_usage_error(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    result = runner.invoke(app, ["plan", SIXPM, "-f", "html", "--draws", "200"])
    assert result.exit_code == 2
    assert "-f html needs matplotlib" in result.stderr


def test_page_frame_is_reusable() -> None:
    """`remedy.page.render_page(title, sections)`: what `remedy review -f html` builds on."""
    from remedy.page import Cell, Section, paragraph, render_page, table

    body = paragraph("Won back: ", "<i>42</i>") + table(
        ["what", "amount"], [["purchases", Cell("$1.00", 1.0, "won")]], numeric=(1,)
    )
    text = render_page("Review <x>", [Section("review", "What it cost", body)])
    page = Page(text)
    assert page.find("h1")[0].all_text() == "Review <x>"
    assert not page.find("i") and "<i>42</i>" in page.root.all_text()
    assert _numbers(page, "won") == [(1.0, "$1.00")]
    with pytest.raises(ValueError):
        Section("Bad id", "x", body)
