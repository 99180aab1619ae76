"""Fixtures for the dashboard tests: a running dashboard (module-wide) and, for the browser tests, headless
Chromium (Debian's ``chromium``) driven by Playwright, with every console error collected."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.helpers import ARTIFACTS, Env, running_dashboard

CHROMIUM = os.environ.get("OFFLOAD_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """One seeded dashboard for the whole module (its journal is private to the module)."""
    with running_dashboard(tmp_path_factory.mktemp("dashboard")) as e:
        yield e


def _browser_missing() -> str | None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (.venv/bin/pip install playwright)"
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium, or set OFFLOAD_TEST_CHROMIUM)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium for the module (skips the browser tests, saying why, when it cannot run)."""
    why = _browser_missing()
    if why:
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


class Console:
    """Console errors and uncaught exceptions of one page."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def on_console(self, msg: Any) -> None:
        if msg.type == "error":
            self.errors.append(f"console: {msg.text}")

    def on_error(self, exc: Any) -> None:
        self.errors.append(f"page error: {exc}")


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page (1440×900) whose console errors are in ``page.console.errors``."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    p = context.new_page()
    console = Console()
    p.on("console", console.on_console)
    p.on("pageerror", console.on_error)
    p.console = console
    try:
        yield p
    finally:
        context.close()


def shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as test-artifacts/dashboard/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
