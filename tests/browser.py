"""Headless Chromium driven over the DevTools protocol on a pipe, with the standard library only.

`open_page(path)` loads a local HTML file in Debian's chromium and returns what a person would
have seen: a full-page PNG screenshot, the answers to a few JavaScript checks, every console
message, exception and log entry, and every request the page made. Used by
tests/test_html_browser.py, and by `make screenshots`:

    python tests/browser.py PAGE.html OUT.png [WIDTH HEIGHT]
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The flags that work on this kind of machine (root, no display, a closed network): without the
# background-networking ones Chromium keeps trying to reach its own services.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)


def find_chromium() -> str | None:
    """The chromium binary (Debian's package), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class Visit:
    """What the browser saw."""

    screenshot: bytes
    checks: dict[str, Any]
    console: list[dict[str, Any]] = field(default_factory=list)
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """Everything the page or the browser reported as an error or a warning."""
        out = [json.dumps(e.get("exceptionDetails", e))[:300] for e in self.exceptions]
        out += [
            f"console.{c.get('type')}: {json.dumps(c.get('args'))[:300]}"
            for c in self.console
            if c.get("type") in ("error", "warning", "assert")
        ]
        out += [
            f"log {e.get('level')}: {e.get('text')} ({e.get('url', '')})"
            for e in self.log
            if e.get("level") in ("error", "warning")
        ]
        return out


class _Pipe:
    """One Chromium process and its DevTools pipe (fd 3: commands in, fd 4: messages out)."""

    def __init__(self, chromium: str, width: int, height: int) -> None:
        self.profile = tempfile.mkdtemp(prefix="remedy-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire() -> None:  # in the child: the protocol wants exactly fds 3 and 4
            a, b = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [
                chromium,
                *FLAGS,
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),
            preexec_fn=wire,  # a single-threaded helper: preexec_fn is safe here
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _read(self, deadline: float) -> dict[str, Any]:
        import select

        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed its DevTools pipe")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)  # type: ignore[no-any-return]

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: str = "", timeout=30.0
    ) -> dict[str, Any]:
        wanted = self.send(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            message = self._read(deadline)
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})  # type: ignore[no-any-return]
            if "method" in message:
                self.events.append(message)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        for event in self.events:
            if event["method"] == method:
                return event
        deadline = time.monotonic() + timeout
        while True:
            message = self._read(deadline)
            if "method" in message:
                self.events.append(message)
                if message["method"] == method:
                    return message

    def close(self) -> None:
        try:
            self.send("Browser.close")
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        finally:
            os.close(self._to_browser)
            os.close(self._from_browser)
            shutil.rmtree(self.profile, ignore_errors=True)


CHECKS = """(() => {
  const svgs = Array.from(document.querySelectorAll("figure.chart svg"));
  const buttons = Array.from(document.querySelectorAll("button.copy"));
  return {
    title: document.title,
    sections: Array.from(document.querySelectorAll("main > section")).map(s => s.id),
    svgs: svgs.map(s => {
      const box = s.getBoundingClientRect();
      return {id: s.id, width: box.width, height: box.height,
              paths: s.querySelectorAll("path, use").length};
    }),
    copyButtonsShown: buttons.filter(b => !b.hidden && b.offsetWidth > 0).length,
    copyButtons: buttons.length,
    bodyText: document.body.innerText.length,
    pageHeight: document.documentElement.scrollHeight,
    overflowX: document.documentElement.scrollWidth > window.innerWidth + 1,
  };
})()"""


def open_page(
    path: Path, *, width: int = 1200, height: int = 900, chromium: str | None = None
) -> Visit:
    """Load `path` (a local file) and collect what the browser saw, in one session."""
    binary = chromium or find_chromium()
    if binary is None:
        raise FileNotFoundError("chromium is not installed")
    pipe = _Pipe(binary, width, height)
    try:
        target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            pipe.call(f"{domain}.enable", session=session)
        pipe.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
            session=session,
        )
        pipe.call("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
        pipe.wait_for("Page.loadEventFired")
        checks = pipe.call(
            "Runtime.evaluate", {"expression": CHECKS, "returnByValue": True}, session=session
        )["result"]["value"]
        shot = pipe.call(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True},
            session=session,
            timeout=60,
        )
        # Anything logged while the screenshot was taken arrives before this answer.
        pipe.call("Runtime.evaluate", {"expression": "1"}, session=session)
    finally:
        pipe.close()
    visit = Visit(base64.b64decode(shot["data"]), checks)
    for event in pipe.events:
        params = event.get("params", {})
        if event["method"] == "Runtime.consoleAPICalled":
            visit.console.append(params)
        elif event["method"] == "Runtime.exceptionThrown":
            visit.exceptions.append(params)
        elif event["method"] == "Log.entryAdded":
            visit.log.append(params.get("entry", {}))
        elif event["method"] == "Network.requestWillBeSent":
            visit.requests.append(params.get("request", {}).get("url", ""))
    return visit


def screenshot(page: Path, out: Path, width: int = 1200, height: int = 1700) -> None:
    """A PNG of the top `height` pixels of the page at `width` (for the README)."""
    binary = find_chromium()
    if binary is None:
        raise SystemExit("chromium is not installed (Debian: apt-get install chromium)")
    profile = tempfile.mkdtemp(prefix="remedy-chromium-")
    try:
        flags = [f for f in FLAGS if f != "--remote-debugging-pipe"]
        subprocess.run(
            [
                binary,
                *flags,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={out.resolve()}",
                page.resolve().as_uri(),
            ],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) not in (2, 4):
        raise SystemExit(__doc__)
    size = (int(args[2]), int(args[3])) if len(args) == 4 else (1200, 1700)
    screenshot(Path(args[0]), Path(args[1]), *size)
    print(f"wrote {args[1]}")
