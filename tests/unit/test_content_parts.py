"""Multimodal content parts (issue 13, case 7): the checks where parts enter, and each wire
format's translation (forwarded, translated, or refused naming the part), on pure data."""

from __future__ import annotations

import base64

import pytest

from ideaforge_gateway.adapters.anthropic.content import user_blocks
from ideaforge_gateway.adapters.anthropic.wire import messages_to_wire as anthropic_messages
from ideaforge_gateway.adapters.content_parts import UnsupportedContentPart, openai_part
from ideaforge_gateway.adapters.gemini.content import user_parts
from ideaforge_gateway.adapters.gemini.wire import contents_to_wire as gemini_contents
from ideaforge_gateway.domain.content import check_parts, data_uri
from ideaforge_gateway.domain.errors import InvalidRequestError
from ideaforge_gateway.domain.models import ChatMessage, ContentPart, Role
from ideaforge_gateway.entrypoints.http.openai_schemas import ChatCompletionBody

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(24)).decode()
PDF = base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode()
WAV = base64.b64encode(b"RIFF\x00\x00\x00\x00WAVEfmt ").decode()
URL = "https://images.example.com/cat.png"


def image(url: str, detail: str | None = None) -> ContentPart:
    return ContentPart("image_url", url=url, detail=detail)


def test_a_data_uri_is_split_into_its_media_type_and_base64() -> None:
    parsed = data_uri(f"data:Image/PNG;base64,{PNG}")
    assert parsed is not None and (parsed.media_type, parsed.data) == ("image/png", PNG)
    assert data_uri(URL) is None
    with pytest.raises(ValueError, match="base64"):
        data_uri("data:image/png,not-base64-encoded")


@pytest.mark.parametrize(
    ("part", "message"),
    [
        (image("data:image/png;base64,@@@not base64@@@"), "not base64"),
        (image("data:image/png;base64,"), "not base64"),
        (image("data:image/png,raw"), "not a valid data: URI"),
        (image(f"data:image/tiff;base64,{PNG}"), "media type 'image/tiff'"),
        (image(f"data:application/pdf;base64,{PDF}"), "media type 'application/pdf'"),
        (image("file:///etc/passwd"), "http(s) URL or a base64 data: URI"),
        (image(URL, detail="ultra"), "detail must be"),
        (ContentPart("input_audio", data=WAV, format="ogg"), "'wav' or 'mp3'"),
        (ContentPart("input_audio", data="%%%", format="wav"), "not base64"),
        (ContentPart("file", data=f"data:application/pdf;base64,{PDF}", file_id="file-1"), "exactly one"),
        (ContentPart("file"), "exactly one"),
        (ContentPart("file", data="data:application/pdf;base64,%%%"), "not base64"),
    ],
)
def test_a_part_no_vendor_could_read_is_a_400_naming_what_is_wrong(part: ContentPart, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_parts("user", [part])


def test_parts_other_than_text_are_taken_in_user_messages_only() -> None:
    check_parts("system", [ContentPart("text", text="be brief")])
    with pytest.raises(InvalidRequestError, match="user messages only"):
        check_parts("assistant", [image(URL)])


def test_good_parts_pass_the_checks() -> None:
    check_parts(
        "user",
        [
            ContentPart("text", text="look"),
            image(f"data:image/png;base64,{PNG}", "low"),
            image(URL, "auto"),
            ContentPart("input_audio", data=WAV, format="wav"),
            ContentPart("file", data=f"data:application/pdf;base64,{PDF}", filename="a.pdf"),
            ContentPart("file", data=PDF, filename="a.pdf"),
            ContentPart("file", file_id="file-abc"),
        ],
    )


def test_v1_bodies_keep_text_only_content_as_text_and_multimodal_content_as_parts_in_order() -> None:
    text_only = {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    parts = [
        {"type": "text", "text": "what is it?"},
        {"type": "image_url", "image_url": {"url": URL, "detail": "high"}},
        {"type": "input_audio", "input_audio": {"data": WAV, "format": "wav"}},
        {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{PDF}", "filename": "a.pdf"}},
    ]
    body = ChatCompletionBody.model_validate(
        {"model": "m", "messages": [text_only, {"role": "user", "content": parts}]}
    )
    first, second = body.messages_domain()
    assert (first.content, first.parts) == ("ab", ())
    assert second.content is None
    assert [openai_part(p) for p in second.parts] == parts  # what an OpenAI-compatible upstream gets


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ([{"type": "input_video", "input_video": {}}], "'input_video' are not supported"),
        ([{"type": "image_url"}], "has no 'image_url' object"),
        ([{"type": "image_url", "image_url": {"url": "data:image/png;base64,xx!"}}], "not base64"),
        (
            [{"type": "image_url", "image_url": {"url": URL}, "cache_control": {"type": "ephemeral"}}],
            "unknown field 'cache_control'",
        ),
        ([{"type": "image_url", "image_url": {"url": URL, "quality": 9}}], "unknown field 'image_url.quality'"),
        (  # a text-only list is joined into one text, which would drop the field
            [{"type": "text", "text": "a"}, {"type": "text", "text": "b", "cache_control": {"type": "ephemeral"}}],
            "unknown field 'cache_control'",
        ),
    ],
)
def test_v1_bodies_with_bad_parts_are_a_400(content: list[dict[str, object]], message: str) -> None:
    body = ChatCompletionBody.model_validate({"model": "m", "messages": [{"role": "user", "content": content}]})
    with pytest.raises(InvalidRequestError, match=message):
        body.messages_domain()


def test_anthropic_takes_images_as_base64_or_url_sources_and_pdfs_and_text_as_documents() -> None:
    text = base64.b64encode(b"hello, world").decode()
    blocks = user_blocks(
        [
            ContentPart("text", text="look"),
            image(f"data:image/png;base64,{PNG}", "auto"),
            image(URL),
            ContentPart("file", data=f"data:application/pdf;base64,{PDF}", filename="a.pdf"),
            ContentPart("file", data=text, filename="notes.txt"),
        ]
    )
    assert blocks == [
        {"type": "text", "text": "look"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": URL}},
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
            "title": "a.pdf",
        },
        {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": "hello, world"},
            "title": "notes.txt",
        },
    ]


@pytest.mark.parametrize(
    ("part", "named"),
    [
        (ContentPart("input_audio", data=WAV, format="wav"), "'input_audio'"),
        (image(URL, "high"), "'image_url' with detail 'high'"),
        (image(f"data:image/heic;base64,{PNG}"), "'image_url' of media type 'image/heic'"),
        (image("http://images.example.com/cat.png"), "'image_url' with a plain http: URL"),
        (ContentPart("file", file_id="file-abc"), "'file' given by file_id"),
        (ContentPart("file", data=f"data:text/csv;base64,{PDF}"), "'file' of media type 'text/csv'"),
        (ContentPart("file", data=PDF), "'file' whose media type"),
    ],
)
def test_anthropic_refuses_what_it_cannot_take_by_name(part: ContentPart, named: str) -> None:
    with pytest.raises(UnsupportedContentPart, match=f"content parts of type {named}") as refused:
        user_blocks([part])
    assert refused.value.param == "messages"


def test_anthropic_refuses_an_image_over_its_10_mb_cap() -> None:
    big = base64.b64encode(bytes(10 * 1000 * 1000 + 3)).decode()
    with pytest.raises(UnsupportedContentPart, match="larger than 10 MB"):
        user_blocks([image(f"data:image/png;base64,{big}")])


def test_gemini_takes_inline_data_file_data_audio_and_documents() -> None:
    parts = user_parts(
        [
            ContentPart("text", text="look"),
            image(f"data:image/png;base64,{PNG}"),
            image(URL),
            image("https://images.example.com/render?id=7"),
            ContentPart("input_audio", data=WAV, format="mp3"),
            ContentPart("file", data=f"data:application/pdf;base64,{PDF}"),
        ],
        model="gemini-2.5-flash",
    )
    assert parts == [
        {"text": "look"},
        {"inlineData": {"mimeType": "image/png", "data": PNG}},
        {"fileData": {"fileUri": URL, "mimeType": "image/png"}},
        {"fileData": {"fileUri": "https://images.example.com/render?id=7"}},  # Gemini tells the type
        {"inlineData": {"mimeType": "audio/mp3", "data": WAV}},
        {"inlineData": {"mimeType": "application/pdf", "data": PDF}},
    ]


def test_gemini_maps_detail_to_per_part_resolution_on_gemini_3_and_refuses_it_elsewhere() -> None:
    low, high = image(URL, "low"), image(f"data:image/png;base64,{PNG}", "high")
    assert [p.get("mediaResolution") for p in user_parts([low, high], model="models/gemini-3-pro-preview")] == [
        {"level": "MEDIA_RESOLUTION_LOW"},
        {"level": "MEDIA_RESOLUTION_HIGH"},
    ]
    assert "mediaResolution" not in user_parts([image(URL, "auto")], model="gemini-2.5-flash")[0]
    with pytest.raises(UnsupportedContentPart, match="with detail 'low'"):
        user_parts([low], model="gemini-2.5-flash")


@pytest.mark.parametrize(
    ("part", "named"),
    [
        (image(f"data:image/gif;base64,{PNG}"), "'image_url' of media type 'image/gif'"),
        (image("https://images.example.com/cat.gif"), "'image_url' of media type 'image/gif'"),
        (image("http://images.example.com/cat.png"), "'image_url' with a plain http: URL"),
        (ContentPart("file", file_id="file-abc"), "'file' given by file_id"),
        (ContentPart("file", data=f"data:application/zip;base64,{PDF}"), "'file' of media type 'application/zip'"),
    ],
)
def test_gemini_refuses_what_it_cannot_take_by_name(part: ContentPart, named: str) -> None:
    with pytest.raises(UnsupportedContentPart, match=f"content parts of type {named}"):
        user_parts([part], model="gemini-2.5-flash")


@pytest.mark.parametrize("role", ["system", "assistant", "tool"])
def test_anthropic_and_gemini_refuse_parts_outside_user_messages_built_in_python(role: Role) -> None:
    message = ChatMessage(role, parts=(image(URL),), tool_call_id="call_1")
    for translate in (anthropic_messages, lambda messages: gemini_contents(messages, model="gemini-2.5-flash")):
        with pytest.raises(UnsupportedContentPart, match=f"'image_url' in a {role} message"):
            translate([message])
