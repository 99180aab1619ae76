"""Answers holding Unicode line breaks (U+2028, U+2029, NEL) reach every official SDK intact, streamed or not.

The SDKs split event streams and NDJSON with ``str.splitlines``, which also breaks lines at these characters:
the gateway must never write them raw inside a JSON line (it escapes them, as Ollama's own server does).
"""

from __future__ import annotations

import anthropic
import ollama
import openai
import pytest

from tests.server.conftest import MODEL, Gateway

pytestmark = pytest.mark.sdk

TEXT = "one\u2028two\u2029three\x85four"


def test_openai_streamed_and_plain(gw: Gateway) -> None:
    c = openai.OpenAI(base_url=gw.url + "/v1", api_key="unused", max_retries=0)
    gw.local.add(TEXT)
    chunks = c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True)
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == TEXT
    gw.local.add(TEXT)
    out = c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert out.choices[0].message.content == TEXT


def test_anthropic_streamed(gw: Gateway) -> None:
    c = anthropic.Anthropic(base_url=gw.url, api_key="unused", max_retries=0)
    gw.local.add(TEXT)
    with c.messages.stream(model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "x"}]) as s:
        assert "".join(s.text_stream) == TEXT


def test_ollama_streamed(gw: Gateway) -> None:
    c = ollama.Client(host=gw.url)
    gw.local.add(TEXT)
    parts = list(c.chat(model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True))
    assert "".join(p.message.content or "" for p in parts) == TEXT
    gw.local.add(TEXT)
    assert "".join(p.response for p in c.generate(model=MODEL, prompt="x", stream=True)) == TEXT
