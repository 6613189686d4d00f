"""Screenshot of a report in headless Chromium (docs/report-screenshot.png).

Usage: python scripts/screenshot.py reports/demo/report.html docs/report-screenshot.png [REGION]
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright


def main() -> None:
    """Open the report offline, pick a region, and save the top of the page as PNG."""
    report, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
    region = sys.argv[3] if len(sys.argv) > 3 else "EU"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=["--no-sandbox", "--disable-gpu",
                                          "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
            "file://") else route.abort())
        page.goto(report.as_uri())
        page.wait_for_selector(".js-plotly-plot")
        page.select_option("select >> nth=0", region)
        page.wait_for_timeout(800)
        figure = page.locator(".js-plotly-plot").first
        figure.scroll_into_view_if_needed()
        page.screenshot(path=str(out), full_page=False)
        browser.close()


if __name__ == "__main__":
    main()
