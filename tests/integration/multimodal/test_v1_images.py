"""Issue 13, case 7, end to end: the official `openai` SDK sends images, audio and files to `/v1`,
and each wire format's upstream (a loopback fake recording the body) receives them forwarded or
translated; what a vendor cannot take is a 400 naming the part and the provider."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.integration.multimodal.conftest import Vendor
from tests.support.app import container_for
from tests.support.live_server import LiveServer

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(64)).decode()
PDF = base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode()
WAV = base64.b64encode(b"RIFF\x00\x00\x00\x00WAVEfmt ").decode()
URL = "https://images.example.com/cat.png"


@pytest.fixture
def server(tmp_path: Path, settings: dict[str, Any]) -> Iterator[LiveServer]:
    with LiveServer(container_for(tmp_path, **settings)) as live:
        yield live


@pytest.fixture
def sdk(server: LiveServer) -> openai.OpenAI:
    token = server.create_user("alice")
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=token, max_retries=0, timeout=60)


def ask(sdk: openai.OpenAI, *parts: dict[str, Any], stream: bool = False) -> str:
    content = [{"type": "text", "text": "what is this?"}, *parts]
    messages: Any = [{"role": "user", "content": content}]
    if stream:
        chunks = sdk.chat.completions.create(model="fast", messages=messages, stream=True)
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    answer = sdk.chat.completions.create(model="fast", messages=messages)
    return answer.choices[0].message.content or ""


def test_an_image_by_data_uri_and_by_url_reaches_each_wire_format(
    sdk: openai.OpenAI, vendor: Vendor, upstream: Any
) -> None:
    by_data = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    by_url = {"type": "image_url", "image_url": {"url": URL, "detail": "auto"}}
    assert ask(sdk, by_data, by_url) == "echo: what is this?"
    turn = vendor.last_turn(upstream)
    expected = {
        "openai_compat": [{"type": "text", "text": "what is this?"}, by_data, by_url],
        "anthropic": [
            {"type": "text", "text": "what is this?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            {"type": "image", "source": {"type": "url", "url": URL}},
        ],
        "gemini": [
            {"text": "what is this?"},
            {"inlineData": {"mimeType": "image/png", "data": PNG}},
            {"fileData": {"fileUri": URL, "mimeType": "image/png"}},
        ],
    }[vendor.name]
    assert turn == expected
    assert ask(sdk, by_url, stream=True) == "echo: what is this?"


def test_a_realistic_photo_as_a_data_uri_fits_under_the_body_cap(
    sdk: openai.OpenAI, vendor: Vendor, upstream: Any
) -> None:
    photo = base64.b64encode(b"\xff\xd8\xff\xe0" + bytes(6 * 1024 * 1024)).decode()  # a 6 MiB JPEG
    assert ask(sdk, {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{photo}"}})
    assert photo in str(vendor.last_turn(upstream))


def test_audio_is_forwarded_translated_or_refused_by_name(sdk: openai.OpenAI, vendor: Vendor, upstream: Any) -> None:
    audio = {"type": "input_audio", "input_audio": {"data": WAV, "format": "wav"}}
    if vendor.name == "anthropic":
        with pytest.raises(openai.BadRequestError) as refused:
            ask(sdk, audio)
        error = refused.value.body
        assert isinstance(error, dict) and error["param"] == "messages"
        assert "'input_audio'" in error["message"] and "Anthropic" in error["message"]
        assert vendor.requests(upstream) == 0
        return
    assert ask(sdk, audio) == "echo: what is this?"
    received = vendor.last_turn(upstream)[1]
    assert received == (
        audio if vendor.name == "openai_compat" else {"inlineData": {"mimeType": "audio/wav", "data": WAV}}
    )


def test_a_pdf_file_is_forwarded_or_translated(sdk: openai.OpenAI, vendor: Vendor, upstream: Any) -> None:
    pdf = {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{PDF}", "filename": "report.pdf"}}
    assert ask(sdk, pdf) == "echo: what is this?"
    received = vendor.last_turn(upstream)[1]
    expected = {
        "openai_compat": pdf,
        "anthropic": {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
            "title": "report.pdf",
        },
        "gemini": {"inlineData": {"mimeType": "application/pdf", "data": PDF}},
    }[vendor.name]
    assert received == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("data:image/png;base64,this is not base64!", "not base64"),
        ("data:image/png,raw", "not a valid data: URI"),
        (f"data:image/x-unknown;base64,{PNG}", "media type 'image/x-unknown'"),
        ("ftp://images.example.com/cat.png", "http(s) URL or a base64 data: URI"),
    ],
)
def test_a_malformed_image_is_a_clear_400_and_nothing_is_sent(
    server: LiveServer, vendor: Vendor, upstream: Any, url: str, message: str
) -> None:
    token = server.create_user("bob")
    body = {
        "model": "fast",
        "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}],
    }
    response = httpx.post(f"{server.url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]["message"]
    assert vendor.requests(upstream) == 0
