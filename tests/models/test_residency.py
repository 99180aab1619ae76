"""The anti-thrash rule and the loaded-model preference, from fake ``ps`` answers."""

from __future__ import annotations

import pytest

from offload.config import ModelSpec
from offload.models.residency import (
    ResidencyRule,
    Resident,
    decide,
    loaded_names,
    prefer_loaded,
    residents_from_ps,
)
from offload.types import ModelInfo

NOW = 1_750_000_000.0
GIB = 1024**3


def spec(name: str, vram: float, backend: str = "ollama", upstream: str | None = None) -> ModelSpec:
    return ModelSpec(name=name, backend=backend, vram_gb=vram, backend_model=upstream)


BIG, MID, SMALL, CLOUD = spec("coder-32b", 20), spec("coder-14b", 10), spec("llama-8b", 6), spec("claude", 0, "cloud")


def res(
    name: str, vram: float, loaded_ago: float | None = 600, used_ago: float | None = None, pinned: bool = False
) -> Resident:
    return Resident(
        name,
        "ollama",
        vram,
        None if loaded_ago is None else NOW - loaded_ago,
        None if used_ago is None else NOW - used_ago,
        pinned,
    )


def test_residents_from_ps_map_upstream_names_vram_and_pins() -> None:
    inv = [spec("coder", 9.0, upstream="qwen2.5-coder:14b"), spec("llama3.2", 2.0)]
    infos = [
        ModelInfo(
            name="qwen2.5-coder:14b",
            backend="ollama",
            vram_bytes=int(9.5 * GIB),
            size_bytes=int(9.5 * GIB),
            expires_at="2025-06-15T15:11:40.000000Z",
        ),
        ModelInfo(name="llama3.2:latest", backend="ollama", expires_at="2318-09-21T01:00:00.123456789+00:00"),
        ModelInfo(name="stranger:7b", backend="ollama", size_bytes=4 * GIB),
    ]
    out = residents_from_ps(infos, inv, now=NOW, loaded_at={"coder": NOW - 5})
    assert [(r.name, r.vram_gb, r.pinned) for r in out] == [
        ("coder", 9.5, False),
        ("llama3.2", 2.0, True),
        ("stranger:7b", 4.0, False),
    ]
    assert out[0].loaded_at == NOW - 5 and out[1].loaded_at is None
    assert loaded_names(out) == {"coder", "llama3.2", "stranger:7b"}


def test_prefer_loaded_is_stable_and_keeps_cloud_slots() -> None:
    route = ["a", "cloud", "b", "c"]
    out = prefer_loaded(route, {"c"}, is_local=lambda n: n != "cloud")
    assert out == ["c", "cloud", "a", "b"]
    assert prefer_loaded(route, set(), is_local=lambda n: n != "cloud") == route


RULE = ResidencyRule(min_residency_s=120)


@pytest.mark.parametrize(
    ("route", "residents", "budget", "run", "evict", "why"),
    [
        # 1. already resident
        ([BIG, MID], [res("coder-32b", 20)], 24, "coder-32b", (), "already loaded"),
        # 2. fits next to the residents
        ([MID], [res("llama-8b", 6, loaded_ago=1)], 24, "coder-14b", (), "fits in the free"),
        # 3. needs room, the resident is old: evict it (LRU first)
        (
            [BIG],
            [res("coder-14b", 10, loaded_ago=900, used_ago=30), res("llama-8b", 6, loaded_ago=900, used_ago=400)],
            30,
            "coder-32b",
            ("llama-8b",),
            "least recently used",
        ),
        # 4. would evict a model loaded 10 s ago, and a resident candidate serves: anti-thrash keeps it
        ([BIG, MID], [res("coder-14b", 10, loaded_ago=10)], 24, "coder-14b", (), "anti-thrash"),
        # 5. same, but no resident candidate can serve: correctness wins, the protected model goes
        ([BIG], [res("coder-14b", 10, loaded_ago=10)], 24, "coder-32b", ("coder-14b",), "no loaded model can serve"),
        # 6. pinned models are protected however old they are
        ([BIG, SMALL], [res("llama-8b", 6, loaded_ago=None, pinned=True)], 24, "llama-8b", (), "anti-thrash"),
        # 7. a resident of unknown age is not protected
        ([BIG, MID], [res("coder-14b", 10, loaded_ago=None)], 24, "coder-32b", ("coder-14b",), "evicts"),
        # 8. cloud first: no local memory involved
        ([CLOUD, BIG], [res("coder-14b", 10, loaded_ago=1)], 24, "claude", (), "cloud"),
    ],
)
def test_anti_thrash_rule(route, residents, budget, run, evict, why) -> None:  # type: ignore[no-untyped-def]
    d = decide(route, residents, budget, now=NOW, rule=RULE, is_local=lambda m: m.backend == "ollama")
    assert (d.run, d.evict) == (run, evict), d.reason
    assert why in d.reason
    assert d.order[0] == run or route[0].name == run


def test_alternating_requests_swap_at_most_once_per_window() -> None:
    """Two models that do not fit together, requests alternating: one swap per window, not one per request."""
    residents = [res("coder-32b", 20, loaded_ago=0)]
    swaps = 0
    now = NOW
    for i in range(20):  # a request every 10 s, preferring alternately the 14b and the 32b
        route = [MID, BIG] if i % 2 else [BIG, MID]
        d = decide(route, residents, 24, now=now, rule=RULE, is_local=lambda m: True)
        if d.evict:
            swaps += 1
            spec_ = MID if d.run == "coder-14b" else BIG
            residents = [r for r in residents if r.name not in d.evict] + [
                Resident(d.run or "", "ollama", spec_.vram_gb, now, now)
            ]
        now += 10
    # 200 s of traffic with a 120 s protection window: at most 2 swaps (without the rule: 10)
    assert swaps <= 2
