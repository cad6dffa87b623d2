"""`/api/generate` takes `images` (https URLs and base64 data: URIs) and shows them to the model
with the prompt, through each wire format; a bad image is a 400 before any provider is asked."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.multimodal.conftest import Vendor
from tests.support.app import container_for
from tests.support.live_server import LiveServer

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(64)).decode()
URL = "https://images.example.com/cat.png"


@pytest.fixture
def client(tmp_path: Path, settings: dict[str, Any]) -> Iterator[httpx.Client]:
    with LiveServer(container_for(tmp_path, **settings)) as live:
        token = live.create_user("alice")
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=live.url, headers=headers, timeout=60) as http:
            yield http


def test_images_reach_each_wire_format_with_the_prompt(client: httpx.Client, vendor: Vendor, upstream: Any) -> None:
    images = [f"data:image/png;base64,{PNG}", URL]
    response = client.post("/api/generate", json={"prompt": "what is this?", "tier": "fast", "images": images})
    assert response.status_code == 200, response.text
    assert response.json()["content"] == "echo: what is this?"
    turn = vendor.last_turn(upstream)
    assert len(turn) == 3  # the prompt, then both images in order
    assert PNG in str(turn[1]) and URL in str(turn[2])

    streamed = client.post("/api/generate", json={"prompt": "and now?", "images": [URL], "stream": True})
    assert streamed.status_code == 200 and "event: done" in streamed.text
    assert URL in str(vendor.last_turn(upstream))


@pytest.mark.parametrize(
    ("image", "message"),
    [("data:image/png;base64,%%%", "not base64"), ("file:///etc/passwd", "http(s) URL or a base64 data: URI")],
)
def test_a_bad_image_is_a_400_and_no_provider_is_asked(
    client: httpx.Client, vendor: Vendor, upstream: Any, image: str, message: str
) -> None:
    response = client.post("/api/generate", json={"prompt": "look", "images": [image]})
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]
    assert vendor.requests(upstream) == 0
