"""Content parts as Gemini `generateContent` parts (issue 13, case 7).

Sources: Gemini API reference `Part`, `Blob`, `FileData` (google-genai types); ai.google.dev
docs image-understanding, audio, document-processing, media-resolution, file-input-methods.
- `image_url`: `inlineData` for a `data:` URI (PNG, JPEG, WebP, HEIC, HEIF: Gemini lists no
  GIF), `fileData` for an https URL (Gemini fetches external URLs itself; `mimeType` is set when
  the URL's path names one, else left for Gemini to tell). OpenAI's `detail` `low`/`high` is
  the part's `mediaResolution` on Gemini 3 models (the only ones with per-part resolution),
  refused by name on others; `auto` is the default.
- `input_audio`: `inlineData` `audio/wav` or `audio/mp3`.
- `file`: `inlineData` for PDFs, plain-text documents, images and audio; a `file_id` names an
  OpenAI file Gemini cannot read, and is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ideaforge_gateway.adapters.content_parts import UnsupportedContentPart, inline_data, url_media_type
from ideaforge_gateway.domain.models import ContentPart

IMAGE_MEDIA_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"})
AUDIO_MEDIA_TYPES = frozenset(
    {"audio/wav", "audio/mp3", "audio/mpeg", "audio/aiff", "audio/aac", "audio/ogg", "audio/flac"}
)
FILE_MEDIA_TYPES = frozenset(
    {"application/pdf", "text/plain", "text/html", "text/css", "text/csv", "text/markdown", "text/xml", "text/rtf"}
    | IMAGE_MEDIA_TYPES
    | AUDIO_MEDIA_TYPES
)
_RESOLUTIONS = {"low": "MEDIA_RESOLUTION_LOW", "high": "MEDIA_RESOLUTION_HIGH"}


def user_parts(parts: Sequence[ContentPart], *, model: str) -> list[dict[str, Any]]:
    """A user message's parts as Gemini parts, in order; raises `UnsupportedContentPart`."""
    return [_part(part, model) for part in parts]


def _part(part: ContentPart, model: str) -> dict[str, Any]:
    if part.type == "text":
        return {"text": part.text}
    if part.type == "image_url":
        return _image(part, model)
    if part.type == "input_audio":
        return {"inlineData": {"mimeType": f"audio/{part.format}", "data": part.data}}
    if part.file_id is not None:
        raise UnsupportedContentPart("file", "given by file_id")
    inline = inline_data(part)
    assert inline is not None  # a file part has file_data or file_id (`check_parts`)
    if inline.media_type not in FILE_MEDIA_TYPES:
        raise UnsupportedContentPart("file", f"of media type {inline.media_type!r}")
    return {"inlineData": {"mimeType": inline.media_type, "data": inline.data}}


def _image(part: ContentPart, model: str) -> dict[str, Any]:
    inline = inline_data(part)
    wire: dict[str, Any]
    if inline is None:
        url = part.url or ""
        if not url.startswith("https://"):
            raise UnsupportedContentPart("image_url", "with a plain http: URL")
        media_type = url_media_type(url)
        if media_type is not None and media_type not in IMAGE_MEDIA_TYPES:
            raise UnsupportedContentPart("image_url", f"of media type {media_type!r}")
        wire = {"fileData": {"fileUri": url} | ({"mimeType": media_type} if media_type else {})}
    else:
        if inline.media_type not in IMAGE_MEDIA_TYPES:
            raise UnsupportedContentPart("image_url", f"of media type {inline.media_type!r}")
        wire = {"inlineData": {"mimeType": inline.media_type, "data": inline.data}}
    if part.detail in _RESOLUTIONS:
        if not model.removeprefix("models/").startswith("gemini-3"):
            raise UnsupportedContentPart(
                "image_url", f"with detail {part.detail!r} (per-image resolution is Gemini 3's)"
            )
        wire["mediaResolution"] = {"level": _RESOLUTIONS[part.detail]}
    return wire
