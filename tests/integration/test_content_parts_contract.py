"""Issue 13, case 7, per wire format: each kind of content part is forwarded as given
(OpenAI-compatible), translated (checked in the body the loopback upstream received, which checks
it as the vendor would), or refused before anything is sent, with a 400-class error naming the
part type and the provider that the chain skips. One case per content-part row of the README's
parameter table."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from ideaforge_gateway.adapters.content_parts import openai_part
from ideaforge_gateway.adapters.http.transport import HttpTransport
from ideaforge_gateway.domain.errors import UnsupportedParameterError
from ideaforge_gateway.domain.models import ChatMessage, ChatRequest, ContentPart
from tests.integration.test_wire_format_contract import Case, case, collect, fake, provider

__all__ = ["case", "fake"]  # the fixtures, shared with the contract suite

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(24)).decode()
GIF = base64.b64encode(b"GIF89a" + bytes(16)).decode()
PDF = base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode()
TXT = base64.b64encode(b"minutes of the meeting").decode()
WAV = base64.b64encode(b"RIFF\x00\x00\x00\x00WAVEfmt ").decode()
URL = "https://images.example.com/cat.png"
REFUSED = None

# (row, the part, what Anthropic's user content holds after the text, what Gemini's parts hold)
ROWS: list[tuple[str, ContentPart, Any, Any]] = [
    (
        "image_url data: URI",
        ContentPart("image_url", url=f"data:image/png;base64,{PNG}"),
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"inlineData": {"mimeType": "image/png", "data": PNG}},
    ),
    (
        "image_url https URL",
        ContentPart("image_url", url=URL),
        {"type": "image", "source": {"type": "url", "url": URL}},
        {"fileData": {"fileUri": URL, "mimeType": "image/png"}},
    ),
    (
        "image_url GIF",
        ContentPart("image_url", url=f"data:image/gif;base64,{GIF}"),
        {"type": "image", "source": {"type": "base64", "media_type": "image/gif", "data": GIF}},
        REFUSED,
    ),
    ("image_url detail low", ContentPart("image_url", url=URL, detail="low"), REFUSED, REFUSED),
    (
        "image_url detail auto",
        ContentPart("image_url", url=URL, detail="auto"),
        {"type": "image", "source": {"type": "url", "url": URL}},
        {"fileData": {"fileUri": URL, "mimeType": "image/png"}},
    ),
    (
        "input_audio",
        ContentPart("input_audio", data=WAV, format="wav"),
        REFUSED,
        {"inlineData": {"mimeType": "audio/wav", "data": WAV}},
    ),
    (
        "file PDF",
        ContentPart("file", data=f"data:application/pdf;base64,{PDF}", filename="report.pdf"),
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
            "title": "report.pdf",
        },
        {"inlineData": {"mimeType": "application/pdf", "data": PDF}},
    ),
    (
        "file text/plain",
        ContentPart("file", data=f"data:text/plain;base64,{TXT}"),
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "minutes of the meeting"}},
        {"inlineData": {"mimeType": "text/plain", "data": TXT}},
    ),
    ("file file_id", ContentPart("file", file_id="file-abc123"), REFUSED, REFUSED),
]


def asking(case: Case, part: ContentPart) -> ChatRequest:
    message = ChatMessage("user", parts=(ContentPart("text", text="what is this?"), part))
    return ChatRequest(case.model, [message])


def received_media(case: Case, fake: Any) -> Any:
    body = case.received(fake)
    if case.name == "openai_compat":
        return body["messages"][-1]["content"][1]
    if case.name == "anthropic":
        content = body["messages"][-1]["content"]
        assert content[0] == {"type": "text", "text": "what is this?"}
        return content[1]
    parts = body["contents"][-1]["parts"]
    assert parts[0] == {"text": "what is this?"}
    return parts[1]


@pytest.mark.parametrize(("row", "part", "anthropic", "gemini"), ROWS, ids=[r[0] for r in ROWS])
async def test_each_content_part_is_forwarded_translated_or_refused_by_name(
    case: Case, fake: Any, http: HttpTransport, row: str, part: ContentPart, anthropic: Any, gemini: Any
) -> None:
    expected = {"openai_compat": openai_part(part), "anthropic": anthropic, "gemini": gemini}[case.name]
    request = asking(case, part)
    if expected is REFUSED:
        with pytest.raises(UnsupportedParameterError) as refused:
            await provider(case, fake, http).chat(request)
        assert refused.value.param == "messages"
        assert f"content parts of type {part.type!r}" in refused.value.message
        assert "cannot take this request" in refused.value.message and refused.value.provider is not None
        assert case.chat_requests(fake) == 0
        return
    response = await provider(case, fake, http).chat(request)
    assert response.content == "echo: what is this?"
    assert received_media(case, fake) == expected


async def test_parts_stream_too_and_keep_their_order(case: Case, fake: Any, http: HttpTransport) -> None:
    parts = (
        ContentPart("image_url", url=URL),
        ContentPart("text", text="and"),
        ContentPart("image_url", url=f"data:image/png;base64,{PNG}"),
    )
    request = ChatRequest(case.model, [ChatMessage("user", parts=parts)])
    deltas = await collect(provider(case, fake, http), request)
    assert "".join(d.content or "" for d in deltas) == "echo: and"
    body = case.received(fake)
    if case.name == "openai_compat":
        assert body["messages"][0]["content"] == [openai_part(p) for p in parts]
    elif case.name == "anthropic":
        assert [b["type"] for b in body["messages"][0]["content"]] == ["image", "text", "image"]
    else:
        assert [next(iter(p)) for p in body["contents"][0]["parts"]] == ["fileData", "text", "inlineData"]
