"""The plan page in a real browser: Debian's headless Chromium, driven over its DevTools pipe.

Skipped, with the reason shown, when chromium is not installed (`.ci/run` installs it).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from remedy.cli import app

from .browser import find_chromium, open_page
from .conftest import ROOT

CHARTS = ["net-svg", "tornado-svg", "cost-svg", "breakeven-svg"]


@pytest.mark.skipif(
    find_chromium() is None,
    reason="chromium is not installed: the browser test is SKIPPED (apt-get install chromium)",
)
def test_the_6pm_report_renders_in_chromium(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    args = ["plan", str(ROOT / "incidents" / "6pm-price-cap.yaml"), "-f", "html"]
    result = CliRunner().invoke(app, [*args, "--draws", "2000", "-o", str(page)])
    assert result.exit_code == 0, result.output

    for width, height in ((1200, 900), (390, 844)):  # a laptop and a phone
        visit = open_page(page, width=width, height=height)
        assert visit.errors == [], visit.errors
        # Nothing but the file itself was requested: no fonts, scripts or images from anywhere.
        assert visit.requests == [page.resolve().as_uri()]
        checks = visit.checks
        assert checks["sections"][0] == "recommendation" and len(checks["sections"]) == 9
        # Every chart's SVG is in the rendered DOM, drawn, and scaled to the page.
        assert [s["id"] for s in checks["svgs"]] == CHARTS
        for svg in checks["svgs"]:
            assert svg["width"] > 300 and svg["height"] > 100 and svg["paths"] > 50, svg
        # The copy buttons' script ran under the page's Content-Security-Policy.
        assert checks["copyButtonsShown"] == checks["copyButtons"] > 0
        assert not checks["overflowX"]  # wide tables and charts scroll inside, not the page
        _assert_not_blank(visit.screenshot, width)


def _assert_not_blank(png: bytes, width: int) -> None:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.width == width and image.height > 2000
    # Text, boxes and the plan's colour: many colours, and a good share of ink on the paper.
    top = image.crop((0, 0, image.width, min(image.height, 2500)))
    colours = top.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50
    ink = sum(count for count, rgb in colours if sum(rgb) < 600)
    assert ink > 0.01 * top.width * top.height
    assert any(b > 150 and r < 60 for _, (r, _g, b) in colours)  # the plan's blue
