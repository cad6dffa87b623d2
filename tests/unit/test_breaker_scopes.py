"""`StepBreaker`: a credential's circuit and one model's under it, seen as one (issue 13, case 9).
Pure logic with an injected clock."""

from __future__ import annotations

import pytest

from ideaforge_gateway.adapters.http.errors import error_for_status
from ideaforge_gateway.application.breakers import Breakers, StepBreaker
from ideaforge_gateway.domain.errors import AuthenticationError, ModelNotFoundError, ProviderUnavailableError
from ideaforge_gateway.domain.models import ProviderName
from ideaforge_gateway.domain.policies.circuit_breaker import BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def pair(clock: Clock) -> tuple[Breakers, CircuitBreaker]:
    owner = Breakers(threshold=2, cooldown=10, clock=clock)
    return owner, CircuitBreaker(threshold=2, cooldown=10, clock=clock)


def test_model_scoped_failures_open_the_model_only() -> None:
    clock = Clock()
    owner, credential = pair(clock)
    broken = StepBreaker(credential, None, owner, "cred#broken")
    for _ in range(2):
        assert broken.allow()
        broken.record(ProviderUnavailableError("500", model_scoped=True))
    assert broken.state is BreakerState.OPEN and not broken.allow()
    assert credential.state is BreakerState.CLOSED
    again = StepBreaker(credential, owner._model("cred#broken"), owner, "cred#broken")
    assert not again.allow() and again.retry_in() == 10
    healthy = StepBreaker(credential, None, owner, "cred#healthy")
    assert healthy.allow() and healthy.state is BreakerState.CLOSED


def test_credential_scoped_failures_open_the_credential_for_every_model() -> None:
    clock = Clock()
    owner, credential = pair(clock)
    one = StepBreaker(credential, None, owner, "cred#one")
    for _ in range(2):
        one.record(ProviderUnavailableError("connection refused", looks_down=True))
    other = StepBreaker(credential, None, owner, "cred#other")
    assert not other.allow() and other.state is BreakerState.OPEN


def test_a_model_circuit_that_refuses_gives_back_the_credentials_probe() -> None:
    clock = Clock()
    owner, credential = pair(clock)
    for _ in range(2):
        credential.record_failure()
    model = owner._model("cred#m")
    assert model is not None
    for _ in range(2):
        model.record_failure()
    clock.now = 11.0  # both half-open
    model.allow()  # another request holds the model's probe
    assert not StepBreaker(credential, model, owner, "cred#m").allow()
    # The credential's probe was given back: a request for another model may probe it.
    assert StepBreaker(credential, None, owner, "cred#n").allow()


def test_failures_that_say_nothing_about_health_count_nowhere() -> None:
    clock = Clock()
    owner, credential = pair(clock)
    step = StepBreaker(credential, None, owner, "cred#x")
    for _ in range(5):
        step.record(AuthenticationError("401"))
        step.record(ModelNotFoundError("404"))
    assert step.state is BreakerState.CLOSED
    assert "cred#x" not in owner._models  # no model breaker was even made


def test_success_closes_both() -> None:
    clock = Clock()
    owner, credential = pair(clock)
    step = StepBreaker(credential, None, owner, "cred#y")
    step.record_failure(model_scoped=True)
    step.record_failure()
    step.record_success()
    step.record_failure(model_scoped=True)
    step.record_failure()
    assert step.state is BreakerState.CLOSED


@pytest.mark.parametrize(
    ("status", "code", "model_scoped"),
    [
        (500, "server_error", True),  # the model's own failure
        (529, "overloaded_error", True),
        (429, "rate_limit_exceeded", True),  # vendors limit rates per model
        (429, "insufficient_quota", False),  # billing: the whole account
        (307, None, False),  # a redirect: the base URL, so the credential
        (401, "invalid_api_key", False),
    ],
)
def test_which_answers_are_a_models_own_failure(status: int, code: str | None, model_scoped: bool) -> None:
    error = error_for_status(ProviderName.OPENAI, status, {}, what="chat completion", model="m", vendor_code=code)
    assert error.model_scoped is model_scoped
