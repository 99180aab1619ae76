"""Code Mode in the browser against the real embedded model (SmolLM2-135M through llama.cpp): the answer's
code comes back highlighted with a verdict and the route. Slow on a busy machine, so max tokens stay small."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from offload.config import EMBEDDED_MODEL, parse_config
from offload.engine import Engine
from offload.server.app import create_app
from tests.dashboard.conftest import shot
from tests.fakes.server import serve_app

pytestmark = [pytest.mark.inference, pytest.mark.slow]

PROMPT = "Write a Python function add(a, b) that returns a + b."


@pytest.fixture(scope="module")
def embedded_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed: the embedded model cannot run")
    tmp: Path = tmp_path_factory.mktemp("embedded-dashboard")
    engine = Engine(parse_config({"backends": {"embedded": {"kind": "embedded", "n_ctx": 1024}}}),
                    journal_path=tmp / "journal.db")  # fmt: skip
    try:
        with serve_app(create_app(engine)) as url:
            yield url
    finally:
        import asyncio

        asyncio.run(engine.aclose())


def test_code_mode_with_the_embedded_model(embedded_url: str, page: Any) -> None:
    page.goto(f"{embedded_url}/ui/#/playground")
    page.wait_for_selector("#prompt")
    page.select_option("#model", EMBEDDED_MODEL)
    page.check("#code-mode")
    page.fill("#max-tokens", "64")
    page.fill("#temperature", "0")
    page.fill("#prompt", PROMPT)
    page.click("#send")
    page.wait_for_selector("#code-verdict [data-verdict]", timeout=300_000)
    verdict = page.locator("#code-verdict [data-verdict]").get_attribute("data-verdict")
    assert verdict in ("verified", "unverified", "failed")
    if verdict != "failed":  # the cascade accepted an answer: its code is shown, highlighted, with the route
        assert page.locator(".code-result .code-block .tok-kw").count() > 0
        assert EMBEDDED_MODEL in page.locator("#code-route").inner_text()
    shot(page, "playground-code-mode-embedded")
    # a failed cascade answers with an error status, which Chromium logs as a failed resource load
    expected = "Failed to load resource" if verdict == "failed" else None
    assert [e for e in page.console.errors if not (expected and expected in e)] == []
