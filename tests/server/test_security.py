"""Bind rules, Host/Origin allowlists, API keys, health and the start-up lines of ``offload serve``."""

from __future__ import annotations

import socket

import httpx
import pytest

from offload.cli.serve import startup_lines
from offload.errors import ConfigError
from offload.server.security import check_bind, host_allowlist, is_loopback
from offload.server.settings import ServerSettings
from tests.server.conftest import MODEL, Gateway


def test_loopback_detection() -> None:
    for h in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"):
        assert is_loopback(h)
    for h in ("0.0.0.0", "192.168.1.10", "example.com", "::"):
        assert not is_loopback(h)


def test_binding_beyond_loopback_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OFFLOAD_API_KEY", raising=False)
    settings = ServerSettings()
    check_bind("127.0.0.1", settings)
    with pytest.raises(ConfigError, match="without an API key") as info:
        check_bind("0.0.0.0", settings)
    assert "OFFLOAD_API_KEY" in str(info.value)
    monkeypatch.setenv("OFFLOAD_API_KEY", "a-long-random-secret")
    check_bind("0.0.0.0", settings)


def test_host_allowlist() -> None:
    s = ServerSettings(allowed_hosts=("gateway.lan",))
    hosts = host_allowlist(s, "10.0.0.5")
    assert hosts is not None and {"localhost", "127.0.0.1", "::1", "10.0.0.5", "gateway.lan"} <= hosts
    wild = host_allowlist(ServerSettings(), "0.0.0.0")
    assert wild is not None and socket.gethostname().lower() in wild
    assert host_allowlist(ServerSettings(allowed_hosts=("*",)), "0.0.0.0") is None


def test_allowed_extras_pass(make_gateway) -> None:  # type: ignore[no-untyped-def]
    gw: Gateway = make_gateway(allowed_hosts=["gateway.lan"], allowed_origins=["https://app.example.com"])
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    ok = httpx.post(
        gw.url + "/v1/chat/completions",
        json=body,
        headers={"host": "gateway.lan:8787", "origin": "https://app.example.com"},
    )
    assert ok.status_code == 200
    bad = httpx.post(gw.url + "/v1/chat/completions", json=body, headers={"origin": "https://app.example.com.evil.io"})
    assert bad.status_code == 403


def test_key_is_not_needed_for_the_connection_check(make_gateway) -> None:  # type: ignore[no-untyped-def]
    gw: Gateway = make_gateway(api_key="k" * 32)
    assert httpx.head(gw.url + "/").status_code == 200
    assert httpx.get(gw.url + "/health").status_code == 401
    r = httpx.get(gw.url + "/health", headers={"x-api-key": "k" * 32})
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["backends"][0]["backend"] == "local"


def test_openapi_is_served(gw: Gateway) -> None:
    doc = httpx.get(gw.url + "/openapi.json").json()
    assert doc["openapi"].startswith("3.") and "/v1/messages" in doc["paths"] and "/api/chat" in doc["paths"]


def test_startup_lines_show_client_settings() -> None:
    lines = "\n".join(startup_lines("127.0.0.1", 8787, api_key_env="OFFLOAD_API_KEY", key_set=False))
    assert 'ANTHROPIC_BASE_URL="http://127.0.0.1:8787"' in lines and 'ANTHROPIC_AUTH_TOKEN="offload"' in lines
    assert 'OPENAI_BASE_URL="http://127.0.0.1:8787/v1"' in lines and 'OLLAMA_HOST="http://127.0.0.1:8787"' in lines
    keyed = "\n".join(startup_lines("0.0.0.0", 9000, api_key_env="OFFLOAD_API_KEY", key_set=True))
    assert 'OPENAI_API_KEY="$OFFLOAD_API_KEY"' in keyed and "http://127.0.0.1:9000" in keyed
