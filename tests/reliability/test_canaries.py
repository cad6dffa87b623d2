"""Canary secrets, one per kind, pushed through every path: configure, verify failures, token
failures, upstream errors that echo every header, exceptions, DEBUG logs of every logger, HTTP
answers, CLI output, and the bytes of the SQLite files and of a PostgreSQL dump. Each is found
zero times.

The world is built once for the module (it costs CLI processes); each test then searches one
place, so a hit names where it leaked.
"""

from __future__ import annotations

import json
import logging
import subprocess
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
from pydantic import SecretStr

from devkit.report import Report, Section
from ideaforge_gateway.adapters.ai_gateway.oauth2_client_credentials_token_source import basic_credentials
from ideaforge_gateway.adapters.crypto.aesgcm_cipher import KeyRing
from ideaforge_gateway.application.use_cases.configure_provider import ConfigureRequest
from ideaforge_gateway.application.use_cases.generate_reply import GenerateRequest
from ideaforge_gateway.application.use_cases.verify_credentials import VerifyRequest
from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.errors import GatewayError
from ideaforge_gateway.domain.models import ChatMessage, ProviderName
from ideaforge_gateway.entrypoints.container import close
from tests.support.app import container_for
from tests.support.cli import CliResult, run_cli
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.faults import EchoingUpstream
from tests.support.live_server import LiveServer
from tests.support.postgres import PostgresServer, find_bindir

ENCRYPTION_ENTRY = KeyRing.generate_entry("canary")
CANARIES = {
    "env AI Gateway client id": "cnry-env-client-4f1c",
    "env AI Gateway client secret": "cnry-env-secret-8a2e/+:=",
    "env OpenAI API key": "sk-cnry-env-openai-7d3b",
    "env Anthropic API key": "sk-ant-cnry-env-5e9a",
    "env Gemini API key": "AIzaCnryEnvGemini6b2f",
    "user AI Gateway client id": "cnry-user-client-1a7d",
    "user AI Gateway client secret": "cnry-user-secret-3c8f+/:=%",
    "user OpenAI API key": "sk-cnry-user-openai-9e4a",
    "user Anthropic API key": "sk-ant-cnry-user-2b6c",
    "user Gemini API key": "AIzaCnryUserGemini0d5e",
    "CLI-configured OpenAI API key": "sk-cnry-cli-openai-5f0d",
    "encryption key": ENCRYPTION_ENTRY.split(":", 1)[1],
    "database password": "cnry-dbpw-7f2a",
    "a presented, unknown user token": "ifg_cnryBogusToken3e8d",
}
C = CANARIES
INTRO = (
    "One canary per kind of secret: the environment's and a user's AI Gateway client id and secret, "
    "each vendor's API key (the environment's and a user's, through the API and the CLI), the encryption "
    "key, a database password, users' API tokens, a token nobody issued, and the bearer tokens the token "
    "endpoint issued during the run. They go through configure (good, invalid, `verify` failing), verify "
    "(wrong secret, token endpoint failing, upstreams that echo every request header and the body in "
    "their error bodies and response headers), generation and `/v1` (JSON and SSE) failing over every "
    "provider, model listings, the CLI at `--log-level debug`, and a PostgreSQL URL whose "
    "server is down. Searched for: the raw value, its URL encodings, and the HTTP Basic value of each "
    "client id and secret pair."
)


@dataclass
class Corpus:
    """Everything one place showed, to search."""

    texts: list[str] = field(default_factory=list)
    blobs: list[bytes] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.texts.append(text)

    def size(self) -> int:
        return sum(len(t.encode()) for t in self.texts) + sum(len(b) for b in self.blobs)

    def hits(self, canaries: dict[str, str]) -> list[str]:
        text = "\n".join(self.texts)
        data = b"\n".join(self.blobs)
        found = []
        for name, value in canaries.items():
            for form in {value, quote_plus(value), quote(value, safe="")}:
                if form in text or form.encode() in data:
                    found.append(name)
                    break
        return found


@dataclass
class World:
    corpora: dict[str, Corpus]
    canaries: dict[str, str]
    controls: dict[str, str]
    """A value each place must show, so a search of the wrong bytes cannot pass."""


class _Everything(logging.Handler):
    def __init__(self, corpus: Corpus) -> None:
        super().__init__(logging.DEBUG)
        self.corpus = corpus
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.corpus.add(self.format(record))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer) -> Iterator[World]:
    corpora = {name: Corpus() for name in ("logs", "http", "cli", "exceptions", "sqlite", "postgres")}
    handler = _Everything(corpora["logs"])
    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in ("uvicorn", "uvicorn.error", "uvicorn.access"))]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        with ExitStack() as stack:
            world = _build(stack, tmp_path_factory.mktemp("canaries"), postgres_server, corpora)
        yield world
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def _build(stack: ExitStack, root: Path, postgres: PostgresServer, corpora: dict[str, Corpus]) -> World:
    user_gw = stack.enter_context(
        FakeAIGateway(client_id=C["user AI Gateway client id"], client_secret=C["user AI Gateway client secret"])
    )
    env_gw = stack.enter_context(
        FakeAIGateway(client_id=C["env AI Gateway client id"], client_secret=C["env AI Gateway client secret"])
    )
    echo_401 = stack.enter_context(EchoingUpstream(401))
    echo_429 = stack.enter_context(EchoingUpstream(429))
    echo_503 = stack.enter_context(EchoingUpstream(503))
    data_dir = root / "data"
    env = {
        "AI_GATEWAY_CLIENT_ID": C["env AI Gateway client id"],
        "AI_GATEWAY_CLIENT_SECRET": C["env AI Gateway client secret"],
        "AI_GATEWAY_BASE_URL": env_gw.url,
        "AI_GATEWAY_ENABLED": "true",
        "OPENAI_API_KEY": C["env OpenAI API key"],
        "OPENAI_BASE_URL": f"{echo_401.url}/v1",
        "GEMINI_API_KEY": C["env Gemini API key"],
        "GEMINI_BASE_URL": echo_429.url,
        "ANTHROPIC_API_KEY": C["env Anthropic API key"],
        "ANTHROPIC_BASE_URL": echo_503.url,
        "IDEAFORGE_DATA_DIR": str(data_dir),
        "IDEAFORGE_ENCRYPTION_KEYS": ENCRYPTION_ENTRY,
        "IDEAFORGE_ALLOW_PRIVATE_BASE_URLS": "true",
        "IDEAFORGE_DEADLINE_SECONDS": "10",
        "IDEAFORGE_HTTP_READ_TIMEOUT": "5",
    }
    settings = {k.lower(): v for k, v in env.items() if k != "IDEAFORGE_DATA_DIR"}
    canaries = dict(CANARIES)

    # Through the HTTP API.
    container = container_for(root, ideaforge_data_dir=data_dir, **settings)
    with LiveServer(container) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        alice, bob = server.create_user("alice"), server.create_user("bob")
        canaries |= {"alice's API token": alice, "bob's API token": bob}
        _http_paths(client, corpora["http"], alice, bob, user_gw, env_gw, echo_401)

    # In process: exceptions and reprs, on the same database.
    container = container_for(root, ideaforge_data_dir=data_dir, **settings)
    _run(_exception_paths(container, corpora["exceptions"], user_gw, env_gw, echo_401))

    # PostgreSQL (its URL holding a password): configure through the container...
    pg_url = postgres.create_database().replace("postgres@", f"postgres:{C['database password']}@", 1)
    _postgres_paths(root, settings, pg_url, user_gw, corpora)

    # ...and the CLI, at DEBUG, on both databases; then dump PostgreSQL's.
    _cli_paths(root, env, corpora["cli"], echo_401, pg_url)
    corpora["postgres"].blobs.append(pg_dump(pg_url))

    issued = {*user_gw.state.issued, *env_gw.state.issued}
    assert issued, "the token endpoint must have issued tokens for the run to mean anything"
    canaries |= {f"issued access token {n}": token for n, token in enumerate(sorted(issued))}
    for user, secret in (("user", "user"), ("env", "env")):
        basic = basic_credentials(C[f"{user} AI Gateway client id"], C[f"{secret} AI Gateway client secret"])
        canaries[f"{user} AI Gateway HTTP Basic value"] = basic.removeprefix("Basic ")

    sqlite_files = sorted(data_dir.glob("ideaforge.db*"))
    assert {p.name for p in sqlite_files} >= {"ideaforge.db"}, sqlite_files
    corpora["sqlite"].blobs += [p.read_bytes() for p in sqlite_files]
    controls = {
        "logs": "/v1/chat/completions",
        "http": "needs",  # shows up in provider statuses and errors
        "cli": "Stored openai credentials for alice",
        "exceptions": "Traceback",
        "sqlite": user_gw.url,
        "postgres": user_gw.url,
    }
    return World(corpora, canaries, controls)


def _run(coro: Any) -> Any:
    import asyncio

    return asyncio.run(coro)


def _http_paths(
    client: httpx.Client,
    corpus: Corpus,
    alice: str,
    bob: str,
    user_gw: FakeAIGateway,
    env_gw: FakeAIGateway,
    echo: EchoingUpstream,
) -> None:
    def call(method: str, path: str, token: str | None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = client.request(method, path, headers=headers, **kwargs)
        corpus.add(f"{method} {path} -> {response.status_code}\n{json.dumps(dict(response.headers))}\n{response.text}")
        return response

    gateway = {
        "aiGatewayClientId": C["user AI Gateway client id"],
        "aiGatewayClientSecret": C["user AI Gateway client secret"],
        "aiGatewayBaseUrl": user_gw.url,
    }
    vendors = {
        "openaiApiKey": C["user OpenAI API key"],
        "anthropicApiKey": C["user Anthropic API key"],
        "geminiApiKey": C["user Gemini API key"],
    }
    # Configure: invalid, verify failing, then stored.
    call("POST", "/api/providers/configure", alice, json={**gateway, "aiGatewayBaseUrl": "ftp://nowhere"})
    call("POST", "/api/providers/configure", alice, json={**gateway, "aiGatewayBaseUrl": echo.url, "verify": True})
    call("POST", "/api/providers/configure", alice, json={**vendors, "verify": True})
    assert call("POST", "/api/providers/configure", alice, json={**gateway, **vendors}).status_code == 200
    # Verify: wrong secret, the token endpoint failing, an echoing upstream, each vendor.
    verify = {"provider": "ai_gateway", "api_key": C["user AI Gateway client id"], "base_url": user_gw.url}
    call("POST", "/api/providers/verify", alice, json={**verify, "client_secret": C["user AI Gateway client secret"]})
    call("POST", "/api/providers/verify", alice, json={**verify, "client_secret": "wrong-" + C["user OpenAI API key"]})
    call("POST", "/api/providers/verify", alice, json={**verify, "base_url": echo.url, "client_secret": "x"})
    for provider, key in (("openai", "openaiApiKey"), ("anthropic", "anthropicApiKey"), ("gemini", "geminiApiKey")):
        call("POST", "/api/providers/verify", alice, json={"provider": provider, "api_key": vendors[key]})
        call("POST", "/api/providers/verify", alice, json={"provider": provider})
    user_gw.state.token_failures = [503] * 3
    call("POST", "/api/providers/verify", alice, json={"provider": "ai_gateway"})
    # Lists.
    for path in ("/api/providers", "/api/models", "/v1/models"):
        call("GET", path, alice)
        call("GET", path, bob)
    # Generation, succeeding, then failing over every provider (each an echoing upstream).
    call("POST", "/api/generate", alice, json={"prompt": "hello"})
    chat = {"model": "standard", "messages": [{"role": "user", "content": "hi"}]}
    call("POST", "/v1/chat/completions", alice, json=chat)
    user_gw.state.chat_failures = [500] * 4
    user_gw.state.token_failures = []
    call("POST", "/api/generate", alice, json={"prompt": "hello"})
    call("POST", "/v1/chat/completions", alice, json=chat)
    user_gw.state.chat_failures = [500] * 4
    call("POST", "/api/generate", alice, json={"prompt": "hello", "stream": True})
    call("POST", "/v1/chat/completions", alice, json={**chat, "stream": True})
    env_gw.state.token_failures = [401] * 4
    call("POST", "/api/generate", bob, json={"prompt": "hello"})
    call("POST", "/v1/chat/completions", bob, json={**chat, "stream": True})
    call("POST", "/v1/chat/completions", bob, json={**chat, "model": "claude-sonnet-4-5"})
    call("POST", "/v1/chat/completions", bob, json={**chat, "model": "gemini-2.5-pro"})
    # Disable, delete, unknown tokens.
    call("PATCH", "/api/providers/openai", alice, json={"enabled": False})
    call("DELETE", "/api/providers/anthropic", alice)
    call("GET", "/api/providers", C["a presented, unknown user token"])
    call("POST", "/v1/chat/completions", C["a presented, unknown user token"], json=chat)


async def _exception_paths(
    container: Any, corpus: Corpus, user_gw: FakeAIGateway, env_gw: FakeAIGateway, echo: EchoingUpstream
) -> None:
    def record(exc: BaseException) -> None:
        corpus.add(f"{exc!s}\n{exc!r}\n{''.join(traceback.format_exception(exc))}")

    try:
        alice = container.user_store().get_by_name("alice").id
        registry = container.registry()
        corpus.add(repr(container.settings()))
        corpus.add(repr(registry.config))
        for resolved in registry.usable(alice) + registry.usable(None):
            corpus.add(repr(resolved))
            corpus.add(repr(registry.client(resolved)))
        user_gw.state.chat_failures = [500] * 4
        env_gw.state.token_failures = [503] * 10
        for user_id in (alice, None):
            for model in (None, "claude-sonnet-4-5", "gemini-2.5-pro"):
                request = GenerateRequest(messages=[ChatMessage("user", "hi")], model=model, user_id=user_id)
                try:
                    await container.generate_reply().execute(request)
                except GatewayError as exc:
                    record(exc)
        for provider in ProviderName:
            credentials = ProviderCredentials(
                provider,
                api_key=SecretStr(C["user OpenAI API key"]),
                client_secret=SecretStr(C["user AI Gateway client secret"]),
                base_url=echo.url,
            )
            result = await container.verify_credentials().execute(VerifyRequest(provider, credentials))
            corpus.add(repr(result))
            try:
                container.provider_factory().build(credentials)
                await container.configure_provider().execute(ConfigureRequest(alice, credentials, verify_first=True))
            except GatewayError as exc:
                record(exc)
        try:
            raise RuntimeError("wrapped") from GatewayError("outer")
        except RuntimeError as exc:
            record(exc)
    finally:
        await close(container)


def _cli_paths(root: Path, env: dict[str, str], corpus: Corpus, echo: EchoingUpstream, pg_url: str) -> None:
    down = "postgresql+psycopg://postgres:" + C["database password"] + "@127.0.0.1:1/nowhere"
    runs: list[tuple[tuple[str, ...], str | None, dict[str, str]]] = [
        (("providers", "configure", "openai", "--user", "alice"), C["CLI-configured OpenAI API key"] + "\n", {}),
        (
            (
                "providers",
                "configure",
                "ai_gateway",
                "--user",
                "alice",
                "--client-id",
                C["user AI Gateway client id"],
                "--base-url",
                echo.url,
                "--token-url",
                f"{echo.url}/oauth/token",
                "--auth-method",
                "client_secret_post",
                "--verify",
            ),
            C["user AI Gateway client secret"] + "\n",
            {},
        ),
        (("generate", "hello", "--user", "alice", "--json"), None, {}),
        (
            ("providers", "configure", "openai", "--user", "alice"),
            C["CLI-configured OpenAI API key"] + "\n",
            {"IDEAFORGE_DATABASE_URL": pg_url},
        ),
        (("users", "list"), None, {"IDEAFORGE_DATABASE_URL": down}),
    ]

    def one(run: tuple[tuple[str, ...], str | None, dict[str, str]]) -> CliResult:
        args, stdin, extra = run
        return run_cli("--log-level", "debug", *args, env={**env, **extra}, cwd=root, stdin=stdin, timeout=90)

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(one, runs))
    for (args, _, _), result in zip(runs, results, strict=True):
        corpus.add(f"$ ideaforge {' '.join(args[:3])} ... -> {result.code}\n{result.stdout}\n{result.stderr}")
    assert results[0].code == 0 and results[-2].code == 0, results[0].output + results[-2].output
    assert results[-1].code == 1 and "database" in results[-1].stderr, results[-1].output
    # Once the writes are done: what the CLI shows of the credentials it stored.
    listed = one((("providers", "list", "--user", "alice", "--json"), None, {}))
    corpus.add(f"$ ideaforge providers list --user alice --json -> {listed.code}\n{listed.stdout}\n{listed.stderr}")
    assert listed.code == 0 and '"openai"' in listed.stdout, listed.output


def _postgres_paths(
    root: Path, settings: dict[str, Any], url: str, user_gw: FakeAIGateway, corpora: dict[str, Corpus]
) -> None:
    container = container_for(root / "pg", **{**settings, "ideaforge_database_url": url})

    async def configure() -> None:
        try:
            user, _token = container.user_store().create("alice")
            corpora["exceptions"].add(repr(user))
            for provider, key, secret in (
                (ProviderName.AI_GATEWAY, "user AI Gateway client id", "user AI Gateway client secret"),
                (ProviderName.OPENAI, "user OpenAI API key", None),
                (ProviderName.ANTHROPIC, "user Anthropic API key", None),
                (ProviderName.GEMINI, "user Gemini API key", None),
            ):
                credentials = ProviderCredentials(
                    provider,
                    api_key=SecretStr(C[key]),
                    client_secret=SecretStr(C[secret]) if secret else None,
                    base_url=user_gw.url if secret else None,
                )
                await container.configure_provider().execute(ConfigureRequest(user.id, credentials))
        finally:
            await close(container)

    _run(configure())


def pg_dump(url: str) -> bytes:
    """The database's data, dumped by the pg_dump of the test server's own installation."""
    command = [str(find_bindir() / "pg_dump"), "--data-only", "-h", "127.0.0.1", "-p", postgres_port(url)]
    dump = subprocess.run(
        [*command, "-U", "postgres", url.rsplit("/", 1)[1]], capture_output=True, timeout=60, check=False
    )
    assert dump.returncode == 0, dump.stderr.decode(errors="replace")
    return dump.stdout


def postgres_port(url: str) -> str:
    return url.split("@", 1)[1].split("/", 1)[0].rsplit(":", 1)[1]


@pytest.fixture(scope="module")
def canary_table(report: Report) -> Section:
    return report.section("canaries", "Secrets: canaries", INTRO, ["where", "bytes searched", "canaries", "hits"])


PLACES = {
    "logs": "logs of every logger at DEBUG (app, uvicorn, httpx, aiohttp, SQLAlchemy...)",
    "http": "HTTP answers: status, headers and bodies (JSON and SSE)",
    "cli": "CLI stdout and stderr, `--log-level debug`",
    "exceptions": "exception messages, reprs and tracebacks; reprs of settings, registry, clients",
    "sqlite": "SQLite database, WAL and shared-memory files",
    "postgres": "PostgreSQL dump (`pg_dump --data-only`)",
}


@pytest.mark.parametrize("place", list(PLACES))
def test_no_canary_is_found(world: World, place: str, canary_table: Section) -> None:
    corpus = world.corpora[place]
    hits = corpus.hits(world.canaries)
    canary_table.add(PLACES[place], f"{corpus.size():,}", len(world.canaries), len(hits))
    control = world.controls[place]
    assert any(control in t for t in corpus.texts) or any(control.encode() in b for b in corpus.blobs), (
        f"the {place} corpus lacks {control!r}: the search would look at the wrong thing"
    )
    assert corpus.size() > 2000
    assert hits == [], f"found in {place}: {hits}"


@pytest.mark.parametrize(
    "provider",
    [
        pytest.param(ProviderName.GEMINI),
        pytest.param(ProviderName.OPENAI),
        pytest.param(ProviderName.ANTHROPIC),
    ],
)
async def test_an_upstream_naming_the_refused_key_in_its_error_code_does_not_leak_it(
    provider: ProviderName, tmp_path: Path
) -> None:
    key = "sk-cnry-named-7d3b"
    messages: list[str] = []
    for status in (400, 401, 429, 503):
        with EchoingUpstream(status, echo_in_code=True) as echo:
            base_url = f"{echo.url}/v1" if provider is ProviderName.OPENAI else echo.url
            container = container_for(
                tmp_path, ideaforge_allow_private_base_urls=True, ideaforge_encryption_keys=ENCRYPTION_ENTRY
            )
            try:
                credentials = ProviderCredentials(provider, api_key=SecretStr(key), base_url=base_url)
                result = await container.verify_credentials().execute(VerifyRequest(provider, credentials))
                messages.append(result.error or "")
            finally:
                await close(container)
    assert all(messages), messages
    assert not [m for m in messages if key in m], messages
