"""The domain's value objects: providers, tiers, chat messages, requests, responses, models.

Plain frozen dataclasses: cheap to build on the request path, and free of any framework.
Credentials are `SecretStr` so that neither `repr` nor `str` can show them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Any, Literal

from pydantic import SecretStr


class ProviderName(StrEnum):
    """The providers, named the same everywhere: CLI, API and database."""

    AI_GATEWAY = "ai_gateway"
    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    GEMINI = "gemini"


class Tier(StrEnum):
    """How much model a task deserves."""

    FAST = "fast"
    STANDARD = "standard"
    PREMIUM = "premium"


Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call the model asked for; `arguments` is the JSON text the model wrote.

    `extra_content` is vendor state the call must carry back in history, unchanged, in the
    convention of Gemini's own OpenAI-compatible endpoint: `{"google": {"thought_signature": ...}}`.
    """

    id: str
    name: str
    arguments: str
    extra_content: Mapping[str, Any] | None = None


PartType = Literal["text", "image_url", "input_audio", "file"]


@dataclass(frozen=True, slots=True)
class ContentPart:
    """One part of a message's content, under OpenAI's part types and field names.

    - `text`: `text`.
    - `image_url`: `url` (an http(s) URL or a base64 `data:` URI), `detail` (`auto`, `low`, `high`).
    - `input_audio`: `data` (base64), `format` (`wav`, `mp3`).
    - `file`: `data` (OpenAI's `file_data`: a base64 `data:` URI, or bare base64), `file_id`,
      `filename`.
    Validated where it enters (`/v1`, `/api/generate`, the Agno models): `data:` URIs are base64
    with a media type. Each wire format forwards, translates or refuses each part by name.
    """

    type: PartType
    text: str | None = None
    url: str | None = None
    detail: str | None = None
    data: str | None = None
    format: str | None = None
    file_id: str | None = None
    filename: str | None = None


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a conversation, in the shape every vendor can be mapped to.

    An assistant message may carry `tool_calls`; a `tool` message answers one of them and names
    it with `tool_call_id`.
    """

    role: Role
    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    reasoning_content: str | None = None
    """An assistant message's reasoning text, as a reasoning model wrote it, sent back in history."""
    parts: tuple[ContentPart, ...] = ()
    """A user message's content, in order, when it holds more than text (images, audio, files);
    `content` is then None. Text-only content is always `content`, so text paths stay as cheap."""
    thinking_blocks: tuple[Mapping[str, Any], ...] = ()
    """Anthropic's signed `thinking` / `redacted_thinking` blocks of an assistant turn, as the
    vendor wrote them (LiteLLM's `thinking_blocks` convention): they must come back unchanged."""
    extra_content: Mapping[str, Any] | None = None
    """Vendor state of an assistant turn besides its tool calls (Gemini's text-part signature,
    `{"google": {"thought_signature": ...}}`), to come back unchanged."""


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A function the model may call: its name, description and JSON Schema of parameters."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None
    """OpenAI's `strict`: the call's arguments must follow `parameters` exactly (None: not said)."""


@dataclass(frozen=True, slots=True)
class ChatOptions:
    """Every parameter a caller sent with a conversation, besides the model and the messages.

    One object travels unchanged from the entrypoint (the `/v1` body, an Agno model's settings)
    through the use case to the wire format, so no layer re-lists fields and none can drop one.
    Typed where the product acts on it; `extra` keeps every other parameter as given, under
    OpenAI's names, for each wire format to forward, translate or refuse.
    """

    tools: Sequence[ToolSpec] = ()
    tool_choice: str | Mapping[str, Any] | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    stop: Sequence[str] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


NO_OPTIONS = ChatOptions()


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What to ask a model. `model` is a concrete model id, already resolved from any tier."""

    model: str
    messages: Sequence[ChatMessage]
    options: ChatOptions = NO_OPTIONS


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the provider reported them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    details: Mapping[str, Any] | None = None
    """Usage fields beyond the three counts, as an OpenAI-compatible upstream sent them
    (`prompt_tokens_details`, `completion_tokens_details`, ...); passed on to `/v1` clients."""

    def __add__(self, other: Usage) -> Usage:
        """The counts summed; `details` (per-answer breakdowns, not summable in general) are left out."""
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total_tokens + other.total_tokens,
        )


@dataclass(frozen=True, slots=True)
class Choice:
    """One answer of several (OpenAI's `n`), numbered by `index` as the upstream numbered it."""

    index: int
    content: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    reasoning_content: str | None = None
    thinking_blocks: tuple[Mapping[str, Any], ...] = ()
    """As `ChatMessage.thinking_blocks`."""
    extra_content: Mapping[str, Any] | None = None
    """As `ChatMessage.extra_content`."""
    extra: Mapping[str, Any] | None = None
    """The choice's fields the gateway does not interpret (`logprobs`), exactly as sent."""
    message_extra: Mapping[str, Any] | None = None
    """The message's fields the gateway does not interpret (`refusal`, `annotations`, `audio`), as sent."""


@dataclass(frozen=True, slots=True)
class ChatResponse:
    """A whole answer from one provider."""

    provider: ProviderName
    model: str
    content: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    usage: Usage | None = None
    response_id: str | None = None
    reasoning_content: str | None = None
    """The model's reasoning text, when the upstream gives it (`reasoning_content`)."""
    thinking_blocks: tuple[Mapping[str, Any], ...] = ()
    """As `ChatMessage.thinking_blocks`: what the next turn must send back."""
    extra_content: Mapping[str, Any] | None = None
    """As `ChatMessage.extra_content`."""
    choices: tuple[Choice, ...] = ()
    """Every choice of the answer, when a format gives them (several, or with fields the gateway
    does not interpret); the first is the one the fields above describe. Empty: just that one."""
    extra: Mapping[str, Any] | None = None
    """The answer's top-level fields the gateway does not interpret (`system_fingerprint`,
    `service_tier`, ...), exactly as an OpenAI-compatible upstream sent them."""

    def all_choices(self) -> tuple[Choice, ...]:
        """Every choice, the first built from this answer's own fields when no format gave more."""
        if self.choices:
            return self.choices
        return (
            Choice(
                0,
                self.content,
                self.tool_calls,
                self.finish_reason,
                self.reasoning_content,
                thinking_blocks=self.thinking_blocks,
                extra_content=self.extra_content,
            ),
        )


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A fragment of a streamed tool call; fragments with the same `index` belong together."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""
    extra_content: Mapping[str, Any] | None = None
    """As `ToolCall.extra_content`, on the fragment that carries it."""


@dataclass(frozen=True, slots=True)
class StreamDelta:
    """One piece of a streamed answer: text, tool-call fragments, a finish reason or usage, of
    the choice numbered `index` (0 unless several were asked for). The `*_extra` mappings hold,
    exactly as an OpenAI-compatible upstream sent them, the fields the gateway does not interpret:
    of the chunk (`system_fingerprint`), of its choice (`logprobs`), of the delta (`refusal`)."""

    content: str | None = None
    tool_calls: tuple[ToolCallDelta, ...] = ()
    finish_reason: str | None = None
    usage: Usage | None = None
    model: str | None = None
    reasoning_content: str | None = None
    thinking_blocks: tuple[Mapping[str, Any], ...] = ()
    """Whole signed thinking blocks, each sent once when complete (its text streamed before as
    `reasoning_content`); a client appends them in order."""
    extra_content: Mapping[str, Any] | None = None
    """Message-level vendor state (as `ChatMessage.extra_content`); a later one replaces it."""
    index: int = 0
    chunk_extra: Mapping[str, Any] | None = None
    choice_extra: Mapping[str, Any] | None = None
    delta_extra: Mapping[str, Any] | None = None

    @property
    def has_content(self) -> bool:
        """Whether this delta carries something the caller will show or act on (a `refusal`, say;
        not the `null`s an upstream may send for fields it leaves empty)."""
        return (
            bool(self.content)
            or bool(self.tool_calls)
            or bool(self.reasoning_content)
            or bool(self.thinking_blocks)
            or self.extra_content is not None
            or _any_value(self.delta_extra)
            or _any_value(self.choice_extra)
        )

    def joins(self, other: StreamDelta) -> bool:
        """Whether `other` may be joined onto this delta as one: both are text of the same choice
        and model, with the same fields beyond text (`null`s only, in choice and delta), so the
        joined delta loses nothing but the split."""
        return (
            self.index == other.index
            and self.model == other.model
            and self._text_only()
            and other._text_only()
            and self.chunk_extra == other.chunk_extra
            and self.choice_extra == other.choice_extra
            and self.delta_extra == other.delta_extra
        )

    def _text_only(self) -> bool:
        return (
            not self.tool_calls
            and self.finish_reason is None
            and self.usage is None
            and self.reasoning_content is None
            and not self.thinking_blocks
            and self.extra_content is None
            and not _any_value(self.choice_extra)
            and not _any_value(self.delta_extra)
        )


def _any_value(extra: Mapping[str, Any] | None) -> bool:
    return extra is not None and any(v is not None for v in extra.values())


class Classification(IntEnum):
    """How an AI Gateway instance's catalog classifies a model's provider: 0-3, shown to people
    by name. A higher number is a stricter class (the catalog's own order)."""

    GREEN = 0
    YELLOW = 1
    RED = 2
    PURPLE = 3

    @property
    def label(self) -> str:
        return self.name.capitalize()

    @classmethod
    def parse(cls, value: str | int) -> Classification:
        """`0`-`3` or a name (`green`, `Red`, ...); a `ValueError` naming the choices otherwise."""
        text = str(value).strip()
        if text.isdigit() and int(text) in {c.value for c in cls}:
            return cls(int(text))
        if text.upper() in cls.__members__:
            return cls[text.upper()]
        raise ValueError(f"must be 0-3 or one of {', '.join(c.label for c in cls)}, not {text!r}")


MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """What a model costs, in US dollars per million tokens, as the AI Gateway's catalog says:
    `input` per million prompt tokens, `output` per million completion tokens. Decimal, so that
    sums over many requests do not drift."""

    input: Decimal
    output: Decimal

    def cost(self, usage: Usage) -> Decimal:
        """US dollars for one request's `usage` at this price."""
        return (self.input * usage.prompt_tokens + self.output * usage.completion_tokens) / MILLION


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A model a provider offers; `price` and `classification` when the AI Gateway's catalog
    lists it (None otherwise: a vendor's own list says neither)."""

    id: str
    provider: ProviderName
    owned_by: str | None = None
    price: ModelPrice | None = None
    classification: Classification | None = None


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A bearer token and the monotonic time after which it must not be used any more.

    `refresh_at` is when a new one should be fetched; until `expires_at` this one may still be
    used if fetching the new one fails.
    """

    value: SecretStr
    expires_at: float
    refresh_at: float


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try at one provider, as the result of a generation records it."""

    provider: ProviderName
    model: str
    outcome: str
    """`ok`, or the error kind (`unavailable`, `rate_limited`, ...)."""
    latency_ms: float
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Generation:
    """A whole answer and how it was obtained."""

    response: ChatResponse
    attempts: tuple[Attempt, ...]
