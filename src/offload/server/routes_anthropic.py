"""Anthropic-compatible endpoints: ``/v1/messages`` (Claude Code's only need) and ``/v1/messages/count_tokens``.

A ``claude-*`` model that is not in the inventory is routed by *scenario* (see
:mod:`offload.routing.scenarios`): to a cloud Anthropic backend unchanged (pass-through), or to a local model,
slimmed to fit its context window when needed. Names that are in the inventory go straight to that model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from offload.config import ModelSpec
from offload.dialects import anthropic
from offload.dialects.anthropic_stream import AnthropicStreamEncoder
from offload.dialects.common import loads_object
from offload.errors import UnknownModel
from offload.routing.scenarios import detect_scenario, fit_request, is_claude_model, pick_local_model
from offload.server.asgi import Request, send_json
from offload.server.passthrough import forward, try_passthrough
from offload.server.routes_common import log, make_ctx, respond_chat
from offload.types import ChatRequest, estimate_tokens

if TYPE_CHECKING:
    from offload.server.app import Gateway


def _local_target(gw: Gateway, creq: ChatRequest, target: str) -> ModelSpec:
    if target == "local":
        spec = pick_local_model(gw.engine.config, creq)
        if spec is None:
            raise UnknownModel(
                f"no local model can answer {creq.model!r}",
                hint="add a local model to offload.toml or configure a cloud anthropic backend",
            )
        return spec
    spec = gw.engine.config.model(target)
    if spec is None:
        raise UnknownModel(
            f"[policy.claude_code] sends this request to {target!r}, which is not in the inventory",
            hint="name an inventory model, 'local' or 'cloud'",
        )
    return spec


async def messages(gw: Gateway, req: Request) -> None:
    raw = await req.body()
    body = loads_object(raw)
    creq = anthropic.parse_messages_request(body)
    ctx = make_ctx(req, "anthropic")
    headers: list[tuple[bytes, bytes]] = []
    config = gw.engine.config
    if is_claude_model(creq.model) and config.model(creq.model) is None:
        policy = gw.scenario_policy
        scenario = detect_scenario(
            body, tokens=estimate_tokens(creq.all_text()), long_context_tokens=policy.long_context_tokens
        )
        target = policy.target(scenario)
        creq.metadata["scenario"] = scenario
        creq.metadata["requested_model"] = creq.model
        ctx.hints.setdefault("scenario", scenario)
        headers.append((b"x-offload-scenario", scenario.encode()))
        if target == "cloud":
            cloud = gw.cloud_backend("anthropic")
            if cloud is not None:
                await forward(
                    gw,
                    req,
                    ctx,
                    backend_name=cloud,
                    body=body,
                    raw=raw,
                    upstream_model=None,
                    model_name=creq.model,
                    stream=creq.stream,
                    scenario=scenario,
                    extra_headers=headers,
                )
                return
            target = "local"
        spec = _local_target(gw, creq, target)
        creq.model = spec.name
        if not config.backends[spec.backend].is_cloud:
            fit = fit_request(
                creq, context_window=spec.context_window, can_call_tools="tools" in spec.capabilities, model=spec.name
            )
            creq = fit.request
            if fit.changes:
                log.info("fitted a %s request into %s: %s", scenario, spec.name, "; ".join(fit.changes))
                headers.append((b"x-offload-fitted", "; ".join(fit.changes).encode("latin-1", "replace")))
    elif await try_passthrough(gw, req, ctx, creq, kind="anthropic", body=body, raw=raw):
        return
    input_estimate = estimate_tokens(creq.all_text())
    await respond_chat(
        gw,
        req,
        creq,
        ctx,
        anthropic.render_message,
        lambda model: AnthropicStreamEncoder(model, input_tokens=input_estimate),
        headers,
    )


async def count_tokens(gw: Gateway, req: Request) -> None:
    body = loads_object(await req.body())
    creq = anthropic.parse_messages_request(body, for_count=True)
    n = await gw.engine.count_tokens(creq)
    n += sum(estimate_tokens(t.name + t.description + str(t.parameters)) for t in creq.tools)
    await send_json(req.send, 200, {"input_tokens": n}, [req.overhead_header()])
