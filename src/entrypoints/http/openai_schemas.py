"""OpenAI's chat-completions request, as `/v1` accepts it, mapped to the domain."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ideaforge_gateway.domain.errors import InvalidRequestError
from ideaforge_gateway.domain.models import ChatMessage, ChatOptions, ToolCall, ToolSpec

MAX_MESSAGES = 2_000


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class FunctionCall(_Open):
    name: str
    arguments: str = ""


class ToolCallIn(_Open):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall
    extra_content: dict[str, Any] | None = None
    """Vendor state the call carries back (Gemini's `{"google": {"thought_signature": ...}}`)."""


class ContentPart(_Open):
    type: str
    text: str | None = None


class MessageIn(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None
    reasoning_content: str | None = None
    thinking_blocks: list[dict[str, Any]] | None = Field(default=None, max_length=256)
    """Anthropic's signed thinking blocks of an assistant turn, as the gateway answered them."""
    extra_content: dict[str, Any] | None = None

    def to_domain(self) -> ChatMessage:
        role = "system" if self.role == "developer" else self.role
        calls = tuple(
            ToolCall(c.id, c.function.name, c.function.arguments, extra_content=c.extra_content)
            for c in self.tool_calls or ()
        )
        return ChatMessage(
            role=role,
            content=_text(self.content),
            tool_calls=calls,
            tool_call_id=self.tool_call_id,
            name=self.name,
            reasoning_content=self.reasoning_content,
            thinking_blocks=tuple(self.thinking_blocks or ()),
            extra_content=self.extra_content,
        )


class FunctionSpec(_Open):
    name: str = Field(min_length=1, max_length=128)
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None


class ToolIn(_Open):
    type: Literal["function"] = "function"
    function: FunctionSpec


class StreamOptions(_Open):
    include_usage: bool = False


class ChatCompletionBody(_Open):
    model: str = Field(min_length=1, max_length=200)
    messages: list[MessageIn] = Field(min_length=1, max_length=MAX_MESSAGES)
    tools: list[ToolIn] | None = Field(default=None, max_length=256)
    tool_choice: str | dict[str, Any] | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None

    @model_validator(mode="after")
    def _encodable(self) -> ChatCompletionBody:
        """Refuse what no upstream could be sent: lone surrogates, NaN or infinite numbers."""
        try:
            json.dumps(self.model_dump(), allow_nan=False, ensure_ascii=False).encode()
        except (ValueError, UnicodeEncodeError):
            raise ValueError("the body holds text that is not valid Unicode, or a NaN or infinite number") from None
        return self

    def options(self) -> ChatOptions:
        """Every parameter of the body but the model, the messages and the streaming switches
        (which the route acts on): the typed ones the product acts on, the rest as sent."""
        return ChatOptions(
            tools=self.tools_domain(),
            tool_choice=self.tool_choice,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            stop=self.stop_list(),
            # `max_completion_tokens` is its own parameter: reasoning models refuse `max_tokens`.
            extra=dict(self.model_extra or {})
            | ({"max_completion_tokens": self.max_completion_tokens} if self.max_completion_tokens else {}),
        )

    def messages_domain(self) -> list[ChatMessage]:
        return [m.to_domain() for m in self.messages]

    def tools_domain(self) -> list[ToolSpec]:
        return [
            ToolSpec(t.function.name, t.function.description, t.function.parameters, strict=t.function.strict)
            for t in self.tools or ()
        ]

    def stop_list(self) -> list[str] | None:
        return [self.stop] if isinstance(self.stop, str) else self.stop


def _text(content: str | list[ContentPart] | None) -> str | None:
    if content is None or isinstance(content, str):
        return content
    parts = []
    for part in content:
        if part.type != "text" or part.text is None:
            raise InvalidRequestError(f"content parts of type {part.type!r} are not supported; send text")
        parts.append(part.text)
    return "".join(parts)
