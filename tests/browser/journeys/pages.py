"""What the journeys do in the browser, over and over: log in, take the step's pictures."""

import re
import shutil
import subprocess
import time

from tests import factories
from tests.browser.conftest import SCREENSHOTS

PHONE = {"width": 375, "height": 740}
DESK = {"width": 1280, "height": 900}
WIDTHS = (PHONE["width"], DESK["width"])


def new_page(browser, live_server, viewport):
    context = browser.new_context(
        viewport=viewport, base_url=live_server.url, locale="en-GB", accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    return page


def log_in(page, username: str, *, then: str = "/") -> None:
    """Through the real login page: from the page `then`, which asks who you are first (or
    from the home page's "Log in" link), then on to where it was going."""
    page.goto(then)
    if then == "/":
        page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name=re.compile("Sign in|Log in")).click()
    page.wait_for_url(re.compile(re.escape(then) + r"(\?.*)?$"))


def menu(page, item: str):
    """An item of the admin's main menu (the sidebar)."""
    return page.get_by_role("navigation", name="Main menu").get_by_role(
        "link", name=item, exact=True
    )


def fits(page, width: int = PHONE["width"]) -> bool:
    """Nothing sticks out sideways: no horizontal scrolling at this width."""
    return page.evaluate("document.documentElement.scrollWidth") <= width


class Pictures:
    """Each step of the journey, photographed at a phone's and a desk's width:
    var/screenshots/journey-NN-step-375px.png and -1280px.png."""

    def __init__(self, prefix: str = "journey"):
        self.prefix = prefix
        self.count = 0
        self.paths = []
        self.started = time.monotonic()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for old in SCREENSHOTS.glob(f"{prefix}-*.png"):
            old.unlink()

    def take(self, page, step: str, show=None) -> None:
        """Full-page pictures; the admin scrolls inside the page, so `show` (a locator) is
        scrolled into view first."""
        self.count += 1
        print(f"{time.monotonic() - self.started:6.1f} s  {self.count:02d} {step}")
        size = page.viewport_size
        try:
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": size["height"]})
                if show is not None:
                    show.scroll_into_view_if_needed()
                path = SCREENSHOTS / f"{self.prefix}-{self.count:02d}-{step}-{width}px.png"
                page.screenshot(path=path, full_page=True, animations="disabled")
                self.paths.append(path)
        finally:
            page.set_viewport_size(size)

    def failed(self, browser) -> None:
        """What every open page showed when the journey failed."""
        for c, context in enumerate(browser.contexts):
            for n, page in enumerate(context.pages):
                try:
                    page.screenshot(path=SCREENSHOTS / f"{self.prefix}-failed-{c}-{n}.png")
                    print(f"--- failed on {page.url}")
                except Exception as error:  # noqa: BLE001 — best effort, the failure matters
                    print(f"--- no picture of {page.url}: {error}")


def select_words(page, line_id: int, words: str) -> None:
    """Select words in an editor line as a person would by dragging over them."""
    page.evaluate(
        """([lineId, words]) => {
            const text = document.querySelector(`#line-${lineId} [data-line-text]`);
            const walker = document.createTreeWalker(text, NodeFilter.SHOW_TEXT);
            let node = walker.nextNode();
            while (node && !node.textContent.includes(words)) node = walker.nextNode();
            const at = node.textContent.indexOf(words);
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, at + words.length);
            const selection = window.getSelection();
            selection.removeAllRanges();
            selection.addRange(range);
        }""",
        [line_id, words],
    )


def pdf_text(path) -> str:
    """The words of a PDF, as poppler's pdftotext reads them (lines joined)."""
    if not shutil.which("pdftotext"):
        raise RuntimeError("The journeys need pdftotext: apt-get install poppler-utils")
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return " ".join(done.stdout.split())
