"""Screenshot of a report in headless Chromium (docs/report-screenshot.png).

Usage: python scripts/screenshot.py reports/demo/report.html docs/report-screenshot.png

Opens the report offline on its own opening view (the region and segment the policy
targets) and saves the title, the headline card and the first figure (the relevant-market
HHI over time), with the facts, the scenario cards and the key-figures table hidden so that
they fit one picture.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright


def main() -> None:
    """Open the report offline, wait for its figures, and save the top of it as PNG."""
    report, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=["--no-sandbox", "--disable-gpu",
                                          "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
            "file://") else route.abort())
        page.goto(report.as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length == "
                               "+document.body.dataset.figures", timeout=60_000)
        page.evaluate("""() => {
            document.querySelectorAll('.facts, .cards, #key, nav.toolbar .links')
              .forEach(e => { e.style.display = 'none'; });
            document.querySelector('nav.toolbar').style.position = 'static'; }""")
        page.wait_for_timeout(500)
        top = page.evaluate("document.querySelector('header.top').getBoundingClientRect().top"
                            " + window.scrollY")
        bottom = page.evaluate("document.getElementById('fig-1-box').getBoundingClientRect()"
                               ".bottom + window.scrollY")
        page.screenshot(path=str(out), full_page=True,
                        clip={"x": 0, "y": top, "width": 1280, "height": bottom - top + 16})
        browser.close()


if __name__ == "__main__":
    main()
