"""A page opened in headless Chromium (the Debian package, /usr/bin/chromium) through Playwright, without
`playwright install`: what the class report tests look at, and the README's screenshot.

    python -m tests.browser demo/report.html docs/report-screenshot.png   # the README's screenshot, once

(`lab2a demo` writes demo/report.html.)
"""

import contextlib
import sys
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync", "--disable-quic"]


@contextlib.contextmanager
def opened(path: Path, width: int = 1200, height: int = 900):
    """(page, requests): the page loaded from path, and every URL it asked for while loading."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            requests = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto(Path(path).resolve().as_uri())
            page.wait_for_load_state("load")
            yield page, requests
        finally:
            browser.close()


def screenshot(path: Path, out: Path, colours: int = 64) -> None:
    """The whole page as a PNG, reduced to a palette of colours (a third of the size, for the README)."""
    from PIL import Image

    with opened(path) as (page, _):
        page.screenshot(path=str(out), full_page=True)
    Image.open(out).convert("RGB").quantize(colors=colours, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)


if __name__ == "__main__":
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"wrote {sys.argv[2]}")
