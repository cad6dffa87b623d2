"""A stateful test of the API through real HTTP: configure, verify, disable, delete, list and generate
in any order, as one user, against a model of what should be stored; a second user never sees any
of it.

The AI Gateway and OpenAI are loopback fakes that accept one good credential each, so the model can
say which provider answers, and whether verification succeeds, after any sequence of changes.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from devkit.report import Report
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.live_server import LiveServer

GOOD_ID, GOOD_SECRET, GOOD_KEY = "cid-good", "sec-good-canary", "sk-good-canary"
IDS = (GOOD_ID, "cid-other")
SECRETS = (GOOD_SECRET, "sec-bad-canary")
KEYS = (GOOD_KEY, "sk-bad-canary")
PROVIDERS = ("ai_gateway", "openai")
ALL = ("ai_gateway", "openai", "anthropic", "gemini")
STEPS = 15
EXAMPLES = 15


@dataclass
class Stored:
    key: str
    secret: str | None
    enabled: bool = True

    @property
    def good(self) -> bool:
        return self.key == GOOD_KEY or (self.key == GOOD_ID and self.secret == GOOD_SECRET)


@dataclass(frozen=True)
class Api:
    url: str
    gateway_url: str
    server: LiveServer


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with (
        FakeAIGateway(client_id=GOOD_ID, client_secret=GOOD_SECRET) as gateway,
        FakeAIGateway(api_key=GOOD_KEY) as openai,
    ):
        container = container_for(
            Path(tmp_path_factory.mktemp("stateful")),
            openai_base_url=f"{openai.url}/v1",
            ideaforge_allow_private_base_urls=True,
            ideaforge_deadline_seconds=5.0,
            # Hundreds of verifications a minute by one user: the model checks, not an attack.
            ideaforge_verify_per_minute=1_000_000,
        )
        with LiveServer(container) as server:
            yield Api(server.url, gateway.url, server)


def test_the_api_matches_a_model_of_what_is_stored(api: Api, report: Report) -> None:
    names = itertools.count()
    counts = {"steps": 0, "examples": 0}

    class ApiMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            n = next(names)
            self.alice = api.server.create_user(f"alice{n}")
            self.bob = api.server.create_user(f"bob{n}")
            self.http = httpx.Client(base_url=api.url, timeout=30)
            self.model: dict[str, Stored] = {}
            counts["examples"] += 1

        def teardown(self) -> None:
            self.http.close()

        def call(self, method: str, path: str, token: str, **kwargs: object) -> httpx.Response:
            counts["steps"] += 1
            response = self.http.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)  # type: ignore[arg-type]
            assert response.status_code < 500 or response.status_code in (502, 503), response.text
            for secret in (*SECRETS, *KEYS):
                assert secret not in response.text, f"{secret} in {method} {path}"
            return response

        @rule(client_id=st.sampled_from(IDS), secret=st.sampled_from((*SECRETS, None)))
        def configure_gateway(self, client_id: str, secret: str | None) -> None:
            body: dict[str, object] = {"aiGatewayClientId": client_id, "aiGatewayBaseUrl": api.gateway_url}
            if secret is not None:
                body["aiGatewayClientSecret"] = secret
            response = self.call("POST", "/api/providers/configure", self.alice, json=body)
            current = self.model.get("ai_gateway")
            if secret is None and current is not None and current.key == client_id:
                secret = current.secret  # the same service account: the stored secret is kept
            if secret is None:
                assert response.status_code == 400, response.text
                return
            assert response.status_code == 200, response.text
            self.model["ai_gateway"] = Stored(client_id, secret)

        @rule(key=st.sampled_from(KEYS))
        def configure_openai(self, key: str) -> None:
            response = self.call("POST", "/api/providers/configure", self.alice, json={"openaiApiKey": key})
            assert response.status_code == 200, response.text
            self.model["openai"] = Stored(key, None)

        @rule(provider=st.sampled_from(ALL))
        def delete(self, provider: str) -> None:
            response = self.call("DELETE", f"/api/providers/{provider}", self.alice)
            assert response.status_code == (204 if self.model.pop(provider, None) else 404), response.text

        @rule(provider=st.sampled_from(ALL), enabled=st.booleans())
        def set_enabled(self, provider: str, enabled: bool) -> None:
            response = self.call("PATCH", f"/api/providers/{provider}", self.alice, json={"enabled": enabled})
            if provider not in self.model:
                assert response.status_code == 404, response.text
                return
            assert response.status_code == 200 and response.json()["enabled"] is enabled, response.text
            self.model[provider].enabled = enabled

        @rule(provider=st.sampled_from(PROVIDERS))
        def verify_stored(self, provider: str) -> None:
            response = self.call("POST", "/api/providers/verify", self.alice, json={"provider": provider})
            assert response.status_code == 200, response.text
            stored = self.model.get(provider)
            assert response.json()["valid"] is (stored is not None and stored.good), (self.model, response.text)

        @rule()
        def generate(self) -> None:
            response = self.call("POST", "/api/generate", self.alice, json={"prompt": "hi"})
            usable = [p for p in PROVIDERS if p in self.model and self.model[p].enabled]
            good = [p for p in usable if self.model[p].good]
            if good:
                assert response.status_code == 200, (self.model, response.text)
                assert response.json()["provider"] == good[0]
            elif not usable:
                assert response.status_code == 409, (self.model, response.text)
            else:
                assert response.status_code == (502 if len(usable) == 1 else 503), (self.model, response.text)

        @rule(provider=st.sampled_from(ALL))
        def bob_cannot_touch_alices(self, provider: str) -> None:
            assert self.call("DELETE", f"/api/providers/{provider}", self.bob).status_code == 404
            patched = self.call("PATCH", f"/api/providers/{provider}", self.bob, json={"enabled": False})
            assert patched.status_code == 404

        @invariant()
        def listing_matches_the_model(self) -> None:
            listed = {p["provider"]: p for p in self.call("GET", "/api/providers", self.alice).json()}
            assert set(listed) == set(ALL)
            for provider, status in listed.items():
                stored = self.model.get(provider)
                assert status["configured"] is (stored is not None), (provider, status, self.model)
                assert status["source"] == ("user" if stored else None)
                if stored is not None:
                    assert status["enabled"] is stored.enabled and status["usable"] is stored.enabled
                    assert not status["needs_reconfiguration"]

        @invariant()
        def bob_sees_nothing_of_alices(self) -> None:
            listed = self.call("GET", "/api/providers", self.bob).json()
            assert all(p["source"] is None and not p["configured"] for p in listed), json.dumps(listed)

    run_state_machine_as_test(
        ApiMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    section = report.section(
        "bad-input", "Bad input: properties, fuzzing, stateful", header=["check", "cases", "result"]
    )
    section.add(
        "stateful API (hypothesis `RuleBasedStateMachine`): configure / verify / enable / disable / delete / "
        "generate as one user against a model; a second user sees and changes nothing",
        f"{counts['examples']} runs, {counts['steps']} requests",
        "model held",
    )
