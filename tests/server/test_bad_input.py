"""Bad input, each in all three dialects -> the right 4xx, in that dialect's error shape, never a 5xx."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from offload.backends.scripted import ScriptedBackend
from offload.config import parse_config
from offload.engine import Engine
from offload.server.app import create_app
from tests.fakes.server import serve_app
from tests.server.conftest import MODEL, Gateway, base_config

KEY = "test-key-0123456789"
GOOD_IMG = base64.b64encode(b"\x89PNG\r\n\x1a\nx").decode()


def openai_body(**kw: Any) -> dict:
    return {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], **kw}


def anthropic_body(**kw: Any) -> dict:
    return {"model": MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}], **kw}


def ollama_body(**kw: Any) -> dict:
    return {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": False, **kw}


DIALECTS: dict[str, dict[str, Any]] = {
    "openai": {
        "path": "/v1/chat/completions",
        "body": openai_body,
        "bad_role": {"messages": [{"role": "wizard", "content": "hi"}]},
        "max_tokens": lambda n: {"max_tokens": n},
        "bad_image": {
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,!!!notbase64!!!"}}],
                }
            ]
        },
    },
    "anthropic": {
        "path": "/v1/messages",
        "body": anthropic_body,
        "bad_role": {"messages": [{"role": "wizard", "content": "hi"}]},
        "max_tokens": lambda n: {"max_tokens": n},
        "bad_image": {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": "!!!notbase64!!!"},
                        }
                    ],
                }
            ]
        },
    },
    "ollama": {
        "path": "/api/chat",
        "body": ollama_body,
        "bad_role": {"messages": [{"role": "wizard", "content": "hi"}]},
        # Ollama's own semantics: num_predict -1 means "unlimited" (accepted); below -2 or absurdly large is refused.
        "max_tokens": lambda n: {"options": {"num_predict": -3 if n == -1 else n}},
        "bad_image": {"messages": [{"role": "user", "content": "hi", "images": ["!!!notbase64!!!"]}]},
    },
}


def check_shape(dialect: str, r: httpx.Response) -> str:
    """Assert the body is the dialect's error shape; return the message."""
    body = r.json()
    if dialect == "openai":
        assert set(body["error"]) >= {"message", "type", "code"}
        return body["error"]["message"]
    if dialect == "anthropic":
        assert body["type"] == "error" and {"type", "message"} <= set(body["error"])
        return body["error"]["message"]
    assert isinstance(body["error"], str)
    return body["error"]


def auth(**extra: str) -> dict[str, str]:
    return {"authorization": f"Bearer {KEY}", "content-type": "application/json", **extra}


Case = Callable[[dict[str, Any], httpx.Client, str], httpx.Response]


def _post(client: httpx.Client, path: str, content: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return client.post(path, content=content, headers=headers or auth())


CASES: dict[str, tuple[Case, int]] = {
    "empty body": (lambda d, c, p: _post(c, p, b""), 400),
    "invalid json": (lambda d, c, p: _post(c, p, b'{"model": "x", "messages": ['), 400),
    "10,000-deep nesting": (lambda d, c, p: _post(c, p, b'{"model":' + b"[" * 10_000 + b"]" * 10_000 + b"}"), 400),
    "oversize body": (lambda d, c, p: _post(c, p, b'{"model": "' + b"x" * 70_000 + b'"}'), 413),
    "oversize chunked body": (
        lambda d, c, p: c.post(p, content=iter([b'{"model": "', b"x" * 70_000, b'"}']), headers=auth()),
        413,
    ),
    "wrong content type": (
        lambda d, c, p: _post(c, p, json.dumps(d["body"]()).encode(), auth(**{"content-type": "text/plain"})),
        415,
    ),
    "unknown model": (lambda d, c, p: c.post(p, json=d["body"](model="no-such-model"), headers=auth()), 404),
    "bad roles": (lambda d, c, p: c.post(p, json=d["body"](**d["bad_role"]), headers=auth()), 400),
    "max_tokens -1": (lambda d, c, p: c.post(p, json=d["body"](**d["max_tokens"](-1)), headers=auth()), 400),
    "max_tokens 10^9": (lambda d, c, p: c.post(p, json=d["body"](**d["max_tokens"](10**9)), headers=auth()), 400),
    "invalid base64 image": (lambda d, c, p: c.post(p, json=d["body"](**d["bad_image"]), headers=auth()), 400),
    "10 KB key": (
        lambda d, c, p: c.post(p, json=d["body"](), headers={"authorization": "Bearer " + "k" * 10_240}),
        401,
    ),
    "sql-ish key": (lambda d, c, p: c.post(p, json=d["body"](), headers={"authorization": "Bearer ' OR '1'='1"}), 401),
    "no key": (lambda d, c, p: c.post(p, json=d["body"]()), 401),
    "foreign Host": (lambda d, c, p: c.post(p, json=d["body"](), headers=auth(host="evil.example.com")), 400),
    "foreign Origin": (
        lambda d, c, p: c.post(p, json=d["body"](), headers=auth(origin="https://evil.example.com")),
        403,
    ),
    "Origin null": (lambda d, c, p: c.post(p, json=d["body"](), headers=auth(origin="null")), 403),
    "empty messages": (lambda d, c, p: c.post(p, json=d["body"](messages=[]), headers=auth()), 400),
}


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """One gateway with an API key and a 64 KB body limit, shared by the whole matrix."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OFFLOAD_API_KEY", KEY)
        cfg = parse_config({**base_config(), "server": {"max_body_bytes": 65_536}})
        backend = ScriptedBackend("local", default="Hello from offload", models=[MODEL])
        engine = Engine(cfg, backends={"local": backend}, journal_path=tmp_path_factory.mktemp("j") / "journal.db")
        app = create_app(engine)
    with serve_app(app) as url:
        yield Gateway(url=url, engine=engine, backends={"local": backend})
    engine.journal.close()


@pytest.mark.parametrize("dialect", list(DIALECTS))
@pytest.mark.parametrize("case", list(CASES))
def test_bad_input(secured: Gateway, dialect: str, case: str) -> None:
    spec = DIALECTS[dialect]
    fn, status = CASES[case]
    if case == "empty messages" and dialect == "ollama":
        status = 200  # Ollama documents an empty `messages` as "load the model" (done_reason: "load")
    with httpx.Client(base_url=secured.url, timeout=10) as c:
        r = fn(spec, c, spec["path"])
    assert r.status_code == status, r.text
    if status >= 400:
        msg = check_shape(dialect, r)
        assert msg and "Traceback" not in r.text and "/home/" not in r.text and KEY not in r.text
    else:
        assert r.json()["done_reason"] == "load"


def test_good_requests_pass_with_claude_code_headers(secured: Gateway) -> None:
    """Claude Code's own headers (no Origin, browser-access flag, beta list) pass the checks."""
    headers = {
        "authorization": f"Bearer {KEY}",
        "anthropic-version": "2023-06-01",
        "x-app": "cli",
        "anthropic-beta": "claude-code-20250219,context-1m-2025-08-07",
        "anthropic-dangerous-direct-browser-access": "true",
        "user-agent": "claude-cli/2.1.197 (external, sdk-cli)",
        "x-api-key": "ignored-when-bearer-matches",
    }
    r = httpx.post(secured.url + "/v1/messages?beta=true", json=anthropic_body(), headers=headers)
    assert r.status_code == 200, r.text
    assert secured.journal_rows(limit=1)[0].client == "claude-code"
    r = httpx.post(secured.url + "/v1/messages", json=anthropic_body(), headers={"x-api-key": KEY})
    assert r.status_code == 200
    r = httpx.post(
        secured.url + "/v1/chat/completions", json=openai_body(), headers=auth(origin="http://localhost:3000")
    )
    assert r.status_code == 200


def test_curl_style_ollama_body_is_accepted(gw: Gateway) -> None:
    r = httpx.post(
        gw.url + "/api/generate",
        content=json.dumps({"model": MODEL, "prompt": "hi", "stream": False}),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200 and r.json()["response"] == "Hello from offload"


def test_unknown_paths_and_methods(gw: Gateway) -> None:
    r = httpx.get(gw.url + "/v1/nothing")
    assert r.status_code == 404 and "error" in r.json()
    r = httpx.get(gw.url + "/v1/chat/completions")
    assert r.status_code == 405
    r = httpx.post(gw.url + "/api/pull", json={"model": "x"})
    assert r.status_code == 404 and isinstance(r.json()["error"], str)


def test_client_supplied_base_urls_are_ignored(gw: Gateway) -> None:
    body = openai_body(api_base="http://169.254.169.254/", base_url="http://evil/", api_key="sk-stolen")
    r = httpx.post(gw.url + "/v1/chat/completions", json=body)
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "Hello from offload"
