"""Multimodal content parts on the wire: what every format shares (issue 13, case 7).

- OpenAI-compatible upstreams get each part back in OpenAI's shape, in order, `detail` included
  (`openai_part`).
- A format that cannot take a part, a media type or a kind of URL raises `UnsupportedContentPart`
  naming it; `refused_as_invalid` makes that a 400 naming the provider, and the fallback chain
  skips the provider, as for a parameter it has no equivalent for.
- The gateway never fetches a URL itself: a URL goes to vendors that fetch it (OpenAI, Anthropic,
  Gemini's `fileData`) and is refused by name by any that would need it fetched. Fetching would
  make the gateway a proxy into whatever network it sits in (SSRF) for every caller.
"""

from __future__ import annotations

import mimetypes
from typing import Any
from urllib.parse import urlsplit

from ideaforge_gateway.adapters.tool_arguments import UnmappableRequestError
from ideaforge_gateway.domain.content import DataUri, data_uri
from ideaforge_gateway.domain.models import ChatMessage, ContentPart

PARAM = "messages"
"""The parameter a refused part is reported under (OpenAI's error `param`)."""


class UnsupportedContentPart(UnmappableRequestError):
    """A content part the format cannot take; the message names its type and, when that is the
    reason, its media type or URL kind. Never the content itself."""

    def __init__(self, part_type: str, why: str = "") -> None:
        super().__init__(
            f"content parts of type {part_type!r}{' ' + why if why else ''} have no equivalent in this API"
        )
        self.param = PARAM
        self.part_type = part_type


def outside_user_message(message: ChatMessage) -> UnsupportedContentPart:
    """The refusal for parts in a message other than a user's, which Anthropic's and Gemini's
    formats have no place for (the entrypoints refuse them too; this guards the Python API)."""
    return UnsupportedContentPart(message.parts[0].type, f"in a {message.role} message")


def openai_part(part: ContentPart) -> dict[str, Any]:
    """`part` as OpenAI's chat-completions content part, exactly as the caller sent it."""
    if part.type == "text":
        return {"type": "text", "text": part.text}
    if part.type == "image_url":
        image: dict[str, Any] = {"url": part.url}
        if part.detail is not None:
            image["detail"] = part.detail
        return {"type": "image_url", "image_url": image}
    if part.type == "input_audio":
        return {"type": "input_audio", "input_audio": {"data": part.data, "format": part.format}}
    file = {"file_data": part.data, "file_id": part.file_id, "filename": part.filename}
    return {"type": "file", "file": {k: v for k, v in file.items() if v is not None}}


def inline_data(part: ContentPart) -> DataUri | None:
    """The part's inline data (an image's `data:` URL, a file's `file_data`) as media type and
    base64; None for a URL or a `file_id`. Bare base64 file data takes its media type from the
    file name; raises `UnsupportedContentPart` when that tells none."""
    if part.type == "image_url":
        return data_uri(part.url or "")
    if part.type != "file" or part.data is None:
        return None
    parsed = data_uri(part.data)
    if parsed is not None:
        return parsed
    guessed = mimetypes.guess_type(part.filename or "", strict=False)[0]
    if guessed is None:
        raise UnsupportedContentPart("file", "whose media type neither a data: URI nor the file name tells")
    return DataUri(guessed, part.data)


def url_media_type(url: str) -> str | None:
    """The media type an URL's path names by its extension (`.png` -> `image/png`), if any."""
    return mimetypes.guess_type(urlsplit(url).path, strict=False)[0]
