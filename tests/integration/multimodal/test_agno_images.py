"""Issue 13, case 7, through Agno: real agents with `images=[...]` (and audio and files) over the
provider chain model, for each wire format behind it, and over the AI Gateway model; the loopback
upstream's recorded body shows what the vendor received."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from agno.agent import Agent
from agno.media import Audio, File, Image, Video
from agno.run.base import RunStatus

from ideaforge_gateway.domain.models import Tier
from ideaforge_gateway.entrypoints.container import Container, close
from tests.integration.multimodal.conftest import Vendor
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(64)
PNG = base64.b64encode(PNG_BYTES).decode()
PDF_BYTES = b"%PDF-1.4\n%%EOF\n"
WAV_BYTES = b"RIFF\x00\x00\x00\x00WAVEfmt "
URL = "https://images.example.com/cat.png"


@pytest.fixture(autouse=True)
def _no_agno_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGNO_TELEMETRY", "false")


@pytest.fixture
async def app(tmp_path: Path, settings: dict[str, Any]) -> AsyncIterator[Container]:
    container = container_for(tmp_path, **settings)
    yield container
    await close(container)


@pytest.fixture
def app_sync(tmp_path: Path, settings: dict[str, Any]) -> Iterator[Container]:
    """The same, for plain synchronous tests (no event loop in the test's thread)."""
    container = container_for(tmp_path, **settings)
    yield container
    asyncio.run(close(container))


def agent(app: Container) -> Agent:
    return Agent(model=app.agent_model(tier=Tier.FAST), telemetry=False)


def image_parts(vendor: Vendor, turn: list[dict[str, Any]]) -> list[Any]:
    """The image parts of a received user turn, each reduced to the vendor's key facts."""
    if vendor.name == "openai_compat":
        return [p["image_url"]["url"] for p in turn if p["type"] == "image_url"]
    if vendor.name == "anthropic":
        return [b["source"].get("url") or b["source"]["data"] for b in turn if b["type"] == "image"]
    return [p.get("fileData", {}).get("fileUri") or p["inlineData"]["data"] for p in turn if "text" not in p]


async def test_an_agent_with_images_by_bytes_path_and_url_through_each_wire_format(
    app: Container, vendor: Vendor, upstream: Any, tmp_path: Path
) -> None:
    on_disk = tmp_path / "cat.png"
    on_disk.write_bytes(PNG_BYTES)
    images = [Image(content=PNG_BYTES), Image(filepath=on_disk), Image(url=URL)]
    output = await agent(app).arun("what is this?", images=images)
    assert output.status is RunStatus.completed, output.content
    assert output.content == "echo: what is this?"
    received = image_parts(vendor, vendor.last_turn(upstream))
    inline = f"data:image/png;base64,{PNG}" if vendor.name == "openai_compat" else PNG
    assert received == [inline, inline, URL]


def test_an_agent_with_an_image_from_sync_code_streams(app_sync: Container, vendor: Vendor, upstream: Any) -> None:
    events = list(agent(app_sync).run("stream it", images=[Image(url=URL)], stream=True))
    assert "".join(e.content for e in events if isinstance(getattr(e, "content", None), str)) == "echo: stream it"
    assert image_parts(vendor, vendor.last_turn(upstream)) == [URL]


async def test_audio_and_files_through_an_agent_are_translated_or_refused_by_name(
    app: Container, vendor: Vendor, upstream: Any
) -> None:
    pdf = File(content=PDF_BYTES, mime_type="application/pdf", filename="report.pdf")
    output = await agent(app).arun("summarise", files=[pdf])
    assert output.status is RunStatus.completed and output.content == "echo: summarise"
    assert str(base64.b64encode(PDF_BYTES).decode()) in str(vendor.last_turn(upstream))

    heard = await agent(app).arun("transcribe", audio=[Audio(content=WAV_BYTES, format="wav")])
    if vendor.name == "anthropic":
        assert heard.status is RunStatus.error
        assert "'input_audio'" in str(heard.content) and "Anthropic" in str(heard.content)
        return
    assert heard.status is RunStatus.completed and heard.content == "echo: transcribe"
    assert base64.b64encode(WAV_BYTES).decode() in str(vendor.last_turn(upstream))


async def test_video_is_refused_by_name_and_nothing_is_sent(app: Container, vendor: Vendor, upstream: Any) -> None:
    before = vendor.requests(upstream)
    output = await agent(app).arun("watch", videos=[Video(url="https://videos.example.com/a.mp4")])
    assert output.status is RunStatus.error and "videos cannot be sent" in str(output.content)
    assert vendor.requests(upstream) == before


async def test_the_ai_gateway_model_takes_images(tmp_path: Path) -> None:
    with FakeAIGateway() as gateway:
        settings = {
            "ai_gateway_client_id": gateway.state.client_id,
            "ai_gateway_client_secret": gateway.state.client_secret,
            "ai_gateway_base_url": gateway.url,
            "ai_gateway_enabled": True,
            "ideaforge_allow_private_base_urls": True,
        }
        container = container_for(tmp_path, **settings)
        try:
            model = container.ai_gateway_model()
            images = [Image(content=PNG_BYTES, detail="high"), Image(url=URL)]
            output = await Agent(model=model, telemetry=False).arun("look", images=images)
        finally:
            await close(container)
    assert output.status is RunStatus.completed and output.content == "echo: look"
    assert gateway.state.last_chat_body is not None
    assert gateway.state.last_chat_body["messages"][-1]["content"] == [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "high"}},
        {"type": "image_url", "image_url": {"url": URL}},
    ]
