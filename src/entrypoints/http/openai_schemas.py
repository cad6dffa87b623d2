"""OpenAI's chat-completions request, as `/v1` accepts it, mapped to the domain."""

from __future__ import annotations

import json
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ideaforge_gateway.domain.content import check_parts
from ideaforge_gateway.domain.errors import InvalidRequestError
from ideaforge_gateway.domain.models import ChatMessage, ChatOptions, ToolCall, ToolSpec
from ideaforge_gateway.domain.models import ContentPart as Part

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


class ImageUrlIn(_Open):
    url: str
    detail: str | None = None


class InputAudioIn(_Open):
    data: str
    format: str


class FileIn(_Open):
    file_data: str | None = None
    file_id: str | None = None
    filename: str | None = None


class ContentPart(_Open):
    type: str
    text: str | None = None
    image_url: ImageUrlIn | str | None = None
    input_audio: InputAudioIn | None = None
    file: FileIn | None = None


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
        content, parts = self.content, cast("tuple[Part, ...]", ())
        if content is not None and not isinstance(content, str):
            content, parts = _content(role, content)
        return ChatMessage(
            role=role,
            content=content,
            tool_calls=calls,
            tool_call_id=self.tool_call_id,
            name=self.name,
            reasoning_content=self.reasoning_content,
            parts=parts,
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


def _content(role: str, content: list[ContentPart]) -> tuple[str | None, tuple[Part, ...]]:
    """A list of parts as the message's text, or, when it holds more than text, as its parts in
    order (checked by `check_parts`). Text-only part lists are joined, as before, unless a part
    carries a field besides its text (`cache_control`, say): the parts path refuses it by name."""
    if all(part.type == "text" and not part.model_extra for part in content):
        return "".join(_part_text(part) for part in content), ()
    parts = tuple(_part(part) for part in content)
    check_parts(role, parts)
    return None, parts


def _refuse_unknown_fields(part: ContentPart) -> None:
    inner = getattr(part, part.type, None)
    for model, where in ((part, ""), (inner, f"{part.type}.")):
        extra = model.model_extra if isinstance(model, _Open) else None
        if extra:
            field = f"{where}{sorted(extra)[0]}"
            raise InvalidRequestError(f"a content part of type {part.type!r} has the unknown field {field!r}")


def _part_text(part: ContentPart) -> str:
    if part.text is None:
        raise InvalidRequestError("a content part of type 'text' has no text")
    return part.text


def _part(part: ContentPart) -> Part:
    """One OpenAI content part as the domain's; an unknown type, a part without its object, or
    a field the domain has no place for (never dropped in silence), is a 400 naming it."""
    if part.type not in ("text", "image_url", "input_audio", "file"):
        raise InvalidRequestError(
            f"content parts of type {part.type!r} are not supported; send text, image_url, input_audio or file"
        )
    _refuse_unknown_fields(part)
    if part.type == "text":
        return Part("text", text=_part_text(part))
    if part.type == "image_url" and part.image_url is not None:
        image = part.image_url
        # Some clients still send the older `"image_url": "<url>"`; it means the same.
        return (
            Part("image_url", url=image)
            if isinstance(image, str)
            else Part("image_url", url=image.url, detail=image.detail)
        )
    if part.type == "input_audio" and part.input_audio is not None:
        return Part("input_audio", data=part.input_audio.data, format=part.input_audio.format)
    if part.type == "file" and part.file is not None:
        f = part.file
        return Part("file", data=f.file_data, file_id=f.file_id, filename=f.filename)
    raise InvalidRequestError(f"a content part of type {part.type!r} has no {part.type!r} object")
