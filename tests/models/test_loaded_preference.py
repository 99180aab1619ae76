"""The router prefers a candidate that is already loaded: ``ps`` from FakeOllama feeds ``plan_route(loaded=...)``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from offload.backends import create_backend
from offload.config import Config, parse_config
from offload.models.ops import ModelManager
from offload.models.residency import ResidencyRule, decide, loaded_names
from offload.models.tracker import ResidencyTracker
from offload.routing.classify import classify
from offload.routing.policy import plan_route
from offload.routing.task import Task
from tests.fakes.ollama import FakeModel, FakeOllama
from tests.fakes.server import free_port, serve_app

NOW = 1_750_000_000.0


@pytest.fixture
def fake() -> Iterator[tuple[FakeOllama, str]]:
    f = FakeOllama(clock=lambda: NOW)
    f.add_model(FakeModel("qwen2.5-coder:7b", size=5 * 1024**3, family="qwen2"))
    f.add_model(FakeModel("qwen2.5-coder:14b", size=9 * 1024**3, family="qwen2"))
    with serve_app(f.app) as url:
        yield f, url


def config(url: str) -> Config:
    coder = {"backend": "ollama", "roles": ["code"], "capabilities": ["tools", "json"], "context_window": 32768}
    return parse_config({
        "defaults": {"embedded": False},
        "backends": {"ollama": {"kind": "ollama", "base_url": url}},
        "models": [{"name": "coder-7b", "backend_model": "qwen2.5-coder:7b", "vram_gb": 5.5, **coder},
                   {"name": "coder-14b", "backend_model": "qwen2.5-coder:14b", "vram_gb": 10.0, **coder}],
    })  # fmt: skip


async def test_loaded_candidate_goes_first(fake: tuple[FakeOllama, str]) -> None:
    f, url = fake
    cfg = config(url)
    backend = create_backend(cfg.backends["ollama"])
    manager = ModelManager(cfg, lambda _n: backend, clock=lambda: NOW)
    profile = classify(Task.from_prompt("Write a Python function that reverses a linked list"))
    try:
        cold = plan_route(profile, cfg, loaded=loaded_names(await manager.residents()))
        assert [c.name for c in cold.candidates] == ["coder-7b", "coder-14b"]  # cheapest first

        f.load("qwen2.5-coder:14b", keep_alive="30m")  # what `ps` now reports
        residents = await manager.residents()
        assert loaded_names(residents) == {"coder-14b"}
        warm = plan_route(profile, cfg, loaded=loaded_names(residents))
        assert [c.name for c in warm.candidates] == ["coder-14b", "coder-7b"]
        assert warm.candidates[0].loaded and "already loaded" in warm.candidates[0].why

        # the anti-thrash rule on the same data: the 14b was just loaded (protected), the 7b would not fit next
        # to it in an 12 GB budget, so the request stays on the loaded 14b
        specs = [cfg.model("coder-7b"), cfg.model("coder-14b")]
        just_loaded = await manager.residents(loaded_at={"coder-14b": NOW - 5})
        d = decide([s for s in specs if s], just_loaded, 12.0, now=NOW)
        assert (d.run, d.evict) == ("coder-14b", ()) and "anti-thrash" in d.reason
        settled = await manager.residents(loaded_at={"coder-14b": NOW - 600})
        d = decide([s for s in specs if s], settled, 12.0, now=NOW)
        assert (d.run, d.evict) == ("coder-7b", ("coder-14b",))
    finally:
        await backend.aclose()


async def test_tracker_caches_ps_and_remembers_load_times(fake: tuple[FakeOllama, str]) -> None:
    f, url = fake
    cfg = config(url)
    backend = create_backend(cfg.backends["ollama"])
    now = [NOW]
    tracker = ResidencyTracker(ModelManager(cfg, lambda _n: backend, clock=lambda: now[0]), ttl_s=5,
                               clock=lambda: now[0])  # fmt: skip
    try:
        assert await tracker.loaded() == set()
        f.load("qwen2.5-coder:14b")
        assert await tracker.loaded() == set()  # cached for ttl_s
        now[0] += 5
        (res,) = await tracker.residents()
        assert (res.name, res.loaded_at) == ("coder-14b", NOW + 5)
        assert len(f.requests_to("/api/ps")) == 2
        now[0] += 100
        tracker.note_used("coder-14b")
        (res,) = await tracker.residents()
        assert (res.loaded_at, res.last_used) == (NOW + 5, NOW + 105)  # first seen is kept
        f.loaded.clear()
        tracker.invalidate()
        assert await tracker.residents() == []
        tracker.note_loaded("coder-7b")
        f.load("qwen2.5-coder:7b")
        (res,) = await tracker.residents()
        assert res.name == "coder-7b" and res.protected(now[0], ResidencyRule())
    finally:
        await backend.aclose()


async def test_tracker_survives_a_down_backend() -> None:
    cfg = config(f"http://127.0.0.1:{free_port()}")
    backend = create_backend(cfg.backends["ollama"])
    try:
        assert await ResidencyTracker(ModelManager(cfg, lambda _n: backend)).loaded() == set()
    finally:
        await backend.aclose()
