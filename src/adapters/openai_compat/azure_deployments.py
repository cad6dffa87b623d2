"""Azure OpenAI's deployment routes: OpenAI's chat-completions format at another address.

Azure OpenAI (NOTES-vendors.md §10) serves
`POST {base}/openai/deployments/{deployment}/chat/completions?api-version=...` with OpenAI's
request and answer bodies; the deployment name stands in for the model. The AI Gateway's
`azure` family route is such a base. So this format is OpenAI's (`wire.py`) with the path, the
`api-version` query and the model swapped; bodies, streams and errors are OpenAI's, plus
Azure's `DeploymentNotFound` code meaning "no such model here".

Model ids reach it as `azure/{deployment}` (`model_families.azure_deployment`): the body's
`model` is the deployment name, as Azure's own SDK client sends it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import ClassVar

from ideaforge_gateway.adapters.openai_compat.wire import OpenAIChatCompletionsFormat, StreamAssembler, error_code
from ideaforge_gateway.adapters.wire_format import ModelPage, WireCall, WireFormat
from ideaforge_gateway.domain.errors import GatewayError, InvalidRequestError, ModelNotFoundError
from ideaforge_gateway.domain.models import ChatRequest, ChatResponse, ProviderName
from ideaforge_gateway.domain.policies.model_families import azure_deployment

DEFAULT_API_VERSION = "2024-10-21"
"""Azure OpenAI's latest dated GA inference version (NOTES-vendors.md §10)."""
_DEPLOYMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_NOT_FOUND_CODES = frozenset({"DeploymentNotFound", "model_not_found", "NotFoundError"})


@dataclass(frozen=True, slots=True)
class AzureDeploymentsFormat(WireFormat):
    """`/openai/deployments/{deployment}/chat/completions?api-version=` and `/openai/models`,
    under a bare base URL (the route, without `/openai`)."""

    provider: ProviderName = ProviderName.AI_GATEWAY
    api_version: str = DEFAULT_API_VERSION
    chat_what: ClassVar[str] = "chat completion"
    joins_text: ClassVar[bool] = True

    @property
    def _openai(self) -> OpenAIChatCompletionsFormat:
        return OpenAIChatCompletionsFormat(self.provider)

    def chat_call(self, request: ChatRequest, *, stream: bool) -> WireCall:
        deployment = deployment_of(request.model, self.provider)
        call = self._openai.chat_call(replace(request, model=deployment), stream=stream)
        return WireCall(
            f"/openai/deployments/{deployment}/chat/completions",
            call.body,
            params={"api-version": self.api_version},
            headers=call.headers,
        )

    def chat_response(self, body: bytes, request: ChatRequest) -> ChatResponse:
        return self._openai.chat_response(body, request)

    def stream_assembler(self, request: ChatRequest) -> StreamAssembler:
        return self._openai.stream_assembler(request)

    def models_call(self) -> WireCall:
        return WireCall("/openai/models", params={"api-version": self.api_version})

    def models_page(self, body: bytes) -> ModelPage:
        return self._openai.models_page(body)

    def error(
        self, status: int, headers: Mapping[str, str], body: bytes, *, what: str, model: str | None
    ) -> GatewayError:
        code = error_code(body)
        if code in _NOT_FOUND_CODES and model is not None:
            return ModelNotFoundError(
                f"the AI Gateway's Azure route has no deployment for model {model!r} ({code})", provider=self.provider
            )
        return self._openai.error(status, headers, body, what=what, model=model)


def deployment_of(model: str, provider: ProviderName) -> str:
    """The deployment name in `model` (`azure/gpt-4o` or a bare `gpt-4o`), or
    `InvalidRequestError`: it goes into the URL path, so only Azure's name characters pass."""
    deployment = azure_deployment(model) or model
    if not _DEPLOYMENT.match(deployment):
        raise InvalidRequestError(
            "model: an Azure deployment name is 1 to 64 letters, digits, '.', '_' or '-'",
            provider=provider,
            param="model",
        )
    return deployment
