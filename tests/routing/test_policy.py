"""Policy decisions as table tests: the default table, every skip reason, ordering, names, scenarios."""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any, get_args

import pytest

from offload import config as config_module
from offload.config import Config, parse_config
from offload.errors import ContextOverflow, NoRouteAvailable, UnknownModel, UnsupportedContent
from offload.routing.classify import TaskProfile, classify
from offload.routing.health import BackendHealth, StaticHealth
from offload.routing.policy import Budget, plan_route, policy_problems
from offload.routing.policy_config import DEFAULT_RULES, RoleName
from offload.routing.task import Task

BACKENDS = {
    "ollama": {"kind": "ollama", "base_url": "http://127.0.0.1:11434"},
    "anthropic": {"kind": "anthropic", "base_url": "https://api.anthropic.com", "api_key_env": "ANTHROPIC_API_KEY"},
}
MODELS: list[dict[str, Any]] = [
    {"name": "qwen-small", "backend": "ollama", "vram_gb": 2, "context_window": 32768,
     "roles": ["fast", "code", "chat"], "capabilities": ["json", "tools"]},
    {"name": "qwen-coder", "backend": "ollama", "vram_gb": 5, "context_window": 32768,
     "roles": ["code", "review"], "capabilities": ["json", "tools"]},
    {"name": "qwen-large", "backend": "ollama", "vram_gb": 12, "context_window": 65536,
     "roles": ["large", "reason"], "capabilities": ["json", "tools"]},
    {"name": "llava", "backend": "ollama", "vram_gb": 6, "context_window": 4096, "roles": ["vision"],
     "capabilities": ["vision"]},
    {"name": "nomic", "backend": "ollama", "vram_gb": 0.5, "context_window": 8192, "roles": ["embed"],
     "capabilities": ["embed"]},
    {"name": "claude", "backend": "anthropic", "backend_model": "claude-sonnet-4-5", "context_window": 200000,
     "roles": ["cloud"], "capabilities": ["tools", "vision", "json"], "price_in": 3, "price_out": 15},
]  # fmt: skip


def make_config(models: list[dict[str, Any]] | None = None, policy: dict[str, Any] | None = None) -> Config:
    return parse_config(
        {
            "defaults": {"embedded": False},
            "backends": BACKENDS,
            "models": MODELS if models is None else models,
            "policy": policy or {},
        }
    )


FULL = make_config()
LOCAL_ONLY = make_config([m for m in MODELS if m["name"] != "claude"])


def profile(kind: str = "chat", complexity: str = "simple", **kw: Any) -> TaskProfile:
    return TaskProfile(kind=kind, complexity=complexity, estimated_tokens=kw.pop("estimated_tokens", 100), **kw)


def names(route: Any) -> list[str]:
    return [c.name for c in route.candidates]


# -- the documented default table ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "complexity", "rule", "expected"),
    [
        ("mock_api", "simple", "generated-data", ["qwen-small", "qwen-coder", "qwen-large", "claude"]),
        ("fixtures", "moderate", "generated-data", ["qwen-small", "qwen-coder", "qwen-large", "claude"]),
        ("review", "moderate", "review-prefilter", ["qwen-coder", "qwen-small", "qwen-large", "claude"]),
        ("explain", "simple", "explanations-and-docs", ["qwen-small", "qwen-coder", "qwen-large", "claude"]),
        ("refactor", "simple", "local-code", ["qwen-small", "qwen-coder", "qwen-large", "claude"]),
        ("code_generation", "moderate", "local-code", ["qwen-small", "qwen-coder", "qwen-large", "claude"]),
        ("debug", "simple", "local-code", ["qwen-small", "qwen-coder", "qwen-large", "claude"]),
        ("code_generation", "complex", "feature-implementation", ["claude", "qwen-large", "qwen-coder", "qwen-small"]),
        ("test_generation", "complex", "feature-implementation", ["claude", "qwen-large", "qwen-coder", "qwen-small"]),
        ("architecture", "moderate", "architecture", ["claude", "qwen-large", "qwen-coder", "qwen-small"]),
        ("chat", "simple", "chat", ["qwen-small", "qwen-coder", "qwen-large", "claude"]),
        ("embedding", "simple", "embeddings", ["nomic"]),
    ],
)
def test_default_table(kind: str, complexity: str, rule: str, expected: list[str]) -> None:
    route = plan_route(profile(kind, complexity), FULL)
    assert route.rule == f"rule {rule}"
    assert names(route) == expected
    assert route.candidates[-1].is_cloud == (expected[-1] == "claude")


@pytest.mark.parametrize(
    ("complexity", "expected"),
    [("simple", ["llava", "claude"]), ("moderate", ["llava", "claude"]), ("complex", ["claude", "llava"])],
)
def test_images_go_to_a_vision_model(complexity: str, expected: list[str]) -> None:
    route = plan_route(profile("vision", complexity, has_images=True), FULL)
    assert names(route) == expected


def test_images_with_any_kind_need_vision() -> None:
    route = plan_route(profile("code_generation", "simple", has_images=True), FULL)
    assert names(route) == ["claude"]
    assert all(s.reason == "capability" for s in route.skipped)


def test_without_cloud_the_largest_local_model_takes_cloud_work() -> None:
    route = plan_route(profile("code_generation", "complex"), LOCAL_ONLY)
    assert names(route) == ["qwen-large", "qwen-coder", "qwen-small"]
    assert route.candidates[0].repair and route.candidates[0].max_attempts == 2


def test_repair_and_attempts_come_from_the_rule() -> None:
    route = plan_route(profile("code_generation", "simple"), FULL)
    local = route.candidates[0]
    assert (local.max_attempts, local.repair, local.is_cloud) == (2, True, False)
    cloud = route.candidates[-1]
    assert (cloud.max_attempts, cloud.repair, cloud.is_cloud) == (1, False, True)


# -- skip reasons ----------------------------------------------------------------------------------------------
def test_context_overflow_skips_small_windows() -> None:
    route = plan_route(profile("code_generation", "simple", estimated_tokens=40_000, expected_output_tokens=900), FULL)
    assert names(route) == ["qwen-large", "claude"]
    skipped = {s.model: s for s in route.skipped}
    assert skipped["qwen-small"].reason == "context" and "32768" in skipped["qwen-small"].detail


def test_missing_tools_capability_is_skipped() -> None:
    models = [dict(m) for m in MODELS]
    models[0]["capabilities"] = ["json"]  # qwen-small cannot call tools
    route = plan_route(profile("code_generation", "simple", needs_tools=True), make_config(models))
    assert names(route)[0] == "qwen-coder"
    assert {s.model: s.reason for s in route.skipped} == {"qwen-small": "capability"}


def test_missing_json_capability_is_skipped() -> None:
    route = plan_route(profile("vision", "simple", has_images=True, needs_json=True), FULL)
    assert names(route) == ["claude"]
    assert "json" in route.skipped[0].detail


def test_unhealthy_backend_is_skipped() -> None:
    health = StaticHealth({"ollama": BackendHealth("ollama", state="open", retry_in_s=5.0)})
    route = plan_route(profile("code_generation", "simple"), FULL, health=health)
    assert names(route) == ["claude"]
    assert {s.reason for s in route.skipped} == {"unhealthy"}
    assert "retry in 5s" in route.skipped[0].detail
    # a cooled-down breaker (probe allowed) is usable again
    cooled = StaticHealth({"ollama": BackendHealth("ollama", state="open", retry_in_s=0.0)})
    assert names(plan_route(profile("code_generation", "simple"), FULL, health=cooled))[0] == "qwen-small"


def test_loaded_model_goes_first_among_equals() -> None:
    route = plan_route(profile("code_generation", "simple"), FULL, loaded={"qwen-coder"})
    assert names(route) == ["qwen-coder", "qwen-small", "qwen-large", "claude"]
    assert route.candidates[0].loaded and "already loaded" in route.candidates[0].why
    # loaded never jumps a local model behind the cloud or ahead of the rule's order
    route = plan_route(profile("code_generation", "simple"), FULL, loaded={"claude", "qwen-large"})
    assert names(route) == ["qwen-small", "qwen-coder", "qwen-large", "claude"]


# -- locality and names ------------------------------------------------------------------------------------------
def test_local_only_and_cloud_only() -> None:
    local = plan_route(profile("code_generation", "complex", locality="local"), FULL)
    assert names(local) == ["qwen-large", "qwen-coder", "qwen-small"]
    assert any(s.model == "claude" and s.reason == "locality" for s in local.skipped)
    cloud = plan_route(profile("fixtures", "simple", locality="cloud"), FULL)
    assert names(cloud) == ["claude"]


def test_cloud_only_without_cloud_explains_itself() -> None:
    route = plan_route(profile("chat", "simple", locality="cloud"), LOCAL_ONLY)
    assert route.candidates == ()
    with pytest.raises(NoRouteAvailable) as err:
        route.raise_if_empty()
    assert "offload/cloud" in (err.value.hint or "")
    assert err.value.details["all_down"] is False


@pytest.mark.parametrize("name", ["qwen-coder", "claude", "claude-sonnet-4-5"])
def test_concrete_model_is_a_one_candidate_route(name: str) -> None:
    route = plan_route(profile("architecture", "complex", model=name), FULL)
    assert len(route.candidates) == 1
    assert route.candidates[0].name in (name, "claude")
    assert route.accept_unverified is True


def test_unknown_model_lists_the_names() -> None:
    with pytest.raises(UnknownModel) as err:
        plan_route(profile(model="gpt-9"), FULL)
    assert "gpt-9" in err.value.message
    assert "qwen-small" in (err.value.hint or "") and "offload/auto" in (err.value.hint or "")


def test_from_a_request_end_to_end() -> None:
    route = plan_route(classify(Task.from_prompt("Generate 50 fake user records as JSON", model="offload/local")), FULL)
    assert route.profile.kind == "fixtures" and names(route)[0] == "qwen-small" and "claude" not in names(route)


# -- no config file ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "prompt",
    [
        "hi",
        "Write a function is_even(n)",
        "Implement end-to-end multi-tenant support across the whole codebase",
        "Design a scalable architecture for our event pipeline",
        "Generate 50 fake users",
        "Review this code",
    ],
)
def test_without_config_every_route_is_the_embedded_model(prompt: str) -> None:
    route = plan_route(classify(Task.from_prompt(prompt)), Config())
    assert names(route) == [config_module.EMBEDDED_MODEL]
    assert not route.candidates[0].is_cloud


def test_without_config_images_and_embeddings_have_no_route() -> None:
    with pytest.raises(UnsupportedContent):
        plan_route(profile("vision", has_images=True), Config()).raise_if_empty()
    with pytest.raises(UnsupportedContent):
        plan_route(profile("embedding"), Config()).raise_if_empty()


# -- empty routes explain themselves ---------------------------------------------------------------------------
def test_nothing_fits_the_context_is_a_context_overflow() -> None:
    route = plan_route(profile("chat", estimated_tokens=500_000), FULL)
    with pytest.raises(ContextOverflow) as err:
        route.raise_if_empty()
    assert "context_window" in (err.value.hint or "")


def test_everything_down_is_all_down() -> None:
    down = BackendHealth("x", state="open", retry_in_s=9.0)
    health = StaticHealth({"ollama": replace(down, backend="ollama"), "anthropic": replace(down, backend="anthropic")})
    route = plan_route(profile("code_generation"), FULL, health=health)
    with pytest.raises(NoRouteAvailable) as err:
        route.raise_if_empty()
    assert err.value.details["all_down"] is True


# -- fallbacks ---------------------------------------------------------------------------------------------------
def test_rule_with_no_usable_model_falls_back_to_local_models_only() -> None:
    cfg = make_config(policy={"rules": [{"kind": "chat", "candidates": [{"model": "nope"}]}]})
    route = plan_route(profile("chat"), cfg)
    assert names(route) == ["qwen-small", "qwen-coder", "llava", "qwen-large"]
    assert route.candidates[0].why.startswith("fallback")
    # a local-only rule whose models cannot take the prompt never falls back to the cloud
    big = plan_route(
        profile("fixtures", estimated_tokens=100_000),
        make_config(policy={"rules": [{"kind": "fixtures", "candidates": [{"role": "fast"}]}]}),
    )
    assert big.candidates == () and any(s.model == "claude" for s in big.skipped) is False
    with_cloud = make_config(
        policy={"rules": [{"kind": "fixtures", "candidates": [{"role": "fast"}, {"role": "cloud"}]}]}
    )
    assert names(plan_route(profile("fixtures", estimated_tokens=100_000), with_cloud)) == ["claude"]


def test_rule_models_down_means_wait_not_fallback() -> None:
    cfg = make_config(policy={"rules": [{"kind": "chat", "candidates": [{"model": "qwen-small"}]}]})
    health = StaticHealth({"ollama": BackendHealth("ollama", state="open", retry_in_s=1.0)})
    route = plan_route(profile("chat"), cfg, health=health)
    assert route.candidates == ()
    with pytest.raises(NoRouteAvailable) as err:
        route.raise_if_empty()
    assert err.value.details["all_down"] is True


def test_soft_capabilities_are_relaxed_when_nothing_has_them() -> None:
    cfg = Config()  # the embedded model has no tools capability
    route = plan_route(profile("chat", needs_tools=True), cfg)
    assert names(route) == [config_module.EMBEDDED_MODEL]
    assert any("without it" in n for n in route.notes)


# -- user rules, budgets, unverified policy ---------------------------------------------------------------------
def test_user_rules_come_before_the_defaults() -> None:
    cfg = make_config(
        policy={
            "rules": [
                {"name": "mine", "kinds": ["fixtures"], "prefer": "as_listed", "max_attempts_total": 3,
                 "max_cost_usd": 0, "candidates": [{"model": "qwen-large", "max_attempts": 3}, {"role": "fast"}]}
            ]
        }
    )  # fmt: skip
    route = plan_route(profile("fixtures"), cfg)
    assert route.rule == "rule mine" and names(route) == ["qwen-large", "qwen-small"]
    assert route.candidates[0].max_attempts == 3
    assert route.budget == Budget(max_attempts=3, max_wall_s=300.0, max_cost_usd=0.0)
    # other kinds still use the defaults
    assert plan_route(profile("review"), cfg).rule == "rule review-prefilter"
    only_mine = make_config(
        policy={"use_default_rules": False, "rules": [{"kind": "fixtures", "candidates": [{"role": "fast"}]}]}
    )
    assert plan_route(profile("review"), only_mine).rule == "no matching rule"


@pytest.mark.parametrize(
    ("kind", "complexity", "expected"),
    [("chat", "simple", True), ("code_generation", "simple", "last_resort"), ("code_generation", "complex", True)],
)
def test_accept_unverified_resolution(kind: str, complexity: str, expected: object) -> None:
    assert plan_route(profile(kind, complexity), FULL).accept_unverified == expected


def test_accept_unverified_code_setting() -> None:
    cfg = make_config(policy={"accept_unverified_code": False})
    assert plan_route(profile("refactor"), cfg).accept_unverified is False


def test_policy_problems_names_bad_rules() -> None:
    cfg = make_config(
        policy={"rules": [{"name": "r", "kind": "chat", "candidates": [{"model": "nope"}, {"role": "reason"}]}]}
    )
    problems = policy_problems(cfg)
    assert problems == ["policy.rules[0] (r): model 'nope' is not in the inventory"]
    route = plan_route(profile("chat"), cfg)
    assert any("'nope'" in n for n in route.notes)


# -- Claude Code scenarios --------------------------------------------------------------------------------------------
def test_scenarios_with_cloud_configured() -> None:
    main = plan_route(profile("chat", scenario="main_loop"), FULL)
    assert names(main)[0] == "claude" and len(main.candidates) > 1  # local models stay behind as fallback
    background = plan_route(profile("chat", scenario="background"), FULL)
    assert "claude" not in names(background) and names(background)[0] == "qwen-small"


def test_scenarios_without_cloud_use_the_strongest_local_model() -> None:
    main = plan_route(profile("chat", scenario="main_loop"), LOCAL_ONLY)
    assert names(main)[0] == "qwen-large"


def test_scenario_mapped_to_a_model_name() -> None:
    cfg = make_config(policy={"claude_code": {"thinking": "qwen-large", "long_context_tokens": 50000}})
    route = plan_route(profile("chat", scenario="thinking"), cfg)
    assert names(route) == ["qwen-large"]
    assert cfg.policy.claude_code.target("background", cloud_configured=True) == "local"
    assert cfg.policy.claude_code.target("main_loop", cloud_configured=False) == "local"


# -- config ------------------------------------------------------------------------------------------------------
def test_roles_match_the_config_roles() -> None:
    assert set(get_args(RoleName)) == set(get_args(config_module.Role))


def test_default_rules_use_known_kinds_and_end_with_a_catch_all() -> None:
    assert DEFAULT_RULES[-1].kinds == () and DEFAULT_RULES[-1].complexities == ()


def test_the_toml_example_in_the_docs_is_valid() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "routing.md").read_text()
    block = re.search(r"```toml\n(.*?)```", doc, re.S)
    assert block is not None
    data = tomllib.loads(block.group(1))
    cfg = parse_config(
        {
            **data,
            "defaults": {"embedded": False},
            "backends": BACKENDS,
            "models": [*MODELS, {**MODELS[2], "name": "qwen2.5-coder-14b"}],
        }
    )
    assert [r.name for r in cfg.policy.rules] == ["data-stays-local", "hard-bugs"]
    assert cfg.policy.rules[1].kinds == ("debug",)
    route = plan_route(profile("fixtures"), cfg)
    assert names(route) == ["qwen-small", "qwen2.5-coder-14b"]
    assert route.budget.max_attempts == 4


def test_route_explains_itself_as_text_and_json() -> None:
    import json

    health = StaticHealth({"anthropic": BackendHealth("anthropic", state="open", retry_in_s=30.0)})
    route = plan_route(classify(Task.from_prompt("Write pytest tests for utils/dates.py")), FULL, health=health)
    text = route.explain()
    assert "task: test_generation" in text and "route: rule local-code" in text
    assert "1. qwen-small on ollama (local, 2× +repair)" in text
    assert "skipped claude: backend 'anthropic' circuit open, retry in 30s" in text
    data = json.loads(json.dumps(route.to_dict()))
    assert data["profile"]["kind"] == "test_generation" and data["stopped_because"] is None
