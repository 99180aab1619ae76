"""The VRAM planner: table tests for fits, overflow and suggestions, plus workflow files."""

from __future__ import annotations

from pathlib import Path

import pytest

from offload.config import ModelSpec, load_config
from offload.errors import ConfigError
from offload.models import INVENTORIES, inventory_path
from offload.models.planner import (
    DEFAULT_WORKFLOW,
    Phase,
    Workflow,
    estimate_vram,
    load_workflow,
    plan_phase,
    plan_workflow,
    smaller_quants,
)


def m(name: str, vram: float, *roles: str, backend: str = "ollama", quant: str | None = "q4_K_M") -> ModelSpec:
    return ModelSpec(name=name, backend=backend, vram_gb=vram, roles=roles, quantization=quant)  # type: ignore[arg-type]


INV = [
    m("coder-32b", 21.5, "code", "large", "review"),
    m("coder-14b", 10.5, "code", "fast", "review"),
    m("vl-7b", 7.5, "vision"),
    m("llama-8b", 6.2, "chat", "fast"),
    m("embed", 0.5, "embed", quant="fp16"),
    m("cloud", 0.0, "large", "cloud", backend="anthropic", quant=None),
]


@pytest.mark.parametrize(
    ("needs", "budget", "models", "total", "fits"),
    [
        (("code",), 24, ["coder-32b"], 21.5, True),
        (("code", "vision"), 24, ["coder-32b", "vl-7b"], 29.0, False),
        (("code", "vision"), 32, ["coder-32b", "vl-7b"], 29.0, True),
        (("review", "large", "code"), 24, ["coder-32b"], 21.5, True),  # one model serves three needs
        (("chat", "embed"), 8, ["llama-8b", "embed"], 6.7, True),
        (("coder-14b", "vision"), 18, ["coder-14b", "vl-7b"], 18.0, True),  # a model name, exactly on budget
        (("code",), 12, ["coder-32b"], 21.5, False),
    ],
)
def test_phase_totals_and_fit(
    needs: tuple[str, ...], budget: float, models: list[str], total: float, fits: bool
) -> None:
    p = plan_phase(Phase("p", needs), INV, budget)
    assert [x.name for x in p.models] == models
    assert p.total_gb == pytest.approx(total)
    assert p.fits is fits
    assert p.overflow_gb == pytest.approx(max(0.0, total - budget))


def test_cloud_models_cost_no_vram() -> None:
    inv = [INV[5], *INV[:5]]  # the cloud model first: "large" goes to the cloud
    p = plan_phase(Phase("p", ("large", "code")), inv, 24, local_backends={"ollama"})
    assert [(x.name, x.vram_gb, x.uses_memory) for x in p.models] == [("cloud", 0.0, False), ("coder-32b", 21.5, True)]
    assert p.fits


def test_overflow_suggests_swap_quantize_and_sequential_resolving_first() -> None:
    p = plan_phase(Phase("test", ("code", "vision")), INV, 24)
    kinds = [(s.kind, s.model, s.replacement, s.resolves) for s in p.suggestions]
    assert kinds[0] == ("swap", "coder-32b", "coder-14b", True)
    assert ("quantize", "coder-32b", "q2_K", True) in kinds
    assert kinds[-1][0] == "sequential" and not kinds[-1][3]
    swap = p.suggestions[0]
    assert swap.saves_gb == pytest.approx(11.0)
    assert "instead of coder-32b" in swap.text and "saves 11.0 GB" in swap.text
    # every resolving suggestion really resolves
    for s in p.suggestions:
        if s.resolves and s.kind == "swap":
            assert p.total_gb - 21.5 + 10.5 <= 24


def test_drop_a_model_whose_roles_another_covers() -> None:
    p = plan_phase(Phase("scaffold", ("code", "fast")), INV, 24)
    assert [x.name for x in p.models] == ["coder-32b", "coder-14b"]
    drop = next(s for s in p.suggestions if s.kind == "drop")
    assert drop.model == "coder-32b" and drop.resolves and "also served by coder-14b" in drop.text


def test_a_model_larger_than_the_budget_alone() -> None:
    p = plan_phase(Phase("big", ("large",)), INV[:5], 12)
    (only,) = p.suggestions  # no smaller model has "large", and even q2_K (15.8 GB) does not fit
    assert only.kind == "too_large" and "alone exceeds the 12.0 GB budget" in only.text
    p = plan_phase(Phase("big", ("large",)), INV[:5], 16)
    (q,) = [s for s in p.suggestions if s.kind == "quantize"]
    assert (q.replacement, q.resolves) == ("q2_K", True)
    assert estimate_vram(21.5, "q4_K_M", "q2_K") <= 16 < estimate_vram(21.5, "q4_K_M", "q3_K_M")


def test_missing_roles_and_unknown_names_are_reported() -> None:
    p = plan_phase(Phase("p", ("vision", "reason", "no-such-model")), INV, 24)
    assert p.missing == ("reason", "no-such-model")
    texts = [s.text for s in p.suggestions if s.kind == "missing"]
    assert any('roles = ["reason"]' in t for t in texts)
    assert any("neither a role nor an inventory model" in t for t in texts)


def test_quantization_estimates() -> None:
    assert smaller_quants("q4_K_M") == ["q3_k_m", "q2_k"]
    assert smaller_quants(None) == ["q3_k_m", "q2_k"]  # Ollama's default q4_K_M assumed
    assert estimate_vram(10.0, "q8_0", "q8_0") == pytest.approx(10.0)
    smaller = estimate_vram(20.0, "q8_0", "q4_K_M")
    assert 12 < smaller < 13  # weights shrink ~43%, the fixed share (15%) does not
    with pytest.raises(ValueError):
        estimate_vram(1, None, "q1_magic")


def test_workflow_transitions_load_and_unload() -> None:
    plan = plan_workflow(DEFAULT_WORKFLOW, INV, 24)
    by = {p.phase.name: p for p in plan.phases}
    assert [p.phase.name for p in plan.phases] == [
        "understand",
        "scaffold + mock data",
        "build",
        "test + verify",
        "harden",
        "deliver",
    ]
    assert by["understand"].loads == ("coder-32b", "embed")
    assert by["build"].unloads == ("coder-14b",) and by["build"].loads == ()
    assert by["deliver"].loads == ("llama-8b",) and by["deliver"].unloads == ("coder-32b",)
    assert not plan.fits and plan.peak_gb == pytest.approx(32.0)
    assert plan_workflow(DEFAULT_WORKFLOW, INV, 40).fits


@pytest.mark.parametrize("name", list(INVENTORIES))
def test_bundled_inventories_load_and_plan(name: str) -> None:
    cfg = load_config(inventory_path(name))
    local = {n for n, b in cfg.backends.items() if not b.is_cloud}
    budget = INVENTORIES[name] or 8.0
    plan = plan_workflow(DEFAULT_WORKFLOW, cfg.models, budget, local_backends=local)
    assert all(not p.missing for p in plan.phases), name
    assert all(m.vram_gb > 0 and m.roles for m in cfg.models if m.backend == "ollama")
    for p in plan.phases:  # any phase that overflows comes with at least one way out
        assert p.fits or any(s.resolves for s in p.suggestions), (name, p.phase.name)


def test_workflow_file(tmp_path: Path) -> None:
    f = tmp_path / "wf.toml"
    f.write_text(
        'name = "mine"\n[[phases]]\nname = "read"\nneeds = ["large"]\n'
        '[[phases]]\nname = "code"\nneeds = ["code", "vision"]\ndescription = "write it"\n'
    )
    wf = load_workflow(f)
    assert wf == Workflow("mine", (Phase("read", ("large",)), Phase("code", ("code", "vision"), "write it")))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("name = 'x'\n", "phases"),
        ("[[phases]]\nneeds = ['code']\n", "phases[0]"),
        ("[[phases]]\nname = 'a'\nneeds = 'code'\n", "phases[0].needs"),
        ("[[phases]]\nname = 'a'\nneeds = []\nmodels = 3\n", "phases[0]"),
        ("[[phases\n", None),
    ],
)
def test_bad_workflow_files_name_the_key(tmp_path: Path, text: str, key: str | None) -> None:
    f = tmp_path / "wf.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as ei:
        load_workflow(f)
    assert ei.value.key == key and ei.value.hint
    with pytest.raises(ConfigError):
        load_workflow(tmp_path / "missing.toml")
