"""Shared fixtures: the bundled incidents and a CLI runner that keeps stderr apart."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

# The template cache goes to a throwaway folder, never the developer's home.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="remedy-test-cache-")

ROOT = Path(__file__).resolve().parent.parent
INCIDENTS = sorted((ROOT / "incidents").glob("*.yaml"))


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(params=INCIDENTS, ids=lambda p: p.stem)
def incident_path(request: pytest.FixtureRequest) -> Path:
    return request.param
