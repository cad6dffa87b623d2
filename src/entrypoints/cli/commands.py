"""What the CLI commands do. Heavy imports happen inside functions, after `--help` is served."""

from __future__ import annotations

import asyncio
import gc
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from ideaforge_gateway.domain.models import Attempt, ChatResponse, Usage
    from ideaforge_gateway.entrypoints.container import Container

T = TypeVar("T")


def fail(message: str, *, code: int = 1) -> NoReturn:
    """One clear line on stderr, and a non-zero exit."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def run(work: Callable[[Container], Awaitable[T]], *, json_errors: bool = False) -> T:
    """Build the container, run `work` on one event loop, turn domain errors into one line
    (or, with `json_errors`, into one JSON document on stdout)."""
    from pydantic import ValidationError
    from sqlalchemy.exc import SQLAlchemyError

    from ideaforge_gateway.domain.errors import GatewayError
    from ideaforge_gateway.entrypoints.container import Container, close

    try:
        container = Container()
        container.settings()
    except ValidationError as exc:
        fail(f"invalid configuration: {_settings_problem(exc)}", code=2)

    async def main() -> T:
        try:
            return await work(container)
        finally:
            await close(container)

    gc.enable()  # off while the CLI started (`cli.app.main`): the work itself makes garbage
    try:
        return asyncio.run(main())
    except GatewayError as exc:
        if json_errors:
            print_json({"error": exc.message, "kind": exc.kind, "attempts": attempts_json(exc.attempts)})
            raise typer.Exit(1) from None
        fail(exc.message)
    except SQLAlchemyError as exc:
        # The driver's message may repeat the URL and its password: name the failure only.
        cause = type(getattr(exc, "orig", None) or exc).__name__
        fail(f"the database failed ({cause}): check IDEAFORGE_DATABASE_URL and that the server is running")
    except OSError as exc:  # a file or folder the store needs, past the checks that name a setting
        what = f"cannot use {exc.filename}" if exc.filename else "a file operation failed"
        fail(f"{what} ({exc.strerror or type(exc).__name__}): check IDEAFORGE_DATA_DIR and IDEAFORGE_DATABASE_URL")
    except KeyboardInterrupt:
        fail("interrupted", code=130)
    except typer.Exit:
        raise
    except Exception as exc:  # noqa: BLE001 - see below
        # The last line of defence: one line, never a traceback. Only the type: the message may
        # hold what the failing library was given (a header value, say).
        fail(f"unexpected failure ({type(exc).__name__}): please report it")


def _settings_problem(exc: Any) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ())).upper() or "settings"
    return f"{where}: {first.get('msg', 'invalid value')}"


def print_json(document: object) -> None:
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


def verify(provider: str, *, user: str | None, as_json: bool) -> None:
    from ideaforge_gateway.application.use_cases.verify_credentials import VerificationResult, VerifyRequest
    from ideaforge_gateway.domain.models import ProviderName

    async def work(container: Container) -> VerificationResult:
        user_id = resolve_user(container, user)
        return await container.verify_credentials().execute(
            VerifyRequest(provider=ProviderName(provider), user_id=user_id)
        )

    result = run(work)
    if as_json:
        print_json(
            {
                "valid": result.valid,
                "provider": provider,
                "models": [m.id for m in result.models],
                "error": result.error,
                "note": result.note,
                "warnings": result.warnings,
            }
        )
        if not result.valid:
            raise typer.Exit(1)
        return
    if not result.valid:
        fail(result.error or "verification failed")
    note = f" (but {result.note})" if result.note else ""
    typer.echo(f"OK: {provider} verified, {len(result.models)} models available{note}")
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)


def generate(
    prompt: str,
    *,
    tier: str | None,
    model: str | None,
    system: str | None,
    user: str | None,
    stream: bool,
    as_json: bool,
) -> None:
    """Run an agent for the user and tier, its model the user's provider chain; `--stream`
    prints the answer as it arrives."""
    from ideaforge_gateway.domain.agents import AgentRunRequest, AgentRunResult
    from ideaforge_gateway.domain.models import ChatResponse, Tier

    async def work(container: Container) -> AgentRunResult:
        request = AgentRunRequest(
            prompt=prompt,
            user_id=resolve_user(container, user),
            tier=Tier(tier) if tier else None,
            model=model,
            system=system,
        )
        use_case = container.generate_with_agent()
        if not stream:
            return await use_case.execute(request)
        await use_case.prepare(request)
        streaming = use_case.stream(request)
        parts: list[str] = []
        try:
            async for text in streaming.text:
                parts.append(text)
                if not as_json:
                    sys.stdout.write(text)
                    sys.stdout.flush()
        finally:
            if parts and not as_json:
                sys.stdout.write("\n")
        assert streaming.provider is not None and streaming.model is not None
        return AgentRunResult(
            content="".join(parts),
            provider=streaming.provider,
            model=streaming.model,
            attempts=tuple(streaming.attempts),
            usage=streaming.usage,
            finish_reason=streaming.finish_reason,
            tool_calls=tuple(streaming.tool_calls),
        )

    result = run(work, json_errors=as_json)
    if as_json:
        response = ChatResponse(
            provider=result.provider,
            model=result.model,
            content=result.content,
            tool_calls=result.tool_calls,
            finish_reason=result.finish_reason,
            usage=result.usage,
        )
        print_json(generation_json(response, result.attempts))
    elif not stream:
        typer.echo(result.content)


def generation_json(response: ChatResponse, attempts: tuple[Attempt, ...]) -> dict[str, object]:
    return {
        "content": response.content,
        "provider": response.provider.value,
        "model": response.model,
        "finish_reason": response.finish_reason,
        "usage": usage_json(response.usage),
        "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in response.tool_calls],
        "attempts": attempts_json(attempts),
    }


def attempts_json(attempts: tuple[Attempt, ...]) -> list[dict[str, object]]:
    return [
        {
            "provider": a.provider.value,
            "model": a.model,
            "outcome": a.outcome,
            "latency_ms": round(a.latency_ms, 2),
            "error": a.error,
        }
        for a in attempts
    ]


def usage_json(usage: Usage | None) -> dict[str, int] | None:
    if usage is None:
        return None
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def resolve_user(container: Container, name: str | None) -> str | None:
    """The id of the active user called `name`, or a clear failure."""
    if name is None:
        return None
    user = container.user_store().get_by_name(name)
    if user is None:
        fail(f"no user named {name!r}: create one with `ideaforge users create {name}`")
    if not user.active:
        fail(f"user {name!r} has been revoked")
    return user.id


def serve(*, host: str, port: int, workers: int) -> None:
    """Check settings, keys and the database once, then run uvicorn; log one line when it answers."""
    import logging
    import os
    import shutil

    import uvicorn

    from ideaforge_gateway.adapters.observability.log_format import JsonFormatter, logging_config
    from ideaforge_gateway.entrypoints.cli.startup import announce_when_ready, startup_line, warn_about_models
    from ideaforge_gateway.entrypoints.http.start_proof import START_KEY_VARIABLE, new_start_key

    async def prepare(container: Container) -> str:
        # Settings, keys, migrations and CA bundles are checked once, before any worker starts.
        container.engine()
        container.ssl_context()
        return startup_line(container, host=host, port=port, workers=workers)

    if not _port_is_free(host, port):
        fail(f"{host}:{port} is already in use: stop what listens there, or choose another port with --port")
    line = run(prepare)
    metrics_dir = _private_metrics_dir() if workers > 1 else None
    if workers == 1:  # the app runs in this process: its lifespan tunes the collector and turns it on
        gc.disable()
    start_key = new_start_key()
    os.environ[START_KEY_VARIABLE] = start_key  # for the app in this process or in each worker
    announce_when_ready(host, port, line, start_key, then=warn_about_models)
    root = logging.getLogger()
    level = logging.getLevelName(root.getEffectiveLevel()).lower()
    level = level if level in {"debug", "info", "warning", "error"} else "warning"
    log_format = "json" if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers) else "plain"
    try:
        uvicorn.run(
            "ideaforge_gateway.entrypoints.http.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=level,
            log_config=logging_config(level, log_format),  # applied in every worker
            access_log=False,  # the gateway writes its own (ideaforge.access)
            server_header=False,
            ws="none",  # the gateway serves no WebSocket; uvicorn's default imports `websockets` (~0.03 s)
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _port_is_free(host: str, port: int) -> bool:
    """Whether `host:port` can be bound now, as uvicorn will (SO_REUSEADDR: a port in TIME_WAIT is
    free, one something listens on is not). Checked before start-up, so that a taken port is one
    line and exit 1, not a "ready" line answered by whatever already listens there."""
    import socket

    if port == 0:
        return True
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM)[0]
    except OSError:
        return True  # a host that does not resolve: uvicorn says so itself
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError:
            return False
    return True


def _private_metrics_dir() -> str | None:
    """prometheus-client's multiprocess mode for `serve --workers N`: every worker writes its
    metrics to files in PROMETHEUS_MULTIPROC_DIR and /metrics reads them all. Unless the operator
    chose a directory, a new private one (mode 0700) per run, removed at exit, so no run sees
    another's counts. Set before any worker imports prometheus_client, which reads it at import.
    One worker keeps its metrics in memory: a quarter of the cost per observation."""
    import os
    import tempfile

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    path = tempfile.mkdtemp(prefix="ideaforge-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


def providers_health(url: str, *, as_json: bool) -> None:
    """Ask a running gateway for its providers' health (`GET /ops/providers/health`)."""
    import httpx
    from pydantic import ValidationError

    from ideaforge_gateway.entrypoints.settings import Settings

    try:
        token = Settings().ideaforge_operator_token
    except ValidationError as exc:
        fail(f"invalid configuration: {_settings_problem(exc)}", code=2)
    if token is None:
        fail("set IDEAFORGE_OPERATOR_TOKEN (the same as the server's) to read the providers' health", code=2)
    try:
        answer = httpx.get(
            f"{url.rstrip('/')}/ops/providers/health",
            headers={"Authorization": f"Bearer {token.get_secret_value()}"},
            timeout=10,
        )
    except httpx.HTTPError as exc:
        fail(f"cannot reach the gateway at {url} ({type(exc).__name__}): is `ideaforge serve` running? (--url)")
    if answer.status_code in (401, 404):
        fail(f"the gateway at {url} refused the operator token (HTTP {answer.status_code}): "
             "set the same IDEAFORGE_OPERATOR_TOKEN for the server and here")  # fmt: skip
    if answer.status_code != 200:
        fail(f"the gateway at {url} answered HTTP {answer.status_code}")
    document = answer.json()
    if as_json:
        print_json(document)
        return
    entries = document.get("providers", [])
    typer.echo(f"worker {document.get('worker')}: " + ("no provider has failed" if not entries else ""))
    for e in entries:
        retry = _when(e.get("retry_at"), "retry in") if e.get("state") == "open" else ""
        failure = f"last failure {e['last_failure_kind']} {_when(e.get('last_failure_at'), 'at')}: {e['last_failure']}"
        typer.echo(f"{e['provider']}\t{e['model']}\tcredential {e['credential']}\t{e['state']}\t{retry}\t{failure}")


def _when(timestamp: float | None, prefix: str) -> str:
    import time
    from datetime import UTC, datetime

    if timestamp is None:
        return ""
    if prefix == "retry in":
        return f"retry in {max(0.0, timestamp - time.time()):.0f} s"
    return f"at {datetime.fromtimestamp(timestamp, UTC).strftime('%H:%M:%S')} UTC"
