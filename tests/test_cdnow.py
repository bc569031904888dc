"""The CDNOW sample through `remedy clv`: the published BG/NBD and Gamma-Gamma estimates.

The calibration period of Fader, Hardie and Lee (2005) is the 39 weeks from 1997-01-01 to
1997-09-30: frequency counts the repeat purchase days before the end of 1997-09-30, T runs from
the first purchase to 1997-09-30 (272 days, 38.86 weeks, for a first purchase on 1 January, as in
the paper's data and lifetimes' `cdnow_customers_summary.csv`), and orders after it are left out
(with a warning). Eight customers' first orders cost $0.00: they are purchases all the same.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from remedy import clv
from remedy.cli import app

DATA = Path(__file__).parent / "data" / "cdnow" / "CDNOW_sample.txt"
SHA256 = "6fae10155c0b0ba363c2c386e30f77990d22328220efd862a5edd1443420d94a"


def cdnow_csv(folder: Path) -> Path:
    """The raw transactions as an orders CSV: sample id, ISO date, dollar value."""
    raw = DATA.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SHA256
    lines = ["customer_id,date,amount"]
    for row in raw.decode().splitlines():
        _, customer, day, _, value = row.split()
        lines.append(f"{customer},{day[:4]}-{day[4:6]}-{day[6:]},{value}")
    path = folder / "cdnow.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cdnow_csv(tmp_path_factory.mktemp("cdnow"))


def published(value: float, expected: float, digits: int = 4) -> bool:
    return f"{value:.{digits}g}" == f"{expected:.{digits}g}"


def test_cdnow_raw_transactions_reproduce_the_published_estimates(
    runner: CliRunner, cdnow: Path
) -> None:
    args = ["clv", str(cdnow), "--time-unit", "week", "--as-of", "1997-09-30", "-f", "json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    bg, gg = data["bgnbd"], data["gamma_gamma"]
    assert data["summary"]["customers"] == 2357
    assert bg["customers"] == 2357 and gg["customers"] == 946
    for name, value in (("r", 0.2426), ("alpha", 4.4136), ("a", 0.7929), ("b", 2.4259)):
        assert published(bg[name], value), (name, bg[name])
    assert bg["log_likelihood"] == pytest.approx(-9582.43, abs=0.005)
    for name, value in (("p", 6.25), ("q", 3.74), ("v", 15.44)):
        assert published(gg[name], value, 3), (name, gg[name])
    assert "after the as-of date 1997-09-30 are left out" in result.stderr


def test_cdnow_holdout_matches_the_paper(cdnow: Path) -> None:
    """Weeks 40-78 are the paper's holdout: the fit on weeks 1-39 is the published one, and
    its prediction of the holdout purchases is within the weak-fit threshold."""
    options = clv.ClvOptions(holdout_from=dt.date(1997, 10, 1))
    result = clv.estimate_clv(cdnow, options=options)
    assert published(result.bgnbd.r, 0.2426) and published(result.bgnbd.b, 2.4259)
    holdout = result.holdout
    assert holdout is not None
    assert holdout.length == pytest.approx(39.0)  # 1997-10-01 .. 1998-06-30: 273 days
    assert holdout.customers == 2357
    # 1,882 purchase days in the holdout; the model predicts 1,653 (-12%): the BG/NBD
    # under-forecasts this cohort's second year a little, as in the paper's Figure 2.
    assert holdout.total_actual == 1882
    assert holdout.total_predicted == pytest.approx(1653.4, abs=0.5)
    assert not holdout.weak
    assert holdout.bucket_labels[-1] == "7+" and holdout.bucket_customers.sum() == 2357
