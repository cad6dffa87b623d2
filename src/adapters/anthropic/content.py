"""Content parts as Anthropic Messages content blocks (issue 13, case 7).

Sources: `anthropic` SDK `types/image_block_param.py`, `types/document_block_param.py`;
docs.claude.com build-with-claude/vision and pdf-support.
- `image_url`: an `image` block, with a `base64` source for a `data:` URI (JPEG, PNG, GIF or WebP,
  up to 10 MB decoded) or a `url` source for an https URL (Anthropic fetches it). OpenAI's
  `detail` has no equivalent: `auto` is taken, `low`/`high` are refused by name.
- `file`: PDFs as a `document` block with a `base64` source, `text/plain` as a `document` with a
  `text` source; a `file_id` names an OpenAI file Anthropic cannot read, and is refused.
- `input_audio`: Anthropic takes no audio; refused.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from ideaforge_gateway.adapters.content_parts import UnsupportedContentPart, inline_data
from ideaforge_gateway.domain.models import ContentPart

IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
MAX_IMAGE_BYTES = 10 * 1000 * 1000
"""Anthropic's cap on one base64 image on its direct API (docs: vision, "10 MB")."""


def user_blocks(parts: Sequence[ContentPart]) -> list[dict[str, Any]]:
    """A user message's parts as content blocks, in order; raises `UnsupportedContentPart`."""
    return [_block(part) for part in parts]


def _block(part: ContentPart) -> dict[str, Any]:
    if part.type == "text":
        return {"type": "text", "text": part.text}
    if part.type == "image_url":
        return _image(part)
    if part.type == "file":
        return _document(part)
    raise UnsupportedContentPart(part.type)


def _image(part: ContentPart) -> dict[str, Any]:
    if part.detail not in (None, "auto"):
        raise UnsupportedContentPart("image_url", f"with detail {part.detail!r}")
    inline = inline_data(part)
    if inline is None:
        return {"type": "image", "source": {"type": "url", "url": _https(part)}}
    if inline.media_type not in IMAGE_MEDIA_TYPES:
        raise UnsupportedContentPart("image_url", f"of media type {inline.media_type!r}")
    if len(inline.data) // 4 * 3 > MAX_IMAGE_BYTES:
        raise UnsupportedContentPart("image_url", "larger than 10 MB")
    source = {"type": "base64", "media_type": inline.media_type, "data": inline.data}
    return {"type": "image", "source": source}


def _document(part: ContentPart) -> dict[str, Any]:
    if part.file_id is not None:
        raise UnsupportedContentPart("file", "given by file_id")
    inline = inline_data(part)
    assert inline is not None  # a file part has file_data or file_id (`check_parts`)
    block: dict[str, Any]
    if inline.media_type == "application/pdf":
        block = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": inline.data}}
    elif inline.media_type == "text/plain":
        try:
            text = base64.b64decode(inline.data).decode("utf-8")
        except UnicodeDecodeError:
            raise UnsupportedContentPart("file", "of text/plain that is not UTF-8") from None
        block = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": text}}
    else:
        raise UnsupportedContentPart("file", f"of media type {inline.media_type!r}")
    if part.filename:
        block["title"] = part.filename
    return block


def _https(part: ContentPart) -> str:
    url = part.url or ""
    if not url.startswith("https://"):
        raise UnsupportedContentPart(part.type, "with a plain http: URL")
    return url
