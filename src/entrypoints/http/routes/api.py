"""The seed's endpoints under `/api`: verify, configure, providers, models, generate."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import SecretStr

from ideaforge_gateway.application.use_cases.list_models import ListModelsRequest
from ideaforge_gateway.application.use_cases.remove_provider import EnableRequest, RemoveRequest
from ideaforge_gateway.application.use_cases.verify_credentials import VerifyRequest
from ideaforge_gateway.domain.agents import AgentRunRequest
from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.errors import GatewayError, InvalidRequestError
from ideaforge_gateway.domain.models import ProviderName
from ideaforge_gateway.entrypoints.http.deps import ContainerDep, CurrentUser, authorization_check, client_address
from ideaforge_gateway.entrypoints.http.errors import ApiError
from ideaforge_gateway.entrypoints.http.presenters import (
    attempt_answers,
    catalog_model_answer,
    model_answer,
    sse,
    status_answer,
    usage_answer,
    usage_dict,
)
from ideaforge_gateway.entrypoints.http.schemas import (
    API_CHAT_ERRORS,
    API_ERRORS,
    ConfigureAnswer,
    ConfigureBody,
    EnableBody,
    ErrorAnswer,
    GenerateAnswer,
    GenerateBody,
    ModelsAnswer,
    ProviderStatusAnswer,
    VerifyAnswer,
    VerifyBody,
    error_responses,
)
from ideaforge_gateway.entrypoints.http.streaming import ClosingStreamingResponse, aclose, bounded

router = APIRouter(prefix="/api", tags=["api"], responses=API_ERRORS)


@router.post("/providers/verify", response_model=VerifyAnswer, responses=error_responses(ErrorAnswer, 429))
async def verify(body: VerifyBody, user: CurrentUser, container: ContainerDep, request: Request) -> VerifyAnswer:
    """Obtain a token, then list models, with the given credentials (nothing is stored), or
    with the user's stored ones when `api_key` is left out. At most
    IDEAFORGE_VERIFY_PER_MINUTE per user and per client address (else 429 with Retry-After):
    it must not be an oracle for testing stolen credentials."""
    wait = container.verify_limiter().hit(f"user:{user.id}", f"address:{client_address(request)}")
    if wait is not None:
        seconds = str(math.ceil(wait))
        raise ApiError(
            429, f"too many verifications: retry after {seconds} s", "rate_limited", {"Retry-After": seconds}
        )
    credentials = None
    if body.api_key is not None:
        credentials = ProviderCredentials(
            provider=body.provider,
            api_key=body.api_key,
            client_secret=body.client_secret,
            base_url=body.base_url,
            auth_method=body.auth_method,
            instance_id=body.instance_id,
            env=body.env,
            region=body.region,
            route_template=body.route_template,
        )
    use_case = container.verify_credentials()
    try:
        result = await use_case.execute(VerifyRequest(body.provider, credentials, user_id=user.id))
    except InvalidRequestError as exc:
        return VerifyAnswer(valid=False, provider=body.provider, models=[], error=exc.message)
    return VerifyAnswer(
        valid=result.valid,
        provider=body.provider,
        models=[m.id for m in result.models],
        error=result.error,
        note=result.note,
        warnings=result.warnings,
    )


@router.post("/providers/configure", response_model=ConfigureAnswer, responses=error_responses(ErrorAnswer, 400))
async def configure(body: ConfigureBody, user: CurrentUser, container: ContainerDep) -> ConfigureAnswer:
    """Store the credentials in the body for this user, all or none: if any provider fails its
    checks (or, with `verify`, its verification), none is stored and `errors` names each one
    not stored and why (one provider alone that fails: 400)."""
    wanted = _credentials_from(body)
    if not wanted:
        raise ApiError(400, "nothing to configure: give at least one provider's credentials", "invalid_body")
    result = await container.configure_provider().execute_all(user.id, wanted, verify_first=body.verify)
    stored = [s.provider for s in result.stored]
    errors = {provider.value: message for provider, (message, _param) in result.failures.items()}
    if len(wanted) == 1 and result.failures:
        provider, (message, param) = next(iter(result.failures.items()))
        raise ApiError(400, message, "invalid_credentials", param=_BODY_FIELDS.get((provider, param or "")))
    for credentials in wanted:
        if result.failures and credentials.provider not in result.failures:
            failed = ", ".join(p.value for p in result.failures)
            errors[credentials.provider.value] = f"not stored: a configure is all or none, and {failed} failed"
    statuses = await run_in_threadpool(container.list_providers().execute, user.id)
    return ConfigureAnswer(configured=stored, providers=[status_answer(s) for s in statuses], errors=errors)


_BODY_FIELDS = {
    (ProviderName.AI_GATEWAY, "client_secret"): "aiGatewayClientSecret",
    (ProviderName.AI_GATEWAY, "client_id"): "aiGatewayClientId",
    (ProviderName.AI_GATEWAY, "default_model"): "aiGatewayDefaultModel",
    (ProviderName.AI_GATEWAY, "instance_id"): "aiGatewayInstanceId",
    (ProviderName.AI_GATEWAY, "env"): "aiGatewayEnv",
    (ProviderName.AI_GATEWAY, "region"): "aiGatewayRegion",
    (ProviderName.AI_GATEWAY, "route_template"): "aiGatewayRouteTemplate",
}
"""The body field a use case's `param` stands for, to name it in a 400."""


def _credentials_from(body: ConfigureBody) -> list[ProviderCredentials]:
    wanted: list[ProviderCredentials] = []
    gateway_fields = (
        body.aiGatewayClientId,
        body.aiGatewayClientSecret,
        body.aiGatewayBaseUrl,
        body.aiGatewayDefaultModel,
        body.aiGatewayInstanceId,
        body.aiGatewayEnv,
        body.aiGatewayRegion,
        body.aiGatewayRouteTemplate,
        body.aiGatewayAuthMethod,
    )
    if any(field is not None for field in gateway_fields):
        # A left-out client id or secret means the stored one; the configure use case decides
        # whether it may be kept (only for the destination it was stored with).
        wanted.append(
            ProviderCredentials(
                provider=ProviderName.AI_GATEWAY,
                api_key=SecretStr(body.aiGatewayClientId or ""),
                client_secret=body.aiGatewayClientSecret,
                base_url=body.aiGatewayBaseUrl,
                default_model=body.aiGatewayDefaultModel,
                instance_id=body.aiGatewayInstanceId,
                env=body.aiGatewayEnv,
                region=body.aiGatewayRegion,
                route_template=body.aiGatewayRouteTemplate,
                auth_method=body.aiGatewayAuthMethod,
            )
        )
    for provider, key in (
        (ProviderName.OPENAI, body.openaiApiKey),
        (ProviderName.ANTHROPIC, body.anthropicApiKey),
        (ProviderName.GEMINI, body.geminiApiKey),
    ):
        if key is not None:
            wanted.append(ProviderCredentials(provider=provider, api_key=key))
    return wanted


@router.get("/providers", response_model=list[ProviderStatusAnswer])
def list_providers(user: CurrentUser, container: ContainerDep) -> list[ProviderStatusAnswer]:
    """Each provider's status for this user, in priority order. Never a secret."""
    return [status_answer(s) for s in container.list_providers().execute(user.id)]


@router.delete("/providers/{provider}", status_code=204, responses=error_responses(ErrorAnswer, 404))
async def remove_provider(provider: ProviderName, user: CurrentUser, container: ContainerDep) -> Response:
    """Delete this user's stored credentials for `provider`."""
    if not await container.remove_provider().execute(RemoveRequest(user.id, provider)):
        raise ApiError(404, f"no stored {provider.value} credentials", "not_found")
    return Response(status_code=204)


@router.patch("/providers/{provider}", response_model=ProviderStatusAnswer, responses=error_responses(ErrorAnswer, 404))
async def enable_provider(
    provider: ProviderName, body: EnableBody, user: CurrentUser, container: ContainerDep
) -> ProviderStatusAnswer:
    """Disable or enable this user's stored provider without deleting its credentials."""
    if not await container.set_provider_enabled().execute(EnableRequest(user.id, provider, body.enabled)):
        raise ApiError(404, f"no stored {provider.value} credentials", "not_found")
    statuses = await run_in_threadpool(container.list_providers().execute, user.id)
    return next(status_answer(s) for s in statuses if s.provider is provider)


@router.get("/models", response_model=ModelsAnswer, responses=error_responses(ErrorAnswer, 400, 409, 502, 503))
async def list_models(
    user: CurrentUser, container: ContainerDep, catalog: bool = False, provider: str | None = None
) -> ModelsAnswer:
    """The models of every provider this user can use (a failing provider is left out), with the
    AI Gateway catalog's price and classification where it lists them. With `catalog=true`, the
    AI Gateway instance's catalog itself (only `provider`'s models when given), within
    AI_GATEWAY_MAX_CLASSIFICATION: the user's own instance's when their stored AI Gateway
    credentials name one (`user_catalogs.py`), else the operator's; a catalog that does not answer
    is a 502 (it refused the credentials) or 503, none to ask (own credentials without an
    instance id, or no operator's instance) a 409."""
    if catalog:
        stored = (await run_in_threadpool(container.registry().stored, user.id)).get(ProviderName.AI_GATEWAY)
        view = container.catalog_views().for_listing(stored)
        listed = await view.listing(provider)
        return ModelsAnswer(models=[catalog_model_answer(m) for m in listed.models])
    if provider is not None:
        raise ApiError(
            400, "provider filters the catalog: use it with catalog=true", "invalid_request", param="provider"
        )
    found = await container.list_models().execute(ListModelsRequest(user_id=user.id))
    return ModelsAnswer(models=[model_answer(m) for m in found])


@router.post("/generate", response_model=GenerateAnswer, responses=API_CHAT_ERRORS)
async def generate(
    body: GenerateBody, user: CurrentUser, container: ContainerDep, raw: Request
) -> Response | GenerateAnswer:
    """Run an agent for this user: its model is the user's provider chain (AI Gateway first), with
    the tier's model or the user's default. With `stream`, server-sent events: `delta`s, then
    `done` (who answered, usage, attempts) or `error`."""
    request = AgentRunRequest(
        prompt=body.prompt,
        user_id=user.id,
        tier=body.tier,
        model=body.model,
        system=body.system,
        images=tuple(body.images),
    )
    use_case = container.generate_with_agent()
    if not body.stream:
        result = await use_case.execute(request)
        return GenerateAnswer(
            content=result.content,
            provider=result.provider,
            model=result.model,
            finish_reason=result.finish_reason,
            usage=usage_answer(result.usage),
            attempts=attempt_answers(result.attempts),
        )
    await use_case.prepare(request)
    stream = use_case.stream(request)
    texts = stream.text.__aiter__()
    first = await anext(texts, None)  # fall over (or fail with a status) before the 200 is sent

    async def events() -> AsyncIterator[bytes]:
        try:
            text = first
            while text is not None:
                yield sse({"content": text}, "delta")
                text = await anext(texts, None)
        except GatewayError as exc:
            yield sse({"error": exc.message, "kind": exc.kind}, "error")
            return
        finally:
            await aclose(texts)
        done = {
            "provider": stream.provider.value if stream.provider else None,
            "model": stream.model,
            "finish_reason": stream.finish_reason,
            "usage": usage_dict(stream.usage),
            "attempts": [a.model_dump() for a in attempt_answers(stream.attempts)],
        }
        yield sse(done, "done")

    still_authorized = authorization_check(container, raw.headers.get("authorization"))
    body_events = bounded(events(), container.stream_bounds(), still_authorized, _error_event)
    return ClosingStreamingResponse(body_events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _error_event(message: str, kind: str) -> bytes:
    """The `error` event of this route's streams."""
    return sse({"error": message, "kind": kind}, "error")
