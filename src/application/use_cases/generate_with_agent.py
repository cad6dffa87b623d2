from __future__ import annotations

from ideaforge_gateway.application.use_cases.generate_reply import GenerateReply, GenerateRequest
from ideaforge_gateway.domain.agents import AgentRunRequest, AgentRunResult, AgentRunStream
from ideaforge_gateway.domain.content import check_parts
from ideaforge_gateway.domain.errors import InvalidRequestError
from ideaforge_gateway.domain.models import ChatMessage, ContentPart
from ideaforge_gateway.domain.ports.agent_runner import AgentRunner


class GenerateWithAgent:
    """Answer a prompt with an agent whose model is the user's provider chain.

    - The chain is `GenerateReply`'s: the user's usable providers in priority order, AI Gateway
      first when enabled or configured by the user; if one fails, the next answers.
    - Each provider's model is the explicit `model`, else the user's default model for that
      provider when set, else its model for the `tier` (fast / standard / premium), else its
      default model.
    - A prompt that is empty, or a request no configured provider could serve, fails before any
      agent runs, with the same error a plain generation would give.
    - A run that ends in error is an error, never content: the error that ended it is raised,
      with every attempt of the run.
    """

    def __init__(self, runner: AgentRunner, reply: GenerateReply) -> None:
        self._runner = runner
        self._reply = reply

    async def execute(self, request: AgentRunRequest) -> AgentRunResult:
        await self.prepare(request)
        return await self._runner.run(request)

    async def prepare(self, request: AgentRunRequest) -> None:
        """Check the request, reading the user's stored credentials off the event loop: `execute`
        does it itself; an async caller of `stream` awaits it first."""
        plan = self._plan_request(request)
        await self._reply.prepare(plan)
        self._reply.plan(plan)

    def stream(self, request: AgentRunRequest) -> AgentRunStream:
        """The answer as it arrives; iterate `.text`, then read provider, usage and attempts."""
        self._reply.plan(self._plan_request(request))
        return self._runner.stream(request)

    def _plan_request(self, request: AgentRunRequest) -> GenerateRequest:
        if not request.prompt.strip():
            raise InvalidRequestError("the prompt is empty")
        images = tuple(ContentPart("image_url", url=url) for url in request.images)
        check_parts("user", images)  # a bad data: URI is a 400 before any agent runs
        return GenerateRequest(
            messages=[ChatMessage("user", request.prompt)],
            tier=request.tier,
            model=request.model,
            user_id=request.user_id,
        )
