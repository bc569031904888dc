"""Shared fixtures: the bundled incidents and a CLI runner that keeps stderr apart."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

# The template cache goes to a throwaway folder, never the developer's home.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="remedy-test-cache-")

ROOT = Path(__file__).resolve().parent.parent
INCIDENTS = sorted((ROOT / "incidents").glob("*.yaml"))


# Under `make mutation` (mutmut runs this suite in its own process), a child process cannot load
# mutmut's trampolines (mutmut reads its settings from the working folder), so a test that starts
# one is skipped there; `make test` and CI run every such test.
if "mutmut" in sys.modules:

    @pytest.fixture(autouse=True)
    def _no_child_processes(monkeypatch: pytest.MonkeyPatch) -> None:
        def refuse(*args: object, **kwargs: object) -> None:
            pytest.skip("starts a child process, which mutation testing cannot follow")

        monkeypatch.setattr(subprocess, "Popen", refuse)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(params=INCIDENTS, ids=lambda p: p.stem)
def incident_path(request: pytest.FixtureRequest) -> Path:
    return request.param
