"""The Settings page in a real headless Chromium, against the real app under uvicorn and a
loopback AI Gateway: sign in, verify, save, disable, enable, remove, sign out.

Debian's `chromium` package provides the browser (Playwright's own browsers are not used).
A plain `def` test: Playwright's sync API refuses to run inside an asyncio loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, expect

from ideaforge_gateway.domain.models import ProviderName
from tests.support.app import container_for
from tests.support.browser import chromium, keep_screenshot
from tests.support.fake_ai_gateway import MODELS, FakeAIGateway
from tests.support.live_server import LiveServer

CLIENT_ID = "alice-client-canary"
SECRET = "alice-secret-Canary+/:=%-7f1c"
ENV_OPENAI_KEY = "sk-env-openai-canary"


@pytest.fixture
def gateway() -> Iterator[FakeAIGateway]:
    with FakeAIGateway(client_id=CLIENT_ID, client_secret=SECRET) as server:
        yield server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    container = container_for(tmp_path, ideaforge_allow_private_base_urls=True, openai_api_key=ENV_OPENAI_KEY)
    with LiveServer(container) as live:
        yield live


def test_the_settings_page_manages_the_ai_gateway_without_showing_a_secret(
    server: LiveServer, gateway: FakeAIGateway, tmp_path: Path
) -> None:
    with chromium(tmp_path) as browser:
        page = browser.pages[0] if browser.pages else browser.new_page()
        _manage_the_ai_gateway(page, server, gateway, tmp_path)


def _manage_the_ai_gateway(page: Page, server: LiveServer, gateway: FakeAIGateway, tmp_path: Path) -> None:
    token = server.create_user("alice")
    requests: list[Request] = []
    problems: list[str] = []
    page.on("request", lambda request: requests.append(request))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: _console(message, problems))
    page.on("dialog", lambda dialog: dialog.accept())

    # The page and its assets load without a token, under a strict policy.
    response = page.goto(f"{server.url}/settings")
    assert response is not None and response.status == 200
    headers = response.headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "'unsafe-inline'" not in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"

    # A wrong token: a clear sign-in error, and nothing kept.
    page.get_by_label("API token").fill("not-a-real-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#sign-in-message")).to_have_text("Sign-in failed: invalid or revoked API token.")
    assert page.evaluate("sessionStorage.length") == 0

    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="AI providers")).to_be_visible()
    gw = page.get_by_role("article", name="AI Gateway")
    openai = page.get_by_role("article", name="OpenAI")
    expect(gw.locator('[data-field="pill"]')).to_have_text("Not configured")
    expect(openai.locator('[data-field="pill"]')).to_have_text("Usable")
    expect(openai.locator('[data-field="source"]')).to_have_text("environment (the server's)")
    assert page.evaluate("sessionStorage.getItem('ideaforge.apiToken')") == token
    assert page.evaluate("localStorage.length") == 0

    # Verify what is typed (nothing stored), then save it.
    gw.get_by_label("Client ID").fill(CLIENT_ID)
    gw.get_by_label("Client secret").fill(SECRET)
    gw.get_by_label("Base URL").fill(gateway.url)
    gw.get_by_label("Default model").fill("gpt-4o-mini")
    gw.get_by_role("button", name="Verify").click()
    message = gw.locator('[data-field="message"]')
    expect(message).to_contain_text(f"Valid: AI Gateway accepted the credentials entered. {len(MODELS)} models")
    expect(gw.locator('[data-field="pill"]')).to_have_text("Not configured")

    gw.get_by_role("button", name="Save").click()
    expect(message).to_have_text("Saved. The credentials were verified first.")
    expect(gw.locator('[data-field="pill"]')).to_have_text("Usable")
    expect(gw.locator('[data-field="source"]')).to_have_text("user (your credentials)")
    expect(gw.locator('[data-field="base_url"]')).to_have_text(gateway.url)
    expect(gw.locator('[data-field="default_model"]')).to_have_text("gpt-4o-mini")
    expect(gw.get_by_label("Client secret")).to_have_value("")

    # With the fields empty, Verify checks the stored credentials.
    gw.get_by_role("button", name="Verify").click()
    expect(message).to_contain_text(f"Valid: AI Gateway accepted the saved credentials. {len(MODELS)} models")
    expect(gw.locator('[data-field="last_verification"]')).to_contain_text("Passed")
    page.screenshot(path=tmp_path / "settings-page.png", full_page=True)
    keep_screenshot(tmp_path / "settings-page.png")

    # After a reload: still signed in (this tab), the form holds no secret, and no page HTML does.
    page.reload()
    expect(gw.locator('[data-field="pill"]')).to_have_text("Usable")
    expect(gw.get_by_label("Client secret")).to_have_value("")
    expect(gw.get_by_label("Client ID")).to_have_value("")
    expect(gw.get_by_label("Base URL")).to_have_value(gateway.url)
    html = page.content()
    for secret in (SECRET, CLIENT_ID, ENV_OPENAI_KEY, token):
        assert secret not in html

    gw.get_by_role("button", name="Disable").click()
    expect(gw.locator('[data-field="pill"]')).to_have_text("Disabled")
    expect(gw.locator('[data-field="enabled"]')).to_have_text("No")
    gw.get_by_role("button", name="Enable").click()
    expect(gw.locator('[data-field="pill"]')).to_have_text("Usable")
    expect(gw.locator('[data-field="enabled"]')).to_have_text("Yes")

    gw.get_by_role("button", name="Remove").click()
    expect(message).to_have_text("Your AI Gateway credentials were removed: it is not configured now.")
    expect(gw.locator('[data-field="pill"]')).to_have_text("Not configured")
    expect(gw.locator('[data-field="source"]')).to_have_text("not configured")
    expect(gw.get_by_role("button", name="Remove")).to_be_hidden()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API token")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0

    api_calls = [r for r in requests if "/api/" in r.url]
    assert api_calls and all(r.headers.get("authorization", "").startswith("Bearer ") for r in api_calls)
    page_loads = [r for r in requests if "/settings" in r.url]
    assert page_loads and not any("authorization" in r.headers for r in page_loads)
    assert not problems, problems


def test_the_page_and_its_assets_need_no_token_and_are_served_under_a_strict_policy(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for path, media_type in (
            ("/settings", "text/html"),
            ("/settings/static/settings.js", "text/javascript"),
            ("/settings/static/settings.css", "text/css"),
        ):
            response = client.get(path)
            assert response.status_code == 200, path
            assert response.headers["content-type"].startswith(media_type)
            assert response.headers["x-content-type-options"] == "nosniff"
            assert "script-src 'self'" in response.headers["content-security-policy"]
        assert client.get("/settings/static/settings.py").status_code == 404
        assert client.get("/settings/static/..%2Froutes%2Fapi.py").status_code == 404
        assert "/settings" not in client.get("/openapi.json").json()["paths"]


def _console(message: ConsoleMessage, problems: list[str]) -> None:
    # A 401 on the wrong token is expected and logged by the browser; a policy violation is not.
    if message.type == "error" and "status of 401" not in message.text:
        problems.append(f"console: {message.text}")


def test_a_new_base_url_asks_for_the_secret_again(server: LiveServer, gateway: FakeAIGateway, tmp_path: Path) -> None:
    """Issue 18, case 2: the page says the secret is required when the base URL changes, and the
    server would refuse the change without it."""
    token = server.create_user("alice")
    stored = httpx.post(
        f"{server.url}/api/providers/configure",
        json={"aiGatewayClientId": CLIENT_ID, "aiGatewayClientSecret": SECRET, "aiGatewayBaseUrl": gateway.url},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert stored.status_code == 200, stored.text
    with chromium(tmp_path) as browser:
        page = browser.pages[0] if browser.pages else browser.new_page()
        page.goto(f"{server.url}/settings")
        page.get_by_label("API token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        gw = page.get_by_role("article", name="AI Gateway")
        expect(gw.get_by_label("Base URL")).to_have_value(gateway.url)
        expect(gw.get_by_label("Client secret")).to_have_attribute("placeholder", "Stored: leave empty to keep it")
        hint = gw.locator('[data-field="secret-hint"]')
        expect(hint).to_be_hidden()

        posted: list[str] = []
        page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
        gw.get_by_label("Base URL").fill("https://attacker.example.com")
        expect(gw.get_by_label("Client secret")).to_have_attribute("placeholder", "Required: the base URL changed")
        expect(hint).to_contain_text("The base URL changed: enter the client ID and secret again")
        message = gw.locator('[data-field="message"]')
        gw.get_by_role("button", name="Verify").click()  # not the saved credentials at the old URL
        expect(message).to_contain_text("Enter the client ID and client secret again: the base URL changed")
        gw.get_by_label("Verify before saving").uncheck()
        gw.get_by_role("button", name="Save").click()
        expect(message).to_contain_text("Enter the client ID and client secret again: the base URL changed")
        expect(gw.locator('[data-field="base_url"]')).to_have_text(gateway.url)
        assert posted == []  # neither the verify nor the save left the page

        gw.get_by_label("Base URL").fill(gateway.url + "/")  # the same destination again
        expect(hint).to_be_hidden()
        expect(gw.get_by_label("Client secret")).to_have_attribute("placeholder", "Stored: leave empty to keep it")
        gw.get_by_label("Default model").fill("gpt-4o-mini")
        gw.get_by_role("button", name="Save").click()
        expect(message).to_have_text("Saved (not verified).")
        expect(gw.locator('[data-field="default_model"]')).to_have_text("gpt-4o-mini")
    # What the page refuses, the API refuses too, naming the field.
    moved = httpx.post(
        f"{server.url}/api/providers/configure",
        json={"aiGatewayClientId": CLIENT_ID, "aiGatewayBaseUrl": "https://attacker.example.com"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert moved.status_code == 400
    assert "base URL changed" in moved.json()["error"] and moved.json()["param"] == "aiGatewayClientSecret"


def test_an_instance_id_from_the_settings_page(server: LiveServer, gateway: FakeAIGateway, tmp_path: Path) -> None:
    """Issue 15: an end user sets their AI Gateway instance, region and sign-in style on the page;
    a changed instance asks for the secret again, as a changed base URL does."""
    token = server.create_user("alice")
    with chromium(tmp_path) as browser:
        page = browser.pages[0] if browser.pages else browser.new_page()
        page.goto(f"{server.url}/settings")
        page.get_by_label("API token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        gw = page.get_by_role("article", name="AI Gateway")
        message = gw.locator('[data-field="message"]')
        gw.get_by_label("Client ID").fill(CLIENT_ID)
        gw.get_by_label("Client secret").fill(SECRET)
        gw.get_by_label("Region").fill("eu")
        gw.get_by_label("Verify before saving").uncheck()
        gw.get_by_role("button", name="Save").click()
        expect(message).to_contain_text("Enter the instance ID too")

        gw.get_by_label("Instance ID").fill("inst-7")
        gw.get_by_label("Sign-in style").select_option("static_key")
        gw.get_by_role("button", name="Save").click()
        expect(message).to_have_text("Saved (not verified).")
        expect(gw.locator('[data-field="instance"]')).to_have_text("inst-7 (prod, eu)")
        page.reload()
        expect(gw.get_by_label("Instance ID")).to_have_value("inst-7")
        expect(gw.get_by_label("Environment")).to_have_value("prod")
        expect(gw.get_by_label("Region")).to_have_value("eu")
        expect(gw.get_by_label("Sign-in style")).to_have_value("static_key")
        expect(gw.get_by_label("Client secret")).to_have_attribute("placeholder", "Stored: leave empty to keep it")
        gw.get_by_label("Verify before saving").uncheck()  # the instance's hosts are not on this machine

        gw.get_by_label("Instance ID").fill("inst-8")
        expect(gw.get_by_label("Client secret")).to_have_attribute("placeholder", "Required: the instance ID changed")
        gw.get_by_role("button", name="Save").click()
        expect(message).to_contain_text("Enter the client ID and client secret again: the instance ID changed")
        gw.get_by_label("Instance ID").fill("inst-7")
        gw.get_by_label("Environment").fill("PROD")  # the same destination, written otherwise
        expect(gw.get_by_label("Client secret")).to_have_attribute("placeholder", "Stored: leave empty to keep it")
        gw.get_by_label("Default model").fill("gpt-4o")
        gw.get_by_role("button", name="Save").click()
        expect(message).to_have_text("Saved (not verified).")
    alice = server.container.user_store().get_by_name("alice")
    assert alice is not None
    stored = server.container.credential_store().get(alice.id, ProviderName.AI_GATEWAY)
    assert stored is not None and stored.credentials is not None
    assert (stored.credentials.instance_id, stored.credentials.region, stored.credentials.default_model) == (
        "inst-7", "eu", "gpt-4o",
    )  # fmt: skip
    assert (
        stored.credentials.client_secret is not None and stored.credentials.client_secret.get_secret_value() == SECRET
    )
