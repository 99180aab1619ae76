"""Claude Code scenario detection, the scenario policy, and fitting a big request into a small model."""

from __future__ import annotations

import pytest

from offload.config import parse_config
from offload.errors import ContextOverflow
from offload.routing.scenarios import (
    detect_scenario,
    fit_request,
    is_claude_model,
    pick_local_model,
    scenario_policy,
)
from offload.types import ChatRequest, ImagePart, Message, TextPart, ToolCall, ToolSpec

TOOLS = [{"name": "Bash", "input_schema": {"type": "object"}}]


def body(**kw: object) -> dict:
    return {"model": "claude-opus-4-8", "messages": [{"role": "user", "content": "hi"}], "tools": TOOLS, **kw}


@pytest.mark.parametrize(
    "b, tokens, expected",
    [
        (body(), 20_000, "main_loop"),
        (body(thinking={"type": "adaptive"}), 20_000, "main_loop"),
        (body(thinking={"type": "enabled", "budget_tokens": 31999}), 2_000, "thinking"),
        (body(model="claude-haiku-4-5-20251001"), 500, "background"),
        (body(tools=[], output_config={"format": {"type": "json_schema", "schema": {}}}), 400, "background"),
        (body(tools=[*TOOLS, {"type": "web_search_20250305", "name": "web_search"}]), 20_000, "web_search"),
        (body(messages=[{"role": "user", "content": [{"type": "image", "source": {}}]}]), 1_000, "images"),
        (body(), 90_000, "long_context"),
        (body(model="claude-haiku-4-5"), 90_000, "long_context"),
    ],
)
def test_detect_scenario(b: dict, tokens: int, expected: str) -> None:
    assert detect_scenario(b, tokens=tokens) == expected


def test_claude_names() -> None:
    assert is_claude_model("claude-sonnet-5") and is_claude_model("haiku")
    assert not is_claude_model("qwen2.5-coder") and not is_claude_model("auto")


def test_policy_defaults_and_overrides() -> None:
    local = scenario_policy(None, cloud_configured=False)
    assert {local.target(s) for s in ("main_loop", "background", "web_search")} == {"local"}
    cloud = scenario_policy(None, cloud_configured=True)
    assert cloud.target("main_loop") == "cloud" and cloud.target("background") == "local"
    cfg = parse_config(
        {"policy": {"claude_code": {"main_loop": "local", "images": "llava", "long_context_tokens": 5000}}}
    )
    pol = scenario_policy(cfg.policy.claude_code, cloud_configured=True)
    assert pol.target("main_loop") == "local" and pol.target("images") == "llava" and pol.target("thinking") == "cloud"
    assert pol.long_context_tokens == 5000


def big_request(system_chars: int = 60_000, turns: int = 6) -> ChatRequest:
    msgs: list[Message] = []
    for i in range(turns):
        msgs.append(Message.text("user", f"question {i} " + "x" * 2000))
        msgs.append(
            Message(
                role="assistant",
                content=[TextPart(text="ok")],
                tool_calls=[ToolCall(id=f"t{i}", name="Bash", arguments={"command": "ls"})],
            )
        )
        msgs.append(Message(role="tool", tool_call_id=f"t{i}", content=[TextPart(text="file.py")]))
    msgs.append(Message.text("user", "final question: say hi"))
    tools = [ToolSpec(name=f"Tool{i}", description="d" * 500, parameters={"type": "object"}) for i in range(24)]
    return ChatRequest(model="smollm2-135m", system="S" * system_chars, messages=msgs, tools=tools, max_tokens=64000)


def test_fit_slims_claude_code_into_a_small_window() -> None:
    req = big_request()
    fit = fit_request(req, context_window=8192, can_call_tools=False, model="smollm2-135m")
    out = fit.request
    assert out.tools == [] and all(m.role != "tool" and not m.tool_calls for m in out.messages)
    assert out.messages[-1].role == "user" and out.messages[-1].text_content.endswith("final question: say hi")
    assert len(out.all_text()) // 3 + (out.max_tokens or 0) <= 8192
    assert out.max_tokens and out.max_tokens >= 256
    assert any("tools" in c for c in fit.changes) and any("system prompt" in c for c in fit.changes)


def test_fit_keeps_small_requests_untouched() -> None:
    req = ChatRequest(model="m", system="be brief", messages=[Message.text("user", "hi")], max_tokens=100)
    fit = fit_request(req, context_window=8192, can_call_tools=True, model="m")
    assert fit.changes == () and fit.request == req


def test_fit_refuses_what_cannot_fit() -> None:
    req = ChatRequest(model="m", messages=[Message.text("user", "y" * 100_000)])
    with pytest.raises(ContextOverflow, match="context window"):
        fit_request(req, context_window=2048, can_call_tools=False, model="m")


def test_pick_local_model_prefers_capable_models() -> None:
    cfg = parse_config(
        {
            "defaults": {"embedded": False},
            "backends": {
                "o": {"kind": "ollama", "base_url": "http://127.0.0.1:11434"},
                "c": {"kind": "anthropic", "base_url": "https://api.anthropic.com", "api_key_env": "K"},
            },
            "models": [
                {"name": "small", "backend": "o", "context_window": 8192},
                {"name": "big", "backend": "o", "context_window": 32768, "capabilities": ["tools"]},
                {"name": "eyes", "backend": "o", "context_window": 4096, "capabilities": ["vision"]},
                {"name": "nomic", "backend": "o", "roles": ["embed"]},
                {"name": "claude-sonnet-5", "backend": "c", "context_window": 200000},
            ],
        }
    )
    text = ChatRequest(model="x", messages=[Message.text("user", "hi")])
    assert pick_local_model(cfg, text).name == "big"
    img = ChatRequest(model="x", messages=[Message(role="user", content=[ImagePart(data="aGk=")])])
    assert pick_local_model(cfg, img).name == "eyes"


def test_offloads_own_cap_reads_as_a_normal_stop() -> None:
    from offload.routing.scenarios import CAPPED_KEY, fit_request, own_cap
    from offload.types import ChatRequest, ChatResponse

    req = ChatRequest.from_prompt("hi", max_tokens=64000)
    fitted = fit_request(req, context_window=8192, can_call_tools=False, model="small").request
    assert fitted.max_tokens is not None and fitted.max_tokens < 64000
    assert fitted.metadata[CAPPED_KEY] == 64000
    resp = ChatResponse(model="small", content="...", finish_reason="length")
    own_cap(fitted, resp)
    assert resp.finish_reason == "stop"
    untouched = ChatResponse(model="small", content="...", finish_reason="length")
    own_cap(req, untouched)
    assert untouched.finish_reason == "length"
