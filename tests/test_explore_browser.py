"""The explorer in Chromium: it starts, a slider moves, the plot changes, nothing leaves 127.0.0.1.

``marketsim explore --port 0`` runs as a user would start it (its own process group, stopped
with SIGINT as Ctrl-C would). Every request the page makes is routed: anything not on
127.0.0.1 is aborted and recorded, and the test fails if there is any. Without Chromium the
test skips, unless ``REQUIRE_BROWSER=1`` (CI), when it fails.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from .browser_support import browser, serving  # noqa: F401 - browser is a fixture
from .conftest import ROOT

pytestmark = pytest.mark.slow

#: Seconds for the server to answer and for the first ensemble to be drawn (cold imports of
#: solara, Mesa and plotly in the server and its two workers).
START, FIRST_DRAW, REDRAW = 120, 120, 60
#: The four metric charts, firm shares and the stepped world.
CHARTS = 6
LOCAL = re.compile(r"^(https?|wss?)://127\.0\.0\.1(:\d+)?/")


@pytest.fixture(scope="module")
def explorer() -> Iterator[tuple[str, list[str]]]:
    """A running ``marketsim explore`` (address, its output so far)."""
    command = [str(ROOT / ".venv" / "bin" / "marketsim"), "explore", "eu_blocks_open",
               "--port", "0", "-r", "2"]
    with serving(command, ROOT, wait=START) as running:
        yield running


#: JavaScript: the y values of every trace of the chart whose title starts with ``t``, as JSON.
_SIGNATURE = """t => { for (const d of document.querySelectorAll('.js-plotly-plot')) {
    const text = (d.layout && d.layout.title && d.layout.title.text) || '';
    if (text.startsWith(t)) return JSON.stringify(d.data.map(tr => Array.from(tr.y || [])));
  } return null; }"""


def _signature(page: Any, title: str) -> str | None:
    return page.evaluate(_SIGNATURE, title)


def test_a_slider_moves_and_the_plot_changes_offline(browser, explorer) -> None:  # noqa: F811
    url, output = explorer
    outside: list[str] = []
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1400, "height": 1000})

    def route(request_route: Any) -> None:
        if LOCAL.match(request_route.request.url):
            request_route.continue_()
        else:
            outside.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    page.on("websocket", lambda ws: None if LOCAL.match(ws.url) else outside.append(ws.url))
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("console", lambda m: errors.append(f"console: {m.text}")
            if m.type == "error" else None)
    page.goto(url)
    page.wait_for_selector("text=updated in", timeout=FIRST_DRAW * 1000)
    page.wait_for_function(f"() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
                           f".filter(d => d.data && d.data.length > 0).length >= {CHARTS}",
                           timeout=FIRST_DRAW * 1000)
    body = page.inner_text("body")
    assert "Network effect (eta)" in body and "EU bans open weights: start" in body
    assert "Baseline" in body and "what_if" not in body  # scenario names, never ids
    chart = "HHI of the relevant market"
    before = _signature(page, chart)
    assert before is not None and len(json.loads(before)) == 4  # two bands, two mean lines

    label = re.compile(r"Network effect \(eta\): (\S+)")
    start_value = label.search(body).group(1)
    slider = page.get_by_text("Network effect (eta)").locator(
        "xpath=following::*[@role='slider'][1]")
    slider.focus()
    pressed = time.perf_counter()
    for _ in range(10):  # a held arrow key: one debounced update, not ten
        slider.press("ArrowRight")
    page.wait_for_function(f"([t, old]) => ({_SIGNATURE})(t) !== old", arg=[chart, before],
                           timeout=REDRAW * 1000)
    latency = time.perf_counter() - pressed
    after = json.loads(_signature(page, chart))
    assert after != json.loads(before)
    assert label.search(page.inner_text("body")).group(1) != start_value  # the label follows
    print(f"redrawn {latency:.1f} s after the last key press")
    page.close()
    assert not outside, f"requests left the machine: {outside}"
    assert not errors, errors
    assert not any("Traceback" in line for line in output), "".join(output)
