"""Ollama-compatible endpoints: ``/api/chat``, ``/api/generate``, ``/api/embed``, ``/api/tags``, ``/api/ps``,
``/api/show``, ``/api/version`` (point ``OLLAMA_HOST`` at the gateway)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from offload import __version__ as offload_version
from offload.dialects import ollama
from offload.dialects.common import loads_object
from offload.dialects.ollama_stream import OllamaStreamEncoder
from offload.errors import UnknownModel
from offload.server.asgi import Request, run_until_disconnect, send_json
from offload.server.routes_common import make_ctx, respond_chat

if TYPE_CHECKING:
    from offload.server.app import Gateway


def _check_model(gw: Gateway, name: str) -> None:
    if not gw.knows_model(name):
        raise UnknownModel(
            f'model "{name}" not found, try pulling it first',
            hint=f"offload serves: {', '.join(n for n, _ in gw.model_names())}",
        )


async def chat(gw: Gateway, req: Request) -> None:
    body = loads_object(await req.body())
    creq = ollama.parse_chat_request(body)
    if creq is None:  # Ollama's "load the model" request
        _check_model(gw, body["model"])
        await send_json(req.send, 200, ollama.render_load(body["model"], chat=True))
        return
    await respond_chat(
        gw, req, creq, make_ctx(req, "ollama"), ollama.render_chat, lambda model: OllamaStreamEncoder(model, chat=True)
    )


async def generate(gw: Gateway, req: Request) -> None:
    body = loads_object(await req.body())
    creq = ollama.parse_generate_request(body)
    if creq is None:
        _check_model(gw, body["model"])
        await send_json(req.send, 200, ollama.render_load(body["model"], chat=False))
        return
    await respond_chat(
        gw,
        req,
        creq,
        make_ctx(req, "ollama"),
        ollama.render_generate,
        lambda model: OllamaStreamEncoder(model, chat=False),
    )


async def embed(gw: Gateway, req: Request) -> None:
    started = time.perf_counter()
    body = loads_object(await req.body())
    model, inputs = ollama.parse_embed_request(body)
    res = await run_until_disconnect(req.receive, gw.engine.embed(model, inputs, make_ctx(req, "ollama")))
    if req.path == "/api/embeddings":  # the older single-vector endpoint
        await send_json(req.send, 200, {"embedding": res.embeddings[0] if res.embeddings else []})
        return
    await send_json(req.send, 200, ollama.render_embed(res, started), [req.overhead_header()])


async def tags(gw: Gateway, req: Request) -> None:
    config = gw.engine.config
    entries = []
    for name, _owner in gw.model_names():
        spec = config.model(name)
        entries.append(ollama.model_entry(name, quantization=spec.quantization if spec else None))
    await send_json(req.send, 200, {"models": entries})


async def ps(gw: Gateway, req: Request) -> None:
    infos = await gw.engine.ps()
    await send_json(req.send, 200, {"models": [ollama.ps_entry(i) for i in infos]})


async def show(gw: Gateway, req: Request) -> None:
    body = loads_object(await req.body())
    name = ollama.parse_model_name(body)
    _check_model(gw, name)
    spec = gw.engine.config.model(name)
    if spec is None:  # a virtual name such as "auto"
        await send_json(
            req.send,
            200,
            ollama.render_show(
                name,
                context_window=0,
                capabilities=["completion"],
                family="offload-router",
                quantization=None,
                description="routed by offload's policy",
            ),
        )
        return
    caps = ["completion"] + [c for c in ("tools", "vision", "thinking") if c in spec.capabilities]
    if "embed" in spec.capabilities or "embed" in spec.roles:
        caps.append("embedding")
    await send_json(
        req.send,
        200,
        ollama.render_show(
            name,
            context_window=spec.context_window,
            capabilities=caps,
            family=spec.backend,
            quantization=spec.quantization,
            description=spec.description,
        ),
    )


async def version(gw: Gateway, req: Request) -> None:
    await send_json(req.send, 200, {"version": ollama.OLLAMA_COMPAT_VERSION, "offload": offload_version})
