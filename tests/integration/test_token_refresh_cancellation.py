"""A shared token refresh survives the cancellation of any of its waiters: only a cancelled caller
sees its cancellation, every other one gets the token, and the endpoint is asked once."""

from __future__ import annotations

import asyncio
import threading

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from ideaforge_gateway.adapters.ai_gateway.oauth2_client_credentials_token_source import (
    OAuth2ClientCredentialsTokenSource,
)
from ideaforge_gateway.adapters.http.client import HttpTimeouts, build_http_client
from ideaforge_gateway.adapters.http.transport import HttpTransport
from tests.support.fake_ai_gateway import FakeAIGateway


async def until(condition: object, what: str) -> None:
    """Wait for `condition()` (a state change on the server's thread), at most 10 s."""
    for _ in range(1000):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    waiters=st.integers(min_value=1, max_value=40),
    data=st.data(),
    cancel_while_the_endpoint_waits=st.booleans(),
    yield_between_cancellations=st.booleans(),
    late_waiter=st.booleans(),
)
def test_cancelled_waiters_never_cancel_the_shared_refresh(
    gateway: FakeAIGateway,
    waiters: int,
    data: st.DataObject,
    cancel_while_the_endpoint_waits: bool,
    yield_between_cancellations: bool,
    late_waiter: bool,
) -> None:
    cancelled = data.draw(st.lists(st.integers(0, waiters - 1), unique=True), label="cancelled, in order")

    async def scenario() -> None:
        gate = threading.Event()  # the token endpoint answers only once the test says so
        gateway.state.token_gate = gate
        before = gateway.state.token_requests
        http = HttpTransport(build_http_client(HttpTimeouts(connect=2.0, read=10.0)))
        source = OAuth2ClientCredentialsTokenSource(
            http,
            client_id=SecretStr(gateway.state.client_id),
            client_secret=SecretStr(gateway.state.client_secret),
            issuer_url=gateway.url,
            token_url=f"{gateway.url}/oauth/token",
        )
        try:
            tasks = [asyncio.create_task(source.token()) for _ in range(waiters)]
            await asyncio.sleep(0)  # every waiter is now waiting on the one refresh
            if cancel_while_the_endpoint_waits:
                await until(lambda: gateway.state.token_requests == before + 1, "the token request arrived")
            for index in cancelled:
                tasks[index].cancel()
                if yield_between_cancellations:
                    await asyncio.sleep(0)
            if late_waiter:
                tasks.append(asyncio.create_task(source.token()))
            gate.set()
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            cached = await source.token()
        finally:
            gate.set()
            await http.aclose()

        tokens = set()
        for index, outcome in enumerate(outcomes):
            if index in cancelled:
                assert isinstance(outcome, asyncio.CancelledError), outcome
            else:
                assert not isinstance(outcome, BaseException), outcome
                tokens.add(outcome.value.get_secret_value())
        assert len(tokens) <= 1
        # The refresh finished and was cached even if every waiter gave up: one request in all.
        assert tokens <= {cached.value.get_secret_value()}
        assert gateway.state.token_requests == before + 1

    asyncio.run(scenario())


async def test_a_caller_that_gives_up_leaves_the_refresh_to_the_next_caller(gateway: FakeAIGateway) -> None:
    # The shape of an attempt whose share of the deadline ran out: `asyncio.timeout` around it.
    gate = threading.Event()
    gateway.state.token_gate = gate
    http = HttpTransport(build_http_client(HttpTimeouts(connect=2.0, read=10.0)))
    source = OAuth2ClientCredentialsTokenSource(
        http,
        client_id=SecretStr(gateway.state.client_id),
        client_secret=SecretStr(gateway.state.client_secret),
        issuer_url=gateway.url,
    )
    try:
        first = asyncio.create_task(source.token())
        await until(lambda: gateway.state.token_requests == 1, "the token request arrived")
        first.cancel()
        second = asyncio.create_task(source.token())  # a new request, during the same refresh
        await asyncio.sleep(0)
        gate.set()
        token = await second
        assert token.value.get_secret_value() in gateway.state.issued
        assert first.cancelled() and gateway.state.token_requests == 1
    finally:
        gate.set()
        await http.aclose()
