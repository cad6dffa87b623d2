"""Properties of configuration parsing and of the command line.

- Settings from the environment (provider order, URLs, booleans, attempts) either parse to what
  the variables say or fail with a validation error naming the variable.
- `KeyRing.parse` (IDEAFORGE_ENCRYPTION_KEYS) accepts exactly well-formed rings and never shows a
  key in its error.
- Random argv for every `ideaforge` subcommand exits 0, 1 or 2, never with a traceback, and says
  what went wrong; a few real subprocesses check the same from the outside.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from typer.testing import CliRunner

from devkit.report import Report, Section
from ideaforge_gateway.adapters.crypto.aesgcm_cipher import KeyRing
from ideaforge_gateway.domain.errors import ConfigurationError
from ideaforge_gateway.domain.models import ProviderName
from ideaforge_gateway.entrypoints.cli.app import app
from ideaforge_gateway.entrypoints.settings import Settings
from tests.support.cli import run_cli

PREFIXES = ("AI_GATEWAY_", "OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "IDEAFORGE_")
TRUE = {"1", "on", "t", "true", "y", "yes"}
FALSE = {"0", "off", "f", "false", "n", "no"}
NAMES = [p.value for p in ProviderName]
FAST = settings(max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


@pytest.fixture
def table(report: Report) -> Section:
    return report.section("bad-input", "Bad input: properties, fuzzing, stateful", header=["check", "cases", "result"])


def _cased(word: str) -> st.SearchStrategy[str]:
    return st.sampled_from([word, word.upper(), word.capitalize()])


_junk = st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=8)


def _mostly(valid: st.SearchStrategy[str], invalid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Valid five times in six, so that examples with every variable valid are common too."""
    return st.one_of(*([valid] * 5), invalid)


_bools = _mostly(st.sampled_from(sorted(TRUE | FALSE)).flatmap(_cased), _junk)
_urls = _mostly(
    st.tuples(
        st.sampled_from(["https://", "http://"]), st.from_regex(r"[a-z0-9.-]{1,12}(:[0-9]{1,4})?/{0,2}", fullmatch=True)
    ).map("".join),
    st.tuples(st.sampled_from(["HTTPS://", "ftp://", "", "https:/", "http//"]), _junk).map("".join),
)
_orders = _mostly(
    st.permutations(NAMES)
    .flatmap(lambda names: st.integers(1, len(names)).map(lambda n: names[:n]))
    .flatmap(lambda names: st.sampled_from([",", ", ", " ,"]).map(lambda sep: sep.join(names))),
    st.lists(st.sampled_from([*NAMES, "OpenAI", "nope", "", " "]), max_size=5).map(lambda names: ",".join(names)),
)
_attempts = _mostly(st.integers(1, 10).map(str), st.integers(-3, 0).map(str) | st.integers(11, 99).map(str) | _junk)


def expected_bool(text: str) -> bool | None:
    return True if text.lower() in TRUE else False if text.lower() in FALSE else None


def expected_url(text: str) -> str | None:
    """An http(s) URL with a host and a port that parses (the scheme in any case, as RFC 3986),
    and no user name or password."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return None
    ok = parts.scheme in ("http", "https") and parts.hostname and parts.username is None and parts.password is None
    return text.rstrip("/") if ok else None


def expected_order(text: str) -> tuple[str, ...] | None:
    names = [part.strip() for part in text.split(",") if part.strip()]
    ok = names and all(n in NAMES for n in names) and len(set(names)) == len(names)
    return tuple(names) if ok else None


def expected_attempts(text: str) -> int | None:
    return int(text) if re.fullmatch(r"-?\d+", text) and 1 <= int(text) <= 10 else None


@pytest.mark.usefixtures("clean_environment")
def test_settings_from_the_environment_parse_or_name_the_variable(table: Section) -> None:
    seen = {"valid": 0, "invalid": 0}

    @given(enabled=_bools, private=_bools, base_url=_urls, openai_url=_urls, order=_orders, attempts=_attempts)
    @FAST
    def check(enabled: str, private: str, base_url: str, openai_url: str, order: str, attempts: str) -> None:
        env = {
            "AI_GATEWAY_ENABLED": enabled,
            "IDEAFORGE_ALLOW_PRIVATE_BASE_URLS": private,
            "AI_GATEWAY_BASE_URL": base_url,
            "OPENAI_BASE_URL": openai_url,
            "IDEAFORGE_PROVIDER_ORDER": order,
            "IDEAFORGE_ATTEMPTS_PER_PROVIDER": attempts,
        }
        oracle = {
            "ai_gateway_enabled": expected_bool(enabled),
            "ideaforge_allow_private_base_urls": expected_bool(private),
            "ai_gateway_base_url": expected_url(base_url),
            "openai_base_url": expected_url(openai_url),
            "ideaforge_provider_order": expected_order(order),
            "ideaforge_attempts_per_provider": expected_attempts(attempts),
        }
        with mock.patch.dict(os.environ, env):
            try:
                parsed = Settings()
            except ValidationError as exc:
                wrong = {str(error["loc"][0]) for error in exc.errors()}
                assert wrong == {name for name, value in oracle.items() if value is None}, (env, exc)
                seen["invalid"] += 1
                return
        assert None not in oracle.values(), (env, "accepted")
        assert parsed.ai_gateway_enabled is oracle["ai_gateway_enabled"]
        assert parsed.ideaforge_allow_private_base_urls is oracle["ideaforge_allow_private_base_urls"]
        assert (parsed.ai_gateway_base_url, parsed.openai_base_url) == (
            oracle["ai_gateway_base_url"],
            oracle["openai_base_url"],
        )
        assert tuple(p.value for p in parsed.provider_order) == oracle["ideaforge_provider_order"]
        assert parsed.ideaforge_attempts_per_provider == oracle["ideaforge_attempts_per_provider"]
        seen["valid"] += 1

    check()
    table.add(
        "Settings from the environment: booleans, base URLs, provider order, attempts (hypothesis)",
        seen["valid"] + seen["invalid"],
        f"{seen['valid']} parsed as the oracle says, {seen['invalid']} refused naming exactly the bad variables",
    )


_kid = st.from_regex(r"[A-Za-z0-9_-]{1,32}", fullmatch=True)
_key = st.binary(min_size=32, max_size=32).map(lambda b: base64.b64encode(b).decode())
_entry = st.one_of(
    st.tuples(st.just("valid"), _kid, _key),
    st.tuples(
        st.just("short key"),
        _kid,
        st.binary(min_size=1, max_size=48).filter(lambda b: len(b) != 32).map(lambda b: base64.b64encode(b).decode()),
    ),
    st.tuples(st.just("bad kid"), st.from_regex(r"[A-Za-z0-9_-]{0,3}[!.@/+=][A-Za-z0-9]{0,3}", fullmatch=True), _key),
    st.tuples(st.just("bad base64"), _kid, st.just("not*base64")),
    st.tuples(st.just("reversed"), _key, _kid),
    st.tuples(st.just("no colon"), _key, st.just("")),
)


@given(entries=st.lists(_entry, max_size=4), separator=st.sampled_from([",", " ", ", ", "\n", " ,\t"]))
@FAST
def test_keyring_parse_accepts_exactly_well_formed_rings(entries: list[tuple[str, str, str]], separator: str) -> None:
    text = separator.join(f"{a}:{b}" if kind != "no colon" else a for kind, a, b in entries)
    kids = [a for kind, a, _ in entries if kind == "valid"]
    valid = bool(entries) and all(kind == "valid" for kind, _, _ in entries) and len(set(kids)) == len(kids)
    try:
        ring = KeyRing.parse(text)
    except ConfigurationError as exc:
        assert not valid, text
        message = str(exc)
        assert message.startswith("IDEAFORGE_ENCRYPTION_KEYS"), message
        for kind, a, b in entries:
            key = a if kind in ("reversed", "no colon") else b
            if len(key) >= 16:
                assert key not in message, "a key in the error message"
        return
    assert valid, f"accepted {text!r}"
    assert ring.kids == tuple(kids) and ring.primary_kid == kids[0]
    for _, kid, key in entries:
        assert ring.key(kid) == base64.b64decode(key)


@given(text=st.text(max_size=80))
@FAST
def test_keyring_parse_of_any_text_is_a_ring_or_a_configuration_error(text: str) -> None:
    with contextlib.suppress(ConfigurationError):
        KeyRing.parse(text)


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("IDEAFORGE_HTTP_READ_TIMEOUT", "0"),
        ("IDEAFORGE_HTTP_READ_TIMEOUT", "-1"),
        ("IDEAFORGE_HTTP_CONNECT_TIMEOUT", "nan"),
        ("IDEAFORGE_DEADLINE_SECONDS", "inf"),
    ],
)
def test_a_timeout_must_be_positive_and_finite(variable: str, value: str) -> None:
    with mock.patch.dict(os.environ, {variable: value}), pytest.raises(ValidationError):
        Settings()


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize("url", ["http://[::1", "https://gateway.example:99999", "https://"])
def test_an_unparseable_operator_base_url_is_a_configuration_error(url: str) -> None:
    with mock.patch.dict(os.environ, {"AI_GATEWAY_BASE_URL": url}), pytest.raises(ValidationError):
        Settings()


# The command line, in process.
_name = st.sampled_from(["alice", "bob", "a b", "é", "x" * 70, ""])
_provider = _mostly(st.sampled_from(NAMES), st.sampled_from(["nope", "OPENAI", ""]))
_url = st.sampled_from(["http://127.0.0.1:9", "https://127.0.0.1:9", "ftp://x", "https://[::1", "", "not a url"])
OPTIONS: dict[str, st.SearchStrategy[str]] = {
    "--user": _name,
    "--tier": _mostly(st.sampled_from(["fast", "standard", "premium"]), _junk),
    "--model": st.sampled_from(["gpt-4o", "claude-sonnet-4-5", "gemini-2.5-pro", "", "x" * 300]),
    "--provider": _provider,
    "--client-id": st.sampled_from(["cid", "", " "]),
    "--api-key": st.sampled_from(["sk-x", ""]),
    "--base-url": _url,
    "--token-url": _url,
    "--url": _url,
    "--default-model": st.sampled_from(["gpt-4o", ""]),
    "--auth-method": st.sampled_from(["client_secret_basic", "client_secret_post", "static_key", "carrier-pigeon"]),
    "--scope": _junk,
    "--system": _junk,
    "--kid": st.sampled_from(["k1", "k-2_x"]),  # an invalid key id is a finding of its own (below)
    "--log-level": st.sampled_from(["warning", "error", "loud"]),
    "--port": st.sampled_from(["0", "70000", "x"]),
    "--nope": _junk,
}
FLAGS = ["--json", "--verify", "--stream", "--catalog", "--help", "-x"]
OPTIONS |= {flag: st.just("") for flag in FLAGS}
POSITIONAL: dict[tuple[str, ...], st.SearchStrategy[str]] = {
    ("users", "create"): _name,
    ("users", "revoke"): _name,
    ("providers", "verify"): _provider,
    ("providers", "configure"): _provider,
    ("providers", "remove"): _provider,
    ("providers", "disable"): _provider,
    ("providers", "enable"): _provider,
    ("generate",): st.sampled_from(["hello", "", "--"]),
}
COMMANDS = [
    ("users", "create"),
    ("users", "list"),
    ("users", "revoke"),
    ("providers", "verify"),
    ("providers", "configure"),
    ("providers", "list"),
    ("providers", "health"),
    ("providers", "remove"),
    ("providers", "disable"),
    ("providers", "enable"),
    ("models",),
    ("generate",),
    ("keys", "generate"),
    ("keys", "rotate"),
    ("users",),
    ("providers",),
    ("keys",),
    (),
    ("nope",),
]


ALLOWED: dict[tuple[str, ...], list[str]] = {
    ("users", "create"): ["--json"],
    ("users", "list"): ["--json"],
    ("providers", "verify"): ["--user", "--json"],
    ("providers", "configure"): [
        "--user",
        "--client-id",
        "--api-key",
        "--base-url",
        "--default-model",
        "--token-url",
        "--auth-method",
        "--scope",
        "--verify",
        "--json",
    ],
    ("providers", "list"): ["--user", "--json"],
    ("providers", "health"): ["--url", "--json"],
    ("providers", "remove"): ["--user"],
    ("providers", "disable"): ["--user"],
    ("providers", "enable"): ["--user"],
    ("models",): ["--provider", "--user", "--catalog", "--json"],
    ("generate",): ["--tier", "--model", "--system", "--user", "--stream", "--json"],
    ("keys", "generate"): ["--kid"],
    ("keys", "rotate"): ["--json"],
}
"""`serve` is left out: a valid port would start serving. It is checked below, in a subprocess."""


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    """Mostly well-formed: the command's own options with plausible values; sometimes not."""
    command = draw(st.sampled_from(COMMANDS))
    argv = ["--log-level", draw(OPTIONS["--log-level"])] if draw(st.integers(0, 5)) == 0 else []
    argv += command
    if command in POSITIONAL and draw(st.integers(0, 5)):
        argv.append(draw(POSITIONAL[command]))
    own = ALLOWED.get(command, [])
    pool = own if own and draw(st.integers(0, 5)) else [*sorted(OPTIONS), *FLAGS]
    for option in draw(st.lists(st.sampled_from(pool), max_size=4, unique=True)):
        argv += [option] if option in FLAGS else [option, draw(OPTIONS[option])]
    if draw(st.integers(0, 9)) == 0:
        argv.insert(draw(st.integers(0, len(argv))), draw(_junk))
    return argv


@pytest.mark.usefixtures("clean_environment")
def test_random_command_lines_exit_0_1_or_2_with_a_clear_message(tmp_path: Path, table: Section) -> None:
    runner = CliRunner()
    env = {
        "IDEAFORGE_DATA_DIR": str(tmp_path / "data"),
        "OPENAI_API_KEY": "sk-x",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
    }
    codes: dict[int, int] = {}

    @given(argv=command_lines(), stdin=st.sampled_from(["sk-secret", "", "secret with spaces"]))
    @settings(max_examples=80, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(argv: list[str], stdin: str) -> None:
        result = runner.invoke(app, argv, env=env, input=stdin + "\n")
        codes[result.exit_code] = codes.get(result.exit_code, 0) + 1
        output = result.stdout + result.stderr
        assert result.exception is None or isinstance(result.exception, SystemExit), (argv, result.exc_info)
        assert result.exit_code in (0, 1, 2), (argv, output)
        assert "Traceback" not in output, (argv, output)
        if result.exit_code == 1:
            # One error line; a warning the command gave first (a key on the command line) may precede it.
            lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("warning: ")]
            if "--json" in argv and not lines:
                json.loads(result.stdout)  # the error as one JSON document
            else:
                assert len(lines) == 1 and lines[0].startswith("error: "), (argv, output)
        if result.exit_code == 2:
            assert result.stderr.startswith(("Usage:", "error: ")) or "Usage:" in result.stdout, (argv, output)

    check()
    summary = ", ".join(f"exit {code}: {n}" for code, n in sorted(codes.items()))
    table.add("random `ideaforge` command lines, in process (hypothesis)", sum(codes.values()), summary)


def test_an_invalid_key_id_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["keys", "generate", "--kid", "bad kid!"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert result.exit_code == 2 and result.stderr.startswith("error: "), result.output


SUBPROCESS = [
    ("port 0", ("serve", "--port", "0"), {}, 2, "Invalid value"),
    ("no workers", ("serve", "--workers", "0"), {}, 2, "Invalid value"),
    ("unknown provider", ("providers", "configure", "nope", "--user", "a"), {}, 2, "Invalid value"),
    ("missing prompt", ("generate",), {}, 2, "Missing argument"),
    (
        "bad provider order",
        ("users", "list"),
        {"IDEAFORGE_PROVIDER_ORDER": "bogus"},
        2,
        "error: invalid configuration: IDEAFORGE_PROVIDER_ORDER",
    ),
    (
        "reversed encryption key entry",
        ("users", "list"),
        {"IDEAFORGE_ENCRYPTION_KEYS": "REVERSED:k1"},
        1,
        "error: IDEAFORGE_ENCRYPTION_KEYS",
    ),
    (
        "bad base URL",
        ("models",),
        {"AI_GATEWAY_BASE_URL": "ftp://x"},
        2,
        "error: invalid configuration: AI_GATEWAY_BASE_URL",
    ),
]


@pytest.fixture
def subprocess_results(tmp_path: Path) -> Iterator[list[tuple[str, int, str, str]]]:
    key = base64.b64encode(os.urandom(32)).decode()

    def one(case: tuple[str, tuple[str, ...], dict[str, str], int, str]) -> tuple[str, int, str, str]:
        what, args, env, _, _ = case
        env = {k: v.replace("REVERSED", key) for k, v in env.items()}
        result = run_cli(*args, env={"IDEAFORGE_DATA_DIR": str(tmp_path / "data"), **env}, cwd=tmp_path, timeout=60)
        return (
            what,
            result.code,
            result.stdout,
            result.stderr.replace(key, "<KEY>") + ("KEY LEAKED" if key in result.output else ""),
        )

    with ThreadPoolExecutor(3) as pool:
        yield list(pool.map(one, SUBPROCESS))


def test_real_subprocesses_fail_with_one_clear_line(
    subprocess_results: list[tuple[str, int, str, str]], table: Section
) -> None:
    for (what, code, _stdout, stderr), (_, args, _, expected, says) in zip(subprocess_results, SUBPROCESS, strict=True):
        table.add(f"`ideaforge {' '.join(args)}`: {what} (real process)", 1, f"exit {code}")
        assert code == expected, (what, stderr)
        assert "Traceback" not in stderr and "KEY LEAKED" not in stderr, (what, stderr)
        assert says in stderr, (what, stderr)
        if expected == 1 or says.startswith("error:"):
            assert len([line for line in stderr.splitlines() if line.strip()]) == 1, (what, stderr)
