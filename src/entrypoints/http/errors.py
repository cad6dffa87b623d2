"""Errors as HTTP answers: a status, a clear message, never a secret or an upstream body.

Under `/v1` they take OpenAI's shape (`{"error": {"message", "type", "param", "code"}}`) and its
statuses (a malformed body is a 400 `invalid_request_error` naming the parameter, never FastAPI's
422; a 429 is a `rate_limit_error`), so that OpenAI clients understand them; elsewhere
`{"error": message, "kind": ...}`.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from ideaforge_gateway.application.fallback_chain import ProvidersExhaustedError
from ideaforge_gateway.domain.errors import (
    AuthenticationError,
    ConfigurationError,
    CredentialUnreadableError,
    GatewayError,
    InvalidRequestError,
    ModelNotFoundError,
    PermissionDeniedError,
    PolicyRefusedError,
    RateLimitedError,
)

DATABASE_RETRY_AFTER_SECONDS = 5
"""What a 503 for an unreachable database tells the client to wait before retrying."""

_log = logging.getLogger("ideaforge_gateway.http")


class ApiError(Exception):
    """An error this API answers with directly."""

    def __init__(
        self,
        status: int,
        message: str,
        kind: str,
        headers: dict[str, str] | None = None,
        *,
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.headers = headers
        self.param = param
        """The request parameter at fault, when one is (OpenAI's error `param`)."""
        self.code = code or kind
        """OpenAI's error `code`: the vendor's own when it gave a documented one, else `kind`."""


def status_for(error: GatewayError) -> int:
    if isinstance(error, InvalidRequestError):
        return 400
    if isinstance(error, ModelNotFoundError):
        return 404
    if isinstance(error, PolicyRefusedError):
        return 403  # the operator's policy, not the upstream, refused it
    if isinstance(error, ConfigurationError | CredentialUnreadableError):
        return 409
    if isinstance(error, RateLimitedError):
        return 429
    if isinstance(error, AuthenticationError | PermissionDeniedError):
        return 502  # the upstream refused our credentials: the caller's own token was fine
    if isinstance(error, ProvidersExhaustedError) and error.deadline_passed:
        return 504
    return 503


def api_error_for(error: GatewayError) -> ApiError:
    headers = None
    if isinstance(error, RateLimitedError) and error.retry_after is not None:
        headers = {"Retry-After": str(max(1, round(error.retry_after)))}
    param = error.param if isinstance(error, InvalidRequestError) else None
    return ApiError(status_for(error), error.message, error.kind, headers, param=param, code=error.vendor_code)


def error_body(request: Request, error: ApiError) -> dict[str, Any]:
    if is_openai_path(request):
        return {
            "error": {
                "message": error.message,
                "type": _OPENAI_TYPES.get(error.status, _openai_type(error.status)),
                "param": error.param,  # always there, null when no one parameter is at fault
                "code": error.code,
            }
        }
    if error.param is not None:
        return {"error": error.message, "kind": error.kind, "param": error.param}
    return {"error": error.message, "kind": error.kind}


def is_openai_path(request: Request) -> bool:
    return request.url.path.startswith("/v1/")


# OpenAI's types: a 429 is a `rate_limit_error` (the SDKs and retry libraries key on it), any other
# 4xx an `invalid_request_error` (an unknown model too, with code `model_not_found`), a 5xx an
# `api_error`; 401 keeps this API's `authentication_error`.
_OPENAI_TYPES = {401: "authentication_error", 429: "rate_limit_error"}


def _openai_type(status: int) -> str:
    return "invalid_request_error" if status < 500 else "api_error"


def install_error_handlers(app: FastAPI) -> None:
    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        headers = dict(exc.headers or {})
        if exc.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(error_body(request, exc), status_code=exc.status, headers=headers)

    async def gateway_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GatewayError)
        return await api_error(request, api_error_for(exc))

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        # OpenAI answers a malformed body with 400; the rest of the API keeps FastAPI's 422.
        if not is_openai_path(request):
            return await api_error(request, ApiError(422, _describe(exc), "invalid_body"))
        return await api_error(request, ApiError(400, _describe(exc), "invalid_body", param=_param(exc)))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        kind = "body_too_large" if exc.status_code == 413 else "http_error"
        return await api_error(request, ApiError(exc.status_code, str(exc.detail), kind))

    async def database_error(request: Request, exc: Exception) -> JSONResponse:
        # One line, no traceback: an outage would otherwise flood the log with identical ones.
        return await api_error(request, database_unavailable(f"{request.method} {request.url.path}", exc))

    app.add_exception_handler(sa_exc.DBAPIError, database_error)
    app.add_exception_handler(sa_exc.TimeoutError, database_error)
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(GatewayError, gateway_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)


def _database_reason(exc: Exception) -> str:
    """The driver's error class only: its message may repeat the URL (and a password in it), and
    a DBAPIError's text repeats the statement."""
    original = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
    return type(original or exc).__name__


def database_unavailable(request_line: str, exc: Exception) -> ApiError:
    """The 503 for a database that failed `exc`, logged at warning in one line."""
    _log.warning("database unavailable for %s: %s", request_line, _database_reason(exc))
    return ApiError(
        503,
        "the database is unavailable: retry shortly",
        "database_unavailable",
        {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


def _param(exc: RequestValidationError) -> str | None:
    """The first problem's field, as OpenAI names it (`messages.0.content`), or None for the body."""
    errors = exc.errors()
    if not errors:
        return None
    where = [str(part) for part in errors[0].get("loc", ()) if part != "body"]
    return ".".join(where) or None


def _describe(exc: RequestValidationError) -> str:
    """The first problem, in a line: where and what (the offending value is never echoed)."""
    errors = exc.errors()
    if not errors:
        return "invalid request body"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body") or "body"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')}{more}"
