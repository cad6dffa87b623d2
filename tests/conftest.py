"""Fixtures and markers for every test. No test may reach beyond loopback: a guard refuses it.

Markers are applied here, so none is forgotten (`--strict-markers` refuses unknown ones):
- `unit` (tests/unit: pure logic, fakes) or `integration` (everything else: real servers on
  loopback, real databases, the real CLI);
- `postgres`: uses the PostgreSQL fixture; `browser`: drives Chromium (`*_browser.py`);
- `slow`: everything in `SLOW_FOLDERS` or `SLOW_MODULES` (measured: a second or more per
  test), or marked by hand. The inner loop, `bash scripts/test --quick`, deselects slow, browser and postgres.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.postgres import PostgresServer, PostgresUnavailable

_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _is_loopback(host: object) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _check(address: Any) -> None:
    if isinstance(address, tuple) and not _is_loopback(address[0]):
        raise ConnectionRefusedError(f"tests may only reach loopback addresses, not {address[0]!r}")


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _is_loopback(host):
        raise socket.gaierror(socket.EAI_NONAME, f"tests may not resolve {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check(address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check(address)
    return _real_connect_ex(self, address)


SLOW_MODULES = frozenset({"tests/integration/http/test_schemathesis.py"})
"""Modules whose tests take seconds each (fuzzing), besides the slow folders."""
SLOW_FOLDERS = ("tests/e2e/", "tests/reliability/")
"""The real CLI, server, wheel and browser in subprocesses; the reliability suite."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = config.rootpath
    for item in items:
        where = item.path.relative_to(root).as_posix()
        item.add_marker(pytest.mark.unit if where.startswith("tests/unit/") else pytest.mark.integration)
        if "postgres_server" in getattr(item, "fixturenames", ()) or _on_postgres(item):
            item.add_marker(pytest.mark.postgres)
        if where.endswith("_browser.py"):
            item.add_marker(pytest.mark.browser)
        if where in SLOW_MODULES or where.startswith(SLOW_FOLDERS):
            item.add_marker(pytest.mark.slow)


def _on_postgres(item: pytest.Item) -> bool:
    """A test parametrized over the databases, in its PostgreSQL variant (the fixture that starts
    the server is requested at run time, so it is not among the item's fixture names)."""
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "postgresql" in callspec.params.values()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--write-report",
        action="store_true",
        help="write docs/reliability.md (tracked) from this run's reliability tests; without it nothing is written",
    )


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    yield


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One private PostgreSQL server for the whole run (or IDEAFORGE_TEST_POSTGRES_URL's)."""
    try:
        server = PostgresServer.from_environment()
    except PostgresUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    yield server
    server.stop()
