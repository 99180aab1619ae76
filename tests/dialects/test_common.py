"""Strict JSON loading and the shared validators."""

from __future__ import annotations

import base64

import pytest

from offload.dialects import dialect_for_path, render_error
from offload.dialects.common import MAX_JSON_DEPTH, check_base64, loads_object, parse_data_url, public_message
from offload.errors import InvalidRequest, ModelLoadError, UnknownModel


@pytest.mark.parametrize("body", [b"", b"   ", b"\n"])
def test_empty_body_is_refused(body: bytes) -> None:
    with pytest.raises(InvalidRequest, match="empty"):
        loads_object(body)


@pytest.mark.parametrize("body", [b"{", b"{'a': 1}", b"nul", b"\xff\xfe"])
def test_invalid_json_is_refused(body: bytes) -> None:
    with pytest.raises(InvalidRequest, match="not valid JSON"):
        loads_object(body)


@pytest.mark.parametrize("body", [b"[]", b"1", b'"x"', b"null"])
def test_top_level_must_be_an_object(body: bytes) -> None:
    with pytest.raises(InvalidRequest, match="must be a JSON object"):
        loads_object(body)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 10_000, 200_000])
def test_deep_nesting_is_a_clean_400(depth: int) -> None:
    body = b'{"a":' + b"[" * depth + b"]" * depth + b"}"
    with pytest.raises(InvalidRequest, match="nested too deeply") as info:
        loads_object(body)
    assert info.value.http_status == 400


def test_moderate_nesting_passes() -> None:
    depth = MAX_JSON_DEPTH - 2
    assert loads_object(b'{"a":' + b"[" * depth + b"]" * depth + b"}")["a"]


def test_base64_validation() -> None:
    good = base64.b64encode(b"\x89PNG....").decode()
    assert check_base64(good, "img") == good
    assert check_base64(good[:4] + "\n" + good[4:], "img") == good
    for bad in ("not base64!!", "abc", "", "====", 42):
        with pytest.raises(InvalidRequest, match="img"):
            check_base64(bad, "img")


def test_data_url() -> None:
    data = base64.b64encode(b"GIF89a").decode()
    assert parse_data_url(f"data:image/gif;base64,{data}", "u") == ("image/gif", data)
    with pytest.raises(InvalidRequest):
        parse_data_url("data:image/png,rawbytes", "u")
    with pytest.raises(InvalidRequest):
        parse_data_url("data:image/png;base64,%%%", "u")


def test_public_message_hides_paths_and_keys() -> None:
    exc = ModelLoadError("cannot load /home/alice/models/secret.gguf with key sk-ant-abcdefghijklmnop")
    msg = public_message(exc)
    assert "/home/alice" not in msg and "sk-ant-abcdefghijklmnop" not in msg
    assert "<path>" in msg


def test_dialect_for_path() -> None:
    assert dialect_for_path("/v1/chat/completions") == "openai"
    assert dialect_for_path("/v1/messages") == "anthropic"
    assert dialect_for_path("/v1/messages/count_tokens") == "anthropic"
    assert dialect_for_path("/api/chat") == "ollama"
    assert dialect_for_path("/unknown") == "openai"


def test_each_dialect_renders_errors_in_its_shape() -> None:
    exc = UnknownModel("model 'x' is not in the inventory")
    s, body = render_error("openai", exc)
    assert s == 404 and body["error"]["code"] == "model_not_found" and "x" in body["error"]["message"]
    s, body = render_error("anthropic", exc)
    assert s == 404 and body["type"] == "error" and body["error"]["type"] == "not_found_error"
    s, body = render_error("ollama", exc)
    assert s == 404 and isinstance(body["error"], str)
