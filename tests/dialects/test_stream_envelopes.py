"""The streaming encoders' shortcuts for the common text event write exactly the bytes of the general path."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from offload.dialects.anthropic_stream import _text_delta, sse
from offload.dialects.openai_stream import OpenAIStreamEncoder


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.integers(min_value=0, max_value=10_000))
def test_anthropic_text_delta_is_the_general_event(text: str, index: int) -> None:
    general = sse(
        "content_block_delta",
        {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}},
    )
    assert _text_delta(index, text) == general
    assert json.loads(general.split(b"data: ", 1)[1])["delta"]["text"] == text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.booleans(), st.text(max_size=20))
def test_openai_text_chunk_is_the_general_chunk(text: str, include_usage: bool, model: str) -> None:
    enc = OpenAIStreamEncoder(model, include_usage=include_usage)
    assert enc._text_chunk(text) == enc._chunk({"content": text})
    chunk = json.loads(enc._text_chunk(text)[len(b"data: ") :])
    assert chunk["choices"][0]["delta"] == {"content": text} and chunk["model"] == model
