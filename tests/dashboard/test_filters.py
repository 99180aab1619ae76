"""Filtering the requests list by dialect and client: the API (``dialect``, ``client``, ``facets=1``) and the two
selects of the requests page."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.dashboard.helpers import LOCAL, Env


def listed(env: Env, **params: str) -> dict[str, Any]:
    r = httpx.get(f"{env.url}/ui/api/requests", params={"limit": "500", **params})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.mark.parametrize(
    "filters",
    [
        {"dialect": "anthropic"},
        {"dialect": "openai"},
        {"client": "claude-code"},
        {"client": "openai-python"},
        {"dialect": "anthropic", "client": "claude-code"},
        {"client": "claude-code", "source": "mcp"},
        {"dialect": "openai", "status": "failed"},
    ],
)
def test_the_list_filters_by_dialect_and_client(env: Env, filters: dict[str, str]) -> None:
    rows = listed(env, **filters)["requests"]
    assert rows, f"the seeded journal has rows for {filters}"
    for r in rows:
        for key in ("dialect", "client", "source"):
            if key in filters:
                assert r[key] == filters[key], (key, r)
    wanted = {**filters, "status": "error"} if filters.get("status") == "failed" else filters
    assert {r["id"] for r in rows} == {e.id for e in env.engine.journal.list(limit=500, **wanted)}


def test_the_filters_narrow_and_match_exactly(env: Env) -> None:
    everything = listed(env)["requests"]
    claude = listed(env, client="claude-code")["requests"]
    both = listed(env, client="claude-code", dialect="anthropic")["requests"]
    assert len(everything) > len(claude) > len(both) > 0
    for value in ("claude", "Claude-Code", "claude-code%", "' OR '1'='1"):
        assert listed(env, client=value)["requests"] == []
        assert listed(env, dialect=value)["requests"] == []


def test_facets_list_the_dialects_and_clients_in_the_journal(env: Env) -> None:
    assert "facets" not in listed(env)
    facets = listed(env, facets="1", limit="1")["facets"]
    assert set(facets) == {"dialect", "client"}
    assert {"openai", "anthropic"} <= set(facets["dialect"]) and None not in facets["dialect"]
    assert {"claude-code", "openai-python"} <= set(facets["client"])
    assert facets["client"] == env.engine.journal.distinct_values("client")


@pytest.mark.slow
def test_the_requests_page_filters_by_client_and_dialect(env: Env, page: Any) -> None:
    page.goto(f"{env.ui}#/requests")
    page.wait_for_selector("#requests-table tbody tr", timeout=15000)
    page.wait_for_selector("#live.on", timeout=10000)
    page.wait_for_selector('select[name="client"] option[value="claude-code"]', state="attached", timeout=15000)
    dialects = page.locator('select[name="dialect"] option').all_inner_texts()
    assert dialects[0] == "any dialect" and {"openai", "anthropic", "ollama", "responses"} <= set(dialects)

    page.select_option('select[name="client"]', "claude-code")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#requests-table tbody tr td:nth-child(4)')]"
        ".every((td) => td.textContent === 'claude-code')"
    )
    page.select_option('select[name="dialect"]', "anthropic")
    expected = len(env.engine.journal.list(client="claude-code", dialect="anthropic", limit=500))
    page.wait_for_function(
        f"() => document.querySelectorAll('#requests-table tbody tr').length === {expected}", timeout=15000
    )
    cells = page.locator("#requests-table tbody tr td:nth-child(3)").all_inner_texts()
    assert cells and set(cells) == {"anthropic"}

    # a live request from a client the page has not seen yet becomes a choice, and is hidden by the filter
    body = {"model": LOCAL, "messages": [{"role": "user", "content": "hello from a new client"}]}
    headers = {"user-agent": "brand-new-tool/1.0"}
    assert httpx.post(f"{env.url}/v1/chat/completions", json=body, headers=headers, timeout=30).status_code == 200
    page.wait_for_selector('select[name="client"] option[value="brand-new-tool"]', state="attached", timeout=15000)
    assert page.locator("#requests-table tbody tr").count() == expected
    assert page.console.errors == []
