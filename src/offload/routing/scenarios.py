"""Claude Code traffic: which *scenario* a request is, where the policy sends it, and how to fit it locally.

Pure functions over data, no I/O. Rules of thumb (measured on Claude Code's own requests, see docs/gateway.md):

- ``web_search``  — a server tool ``web_search_*`` is offered (only the cloud can run it);
- ``images``      — a user message carries an image (needs a vision model);
- ``long_context``— the prompt is larger than the policy's ``long_context_tokens`` (default 60,000);
- ``background``  — a haiku-class model, or a side request: ``tools == []`` with a structured output format
                    (session titles, summaries) — a perfect local job;
- ``thinking``    — extended thinking with an explicit ``budget_tokens`` (Claude Code's "think hard");
- ``main_loop``   — everything else: the agent loop with its ~24 tools and ~20k-token system prompt.

Default mapping: with a cloud Anthropic backend configured, ``background`` goes local and every other scenario
goes to the cloud unchanged; with no cloud configured, everything goes local. ``[policy.claude_code]`` in
offload.toml overrides any scenario with ``"local"``, ``"cloud"`` or an inventory model name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from offload.errors import ContextOverflow
from offload.types import ChatRequest, ChatResponse, Message, TextPart

Scenario = Literal["background", "long_context", "thinking", "web_search", "images", "main_loop"]
SCENARIOS: tuple[Scenario, ...] = ("background", "long_context", "thinking", "web_search", "images", "main_loop")
DEFAULT_LONG_CONTEXT_TOKENS = 60_000
#: Characters per token used when fitting a request into a small window (conservative for small tokenizers).
CHARS_PER_TOKEN = 3


def is_claude_model(name: str) -> bool:
    """A Claude model name as Claude Code sends it (``claude-opus-4-8``, ``claude-haiku-4-5-20251001``...)."""
    return name.startswith("claude-") or name in ("opus", "sonnet", "haiku")


def _has_image(messages: Any) -> bool:
    if not isinstance(messages, list):
        return False
    for m in messages:
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, list):
            for b in content:
                if isinstance(b, dict) and (b.get("type") == "image" or b.get("type") == "image_url"):
                    return True
                if isinstance(b, dict) and b.get("type") == "tool_result" and _has_image([b]):
                    return True
    return False


def detect_scenario(
    body: Mapping[str, Any], *, tokens: int, long_context_tokens: int = DEFAULT_LONG_CONTEXT_TOKENS
) -> Scenario:
    """Classify one Claude Code ``/v1/messages`` body (``tokens`` = the prompt's estimated size)."""
    raw_tools = body.get("tools")
    tools: list[Any] = raw_tools if isinstance(raw_tools, list) else []
    if any(isinstance(t, dict) and str(t.get("type", "")).startswith("web_search") for t in tools):
        return "web_search"
    if _has_image(body.get("messages")):
        return "images"
    if tokens > long_context_tokens:
        return "long_context"
    model = str(body.get("model", ""))
    raw_oc = body.get("output_config")
    oc: dict[str, Any] = raw_oc if isinstance(raw_oc, dict) else {}
    structured = oc.get("format") is not None or body.get("output_format") is not None
    if "haiku" in model or (not tools and structured):
        return "background"
    raw_thinking = body.get("thinking")
    thinking: dict[str, Any] = raw_thinking if isinstance(raw_thinking, dict) else {}
    if thinking.get("type") == "enabled" and thinking.get("budget_tokens"):
        return "thinking"
    return "main_loop"


@dataclass(frozen=True)
class ScenarioPolicy:
    """Where each scenario goes: ``"local"``, ``"cloud"`` or an inventory model name."""

    targets: Mapping[str, str]
    long_context_tokens: int = DEFAULT_LONG_CONTEXT_TOKENS

    def target(self, scenario: Scenario) -> str:
        return self.targets.get(scenario, "local")


def scenario_policy(policy_section: Any, *, cloud_configured: bool) -> ScenarioPolicy:
    """Defaults (see the module docstring) overlaid with ``[policy.claude_code]`` when present."""
    targets: dict[str, str] = {s: ("cloud" if cloud_configured and s != "background" else "local") for s in SCENARIOS}
    raw = policy_section
    if raw is not None and not isinstance(raw, Mapping):
        raw = raw.model_dump() if hasattr(raw, "model_dump") else vars(raw)
    threshold = DEFAULT_LONG_CONTEXT_TOKENS
    for key, value in (raw or {}).items():
        if key == "long_context_tokens" and isinstance(value, int):
            threshold = value
        elif key in SCENARIOS and isinstance(value, str) and value:
            targets[key] = value
    return ScenarioPolicy(targets=targets, long_context_tokens=threshold)


# -- fitting a request into a small local model --------------------------------------------------------
def _estimate(request: ChatRequest) -> int:
    chars = len(request.all_text()) + sum(
        len(t.name) + len(t.description) + len(str(t.parameters)) for t in request.tools
    )
    return chars // CHARS_PER_TOKEN + 4 * len(request.messages) + 8


def _without_tools(messages: list[Message]) -> list[Message]:
    """History with tool calls and results written out as text (for a model that cannot call tools)."""
    out: list[Message] = []
    for m in messages:
        if m.role == "tool":
            label = "error" if m.is_error else "result"
            out.append(Message.text("user", f"[tool {label}]\n{m.text_content}"))
        elif m.tool_calls:
            calls = "\n".join(f"[called {c.name}({c.arguments_json()})]" for c in m.tool_calls)
            text = "\n".join(t for t in (m.text_content, calls) if t)
            out.append(Message.text("assistant", text))
        else:
            out.append(m)
    merged: list[Message] = []
    for m in out:  # consecutive same-role text turns are merged
        if merged and merged[-1].role == m.role and not m.images and not merged[-1].images and m.role != "system":
            merged[-1] = Message.text(m.role, merged[-1].text_content + "\n\n" + m.text_content)
        else:
            merged.append(m)
    return merged


@dataclass(frozen=True)
class FitResult:
    """A request made to fit a model, with what was changed (for the journal and the docs)."""

    request: ChatRequest
    changes: tuple[str, ...]


#: Metadata key set when offload lowered the client's max_tokens (value: the client's own limit).
CAPPED_KEY = "max_tokens_capped_from"


def own_cap(request: ChatRequest, resp: ChatResponse) -> None:
    """When offload itself lowered ``max_tokens`` (fitting a request to a small local model) and the answer
    stopped there, report ``stop``: the client's own limit was not reached, and agents such as Claude Code treat
    ``length`` as "your maximum was exceeded" and fail the turn."""
    if resp.finish_reason == "length" and request.metadata.get(CAPPED_KEY):
        resp.finish_reason = "stop"
        resp.route_reason = (resp.route_reason + "; " if resp.route_reason else "") + "stopped at offload's own cap"


def fit_request(request: ChatRequest, *, context_window: int, can_call_tools: bool, model: str) -> FitResult:
    """Slim ``request`` to what a small model can use, or raise :class:`ContextOverflow`.

    In order: drop tools the model cannot call (writing tool history out as text), shorten the system prompt,
    drop the oldest turns (the last user turn is always kept), and cap ``max_tokens`` to the room left.
    """
    changes: list[str] = []
    req = request
    if req.tools and not can_call_tools:
        req = req.model_copy(update={"tools": [], "tool_choice": None, "messages": _without_tools(req.messages)})
        changes.append(f"dropped {len(request.tools)} tools {model} cannot call")
    min_out = min(256, max(16, context_window // 8))
    # an agent asks for 32k-64k tokens "just in case"; a small model given that room rambles on for minutes
    max_out = max(1024, context_window // 8)
    want_out = min(req.max_tokens or 1024, max_out, max(min_out, context_window // 4))
    budget = context_window - want_out
    if _estimate(req) > budget and req.system:
        other = _estimate(req.model_copy(update={"system": None}))
        room_chars = max(0, (budget - other) * CHARS_PER_TOKEN - 80)
        keep = min(len(req.system), max(room_chars, min(len(req.system), 2000)))
        if keep < len(req.system):
            note = f"\n[system prompt shortened by offload to fit {model}'s {context_window}-token context]"
            req = req.model_copy(update={"system": req.system[:keep] + note})
            changes.append(f"shortened the system prompt from {len(request.system or '')} to {keep} characters")
    if _estimate(req) > budget:
        msgs = list(req.messages)
        last_user = max((i for i, m in enumerate(msgs) if m.role == "user"), default=len(msgs) - 1)
        dropped = 0
        while last_user > 0 and _estimate(req.model_copy(update={"messages": msgs})) > budget:
            msgs.pop(0)
            last_user -= 1
            dropped += 1
        while msgs and msgs[0].role not in ("user", "system"):
            msgs.pop(0)
            dropped += 1
        req = req.model_copy(update={"messages": msgs})
        if dropped:
            changes.append(f"dropped the {dropped} oldest messages")
    if _estimate(req) > budget and req.system:
        req = req.model_copy(update={"system": req.system[: max(0, budget * CHARS_PER_TOKEN // 4)]})
        changes.append("cut the system prompt further")
    used = _estimate(req)
    room = context_window - used
    if room < min_out or not req.messages:
        raise ContextOverflow(
            f"the request needs about {used} tokens but {model} has a {context_window}-token context window, "
            "even after dropping tools, the system prompt and older turns",
            hint="send a shorter prompt, configure a local model with a larger context window, or route this "
            "scenario to the cloud in [policy.claude_code]",
        )
    out = min(req.max_tokens or room, room, max_out)
    if out != req.max_tokens:
        meta = dict(req.metadata)
        if request.max_tokens and out < request.max_tokens:
            changes.append(f"capped max_tokens at {out}")
            # the cap is offload's, not the client's: reaching it must not read as "your limit was exceeded"
            meta[CAPPED_KEY] = request.max_tokens
        req = req.model_copy(update={"max_tokens": out, "metadata": meta})
    if not any(isinstance(p, TextPart) and p.text for m in req.messages for p in m.content):
        raise ContextOverflow(f"nothing of the request fits {model}'s context window", hint="send a shorter prompt")
    return FitResult(request=req, changes=tuple(changes))


def pick_local_model(config: Any, request: ChatRequest) -> Any:
    """The local inventory model best suited to ``request`` (``config`` is an :class:`offload.config.Config`).

    Prefers models that can see images when the request has them, that can call tools when tools are offered,
    then the largest context window, then a ``code`` role. ``None`` when no local chat model exists.
    """
    local = [
        m
        for m in config.models
        if not config.backends[m.backend].is_cloud and set(m.roles) != {"embed"} and m.roles != ("embed",)
    ]
    if not local:
        return None

    def score(m: Any) -> tuple[bool, bool, int, bool]:
        return (
            (not request.has_images) or "vision" in m.capabilities,
            (not request.tools) or "tools" in m.capabilities,
            m.context_window,
            "code" in m.roles,
        )

    return max(local, key=score)
