"""The incremental Server-Sent-Events parser: WHATWG line rules, any chunking, UTF-8 cut anywhere."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from offload.backends.sse import SSEEvent, SSEParser, aiter_sse


def parse(chunks: list[bytes]) -> list[SSEEvent]:
    p = SSEParser()
    out: list[SSEEvent] = []
    for c in chunks:
        out += p.feed(c)
    return out + p.close()


STREAM = (
    "\ufeff: a comment\r\n"
    "event: message_start\r\n"
    'data: {"a": 1}\r\n'
    "\r\n"
    "data: first line\n"
    "data:second line\n"
    "id: 7\n"
    "retry: 100\n"
    "\n"
    'data: {"text": "caf\u00e9 \u2028 \u0085 \x0c \u2603"}\r'
    "\r"
    "event: ping\n"
    "\n"
    "data: [DONE]\n\n"
).encode()
EXPECTED = [
    SSEEvent("message_start", '{"a": 1}'),
    SSEEvent(None, "first line\nsecond line"),
    SSEEvent(None, '{"text": "caf\u00e9 \u2028 \u0085 \x0c \u2603"}'),
    SSEEvent("ping", ""),
    SSEEvent(None, "[DONE]"),
]


def test_whole_stream() -> None:
    # U+2028, NEL and form feed inside data are NOT line ends (a str.splitlines reader would cut the event)
    assert parse([STREAM]) == EXPECTED


def test_every_split_point_gives_the_same_events() -> None:
    for i in range(len(STREAM) + 1):
        assert parse([STREAM[:i], STREAM[i:]]) == EXPECTED, i


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_chunking_gives_the_same_events(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(STREAM)]
    assert parse([STREAM[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]) == EXPECTED


def test_byte_by_byte() -> None:
    assert parse([bytes([b]) for b in STREAM]) == EXPECTED


def test_a_cut_off_event_still_surfaces_at_the_end() -> None:
    assert parse([b'data: {"trunc']) == [SSEEvent(None, '{"trunc')]
    assert parse([b"data: x\n"]) == [SSEEvent(None, "x")]
    assert parse([b"\xef\xbb"]) == []
    assert parse([]) == []


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    assert parse([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]) == [SSEEvent(None, "a\nb")]


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    assert parse([b"data: \xff\xfe\n\n"]) == [SSEEvent(None, "\ufffd\ufffd")]


async def test_async_batches_one_list_per_chunk() -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b"data: 1\n\ndata: 2\n\n"
        yield b"data: 3"

    got = [batch async for batch in aiter_sse(chunks())]
    assert got == [[SSEEvent(None, "1"), SSEEvent(None, "2")], [SSEEvent(None, "3")]]
