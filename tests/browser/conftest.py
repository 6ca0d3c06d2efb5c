"""Playwright driving Debian's /usr/bin/chromium against pytest-django's live server. No
browser is ever downloaded; the microphone is a fake one that plays a real recording."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between browser steps are ordinary blocking calls, which Django would otherwise refuse.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PHONE = {"width": 375, "height": 740}


@pytest.fixture
def microphone_wav(tmp_path, fixtures_dir):
    """The fake microphone's sound: Chromium wants 16-bit PCM WAV (it plays 24-bit as
    silence), so the 24-bit FLAC fixture is converted with sox."""
    if not shutil.which("sox"):
        raise RuntimeError("sox is needed for the browser tests: apt-get install sox")
    wav = tmp_path / "microphone.wav"
    subprocess.run(
        [
            "sox",
            str(fixtures_dir / "audio" / "jfk.flac"),
            "-r",
            "48000",
            "-c",
            "1",
            "-b",
            "16",
            str(wav),
        ],
        check=True,
        timeout=60,
    )
    return wav


@pytest.fixture
def browser(microphone_wav):
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise RuntimeError(f"The browser tests need Debian's chromium at {CHROMIUM}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={microphone_wav}%noloop",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def phone(browser, live_server):
    """A page in a 375 px wide phone-sized window, pointed at the live server."""
    context = browser.new_context(viewport=PHONE, base_url=live_server.url, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def screenshot(request):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name):
        page.screenshot(path=SCREENSHOTS / f"{request.node.name}-{name}.png", full_page=True)

    return take
