"""Chromium driven by Playwright, for the browser tests of reports (and the explorer).

Debian's ``/usr/bin/chromium``, headless, with every non-file request blocked and
recorded. Without Chromium the tests skip, unless ``REQUIRE_BROWSER=1`` (as in CI), when
they fail.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["CHROMIUM", "REQUIRED", "browser", "Page", "open_report", "serving"]

CHROMIUM = Path("/usr/bin/chromium")
REQUIRED = os.environ.get("REQUIRE_BROWSER") == "1"


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(f"{reason} (install with: apt-get install chromium; REQUIRE_BROWSER=1 makes "
                "this a failure)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"Chromium is not installed at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield chromium
        chromium.close()


class Page:
    """A report opened offline, with its console errors, page errors and blocked requests."""

    def __init__(self, browser: Any, path: Path, fragment: str = ""):
        self.errors: list[str] = []
        self.blocked: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.on("console", lambda m: self.errors.append(f"console: {m.text}")
                     if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.route("**/*", self._route)
        self.expected = int(re.search(r"data-figures='(\d+)'",
                                      path.read_text(encoding="utf-8")).group(1))
        self.page.goto(path.as_uri() + fragment)
        self.page.wait_for_function(
            "n => Array.from(document.querySelectorAll('.js-plotly-plot')).filter("
            "d => d.data && d.data.length > 0 && d.querySelector('.main-svg')).length === n",
            arg=self.expected, timeout=30_000)

    def _route(self, route: Any) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def drawn(self) -> int:
        return self.page.evaluate(
            "Array.from(document.querySelectorAll('.js-plotly-plot'))"
            ".filter(d => d.data && d.data.length > 0).length")

    def shown(self, index: int) -> dict[str, Any]:
        """Title and the meta of the visible, cell-specific traces of figure ``index``."""
        return self.page.evaluate(
            """i => { const d = document.querySelectorAll('.js-plotly-plot')[i];
                 return {title: d.layout.title.text,
                         visible: d._fullData.filter(t => t.visible === true)
                                             .map(t => t.index),
                         metas: d.data.filter(t => t.visible !== false && t.meta
                                                && t.meta.region !== undefined)
                                      .map(t => t.meta),
                         firstY: Array.from(d._fullData.find(t => t.visible === true
                                   && t.meta && t.meta.region !== undefined).y || [])}; }""",
            index)

    def settle(self) -> None:
        self.page.wait_for_timeout(150)

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def open_report(browser: Any) -> Iterator[Any]:
    pages: list[Page] = []

    def _open(path: Path, fragment: str = "") -> Page:
        page = Page(browser, path, fragment)
        pages.append(page)
        return page

    yield _open
    for page in pages:
        page.close()




@contextlib.contextmanager
def serving(command: list[str], cwd: Path, env: dict[str, str] | None = None,
            wait: float = 90.0) -> Iterator[tuple[str, list[str]]]:
    """Run a server command until the block ends; yield the first address it prints.

    The command runs in its own process group and is stopped with SIGINT, as Ctrl-C would
    (SIGKILL if it will not stop). Yields the first ``http://127.0.0.1:`` address of its
    output and the output so far (a list that keeps growing).
    """
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen: list[str] = []
    found = threading.Event()

    def read() -> None:  # a thread: readline blocks, and the wait must be bounded
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if "http://127.0.0.1:" in line:
                found.set()
        found.set()  # the stream closed: the server exited

    threading.Thread(target=read, daemon=True).start()
    try:
        found.wait(wait)
        url = next((m[0] for line in seen
                    if (m := re.search(r"http://127\.0\.0\.1:\d+[\w/.~?#=&%+-]*", line))), None)
        assert url is not None, (f"{shlex.join(command)} printed no http://127.0.0.1: address "
                                 f"within {wait:.0f} s:\n" + "".join(seen[-25:]))
        yield url, seen
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
