"""The dashboard's HTTP API without a browser: pages and assets, reads, live events, the cross-site rules,
replay, model operations, bench reports, and the API-key mode."""

from __future__ import annotations

import json
import queue
import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from offload.dashboard import CSRF_HEADER, SESSION_COOKIE
from offload.errors import UpstreamHTTPError
from tests.dashboard.helpers import CLOUD, LOCAL, Env, running_dashboard


def api(env: Env, path: str) -> str:
    return f"{env.url}/ui/api{path}"


def token(env: Env) -> str:
    return str(httpx.get(api(env, "/session")).json()["csrf_token"])


def post(env: Env, path: str, body: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
    hdrs = {CSRF_HEADER: token(env), **headers}
    return httpx.post(api(env, path), json=body or {}, headers=hdrs, timeout=30)


def failed_request(env: Env) -> str:
    env.local.add_error(UpstreamHTTPError("the model rejected the request", status=400, backend="local"))
    marker = uuid.uuid4().hex[:8]
    body = {"model": LOCAL, "messages": [{"role": "user", "content": f"Translate hello into German ({marker})."}]}
    assert httpx.post(f"{env.url}/v1/chat/completions", json=body, timeout=30).status_code >= 400
    [entry] = env.engine.journal.list(search=marker, limit=1)
    return entry.id


# -- pages and assets --------------------------------------------------------------------------------------
def test_the_page_and_its_assets_are_served_with_a_strict_csp(env: Env) -> None:
    r = httpx.get(f"{env.url}/ui")
    assert r.status_code == 308 and r.headers["location"] == "/ui/"
    page = httpx.get(f"{env.url}/ui/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    for src in ("/ui/static/js/main.js", "/ui/static/css/app.css", "/ui/static/favicon.svg"):
        assert src in page.text or src.endswith(".js")
        asset = httpx.get(f"{env.url}{src}")
        assert asset.status_code == 200, src
    assert httpx.get(f"{env.url}/ui/static/js/main.js").headers["content-type"].startswith("text/javascript")
    assert "cdn" not in page.text.lower() and "https://" not in page.text


@pytest.mark.parametrize(
    "path",
    ["/ui/static/../app.py", "/ui/static/%2e%2e/app.py", "/ui/static/../../server/app.py", "/ui/nope", "/ui/static/"],
)
def test_nothing_outside_the_static_files_is_served(env: Env, path: str) -> None:
    r = httpx.get(f"{env.url}{path}")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_the_gateway_still_answers_next_to_the_dashboard(env: Env) -> None:
    assert httpx.get(f"{env.url}/health").status_code == 200
    assert httpx.get(f"{env.url}/v1/models").status_code == 200


# -- reads -------------------------------------------------------------------------------------------------
def test_session_on_loopback_needs_no_key(env: Env) -> None:
    s = httpx.get(api(env, "/session")).json()
    assert s["auth_required"] is False and s["authenticated"] is True and len(s["csrf_token"]) >= 32


def test_overview_reports_health_budget_and_savings(env: Env) -> None:
    env.fake.load("llama3.2", keep_alive="10m")
    d = httpx.get(api(env, "/overview"), timeout=30).json()
    assert {b["name"]: b["ok"] for b in d["backends"]} == {"local": True, "ollama": True, "cloud": True}
    assert d["budget"]["gb"] == 12.0 and d["budget"]["source"] == "config"
    assert [m["name"] for m in d["loaded"]] == ["llama3.2"] and d["vram_used_gb"] > 0
    assert d["totals"]["requests"] >= 20 and d["totals"]["verified_local"] >= 8
    assert d["avoided"]["all"] >= d["avoided"]["7d"] >= d["avoided"]["today"] >= 0
    assert 0 < d["totals"]["avoided_usd"] == d["avoided"]["all"]
    assert len(d["recent"]) == 8


def test_requests_list_filters_and_detail(env: Env) -> None:
    rows = httpx.get(api(env, "/requests"), params={"status": "failed"}).json()["requests"]
    assert rows and {r["status"] for r in rows} == {"error"} and all(r["replayable"] for r in rows)
    cloud = httpx.get(api(env, "/requests"), params={"model": CLOUD}).json()["requests"]
    assert len(cloud) == 3 and all(r["local"] is False and r["dialect"] == "anthropic" for r in cloud)
    found = httpx.get(api(env, "/requests"), params={"search": "fixture person #3"}).json()["requests"]
    assert len(found) == 1 and found[0]["verdict"] == "verified" and found[0]["source"] == "mcp"
    d = httpx.get(api(env, f"/requests/{found[0]['id']}")).json()
    assert d["profile"]["kind"] == "fixtures" and d["route"]["candidates"] == [LOCAL]
    assert d["attempt_list"][0]["verdict"] == "verified" and d["answer"]["content"].startswith("{")
    assert d["prompt"]["messages"][0]["text"] == "Make a test fixture person #3 as JSON."
    assert d["prompt"]["params"]["response_format"] == "json_schema"
    assert d["timings"]["total_s"] is not None and d["avoided_usd"] > 0
    assert httpx.get(api(env, "/requests"), params={"status": "bogus"}).status_code == 400
    missing = httpx.get(api(env, "/requests/01NOPE"))
    assert missing.status_code == 404 and "hint" in missing.json()["error"]


def test_secrets_never_reach_the_dashboard(env: Env) -> None:
    secret = "sk-ant-api03-" + "Zq9" * 12
    body = {
        "model": LOCAL,
        "messages": [{"role": "user", "content": f"Translate into French: my password is {secret}, keep it safe."}],
    }
    r = httpx.post(f"{env.url}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {secret}"})
    assert r.status_code == 200, r.text
    [entry] = env.engine.journal.list(search="keep it safe", limit=1)
    for path in (f"/requests/{entry.id}", "/requests?search=keep%20it%20safe", "/overview"):
        text = httpx.get(api(env, path), timeout=30).text
        assert secret not in text and "Zq9Zq9Zq9" not in text
    d = httpx.get(api(env, f"/requests/{entry.id}")).json()
    assert "[REDACTED]" in d["prompt"]["messages"][0]["text"]
    assert d["headers"]["authorization"] == "[REDACTED]"


def test_savings_by_day_model_and_kind(env: Env) -> None:
    d = httpx.get(api(env, "/savings"), params={"days": 7}).json()
    assert len(d["by_day"]) == 7 and sum(r["requests"] for r in d["by_day"]) == d["total"]["requests"]
    assert sum(r["avoided_usd"] for r in d["by_day"]) == pytest.approx(d["total"]["avoided_usd"])
    models = {r["key"]: r for r in d["by_model"]}
    assert models[LOCAL]["tokens_local"] > 0 and models[CLOUD]["tokens_cloud"] > 0
    kinds = {r["key"] for r in d["by_kind"]}
    assert {"fixtures", "code_generation"} <= kinds
    assert d["total"]["verified_local"] >= 8 and d["total"]["tokens_cloud"] > 0


def test_models_inventory(env: Env) -> None:
    d = httpx.get(api(env, "/models"), timeout=30).json()
    rows = {m["name"]: m for m in d["models"]}
    assert rows["llama3.2"]["installed"] is True and rows["llama3.2"]["can_pull"] is True
    assert rows["coder"]["upstream"] == "qwen2.5-coder:7b" and rows["coder"]["vram_gb"] == 5.5
    assert rows[CLOUD]["cloud"] is True and rows[LOCAL]["can_load"] is False
    assert d["budget"]["gb"] == 12.0


def test_bench_sets_and_reports(env: Env) -> None:
    d = httpx.get(api(env, "/bench")).json()
    [s] = d["sets"]
    assert s["id"] == "humaneval" and s["cases"] == 10 and s["passed"] == 5
    assert [p["profile"] for p in s["profiles"]] == ["qwen2.5-coder-7b", "embedded"]
    r = post(env, "/bench/report", {"set": "humaneval"})
    assert r.status_code == 200 and r.json()["report"] is True
    report = httpx.get(f"{env.url}/ui/bench/report", params={"set": "humaneval"})
    assert report.status_code == 200 and "offload bench report" in report.text
    assert "sandbox" in report.headers["content-security-policy"]
    for bad in ("../humaneval", "/etc", "humaneval/../..", ""):
        assert httpx.get(f"{env.url}/ui/bench/report", params={"set": bad}).status_code == 404


# -- live events -------------------------------------------------------------------------------------------
def test_the_event_stream_carries_a_new_request_and_its_outcome(env: Env) -> None:
    seen: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
    stop = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", api(env, "/events"), timeout=30) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            kind = ""
            for line in r.iter_lines():
                if stop.is_set():
                    return
                if line.startswith(": connected"):
                    seen.put(("connected", {}))
                elif line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    seen.put((kind, json.loads(line[6:])))

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    assert seen.get(timeout=10)[0] == "connected"
    marker = uuid.uuid4().hex[:8]
    env.local.add(f"ok {marker}", delay=0.5)
    body = {"model": LOCAL, "messages": [{"role": "user", "content": f"Say hi ({marker})"}]}
    assert httpx.post(f"{env.url}/v1/chat/completions", json=body, timeout=30).status_code == 200
    statuses = []
    while "ok" not in statuses:
        kind, data = seen.get(timeout=10)
        if kind == "request" and marker in data["preview"]:
            statuses.append(data["status"])
    stop.set()
    assert statuses[0] == "pending" and statuses[-1] == "ok"


# -- the cross-site rules ----------------------------------------------------------------------------------
def test_a_post_without_the_csrf_token_is_refused(env: Env) -> None:
    failed = failed_request(env)
    r = httpx.post(api(env, f"/requests/{failed}/replay"), json={})
    assert r.status_code == 403 and r.json()["error"]["code"] == "cross_site_refused"
    r = httpx.post(api(env, f"/requests/{failed}/replay"), json={}, headers={CSRF_HEADER: "guessed"})
    assert r.status_code == 403
    assert env.engine.journal.get(failed).replayed_by == []


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://evil.example"},  # refused by the gateway's middleware (foreign origin)
        {"origin": "http://127.0.0.1:1"},  # a local origin, but not the dashboard's own
        {"origin": "http://localhost:3000"},
        {"sec-fetch-site": "same-site"},  # another port on localhost is "same-site"
        {"sec-fetch-site": "cross-site"},
    ],
)
def test_a_post_from_another_origin_is_refused_even_with_the_token(env: Env, headers: dict[str, str]) -> None:
    failed = failed_request(env)
    r = post(env, f"/requests/{failed}/replay", **headers)
    assert r.status_code == 403
    assert env.engine.journal.get(failed).replayed_by == []


def test_a_form_post_is_refused(env: Env) -> None:
    failed = failed_request(env)
    r = httpx.post(api(env, f"/requests/{failed}/replay"), content=b"x=1", headers={"content-type": "text/plain"})
    assert r.status_code == 415
    assert env.engine.journal.get(failed).replayed_by == []


def test_cross_site_reads_of_the_api_are_refused(env: Env) -> None:
    assert httpx.get(api(env, "/overview"), headers={"sec-fetch-site": "cross-site"}).status_code == 403
    assert httpx.get(api(env, "/requests"), headers={"origin": "http://127.0.0.1:1"}).status_code == 403
    assert httpx.get(api(env, "/requests"), headers={"sec-fetch-site": "same-origin"}).status_code == 200


def test_same_origin_replay_works_once(env: Env) -> None:
    failed = failed_request(env)
    r = post(env, f"/requests/{failed}/replay", origin=env.url, **{"sec-fetch-site": "same-origin"})
    assert r.status_code == 200 and r.json()["ok"] is True
    new = env.engine.journal.get(r.json()["id"])
    assert new.replay_of == failed and new.status == "ok"
    again = post(env, f"/requests/{failed}/replay")
    assert again.status_code == 409 and "already replayed" in again.json()["error"]["message"]
    ok_row = post(env, f"/requests/{new.id}/replay")
    assert ok_row.status_code == 409


# -- model operations --------------------------------------------------------------------------------------
def test_load_unload_and_pull_through_the_api(env: Env) -> None:
    env.fake.loaded.clear()
    assert post(env, "/models/load", {"model": "llama3.2", "keep_alive": "15m"}).json()["keep_alive"] == "15m"
    assert "llama3.2:latest" in env.fake.loaded
    assert post(env, "/models/unload", {"model": "llama3.2"}).status_code == 200
    assert "llama3.2:latest" not in env.fake.loaded
    assert post(env, "/models/pull", {"model": "no-such-model"}).status_code == 404
    r = post(env, "/models/pull", {"model": LOCAL})
    assert r.status_code == 400 and "cannot pull" in r.json()["error"]["message"]
    assert post(env, "/models/load", {"model": "llama3.2", "keep_alive": "forever"}).status_code == 400
    assert post(env, "/models/load", {}).status_code == 400


# -- the playground ----------------------------------------------------------------------------------------
def test_playground_rejects_bad_input(env: Env) -> None:
    good = {"model": LOCAL, "messages": [{"role": "user", "content": "hi"}]}
    for bad in (
        {**good, "model": "nope"},
        {**good, "messages": []},
        {**good, "messages": [{"role": "system", "content": "x"}]},
        {**good, "max_tokens": 0},
        {**good, "temperature": "hot"},
    ):
        r = post(env, "/playground/code", bad)
        assert r.status_code == 400, bad


def test_playground_chat_streams_events(env: Env) -> None:
    body = {"model": LOCAL, "messages": [{"role": "user", "content": "Say hello to the playground."}]}
    hdrs = {CSRF_HEADER: token(env)}
    with httpx.stream("POST", api(env, "/playground/chat"), json=body, headers=hdrs, timeout=30) as r:
        events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]
    assert events[0]["type"] == "start" and events[0]["model"] == LOCAL
    assert "".join(e["text"] for e in events if e["type"] == "delta").startswith("Hello from offload")
    end = events[-1]
    assert end["type"] == "end" and end["backend"] == "local"
    entry = env.engine.journal.get(end["journal_id"])
    assert entry.source == "dashboard" and entry.client == "offload-dashboard" and entry.status == "ok"


# -- the API key -------------------------------------------------------------------------------------------
def test_with_an_api_key_the_api_needs_it_and_browsers_sign_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "dash-secret-key-0123456789"
    monkeypatch.setenv("OFFLOAD_API_KEY", key)
    with running_dashboard(tmp_path) as keyed:
        assert httpx.get(f"{keyed.url}/ui/").status_code == 200  # the page itself holds no data
        s = httpx.get(api(keyed, "/session")).json()
        assert s["auth_required"] is True and s["authenticated"] is False
        assert httpx.get(api(keyed, "/overview")).status_code == 401
        assert httpx.get(api(keyed, "/events")).status_code == 401
        assert httpx.get(f"{keyed.url}/v1/models").status_code == 401  # the gateway's own rule is unchanged
        assert httpx.get(api(keyed, "/requests"), headers={"authorization": f"Bearer {key}"}).status_code == 200
        hdrs = {CSRF_HEADER: s["csrf_token"]}
        assert httpx.post(api(keyed, "/login"), json={"key": "wrong"}, headers=hdrs).status_code == 401
        ok = httpx.post(api(keyed, "/login"), json={"key": key}, headers=hdrs)
        assert ok.status_code == 200
        cookie = ok.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert key not in cookie
        with httpx.Client(cookies=ok.cookies) as browser:
            assert browser.get(api(keyed, "/overview"), timeout=30).status_code == 200
            out = browser.post(api(keyed, "/logout"), json={}, headers=hdrs)
            assert out.status_code == 200
        with httpx.Client(cookies=ok.cookies) as stale:
            assert stale.get(api(keyed, "/overview")).status_code == 401
