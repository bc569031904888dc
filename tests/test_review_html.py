"""`remedy review -f html`: one self-contained page on the simulated shop, its sections, its
numbers against `-f json`, its bytes, its escaping; and `--allow-outside` on `remedy review`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from remedy.cli import app
from remedy.money import format_money

from .review_simulation import simulate
from .test_html import Page, _numbers

SECTIONS = ["groups", "loss", "value", "assumptions", "notes"]
FAST = ["--replicates", "200"]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The small simulated shop of tests/test_review.py: 4,000 customers, a holdout."""
    folder = tmp_path_factory.mktemp("shop")
    return simulate(11, customers=4000, hit_share=0.8).write(folder)


def args(shop: dict[str, Path], *more: str) -> list[str]:
    return [
        "review",
        str(shop["incident"]),
        "--orders",
        str(shop["orders"]),
        "--assignments",
        str(shop["assignments"]),
        *FAST,
        *more,
    ]


@pytest.fixture(scope="module")
def page(
    shop: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, Any], str]:
    """The page, the JSON of the same review, and the snippet --write-assumptions wrote."""
    runner = CliRunner()
    snippet = tmp_path_factory.mktemp("snippet") / "next.yaml"
    html = runner.invoke(app, args(shop, "-f", "html", "--write-assumptions", str(snippet)))
    assert html.exit_code == 0, html.output
    data = runner.invoke(app, args(shop, "-f", "json"))
    assert data.exit_code == 0, data.output
    return html.stdout, json.loads(data.stdout), snippet.read_text()


def test_one_self_contained_page(page: tuple[str, dict[str, Any], str]) -> None:
    text = page[0]
    assert text.startswith("<!DOCTYPE html>")
    assert "http://" not in text and "https://" not in text
    dom = Page(text)
    for node in dom.root.walk():
        assert "src" not in node.attrs, node.tag
        for name in ("href", "xlink:href"):
            if name in node.attrs:
                assert node.attrs[name].startswith("#"), node.attrs[name]
        assert node.tag not in ("link", "img", "iframe", "object", "embed", "base")
    csp = dom.find("meta", **{"http-equiv": "Content-Security-Policy"})[0].attrs["content"]
    assert "default-src 'none'" in csp
    ids = [n.attrs["id"] for n in dom.root.walk() if "id" in n.attrs]
    assert len(ids) == len(set(ids))
    assert len(text.encode()) < 3 * 2**20


def test_every_section_with_the_incident_and_window_in_two_lines(
    page: tuple[str, dict[str, Any], str],
) -> None:
    text, data, snippet = page
    dom = Page(text)
    assert [n.attrs["id"] for n in dom.find("section")] == SECTIONS
    assert [n.attrs["href"] for n in dom.find("a")] == [f"#{s}" for s in SECTIONS]
    for section in dom.find("section"):
        assert section.children[0].tag == "h2" and section.children[0].all_text().strip()
    assert dom.find("h1")[0].all_text() == data["incident"]["title"]
    intro = dom.find("div", **{"class": "intro"})[0]
    assert len(intro.children) == 2
    first, second = (c.all_text() for c in intro.children)
    assert "sim-late" in first and data["incident"]["occurred_on"] in first
    assert data["window"]["from"] in second and data["window"]["to"] in second
    # The chart: inline SVG with a title, a description and axes that say what they measure.
    [svg] = dom.find("svg")
    assert svg.attrs["id"] == "ratios-svg" and svg.attrs["role"] == "img"
    title_id, desc_id = svg.attrs["aria-labelledby"].split()
    assert dom.find("title", id=title_id)[0].all_text().strip()
    description = dom.find("desc", id=desc_id)[0].all_text()
    assert all(g["group"] in description for g in data["groups"])
    assert "Observed / expected purchases" in text
    # Verdicts in plain words, the snippet as written by --write-assumptions, notes.
    loss = next(n for n in dom.find("section") if n.attrs["id"] == "loss").all_text()
    assert all(f"loss of the {name}" in loss for name in data["loss"])
    assert any(
        words in loss
        for words in ("precise enough", "the direction is clear", "too wide to conclude")
    )
    [pre] = dom.find("pre")
    assert pre.all_text() == snippet.rstrip("\n")
    assert "How it was measured" in dom.root.all_text()


def test_numbers_in_the_page_equal_the_json_output(page: tuple[str, dict[str, Any], str]) -> None:
    text, data, _ = page
    dom = Page(text)

    def check(key: str, expected: list[Any]) -> list[tuple[float, str]]:
        found = _numbers(dom, key)
        assert [v for v, _ in found] == [x for x in expected if x is not None], key
        return found

    groups = data["groups"]
    shown = check("group.customers", [g["customers"] for g in groups])
    assert [s for _, s in shown] == [f"{g['customers']:,}" for g in groups]
    for key in ("expected_purchases", "observed_purchases", "ratio", "ratio_low", "ratio_high"):
        check(f"group.{key}", [g[key] for g in groups])
    for name, interval in data["loss"].items():
        for end in ("estimate", "low", "high"):
            check(f"loss.{name}.{end}", [None if interval is None else interval[end]])
    assert data["recovery"] is not None
    for end in ("estimate", "low", "high"):
        check(f"recovery.{end}", [data["recovery"][end]])
    value = data["value"]
    for key in ("lost", "recovered", "projected_lost", "projected_recovered"):
        for suffix in ("", "_low", "_high"):
            found = check(f"value.{key}{suffix}", [value[key + suffix]])
            assert [s for _, s in found] == [format_money(v, value["currency"]) for v, _ in found]
    check("value.plan_cost", [value["plan_cost"]])
    check("value.extras_cost", [value["extras_cost"]])
    assert value["plan_cost"] is not None and value["lost"] is not None
    check("assumptions.delta", data["assumptions"]["delta"])
    check("assumptions.recovery", data["assumptions"]["recovery"] or [])


def test_same_input_same_bytes_and_other_formats_skip_matplotlib(
    shop: dict[str, Path], page: tuple[str, dict[str, Any], str], tmp_path: Path
) -> None:
    """In a fresh process: `-f json` never imports matplotlib, and the page it then writes is
    byte for byte the one written in this process."""
    out = tmp_path / "review.html"
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from remedy.cli import app\n"
        "args = sys.argv[2:]\n"
        "r = CliRunner().invoke(app, [*args, '-f', 'json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'matplotlib' not in sys.modules\n"
        "r = CliRunner().invoke(app, [*args, '-f', 'html', '-o', sys.argv[1]])\n"
        "assert r.exit_code == 0, r.output\n"
    )
    subprocess.run([sys.executable, "-c", code, str(out), *args(shop)], check=True)
    assert out.read_bytes() == page[0].encode("utf-8")


def test_missing_matplotlib_is_said_before_the_work(
    runner: CliRunner, shop: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = runner.invoke(app, args(shop, "-f", "html"))
    assert result.exit_code == 2 and "-f html needs matplotlib" in result.stderr


# --- --allow-outside, and text from the incident is data ---------------------------------------


HOSTILE = "<script>alert(1)</script> & --> </svg> {{ 7*7 }}"


def outside_incident(shop: dict[str, Path], folder: Path) -> Path:
    """The shop's incident in another folder, naming the shop's customers file outside it."""
    folder.mkdir()
    text = shop["incident"].read_text()
    text = text.replace("title: Orders a few days late", f"title: '{HOSTILE}'")
    text = text.replace("file: affected.csv", f"file: {shop['customers']}")
    path = folder / "incident.yaml"
    path.write_text(text)
    return path


def test_allow_outside_is_required_and_accepted(
    runner: CliRunner, shop: dict[str, Path], tmp_path: Path
) -> None:
    incident = outside_incident(shop, tmp_path / "elsewhere")
    base = ["review", str(incident), "--orders", str(shop["orders"]), *FAST]
    refused = runner.invoke(app, base)
    assert refused.exit_code == 1, refused.output
    assert "customers.file" in refused.stderr and "--allow-outside" in refused.stderr
    # The flag and the environment variable both let the incident load (here it then stops at
    # once, at an --orders it cannot use, which proves the load passed).
    stop = ["review", str(incident), "--orders", "-"]
    for extra, env in (
        (["--allow-outside", str(shop["customers"].parent)], {}),
        ([], {"REMEDY_ALLOW_OUTSIDE": str(shop["customers"].parent)}),
    ):
        result = runner.invoke(app, [*stop, *extra], env=env)
        assert result.exit_code == 2 and "--orders: give the order history" in result.stderr
    missing = runner.invoke(app, [*stop, "--allow-outside", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "no such folder" in missing.stderr
    # The whole review, with the page: the incident's title is text, never markup.
    allowed = runner.invoke(
        app, [*base, "--allow-outside", str(shop["customers"].parent), "-f", "html"]
    )
    assert allowed.exit_code == 0, allowed.output
    dom = Page(allowed.stdout)
    assert len(dom.find("script")) == 1  # only the page's own
    assert dom.find("h1")[0].all_text() == HOSTILE
    assert dom.find("title")[0].all_text() == HOSTILE
    assert [n.attrs["id"] for n in dom.find("section")] == SECTIONS
    assert all("<script" not in c for c in dom.comments)
