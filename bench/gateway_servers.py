"""The servers ``gateway_overhead.py`` measures, each run in its own process by that script.

- the fake OpenAI-compatible upstream (raw ASGI on uvicorn) that answers instantly, JSON or SSE;
- offload, configured with one ``openai_compat`` backend pointing at that upstream, run as ``offload serve`` runs;
- the floor: a bare uvicorn + aiohttp forwarder, optionally committing one fsync'd SQLite row per request.
"""

from __future__ import annotations

import json

CHUNKS = 8  # SSE chunks per streamed answer
COMPLETION = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 0,
    "model": "bench",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello from the fake upstream."},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ],
    "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19},
}


# -- the fake upstream (run with --serve-upstream PORT) ------------------------------------------------
def _chunk(delta: dict, finish: str | None = None, usage: dict | None = None) -> bytes:
    c = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "bench",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }
    if usage is not None:
        c["usage"] = usage
    return b"data: " + json.dumps(c).encode() + b"\n\n"


BODY = json.dumps(COMPLETION).encode()
SSE = (
    _chunk({"role": "assistant", "content": ""})
    + b"".join(_chunk({"content": f"tok{i} "}) for i in range(CHUNKS))
    + _chunk({}, "stop", COMPLETION["usage"])
    + b"data: [DONE]\n\n"
)


async def read_body(scope, receive, send) -> bytes | None:  # type: ignore[no-untyped-def]
    """The request body of an HTTP scope; ``None`` after answering a lifespan (or ignoring another) scope."""
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
        return None
    body, more = b"", True
    while more:
        msg = await receive()
        body += msg.get("body", b"")
        more = msg.get("more_body", False)
    return body


async def upstream_app(scope, receive, send):  # type: ignore[no-untyped-def]
    body = await read_body(scope, receive, send)
    if body is None:
        return
    if scope["path"].endswith("/models"):
        out, ctype = (
            b'{"object":"list","data":[{"id":"bench","object":"model","created":0,"owned_by":"x"}]}',
            b"application/json",
        )
    elif b'"stream":true' in body.replace(b" ", b""):
        out, ctype = SSE, b"text/event-stream"
    else:
        out, ctype = BODY, b"application/json"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", ctype), (b"content-length", str(len(out)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": out})


def serve_upstream(port: int) -> None:
    import uvicorn

    uvicorn.run(upstream_app, host="127.0.0.1", port=port, log_level="error", access_log=False)


def serve_floor(port: int, upstream: int, journal: str) -> None:
    """The floor (``--floor``): a bare uvicorn + aiohttp forwarder — no routing, no redaction, no translation.

    With ``journal`` (not ``-``) it also commits one SQLite row per request (WAL, synchronous=FULL) before
    forwarding, inline on the event loop: what any gateway that keeps offload's durability promise must pay.
    """
    import sqlite3

    import aiohttp

    from offload.cli.serve import run_gateway

    db = None
    if journal != "-":
        db = sqlite3.connect(journal, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE IF NOT EXISTS requests (body BLOB)")
    session: list[aiohttp.ClientSession] = []
    url = f"http://127.0.0.1:{upstream}/v1/chat/completions"

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        body = await read_body(scope, receive, send)
        if body is None:
            return
        if db is not None:
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO requests VALUES (?)", (body,))
            db.execute("COMMIT")
        if not session:
            session.append(aiohttp.ClientSession())
        async with session[0].post(url, data=body, headers={"content-type": "application/json"}) as r:
            ctype = r.headers.get("content-type", "application/json").encode()
            await send({"type": "http.response.start", "status": r.status, "headers": [(b"content-type", ctype)]})
            async for chunk in r.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    run_gateway(app, "127.0.0.1", port)


def serve_offload(port: int, upstream: int, journal: str) -> None:
    from offload.cli.serve import run_gateway
    from offload.config import parse_config
    from offload.engine import Engine
    from offload.server.app import create_app

    cfg = parse_config(
        {
            "defaults": {"embedded": False, "journal_path": journal},
            "backends": {
                "up": {"kind": "openai_compat", "base_url": f"http://127.0.0.1:{upstream}/v1", "max_retries": 0}
            },
            "models": [{"name": "bench", "backend": "up", "context_window": 32768, "roles": ["chat", "fast"]}],
        }
    )
    app = create_app(Engine(cfg, await_outcome=False), owns_engine=True)
    run_gateway(app, "127.0.0.1", port)  # exactly as `offload serve` runs it
