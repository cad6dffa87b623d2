"""Agno media (`images`, `audio`, `files`, `videos` of a `Message`) as the domain's content parts.

- `Image`: a `url` (http(s) or `data:`) is an `image_url` part as it is; `content` bytes or a
  `filepath` become a base64 `data:` URI, with the media type from `mime_type`, `format`, the
  file name or the bytes' signature. `detail` is kept.
- `Audio`: `content` bytes or a `filepath`, WAV or MP3, become an `input_audio` part.
- `File`: `content` bytes or a `filepath` become a `file` part (a `data:` URI and the name).
- Audio or files by URL, and videos, are refused by name: the gateway fetches no URL itself
  (see `adapters.content_parts`), and no wire format here takes video.
A local file is read up to `MAX_MEDIA_BYTES`; a larger one is refused. Every part is then
checked as `/v1` checks them (`domain.content.check_parts`).
"""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import Sequence
from pathlib import Path

from agno.media import Audio, File, Image
from agno.models.message import Message

from ideaforge_gateway.domain.content import check_parts
from ideaforge_gateway.domain.errors import InvalidRequestError
from ideaforge_gateway.domain.models import ContentPart, Role

MAX_MEDIA_BYTES = 20 * 1024 * 1024
"""The most bytes one local media file may hold, as `/v1`'s cap on a whole chat body."""
_SIGNATURES = ((b"\x89PNG", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif"))
_AUDIO_FORMATS = {"wav": "wav", "x-wav": "wav", "wave": "wav", "mp3": "mp3", "mpeg": "mp3"}


def has_media(message: Message) -> bool:
    return bool(message.images or message.audio or message.videos or message.files)


def media_parts(message: Message, role: Role, text: str | None) -> tuple[ContentPart, ...]:
    """The message's text (when it has any) then its images, audio and files, as checked parts;
    raises `InvalidRequestError` naming what cannot be sent."""
    if message.videos:
        raise InvalidRequestError("videos cannot be sent: no provider format here takes video")
    parts: list[ContentPart] = [ContentPart("text", text=text)] if text else []
    parts += [_image(i) for i in message.images or ()]
    parts += [_audio(a) for a in message.audio or ()]
    parts += [_file(f) for f in message.files or ()]
    check_parts(role, parts)
    return tuple(parts)


def _image(image: Image) -> ContentPart:
    if image.url is not None:
        return ContentPart("image_url", url=image.url, detail=image.detail)
    content, name = _bytes(image.content, image.filepath, "image")
    media_type = image.mime_type or (f"image/{image.format}" if image.format else None) or _guess(name, content)
    if media_type is None:
        raise InvalidRequestError("an image's media type is unknown: set its mime_type or format")
    return ContentPart("image_url", url=_data_uri(media_type, content), detail=image.detail)


def _audio(audio: Audio) -> ContentPart:
    if audio.url is not None:
        raise InvalidRequestError("audio by URL cannot be sent: give its content or filepath")
    content, name = _bytes(audio.content, audio.filepath, "audio")
    named = audio.format or (audio.mime_type or _guess(name, content) or "").removeprefix("audio/")
    audio_format = _AUDIO_FORMATS.get(named.lower())
    if audio_format is None:
        raise InvalidRequestError("audio must be WAV or MP3: set its format")
    return ContentPart("input_audio", data=base64.b64encode(content).decode("ascii"), format=audio_format)


def _file(file: File) -> ContentPart:
    if file.url is not None:
        raise InvalidRequestError("files by URL cannot be sent: give their content or filepath")
    content, name = _bytes(file.content, file.filepath, "file")
    media_type = file.mime_type or _guess(file.filename or name, content)
    if media_type is None:
        raise InvalidRequestError("a file's media type is unknown: set its mime_type or filename")
    filename = file.filename or (Path(name).name if name else None)
    return ContentPart("file", data=_data_uri(media_type, content), filename=filename)


def _bytes(content: object, filepath: Path | str | None, what: str) -> tuple[bytes, str | None]:
    if isinstance(content, bytes):
        if len(content) > MAX_MEDIA_BYTES:
            raise InvalidRequestError(f"an {what} larger than {MAX_MEDIA_BYTES} bytes cannot be sent")
        return content, None
    if isinstance(content, str):
        return content.encode(), None
    if filepath is None:
        raise InvalidRequestError(f"an {what} with neither url, content nor filepath cannot be sent")
    try:
        with open(filepath, "rb") as stream:
            data = stream.read(MAX_MEDIA_BYTES + 1)
    except OSError as exc:
        raise InvalidRequestError(f"the {what} file cannot be read ({type(exc).__name__})") from None
    if len(data) > MAX_MEDIA_BYTES:
        raise InvalidRequestError(f"an {what} larger than {MAX_MEDIA_BYTES} bytes cannot be sent")
    return data, str(filepath)


def _guess(name: str | None, content: bytes) -> str | None:
    if name:
        guessed = mimetypes.guess_type(name, strict=False)[0]
        if guessed:
            return guessed
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return next((media for signature, media in _SIGNATURES if content.startswith(signature)), None)


def _data_uri(media_type: str, content: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(content).decode('ascii')}"


__all__: Sequence[str] = ("MAX_MEDIA_BYTES", "has_media", "media_parts")
