"""OpenAI-compatible endpoints: ``/v1/chat/completions``, ``/v1/embeddings``, ``/v1/models``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from offload.dialects import anthropic, openai
from offload.dialects.common import loads_object
from offload.dialects.openai_stream import OpenAIStreamEncoder
from offload.server.asgi import Request, run_until_disconnect, send_json
from offload.server.passthrough import try_passthrough
from offload.server.routes_common import make_ctx, respond_chat

if TYPE_CHECKING:
    from offload.server.app import Gateway


async def chat_completions(gw: Gateway, req: Request) -> None:
    raw = await req.body()
    body = loads_object(raw)
    creq = openai.parse_chat_request(body)
    ctx = make_ctx(req, "openai")
    if await try_passthrough(gw, req, ctx, creq, kind="openai_compat", body=body, raw=raw):
        return
    include_usage = bool(creq.metadata.get("include_usage"))
    await respond_chat(
        gw,
        req,
        creq,
        ctx,
        openai.render_chat_response,
        lambda model: OpenAIStreamEncoder(model, include_usage=include_usage),
    )


async def embeddings(gw: Gateway, req: Request) -> None:
    body = loads_object(await req.body())
    model, inputs, fmt = openai.parse_embeddings_request(body)
    ctx = make_ctx(req, "openai")
    res = await run_until_disconnect(req.receive, gw.engine.embed(model, inputs, ctx))
    await send_json(req.send, 200, openai.render_embeddings(res, fmt), [req.overhead_header()])


async def models(gw: Gateway, req: Request) -> None:
    names = gw.model_names()
    if "anthropic-version" in req.headers:
        await send_json(req.send, 200, anthropic.render_models([n for n, _ in names]))
        return
    await send_json(req.send, 200, openai.render_models(names))
