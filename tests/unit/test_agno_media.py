"""Agno media as content parts (`adapters/agno/media.py`): what becomes which part, and what is
refused by name."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from agno.media import Audio, File, Image
from agno.models.message import Message

from ideaforge_gateway.adapters.agno import media
from ideaforge_gateway.adapters.agno.mapping import message_to_domain
from ideaforge_gateway.domain.errors import InvalidRequestError
from ideaforge_gateway.domain.models import ContentPart

WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(8)
JPEG = b"\xff\xd8\xff\xe0" + bytes(8)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_images_keep_their_order_detail_and_media_type_from_wherever_it_is_known(tmp_path: Path) -> None:
    gif = tmp_path / "anim.gif"
    gif.write_bytes(b"GIF89a" + bytes(8))
    message = Message(
        role="user",
        content="compare",
        images=[
            Image(content=WEBP),  # told by its bytes
            Image(content=JPEG, format="jpeg", detail="low"),
            Image(filepath=gif),  # told by its name
            Image(url="https://images.example.com/a.png", detail="high"),
        ],
    )
    converted = message_to_domain(message)
    assert converted.content is None
    assert converted.parts == (
        ContentPart("text", text="compare"),
        ContentPart("image_url", url=f"data:image/webp;base64,{b64(WEBP)}"),
        ContentPart("image_url", url=f"data:image/jpeg;base64,{b64(JPEG)}", detail="low"),
        ContentPart("image_url", url=f"data:image/gif;base64,{b64(b'GIF89a' + bytes(8))}"),
        ContentPart("image_url", url="https://images.example.com/a.png", detail="high"),
    )


def test_audio_and_files_become_input_audio_and_file_parts(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"minutes")
    message = Message(
        role="user",
        content="listen",
        audio=[Audio(content=b"RIFF....WAVE", mime_type="audio/x-wav")],
        files=[File(filepath=notes)],
    )
    assert message_to_domain(message).parts[1:] == (
        ContentPart("input_audio", data=b64(b"RIFF....WAVE"), format="wav"),
        ContentPart("file", data=f"data:text/plain;base64,{b64(b'minutes')}", filename="notes.txt"),
    )


@pytest.mark.parametrize(
    ("message", "named"),
    [
        (Message(role="user", content="x", audio=[Audio(url="https://a.example.com/a.wav")]), "audio by URL"),
        (Message(role="user", content="x", audio=[Audio(content=b"OggS", format="ogg")]), "WAV or MP3"),
        (Message(role="user", content="x", files=[File(url="https://a.example.com/a.pdf")]), "files by URL"),
        (Message(role="user", content="x", images=[Image(content=b"\x00\x01")]), "media type is unknown"),
        (Message(role="user", content="x", images=[Image(filepath="/no/such/image.png")]), "cannot be read"),
        (Message(role="assistant", content="x", images=[Image(url="https://a.example.com/a.png")]), "user messages"),
    ],
)
def test_what_cannot_be_sent_is_refused_by_name(message: Message, named: str) -> None:
    with pytest.raises(InvalidRequestError, match=named):
        message_to_domain(message)


def test_a_local_file_over_the_cap_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    with big.open("wb") as sparse:
        sparse.truncate(media.MAX_MEDIA_BYTES * 4)
    with pytest.raises(InvalidRequestError, match=f"larger than {media.MAX_MEDIA_BYTES} bytes"):
        message_to_domain(Message(role="user", content="x", images=[Image(filepath=big)]))
