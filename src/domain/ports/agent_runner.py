from __future__ import annotations

from typing import Protocol, runtime_checkable

from ideaforge_gateway.domain.agents import AgentRunRequest, AgentRunResult, AgentRunStream


@runtime_checkable
class AgentRunner(Protocol):
    """Runs an agent whose model is the request's user's provider chain, for that user's tier.

    - `run` returns only a completed run. A run that ends in error (or is cancelled or paused)
      raises the `GatewayError` that ended it, with every attempt of the run attached; its error
      text is never returned as content.
    - `stream` returns at once; iterating its `text` runs the agent and yields text as the model
      writes it, then fills in the stream's provider, model, usage and attempts. Errors are
      raised from the iteration, as for `run`.
    - Fallback, retries and deadlines are the provider chain's; the runner adds none of its own.
    - Sends nothing anywhere but to the providers (no framework telemetry unless the operator
      turned it on), and never logs a secret.
    """

    async def run(self, request: AgentRunRequest) -> AgentRunResult: ...

    def stream(self, request: AgentRunRequest) -> AgentRunStream: ...
