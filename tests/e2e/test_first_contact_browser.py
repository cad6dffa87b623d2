"""What a person sees first, in a real headless Chromium: `/`, the API docs on a network with no
way out, and the Settings page when the gateway goes away.

Screenshots are taken under the test's temporary folder (and copied to
$IDEAFORGE_TEST_SCREENSHOTS when set): `root.png`, `docs-offline.png` and
`settings-network-error.png`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route, expect

from tests.support.app import container_for
from tests.support.browser import chromium, keep_screenshot
from tests.support.live_server import LiveServer

ENV_OPENAI_KEY = "sk-env-openai-canary"
SERVER_SETTING = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    container = container_for(tmp_path, openai_api_key=ENV_OPENAI_KEY, openai_base_url="http://127.0.0.1:9/v1")
    with LiveServer(container) as live:
        yield live


def offline(page: Page) -> list[str]:
    """Let the page reach this machine only; return the list of everything it tried beyond."""
    refused: list[str] = []

    def route(handler: Route) -> None:
        if urlsplit(handler.request.url).hostname in ("127.0.0.1", "localhost"):
            handler.continue_()
        else:
            refused.append(handler.request.url)
            handler.abort("internetdisconnected")

    page.route("**/*", route)
    return refused


def shoot(page: Page, tmp_path: Path, name: str) -> None:
    page.screenshot(path=tmp_path / name, full_page=True)
    keep_screenshot(tmp_path / name)


def test_root_and_the_docs_render_with_no_way_out(server: LiveServer, tmp_path: Path) -> None:
    with chromium(tmp_path) as browser:
        page = browser.pages[0] if browser.pages else browser.new_page()
        refused = offline(page)

        page.goto(f"{server.url}/")
        expect(page).to_have_url(f"{server.url}/settings")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(page.get_by_role("link", name="API docs")).to_have_attribute("href", "/docs")
        shoot(page, tmp_path, "root.png")

        page.get_by_role("link", name="API docs").click()
        expect(page).to_have_url(f"{server.url}/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("IdeaForge provider gateway")
        expect(page.locator(".opblock-summary-path").first).to_be_visible()
        expect(page.get_by_text("/v1/chat/completions").first).to_be_visible()
        shoot(page, tmp_path, "docs-offline.png")

        assert refused == []


def test_the_settings_page_after_a_network_error(server: LiveServer, tmp_path: Path) -> None:
    token = server.create_user("alice")
    with chromium(tmp_path) as browser:
        page = browser.pages[0] if browser.pages else browser.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(f"{server.url}/settings")
        page.get_by_label("API token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="AI providers")).to_be_visible()

        # The server's message names its environment variables; the page says what a person can do.
        gw = page.get_by_role("article", name="AI Gateway")
        gw.get_by_role("button", name="Verify").click()
        gw_message = gw.locator('[data-field="message"]')
        expect(gw_message).to_have_text(
            "Not valid: the AI Gateway is not configured: enter your own credentials here, "
            "or ask the gateway's administrator."
        )

        # A success, then the gateway goes away: the success no longer stands.
        gemini = page.get_by_role("article", name="Gemini")
        gemini.get_by_label("API key").fill("gemini-user-key")
        gemini.get_by_label("Verify before saving").uncheck()
        gemini.get_by_role("button", name="Save").click()
        gemini_message = gemini.locator('[data-field="message"]')
        expect(gemini_message).to_have_text("Saved (not verified).")

        server.stop()
        page.get_by_role("button", name="Refresh").click()
        expect(page.locator("#page-message")).to_have_text(
            "Could not reach the gateway: check that it is running and try again."
        )
        expect(gemini_message).to_be_hidden()
        shoot(page, tmp_path, "settings-network-error.png")

        visible = page.locator("body").inner_text()
        assert SERVER_SETTING.findall(visible) == [], visible
