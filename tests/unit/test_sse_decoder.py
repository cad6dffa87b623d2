"""The transport's event-stream decoder, and the joining of deltas read together."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ideaforge_gateway.adapters.http.sse import SSEDecodeError, SSEDecoder
from ideaforge_gateway.adapters.http_llm_provider import joined as _joined
from ideaforge_gateway.domain.models import StreamDelta, ToolCallDelta, Usage

_TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"), max_size=20)


def _decode(chunks: list[bytes]) -> list[str]:
    decoder = SSEDecoder()
    return [data for chunk in chunks for data in decoder.feed(chunk)]


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def test_the_fields_a_chat_stream_uses() -> None:
    stream = b': keep-alive\n\nevent: delta\ndata: {"a": 1}\nid: 7\n\ndata:two\ndata: lines\n\ndata: [DONE]\n\n'
    assert _decode([stream]) == ['{"a": 1}', "two\nlines", "[DONE]"]


def test_an_event_without_data_or_an_unfinished_event_is_not_dispatched() -> None:
    assert _decode([b"event: ping\n\ndata: half"]) == []


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_every_line_end(end: bytes) -> None:
    assert _decode([b"data: x" + end + end + b"data: y" + end + end]) == ["x", "y"]


@given(
    events=st.lists(_TEXT, min_size=1, max_size=6),
    end=st.sampled_from([b"\n", b"\r\n", b"\r"]),
    cuts=st.lists(st.integers(0, 400), max_size=12),
)
def test_any_split_of_the_bytes_gives_the_same_events(events: list[str], end: bytes, cuts: list[int]) -> None:
    stream = b"".join(b"data: " + e.encode() + end + end for e in events)
    assert _decode(_split(stream, cuts)) == events


def test_a_line_that_never_ends_is_refused_at_the_limit() -> None:
    decoder = SSEDecoder(max_event=64)
    decoder.feed(b"data: " + b"x" * 50)
    with pytest.raises(SSEDecodeError, match="longer than 64 bytes"):
        decoder.feed(b"x" * 50)


def test_bytes_that_are_not_utf8_are_refused() -> None:
    with pytest.raises(SSEDecodeError, match="not UTF-8"):
        SSEDecoder().feed(b"data: \xff\n\n")


def test_text_read_together_is_joined_and_everything_else_kept_apart() -> None:
    call = ToolCallDelta(index=0, id="c1", name="f", arguments="{}")
    usage = Usage(1, 2, 3)
    deltas = [
        StreamDelta(content="", model="m"),
        StreamDelta(content="a ", model="m"),
        StreamDelta(content="b", model="m"),
        StreamDelta(tool_calls=(call,), model="m"),
        StreamDelta(content="c", model="m"),
        StreamDelta(content="d", model="other"),
        StreamDelta(finish_reason="stop", model="other"),
        StreamDelta(usage=usage, model="other"),
    ]
    # The first three are text of one model; the tool call, another model, the finish and the usage
    # each stand apart.
    assert _joined(deltas) == [StreamDelta(content="a b", model="m"), *deltas[3:]]


@pytest.mark.parametrize("cut", [1, 2, 3, 4])
def test_a_leading_bom_is_skipped_even_split_across_reads(cut: int) -> None:
    stream = b"\xef\xbb\xbfdata: first\n\ndata: second\n\n"
    assert _decode([stream[:cut], stream[cut:]]) == ["first", "second"]


def test_an_event_of_many_data_lines_is_refused_at_the_limit() -> None:
    decoder = SSEDecoder(max_event=64)
    decoder.feed(b"data: " + b"x" * 40 + b"\n")
    with pytest.raises(SSEDecodeError, match="event is longer than 64 bytes"):
        decoder.feed(b"data: " + b"x" * 40 + b"\n")


def test_a_long_line_in_many_small_reads_arrives_whole() -> None:
    decoder = SSEDecoder()
    pieces = [b"data: "] + [b"y" * 10] * 2_000
    assert [e for p in pieces for e in decoder.feed(p)] == []
    assert decoder.feed(b"\n\n") == ["y" * 20_000]
