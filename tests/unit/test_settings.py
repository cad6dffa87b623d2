from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from ideaforge_gateway.domain.credentials import AuthMethod
from ideaforge_gateway.domain.models import ProviderName, Tier
from ideaforge_gateway.entrypoints.cli.commands import _settings_problem
from ideaforge_gateway.entrypoints.settings import Settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(("AI_GATEWAY_", "OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "IDEAFORGE_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(str(tmp_path))  # no stray .env


def test_seed_defaults() -> None:
    s = Settings()
    assert s.ai_gateway_base_url == "https://ai-gateway.quantumblack.com"
    assert s.ai_gateway_enabled is False
    assert (s.ai_gateway_default_model, s.ai_gateway_fast_model) == ("gpt-4o", "gpt-4o-mini")
    assert (s.ai_gateway_standard_model, s.ai_gateway_premium_model) == ("gpt-4o", "gpt-4-turbo")
    assert s.ai_gateway_auth_method is AuthMethod.CLIENT_SECRET_BASIC
    assert s.provider_order == (
        ProviderName.AI_GATEWAY,
        ProviderName.OPENAI,
        ProviderName.GEMINI,
        ProviderName.ANTHROPIC,
    )


def test_gateway_config_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_GATEWAY_CLIENT_ID", "cid")
    monkeypatch.setenv("AI_GATEWAY_CLIENT_SECRET", "canary-secret-123")
    monkeypatch.setenv("AI_GATEWAY_ENABLED", "true")
    monkeypatch.setenv("AI_GATEWAY_FAST_MODEL", "tiny")
    monkeypatch.setenv("GOOGLE_API_KEY", "g-key")
    s = Settings()
    config = s.gateway_config()
    gateway = config.defaults(ProviderName.AI_GATEWAY)
    assert gateway.usable and gateway.tier_models.for_tier(Tier.FAST) == "tiny"
    assert config.defaults(ProviderName.GEMINI).credentials is not None
    assert config.defaults(ProviderName.OPENAI).credentials is None
    assert "canary-secret-123" not in repr(s) and "canary-secret-123" not in repr(config)


def test_a_bad_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_GATEWAY_BASE_URL", "ftp://example")
    with pytest.raises(ValidationError, match="http"):
        Settings()


def test_a_url_carrying_credentials_is_refused_without_repeating_them(monkeypatch: pytest.MonkeyPatch) -> None:
    # aiohttp refuses to send such a URL with an Authorization header: caught here, not as a 500.
    monkeypatch.setenv("OPENAI_BASE_URL", "https://user:canary-pw-77@api.example/v1")
    with pytest.raises(ValidationError, match="user name or password") as caught:
        Settings()
    assert "canary-pw-77" not in _settings_problem(caught.value)


@given(st.lists(st.sampled_from([p.value for p in ProviderName] + ["nope", "", " "]), max_size=6))
def test_provider_order_accepts_distinct_known_names_only(names: list[str]) -> None:
    raw = ",".join(names)
    wanted = [n.strip() for n in names if n.strip()]
    valid = (
        bool(wanted) and all(n in {p.value for p in ProviderName} for n in wanted) and len(set(wanted)) == len(wanted)
    )
    try:
        order = Settings(ideaforge_provider_order=raw).provider_order
    except ValidationError:
        assert not valid
    else:
        assert valid and [p.value for p in order] == wanted


def test_an_operator_token_must_be_long_and_turns_metrics_on() -> None:
    with pytest.raises(ValidationError, match="at least 16 characters") as caught:
        Settings(_env_file=None, ideaforge_operator_token="short-secret")
    problem = _settings_problem(caught.value)  # what the CLI prints
    assert problem.startswith("IDEAFORGE_OPERATOR_TOKEN: ") and "short-secret" not in problem
    assert not Settings(_env_file=None).metrics_enabled
    assert Settings(_env_file=None, ideaforge_metrics=True).metrics_enabled
    assert Settings(_env_file=None, ideaforge_operator_token="x" * 16).metrics_enabled
    assert Settings(_env_file=None, ideaforge_operator_token="  ").ideaforge_operator_token is None


def test_the_response_bound_reaches_both_transports(monkeypatch: pytest.MonkeyPatch) -> None:
    from ideaforge_gateway.entrypoints.container import Container

    assert Settings().ideaforge_max_response_bytes == 8 << 20
    monkeypatch.setenv("IDEAFORGE_MAX_RESPONSE_BYTES", "65536")
    container = Container()
    assert container.transport().max_response_bytes == 65536
    assert container.user_url_transport().max_response_bytes == 65536
    assert container.user_url_transport().client.public_only
    monkeypatch.setenv("IDEAFORGE_MAX_RESPONSE_BYTES", "10")
    with pytest.raises(ValidationError, match="ideaforge_max_response_bytes"):
        Settings()
