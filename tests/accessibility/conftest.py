"""The browser tests' fixtures (Debian's Chromium through Playwright), shared here."""

from tests.browser.conftest import browser, microphone_wav  # noqa: F401
