"""Shared fixtures: the bundled incidents and a CLI runner that keeps stderr apart."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
INCIDENTS = sorted((ROOT / "incidents").glob("*.yaml"))


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(params=INCIDENTS, ids=lambda p: p.stem)
def incident_path(request: pytest.FixtureRequest) -> Path:
    return request.param
