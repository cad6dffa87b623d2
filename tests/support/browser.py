"""Debian's Chromium under Playwright, for the browser tests (Playwright's own browsers are not used)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",  # loopback only, whatever proxy the environment names
]
SCREENSHOTS_ENV = "IDEAFORGE_TEST_SCREENSHOTS"
"""A folder to copy the browser tests' screenshots to, for a person to look at (optional)."""


@contextmanager
def chromium(tmp_path: Path) -> Iterator[BrowserContext]:
    """Debian's Chromium with a fresh profile; a missing browser fails the test, never skips it."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
            locale="en-GB",
            timezone_id="UTC",
        )
        context.set_default_timeout(10_000)
        try:
            yield context
        finally:
            context.close()


def keep_screenshot(path: Path) -> None:
    """Copy a screenshot taken under the test's temporary folder to $IDEAFORGE_TEST_SCREENSHOTS, if set."""
    target = os.environ.get(SCREENSHOTS_ENV)
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)
