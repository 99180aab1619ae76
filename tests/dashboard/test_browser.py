"""The dashboard end to end in headless Chromium: every page loads cleanly, the live list, replay, a pull with
progress, the Playground (chat and Code Mode), refusal of cross-site POSTs, and signing in with the key.
Screenshots of each page go to test-artifacts/dashboard/."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from offload.errors import UpstreamHTTPError
from tests.dashboard.conftest import shot
from tests.dashboard.helpers import ADD_PROMPT, LOCAL, Env, running_dashboard
from tests.fakes.server import serve_app

pytestmark = pytest.mark.slow

PAGES = {
    "overview": "#backends .backend",
    "requests": "#requests-table tbody tr",
    "savings": "#chart-tokens svg",
    "models": "#inventory tbody tr",
    "playground": "#prompt",
    "bench": "#bench-sets [data-set]",
}


def chat(env: Env, prompt: str, **headers: str) -> httpx.Response:
    body = {"model": LOCAL, "messages": [{"role": "user", "content": prompt}]}
    return httpx.post(f"{env.url}/v1/chat/completions", json=body, headers=headers, timeout=30)


def failed_request(env: Env) -> str:
    """A request that fails upstream (status ``error``), made through the gateway; returns its id."""
    env.local.add_error(UpstreamHTTPError("the model rejected the request", status=400, backend="local"))
    marker = uuid.uuid4().hex[:8]
    assert chat(env, f"Translate good morning into French (ref {marker}).").status_code >= 400
    [entry] = env.engine.journal.list(search=marker, limit=1)
    assert entry.status == "error"
    return entry.id


def goto(page: Any, env: Env, route: str, ready: str) -> None:
    page.goto(f"{env.ui}#/{route}")
    page.wait_for_selector(ready, timeout=15000)


@pytest.mark.parametrize("name", list(PAGES))
def test_each_page_loads_without_console_errors(env: Env, page: Any, name: str) -> None:
    env.fake.load("llama3.2", keep_alive="30m")  # something in memory for the VRAM bars
    goto(page, env, name, PAGES[name])
    page.wait_for_selector("#live.on", timeout=10000)
    page.wait_for_timeout(300)  # let late requests (charts, live feed) finish before judging the console
    shot(page, name)
    assert page.console.errors == []
    assert page.locator("#nav a.active").get_attribute("data-page") == name


def test_a_gateway_request_appears_in_the_live_list_within_a_second(env: Env, page: Any) -> None:
    goto(page, env, "requests", PAGES["requests"])
    page.wait_for_selector("#live.on", timeout=10000)
    marker = f"live-{uuid.uuid4().hex[:8]}"
    env.local.add(f"Hello {marker}", delay=1.0)  # still running while the row shows up as pending
    worker = threading.Thread(target=chat, args=(env, f"Say hello to {marker}"), kwargs={"user-agent": "curl/8.5"})
    worker.start()
    try:
        row = page.locator("#requests-table tbody tr", has_text=marker)
        row.wait_for(timeout=1000)  # the requirement: visible within a second of being sent
        page.wait_for_selector(f'#requests-table tr[data-status="ok"]:has-text("{marker}")', timeout=15000)
    finally:
        worker.join(30)
    cells = row.locator("td")
    assert cells.nth(2).inner_text() == "openai" and cells.nth(3).inner_text() == "curl"
    assert LOCAL in cells.nth(4).inner_text() and "local" in cells.nth(5).inner_text()
    shot(page, "requests-live")
    assert page.console.errors == []


def test_request_detail_and_replay_of_a_failed_request(env: Env, page: Any) -> None:
    failed = failed_request(env)
    goto(page, env, f"requests/{failed}", "#attempts")
    assert "the model rejected the request" in page.locator("#error").inner_text()
    assert "Translate good morning" in page.locator(".msg.user").first.inner_text()
    shot(page, "request-detail-failed")
    page.get_by_role("button", name="Replay").click()
    page.wait_for_selector('.page-head [data-status="ok"]', timeout=15000)
    new_id = page.url.rsplit("/", 1)[-1]
    assert new_id != failed
    replayed = env.engine.journal.get(new_id)
    assert replayed.replay_of == failed and replayed.status == "ok" and replayed.source == "replay"
    assert env.engine.journal.get(failed).replayed_by == [new_id]
    page.wait_for_selector("#answer .answer p")
    shot(page, "request-detail-replayed")
    assert page.console.errors == []


def test_user_and_model_text_is_shown_as_text_never_as_markup(env: Env, page: Any) -> None:
    attack = """<img src=x onerror="document.title='pwned'"><script>document.title='pwned'</script>"""
    env.local.add(f"Voici: <b id=bold>{attack}</b>")
    assert chat(env, f"Translate into French: {attack}").status_code == 200
    [entry] = env.engine.journal.list(search="onerror", limit=1)
    goto(page, env, f"requests/{entry.id}", "#answer .answer p")
    assert "<img src=x" in page.locator(".msg.user").first.inner_text()
    assert "<b id=bold>" in page.locator("#answer").inner_text()
    goto(page, env, "requests", f'#requests-table tr[data-id="{entry.id}"]')
    assert page.locator("img, #bold, main script").count() == 0
    assert page.title() != "pwned"
    assert page.console.errors == []


def test_pull_shows_live_progress_against_fake_ollama(env: Env, page: Any) -> None:
    env.fake.chunk_delay, env.fake.pull_steps = 0.05, 20
    try:
        goto(page, env, "models", '[data-model="coder"]')
        page.locator('[data-model="coder"]').get_by_role("button", name="Pull").click()
        page.wait_for_function(
            """() => {
              const el = document.querySelector('[data-progress-for="coder"] .pull-pct');
              const m = el && el.textContent.match(/(\\d+)%/);
              return m && +m[1] > 0 && +m[1] < 100;
            }""",
            timeout=15000,
        )
        assert page.locator('[data-progress-for="coder"] .meter .fill').count() == 1
        shot(page, "models-pull-progress")
        page.wait_for_selector('[data-model="coder"] .pill.ok:has-text("installed")', timeout=30000)
    finally:
        env.fake.chunk_delay, env.fake.pull_steps = 0.0, 4
    assert "qwen2.5-coder:7b" in env.fake.models
    shot(page, "models-pulled")
    assert page.console.errors == []


def test_load_and_unload_from_the_models_page(env: Env, page: Any) -> None:
    env.fake.loaded.clear()
    goto(page, env, "models", '[data-model="llama3.2"]')
    page.locator('[data-model="llama3.2"]').get_by_role("button", name="Load").click()
    page.wait_for_selector('[data-model="llama3.2"] .pill.info:has-text("loaded")', timeout=15000)
    assert "llama3.2:latest" in env.fake.loaded
    page.locator('[data-model="llama3.2"]').get_by_role("button", name="Unload").click()
    page.wait_for_selector('[data-model="llama3.2"] button:has-text("Load")', timeout=15000)
    assert "llama3.2:latest" not in env.fake.loaded
    assert page.console.errors == []


def test_playground_chat_streams_the_answer(env: Env, page: Any) -> None:
    goto(page, env, "playground", "#prompt")
    page.select_option("#model", LOCAL)
    env.local.add("Streaming, one small piece at a time, from the local model.", chunk_delay=0.02)
    page.fill("#prompt", "Tell me how you stream.")
    page.click("#send")
    page.wait_for_selector(".msg.assistant .meta a", timeout=15000)
    assert "one small piece at a time" in page.locator(".msg.assistant .answer").inner_text()
    assert LOCAL in page.locator(".msg.assistant .meta").inner_text()
    shot(page, "playground-chat")
    assert page.console.errors == []


def test_code_mode_shows_highlighted_code_the_verdict_and_the_route(env: Env, page: Any) -> None:
    goto(page, env, "playground", "#prompt")
    page.select_option("#model", LOCAL)
    page.check("#code-mode")
    page.fill("#prompt", ADD_PROMPT)
    page.click("#send")
    page.wait_for_selector("#code-verdict [data-verdict]", timeout=60000)
    assert page.locator("#code-verdict [data-verdict]").get_attribute("data-verdict") == "verified"
    assert page.locator(".code-result .code-block .tok-kw").first.inner_text() == "def"
    assert page.locator(".code-result .code-block .tok-def").first.inner_text() == "add"
    assert page.locator(".code-result .code-block .tok-com").first.inner_text() == "# the sum"
    assert LOCAL in page.locator("#code-route").inner_text()
    shot(page, "playground-code-mode")
    assert page.console.errors == []


EVIL = """<!doctype html><html><body><h1>Totally harmless page</h1>
<iframe name="sink" id="sink"></iframe>
<form id="f" method="POST" action="{target}" enctype="text/plain" target="sink"><input name='{{"x":"' value='"}}'></form>
<script>
(async () => {{
  const out = {{}};
  try {{
    const r = await fetch("{target}", {{method: "POST", credentials: "include",
      headers: {{"content-type": "application/json", "x-offload-csrf": "guessed"}}, body: "{{}}"}});
    out.cors = "answered " + r.status;
  }} catch (e) {{ out.cors = "blocked"; }}
  try {{
    await fetch("{target}", {{method: "POST", mode: "no-cors", credentials: "include", body: "{{}}"}});
    out.nocors = "sent (opaque)";
  }} catch (e) {{ out.nocors = "blocked"; }}
  document.getElementById("sink").addEventListener("load", () => {{
    out.form = "submitted";
    document.body.dataset.result = JSON.stringify(out);
    document.title = "done";
  }});
  document.getElementById("f").submit();
}})();
</script></body></html>"""


@pytest.fixture
def evil_site(env: Env) -> Iterator[tuple[str, str]]:
    """A page on another origin (another loopback port) that tries to replay a failed request."""
    failed = failed_request(env)
    html = EVIL.format(target=f"{env.url}/ui/api/requests/{failed}/replay").encode()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": html})

    with serve_app(app) as url:
        yield url, failed


def test_a_cross_site_post_is_refused(env: Env, page: Any, evil_site: tuple[str, str]) -> None:
    url, failed = evil_site
    page.goto(f"{env.ui}#/overview")  # the victim has the dashboard open (and would hold a session)
    page.wait_for_selector("#backends .backend")
    before = len(env.engine.journal.list(limit=500))
    page.goto(url)
    page.wait_for_function("document.title === 'done'", timeout=15000)
    result = page.locator("body").get_attribute("data-result")
    assert result is not None and '"cors":"blocked"' in result  # the preflight was never granted
    page.wait_for_timeout(500)
    assert env.engine.journal.get(failed).replayed_by == []
    assert len(env.engine.journal.list(limit=500)) == before


def test_sign_in_with_the_api_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, page: Any) -> None:
    monkeypatch.setenv("OFFLOAD_API_KEY", "dash-secret-key-0123456789")
    with running_dashboard(tmp_path) as keyed:
        try:
            _sign_in(page, keyed)
        finally:
            page.goto("about:blank")  # close the live feed before the server stops


def _sign_in(page: Any, keyed: Env) -> None:
    goto(page, keyed, "overview", "form input[name=key]")
    shot(page, "sign-in")
    page.fill("input[name=key]", "wrong-key")
    page.click("button[type=submit]")
    page.wait_for_selector(".login .callout.bad:not(.hidden)")
    assert "wrong API key" in page.locator(".login .callout.bad").inner_text()
    page.fill("input[name=key]", "dash-secret-key-0123456789")
    page.click("button[type=submit]")
    page.wait_for_selector("#backends .backend", timeout=15000)
    page.wait_for_selector("#live.on", timeout=10000)
    assert "dash-secret-key" not in page.content()
    errors = [e for e in page.console.errors if "401" not in e]  # the wrong key's 401 is expected
    assert errors == []
