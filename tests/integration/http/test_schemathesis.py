"""Schemathesis against the app's own OpenAPI schema, through real HTTP: no 5xx, no answer that
breaks the schema, no undocumented status."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from tests.integration.http.conftest import bearer
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.live_server import LiveServer


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    with FakeAIGateway() as gateway:
        container = container_for(
            Path(tmp_path_factory.mktemp("schemathesis")),
            ai_gateway_client_id=gateway.state.client_id,
            ai_gateway_client_secret=gateway.state.client_secret,
            ai_gateway_base_url=gateway.url,
            ai_gateway_enabled=True,
            ideaforge_deadline_seconds=5.0,
        )
        with LiveServer(container) as server:
            yield server, server.create_user("fuzzer")


def test_no_server_errors_and_no_schema_violations(live: tuple[LiveServer, str]) -> None:
    # Each operation drives its own hypothesis run (schemathesis' pytest plugin does not load
    # under this pytest, so the loop is written out).
    server, _ = live
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9
    for number, operation in enumerate(operations):
        # A user of its own per operation: keys fuzzed into /configure (real vendors' URLs, which
        # tests cannot reach) must not turn another operation's answers into upstream 503s.
        token = server.create_user(f"fuzzer-{number}")

        fuzz(operation, token)


def fuzz(operation: Any, token: str) -> None:
    """One hypothesis run over `operation`, as `token`'s user."""

    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: schemathesis.Case) -> None:
        # Rules the schema cannot state (the AI Gateway needs a client id with its secret, a
        # body must configure something) are answered with a 400 and a message: right, but
        # "schema-valid data rejected" to this check, so it is the one left out.
        case.call_and_validate(headers=bearer(token), timeout=30, excluded_checks=[positive_data_acceptance])

    check()
