"""The deployment shape's pure rules: the template, its values, Azure's routes and model names."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from ideaforge_gateway.adapters.openai_compat.azure_deployments import AzureDeploymentsFormat
from ideaforge_gateway.domain.errors import InvalidRequestError, ModelNotFoundError
from ideaforge_gateway.domain.models import ChatMessage, ChatRequest, ProviderName
from ideaforge_gateway.domain.policies.gateway_routes import (
    GatewayDeployment,
    GatewayFamily,
    check_deployment,
    check_template,
)
from ideaforge_gateway.domain.policies.model_families import azure_deployment, serves_model
from ideaforge_gateway.entrypoints.settings import Settings


def test_the_default_template_gives_the_public_hosts() -> None:
    routes = GatewayDeployment("5567f85f-ea56-48e8-9603-59c23ece68f3").routes()
    instance = "5567f85f-ea56-48e8-9603-59c23ece68f3"
    assert routes == {
        GatewayFamily.OPENAI: f"https://openai.prod.ai-gateway.quantumblack.com/{instance}/v1",
        GatewayFamily.ANTHROPIC: f"https://anthropic.prod.ai-gateway.quantumblack.com/{instance}",
        GatewayFamily.GEMINI: f"https://google-gemini.prod.ai-gateway.quantumblack.com/{instance}",
        GatewayFamily.AZURE: f"https://azure.prod.ai-gateway.quantumblack.com/{instance}",
    }
    with_region = GatewayDeployment(instance, env="prod", region="us").route(GatewayFamily.AZURE)
    assert with_region == f"https://azure.us.prod.ai-gateway.quantumblack.com/{instance}"


def test_a_path_template_for_tests_and_private_deployments() -> None:
    deployment = GatewayDeployment(
        "inst-1", "dev", "eu", "http://127.0.0.1:8080/{family}/{region.}{env}/{instance_id}/"
    )
    assert deployment.route(GatewayFamily.OPENAI) == "http://127.0.0.1:8080/openai/eu.dev/inst-1/v1"
    assert deployment.route(GatewayFamily.GEMINI) == "http://127.0.0.1:8080/google-gemini/eu.dev/inst-1"


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("https://{family}.{tenant}.example.com", "unknown placeholder {tenant}"),
        ("https://{family}.example.com/{}", "unknown placeholder {}"),
        ("https://{family!r}.example.com", "write it plainly"),
        ("https://{family:>9}.example.com", "write it plainly"),
        ("https://{family.example.com", "unmatched brace"),
        ("https://{family}.example.com/a b", "no spaces"),
        ("   ", "must not be empty"),
    ],
)
def test_a_bad_template_is_refused_by_name(template: str, problem: str) -> None:
    with pytest.raises(InvalidRequestError, match="route template") as refused:
        check_template(template)
    assert problem in refused.value.message and refused.value.param == "route_template"


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"instance_id": "a/b"}, "instance_id"),
        ({"instance_id": "inst?x=1"}, "instance_id"),
        ({"instance_id": ""}, "instance_id"),
        ({"instance_id": "ok", "env": "prod.evil.com"}, "env"),
        ({"instance_id": "ok", "env": ""}, "env"),
        ({"instance_id": "ok", "region": "eu/x"}, "region"),
        ({"instance_id": "ok", "region": "-eu"}, "region"),
    ],
)
def test_bad_values_are_refused_by_name(fields: dict[str, str], param: str) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        check_deployment(GatewayDeployment(**fields))
    assert refused.value.param == param


@given(
    instance_id=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,30}", fullmatch=True),
    env=st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True),
    region=st.none() | st.from_regex(r"[a-z]{2}", fullmatch=True),
)
def test_values_that_pass_never_change_the_host_or_add_a_query(instance_id: str, env: str, region: str | None) -> None:
    deployment = check_deployment(GatewayDeployment(instance_id, env, region))
    for family, url in deployment.routes().items():
        host, _, path = url.removeprefix("https://").partition("/")
        assert host == f"{family.value}.{region + '.' if region else ''}{env}.ai-gateway.quantumblack.com"
        assert path.split("/")[0] == instance_id and "?" not in url and "#" not in url


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("AI_GATEWAY_ROUTE_TEMPLATE", "https://{family}.{tenant}.example.com", "unknown placeholder {tenant}"),
        ("AI_GATEWAY_ROUTE_TEMPLATE", "ftp://{family}.example.com/{instance_id}", "http(s) URL"),
        ("AI_GATEWAY_ROUTE_TEMPLATE", "https://user:pw@{family}.example.com", "user name or password"),
        ("AI_GATEWAY_INSTANCE_ID", "../admin", "instance id must be"),
        ("AI_GATEWAY_ENV", "prod.evil", "environment must be"),
        ("AI_GATEWAY_REGION", "eu:443", "region must be"),
        ("AI_GATEWAY_AZURE_BASE_URL", "ftp://x", "http(s) URL"),
        ("AI_GATEWAY_AZURE_API_VERSION", "2024/10", "api-version"),
    ],
)
def test_bad_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)  # type: ignore[call-arg]
    error = refused.value.errors()[0]
    assert error["loc"] == (variable.lower(),) and message in error["msg"]


def test_settings_defaults_leave_the_deployment_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_GATEWAY_INSTANCE_ID", "  ")
    monkeypatch.setenv("AI_GATEWAY_REGION", "")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.ai_gateway_instance_id is None and settings.ai_gateway_region is None
    assert settings.ai_gateway_env == "prod" and settings.ai_gateway_azure_api_version == "2024-10-21"
    assert (
        settings.ai_gateway_route_template
        == "https://{family}.{region.}{env}.ai-gateway.quantumblack.com/{instance_id}"
    )


def test_azure_models_are_named_with_a_prefix_and_served_by_the_gateway_only() -> None:
    assert azure_deployment("azure/gpt-4o") == "gpt-4o" and azure_deployment("Azure/gpt-4o") == "gpt-4o"
    assert azure_deployment("gpt-4o") is None and azure_deployment("azure/") is None
    assert serves_model(ProviderName.AI_GATEWAY, "azure/gpt-4o")
    assert not serves_model(ProviderName.OPENAI, "azure/gpt-4o")
    assert not serves_model(ProviderName.ANTHROPIC, "azure/claude-x")


REQUEST = ChatRequest(model="azure/gpt-4o", messages=[ChatMessage("user", "hi")])


def test_azure_chat_call_is_openais_body_at_the_deployment_route() -> None:
    call = AzureDeploymentsFormat(api_version="2024-04-01-preview").chat_call(REQUEST, stream=True)
    assert call.path == "/openai/deployments/gpt-4o/chat/completions"
    assert call.params == {"api-version": "2024-04-01-preview"}
    body = json.loads(call.body or b"")
    assert body["model"] == "gpt-4o" and body["stream"] is True and body["messages"][0]["content"] == "hi"


def test_azure_answers_and_errors_read_as_openais() -> None:
    wire = AzureDeploymentsFormat()
    answer = {
        "id": "chatcmpl-1",
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hey"}, "finish_reason": "stop"}],
        "prompt_filter_results": [],
    }
    response = wire.chat_response(json.dumps(answer).encode(), REQUEST)
    assert (response.content, response.model, response.provider) == (
        "hey",
        "gpt-4o-2024-08-06",
        ProviderName.AI_GATEWAY,
    )
    missing = json.dumps({"error": {"code": "DeploymentNotFound", "message": "The API deployment ..."}}).encode()
    error = wire.error(404, {}, missing, what="chat completion", model="azure/gpt-9")
    assert isinstance(error, ModelNotFoundError) and "azure/gpt-9" in error.message
    with pytest.raises(InvalidRequestError, match="Azure deployment name") as refused:
        wire.chat_call(ChatRequest(model="azure/../x", messages=REQUEST.messages), stream=False)
    assert refused.value.param == "model"
