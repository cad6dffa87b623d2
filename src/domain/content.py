"""Checks on multimodal content parts, the same wherever a part enters (`/v1`, `/api/generate`,
the Agno models), so that no wire format is handed a part it cannot read.

Rules (OpenAI's chat-completions content parts, `openai` SDK `chat_completion_content_part*`):
- an `image_url` is an `http(s)` URL or a base64 `data:` URI of an image media type below;
- `input_audio` is base64 with `format` `wav` or `mp3`;
- a `file` has `file_data` (a base64 `data:` URI, or bare base64) or a `file_id`;
- only user messages carry parts other than text (OpenAI refuses them elsewhere too).
Every failure is an `InvalidRequestError` (a 400) naming the part type and what is wrong; the
part's content is never quoted.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ideaforge_gateway.domain.errors import InvalidRequestError
from ideaforge_gateway.domain.models import ContentPart

IMAGE_MEDIA_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/heic", "image/heif"})
"""The image media types some vendor documents taking; each format narrows this to its own."""
AUDIO_FORMATS = frozenset({"wav", "mp3"})
DETAILS = frozenset({"auto", "low", "high"})
_DATA_URI = re.compile(r"^data:([A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+)((?:;[^;,]*)*?);base64,", re.ASCII)


@dataclass(frozen=True, slots=True)
class DataUri:
    """A `data:` URI's media type (lower case) and its base64 payload, as sent."""

    media_type: str
    data: str


def data_uri(value: str) -> DataUri | None:
    """`value` split when it is a base64 `data:` URI, None when it is not one at all; raises
    `ValueError` for a `data:` URI that is not base64 or has no media type."""
    if not value.startswith("data:"):
        return None
    match = _DATA_URI.match(value)
    if match is None:
        raise ValueError("a data: URI must be data:<type>/<subtype>;base64,<data>")
    return DataUri(match.group(1).lower(), value[match.end() :])


def is_base64(data: str) -> bool:
    """Whether `data` is non-empty, well-padded standard base64 (what every vendor decodes)."""
    if not data:
        return False
    try:
        binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, ValueError):
        return False
    return True


def check_parts(role: str, parts: Sequence[ContentPart]) -> None:
    """Raise `InvalidRequestError` for the first part that no vendor could be sent (see the module)."""
    for part in parts:
        if part.type == "text":
            continue
        if role != "user":
            raise InvalidRequestError(f"content parts of type {part.type!r} are taken in user messages only")
        if part.type == "image_url":
            _check_image(part)
        elif part.type == "input_audio":
            if part.format not in AUDIO_FORMATS:
                raise InvalidRequestError("an input_audio part's format must be 'wav' or 'mp3'")
            if not is_base64(part.data or ""):
                raise InvalidRequestError("an input_audio part's data is not base64")
        elif part.type == "file":
            _check_file(part)


def _check_image(part: ContentPart) -> None:
    url = part.url or ""
    if part.detail is not None and part.detail not in DETAILS:
        raise InvalidRequestError("an image_url part's detail must be 'auto', 'low' or 'high'")
    try:
        parsed = data_uri(url)
    except ValueError as exc:
        raise InvalidRequestError(f"an image_url part's url is not a valid data: URI: {exc}") from None
    if parsed is None:
        if not url.startswith(("https://", "http://")):
            raise InvalidRequestError("an image_url part's url must be an http(s) URL or a base64 data: URI")
        return
    if parsed.media_type not in IMAGE_MEDIA_TYPES:
        raise InvalidRequestError(
            f"an image_url part's data: URI has media type {parsed.media_type!r}; "
            f"images must be one of {', '.join(sorted(IMAGE_MEDIA_TYPES))}"
        )
    if not is_base64(parsed.data):
        raise InvalidRequestError("an image_url part's data: URI is not base64")


def _check_file(part: ContentPart) -> None:
    if (part.data is None) == (part.file_id is None):
        raise InvalidRequestError("a file part needs exactly one of file_data and file_id")
    if part.data is None:
        return
    try:
        parsed = data_uri(part.data)
    except ValueError as exc:
        raise InvalidRequestError(f"a file part's file_data is not a valid data: URI: {exc}") from None
    if not is_base64(parsed.data if parsed else part.data):
        raise InvalidRequestError("a file part's file_data is not base64")
