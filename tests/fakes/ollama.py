"""An in-process fake Ollama server that follows Ollama's documented REST API (ollama/ollama ``docs/api.md``).

There is no Ollama binary in the test environment, so every Ollama test (backend, gateway, model ops,
dashboard) runs against this fake. It speaks the real wire format — NDJSON streams ending in a ``done: true``
chunk with durations in nanoseconds, ``{"error": "..."}`` bodies with the real status codes and messages,
pull progress lines, ``keep_alive`` load/unload semantics — and is scriptable::

    fake = FakeOllama()                                   # two installed models, one pullable
    fake.queue("Hello there!")                            # next chat/generate answer (any model)
    fake.queue_tool_call("get_weather", {"city": "Paris"}, model="llama3.2")
    fake.fail_next(500, "boom", path="/api/chat")         # injected HTTP error (optionally with headers)
    fake.fail_pull_once("qwen2.5-coder:7b")               # the next pull breaks midway, the one after resumes
    fake.chunk_delay = 0.05; fake.drop_after_chunks = 3   # slow streams / drop the connection mid-stream
    with serve_app(fake.app) as base_url: ...             # or httpx.ASGITransport(app=fake.app)

Everything it received is in ``fake.requests``; ``fake.disconnects`` counts streams the client abandoned
before the end (``fake.disconnected`` is a ``threading.Event`` to wait on). Dropping a connection mid-stream
needs a real socket (``serve_app``): ``httpx.ASGITransport`` buffers whole responses.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

FOREVER = math.inf
DEFAULT_KEEP_ALIVE_S = 300.0
_DUR_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_TOKEN = re.compile(r"\s*\S+|\s+")


def norm(name: str) -> str:
    """Ollama's name normalisation: ``llama3.2`` means ``llama3.2:latest``."""
    name = name.strip()
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def tokens(text: str) -> list[str]:
    """The fake tokenizer: a word with its leading whitespace is one token."""
    return _TOKEN.findall(text)


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_keep_alive(value: Any) -> float:
    """Seconds from a ``keep_alive`` value like Ollama's ``api.Duration`` (numbers are seconds; < 0 = forever)."""
    if value is None:
        return DEFAULT_KEEP_ALIVE_S
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"Unsupported type: '{type(value).__name__}'")
    if isinstance(value, int | float):
        return FOREVER if value < 0 else float(value)
    text, sign = value.strip(), 1.0
    if text in ("0", "+0", "-0"):
        return 0.0
    if text and text[0] in "+-":
        sign, text = (-1.0 if text[0] == "-" else 1.0), text[1:]
    parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)?", text)
    if not text or "".join(a + b for a, b in parts) != text:
        raise ValueError(f'time: invalid duration "{value}"')
    if any(not unit for _, unit in parts):
        raise ValueError(f'time: missing unit in duration "{value}"')
    seconds = sign * sum(float(num) * _DUR_UNITS[unit] for num, unit in parts)
    return FOREVER if seconds < 0 else seconds


def sample_for_schema(schema: Any) -> Any:
    """A small value valid against ``schema`` (what a well-behaved model would return for ``format``)."""
    if not isinstance(schema, dict):
        return {}
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return sample_for_schema(schema[key][0])
    kind = schema.get("type", "object")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: sample_for_schema(v) for k, v in props.items()}
    if kind == "array":
        n = int(schema.get("minItems", 0))
        return [sample_for_schema(schema.get("items", {})) for _ in range(n)]
    return {
        "string": "x" * int(schema.get("minLength", 1)),
        "integer": int(schema.get("minimum", 0)),
        "number": float(schema.get("minimum", 0)),
        "boolean": True,
        "null": None,
    }.get(kind, "x")


@dataclass
class FakeModel:
    """A model as Ollama reports it in ``/api/tags``, ``/api/show`` and ``/api/ps``."""

    name: str
    size: int = 1_000_000_000
    family: str = "llama"
    parameter_size: str = "1.2B"
    quantization_level: str = "Q4_K_M"
    context_length: int = 8192
    capabilities: tuple[str, ...] = ("completion", "tools")
    families: list[str] | None = None
    digest: str = ""
    embedding_length: int = 8
    #: Bytes of VRAM used when loaded (defaults to ``size``).
    size_vram: int | None = None
    #: Blob sizes for pulls (defaults to one blob of ``size`` bytes).
    layers: tuple[int, ...] | None = None
    #: RFC 3339 time of the pull (default: when the FakeModel was made).
    modified_at: str = ""

    def __post_init__(self) -> None:
        self.name = norm(self.name)
        self.digest = self.digest or hashlib.sha256(self.name.encode()).hexdigest()
        self.families = self.families or [self.family]
        self.modified_at = self.modified_at or rfc3339(time.time())

    def details(self) -> dict[str, Any]:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": self.family,
            "families": self.families,
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization_level,
        }

    def blobs(self) -> list[tuple[str, int]]:
        """``(sha256:digest, size)`` of each blob a pull downloads."""
        sizes = self.layers or (self.size,)
        return [("sha256:" + hashlib.sha256(f"{self.name}/{i}".encode()).hexdigest(), n) for i, n in enumerate(sizes)]


@dataclass
class FakeAnswer:
    """One scripted answer for ``/api/chat`` or ``/api/generate``."""

    content: str = ""
    #: Ollama-shaped (``{"function": {...}}``) or shorthand (``{"name": ..., "arguments": {...}}``) tool calls.
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    thinking: str = ""
    done_reason: str | None = None
    prompt_eval_count: int | None = None
    eval_count: int | None = None
    #: Stream ``{"error": error}`` after this many chunks (non-streaming requests answer HTTP 500).
    error_after: int | None = None
    error: str = "an error was encountered while running the model"
    delay: float | None = None
    chunk_delay: float | None = None
    drop_after_chunks: int | None = None


@dataclass
class RecordedRequest:
    """A request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class _Injected:
    status: int
    body: Any
    headers: dict[str, str]
    path: str | None
    times: int


@dataclass
class _Loaded:
    expires_at: float
    context_length: int


class _NDJSONStream(StreamingResponse):
    """An ``application/x-ndjson`` body with per-chunk delay, a mid-stream drop and disconnect detection."""

    def __init__(self, fake: FakeOllama, items: AsyncIterator[Any], *, chunk_delay: float, drop_after: int | None):
        super().__init__(items, media_type="application/x-ndjson")
        self._fake, self._items, self._delay, self._drop_after = fake, items, chunk_delay, drop_after

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.ensure_future(watch())
        complete = False
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            sent = 0
            async for item in self._items:
                if sent and self._delay:
                    try:
                        await asyncio.wait_for(gone.wait(), self._delay)
                    except TimeoutError:
                        pass
                if gone.is_set() or (self._drop_after is not None and sent >= self._drop_after):
                    return  # an incomplete chunked body: the server closes the connection
                data = item if isinstance(item, bytes) else (json.dumps(item) + "\n").encode()
                await send({"type": "http.response.body", "body": data, "more_body": True})
                sent += 1
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            complete = True
        finally:
            watcher.cancel()
            if gone.is_set() and not complete:
                self._fake._note_disconnect()


class FakeOllama:
    """A scriptable fake of the Ollama server; ``.app`` is its Starlette ASGI app."""

    def __init__(
        self,
        models: Iterable[FakeModel | str] | None = None,
        registry: Iterable[FakeModel | str] | None = None,
        *,
        version: str = "0.9.6",
        api_key: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if models is None:
            models = [
                FakeModel("llama3.2", size=2_019_393_189, parameter_size="3.2B", context_length=131072),
                FakeModel(
                    "nomic-embed-text",
                    size=274_302_450,
                    family="nomic-bert",
                    parameter_size="137M",
                    quantization_level="F16",
                    context_length=2048,
                    capabilities=("embedding",),
                    embedding_length=16,
                ),
            ]
        if registry is None:
            registry = [
                FakeModel(
                    "qwen2.5-coder:7b",
                    size=4_683_087_332,
                    family="qwen2",
                    parameter_size="7.6B",
                    context_length=32768,
                    layers=(4_683_073_184, 1_000, 14_000),
                )
            ]
        self.models: dict[str, FakeModel] = {}
        self.registry: dict[str, FakeModel] = {}
        for m in models:
            self.add_model(m)
        for m in registry:
            self.add_pullable(m)
        self.version = version
        self.api_key = api_key
        self.clock = clock
        self.loaded: dict[str, _Loaded] = {}
        self.requests: list[RecordedRequest] = []
        self.responder: Callable[[dict[str, Any]], str | FakeAnswer | None] | None = None
        self.default_answer: str | FakeAnswer | None = None
        self.delay = 0.0
        self.chunk_delay = 0.0
        self.drop_after_chunks: int | None = None
        self.pull_steps = 4
        self.load_duration_ns = 50_000_000
        self.disconnects = 0
        self.disconnected = threading.Event()
        self._answers: dict[str | None, deque[FakeAnswer]] = {}
        self._errors: list[_Injected] = []
        self._raw: list[tuple[str, list[bytes | dict[str, Any]], int]] = []
        self._partial: dict[str, int] = {}
        self._pull_failures: dict[str, int | None] = {}
        routes = [
            Route("/", self._root, methods=["GET", "HEAD"]),
            Route("/api/version", self._endpoint(self._version), methods=["GET", "HEAD"]),
            Route("/api/tags", self._endpoint(self._tags), methods=["GET"]),
            Route("/api/ps", self._endpoint(self._ps), methods=["GET"]),
            Route("/api/show", self._endpoint(self._show), methods=["POST"]),
            Route("/api/chat", self._endpoint(self._chat), methods=["POST"]),
            Route("/api/generate", self._endpoint(self._generate), methods=["POST"]),
            Route("/api/embed", self._endpoint(self._embed), methods=["POST"]),
            Route("/api/embeddings", self._endpoint(self._embeddings), methods=["POST"]),
            Route("/api/pull", self._endpoint(self._pull), methods=["POST"]),
            Route("/api/delete", self._endpoint(self._delete), methods=["DELETE"]),
            Route("/api/copy", self._endpoint(self._copy), methods=["POST"]),
        ]
        not_found = {404: lambda request, exc: PlainTextResponse("404 page not found", status_code=404)}
        self.app = Starlette(routes=routes, exception_handlers=not_found)

    # -- scripting --------------------------------------------------------------------------------------------
    def add_model(self, model: FakeModel | str, **kw: Any) -> FakeModel:
        """Install a model (as if pulled)."""
        m = model if isinstance(model, FakeModel) else FakeModel(model, **kw)
        self.models[m.name] = m
        return m

    def add_pullable(self, model: FakeModel | str, **kw: Any) -> FakeModel:
        """Make a model available in the fake registry for ``/api/pull``."""
        m = model if isinstance(model, FakeModel) else FakeModel(model, **kw)
        self.registry[m.name] = m
        return m

    def queue(self, answer: str | FakeAnswer, *, model: str | None = None) -> FakeOllama:
        """Queue the next answer (for ``model`` only, or for any model)."""
        a = FakeAnswer(content=answer) if isinstance(answer, str) else answer
        self._answers.setdefault(norm(model) if model else None, deque()).append(a)
        return self

    def queue_tool_call(
        self,
        name: str,
        arguments: dict[str, Any],
        *,
        model: str | None = None,
        content: str = "",
        id: str | None = None,
    ) -> FakeOllama:
        """Queue an answer that calls tool ``name`` (Ollama shape; ``id`` only when given, like older servers)."""
        call: dict[str, Any] = {"function": {"index": 0, "name": name, "arguments": arguments}}
        if id:
            call["id"] = id
        return self.queue(FakeAnswer(content=content, tool_calls=[call]), model=model)

    def fail_next(
        self,
        status: int = 500,
        error: str = "internal server error",
        *,
        path: str | None = None,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> FakeOllama:
        """Answer the next ``times`` requests (to ``path``, or any) with ``status`` and ``{"error": error}``."""
        self._errors.append(
            _Injected(status, body if body is not None else {"error": error}, headers or {}, path, times)
        )
        return self

    def queue_raw(
        self, lines: list[bytes | str | dict[str, Any]], *, path: str = "/api/chat", status: int = 200
    ) -> FakeOllama:
        """Answer the next request to ``path`` with these NDJSON lines verbatim (str/bytes lines get a newline)."""
        enc: list[bytes | dict[str, Any]] = [
            x if isinstance(x, dict) else (x.encode() if isinstance(x, str) else x) + b"\n" for x in lines
        ]
        self._raw.append((path, enc, status))
        return self

    def fail_pull_once(self, name: str, after_bytes: int | None = None) -> FakeOllama:
        """Break the next pull of ``name`` after ``after_bytes`` of its first blob (default: half of it)."""
        self._pull_failures[norm(name)] = after_bytes
        return self

    def load(self, name: str, keep_alive: Any = None, num_ctx: int | None = None) -> None:
        """Mark a model as loaded, as a chat with ``keep_alive`` would."""
        m = self.models[norm(name)]
        ttl = parse_keep_alive(keep_alive)
        self.loaded[m.name] = _Loaded(self.clock() + ttl, num_ctx or min(4096, m.context_length))

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """Recorded requests to ``path``."""
        return [r for r in self.requests if r.path == path]

    @property
    def pending_answers(self) -> int:
        return sum(len(q) for q in self._answers.values())

    # -- plumbing ---------------------------------------------------------------------------------------------
    def _note_disconnect(self) -> None:
        self.disconnects += 1
        self.disconnected.set()

    def _sweep(self) -> None:
        now = self.clock()
        for name in [n for n, lo in self.loaded.items() if lo.expires_at <= now]:
            del self.loaded[name]

    def _endpoint(self, handler: Callable[[dict[str, Any]], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            body: Any = None
            parse_error = None
            if raw:
                try:
                    body = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    parse_error = f"invalid character {raw[:1].decode('latin-1')!r} looking for beginning of value"
            self.requests.append(RecordedRequest(request.method, request.url.path, dict(request.headers), body))
            if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
                return JSONResponse({"error": "unauthorized"}, status_code=401)
            for inj in self._errors:
                if inj.path in (None, request.url.path):
                    inj.times -= 1
                    if inj.times <= 0:
                        self._errors.remove(inj)
                    if isinstance(inj.body, str):
                        return PlainTextResponse(inj.body, status_code=inj.status, headers=inj.headers)
                    return JSONResponse(inj.body, status_code=inj.status, headers=inj.headers)
            for i, (path, lines, status) in enumerate(self._raw):
                if path == request.url.path:
                    del self._raw[i]
                    raw_stream = _NDJSONStream(self, _aiter(lines), chunk_delay=self.chunk_delay, drop_after=None)
                    raw_stream.status_code = status
                    return raw_stream
            if self.delay:
                await asyncio.sleep(self.delay)
            if request.method in ("POST", "DELETE"):
                if parse_error:
                    return _err(400, parse_error)
                if not isinstance(body, dict):
                    return _err(400, "missing request body")
            self._sweep()
            return await handler(body if isinstance(body, dict) else {})

        return endpoint

    async def _root(self, request: Request) -> Response:
        return PlainTextResponse("Ollama is running")

    def _installed(self, name: Any) -> FakeModel | None:
        return self.models.get(norm(name)) if isinstance(name, str) and name.strip() else None

    def _touch(self, m: FakeModel, keep_alive: float, options: dict[str, Any]) -> int:
        """Load ``m`` (or refresh its expiry); returns the load duration in ns."""
        was_loaded = m.name in self.loaded
        num_ctx = options.get("num_ctx") or (
            self.loaded[m.name].context_length if was_loaded else min(4096, m.context_length)
        )
        if keep_alive == 0:
            self.loaded.pop(m.name, None)
        else:
            self.loaded[m.name] = _Loaded(self.clock() + keep_alive, int(num_ctx))
        return 100_000 if was_loaded else self.load_duration_ns

    def _next_answer(self, m: FakeModel, body: dict[str, Any]) -> FakeAnswer:
        for key in (m.name, None):
            q = self._answers.get(key)
            if q:
                return q.popleft()
        if self.responder is not None:
            got = self.responder(body)
            if got is not None:
                return FakeAnswer(content=got) if isinstance(got, str) else got
        if self.default_answer is not None:
            d = self.default_answer
            return FakeAnswer(content=d) if isinstance(d, str) else replace(d)
        fmt = body.get("format")
        if isinstance(fmt, dict):
            return FakeAnswer(content=json.dumps(sample_for_schema(fmt)))
        prompt = body.get("prompt")
        if prompt is None:
            users = [m for m in body.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
            prompt = users[-1].get("content", "") if users else ""
        if fmt == "json":
            return FakeAnswer(content=json.dumps({"echo": prompt}))
        return FakeAnswer(content=f"Echo: {prompt}")

    def _check_model(self, body: dict[str, Any]) -> tuple[FakeModel | None, float, Response | None]:
        name = body.get("model") or body.get("name")
        if not isinstance(name, str) or not name.strip():
            return None, 0.0, _err(400, "model is required")
        m = self._installed(name)
        if m is None:
            return None, 0.0, _err(404, f"model '{name}' not found")
        try:
            ka = parse_keep_alive(body.get("keep_alive"))
        except ValueError as exc:
            return None, 0.0, _err(400, str(exc))
        return m, ka, None

    # -- generation -------------------------------------------------------------------------------------------
    async def _chat(self, body: dict[str, Any]) -> Response:
        return await self._complete(body, chat=True)

    async def _generate(self, body: dict[str, Any]) -> Response:
        return await self._complete(body, chat=False)

    async def _complete(self, body: dict[str, Any], *, chat: bool) -> Response:
        m, ka, error = self._check_model(body)
        if error or m is None:
            return error or _err(500, "unreachable")
        raw_options = body.get("options")
        options: dict[str, Any] = raw_options if isinstance(raw_options, dict) else {}
        messages = body.get("messages") or []
        prompt_texts = (
            [str(x.get("content") or "") for x in messages if isinstance(x, dict)]
            if chat
            else [str(body.get("system") or ""), str(body.get("prompt") or "")]
        )
        empty = not messages if chat else not body.get("prompt")
        head = {"model": body.get("model") or m.name, "created_at": rfc3339(self.clock())}
        blank = {"message": {"role": "assistant", "content": ""}} if chat else {"response": ""}
        if empty:
            reason = "unload" if ka == 0 else "load"
            if ka == 0:
                self.loaded.pop(m.name, None)
            else:
                self._touch(m, ka, options)
            return JSONResponse({**head, **blank, "done_reason": reason, "done": True})
        if "completion" not in m.capabilities:
            return _err(400, f'"{head["model"]}" does not support {"chat" if chat else "generate"}')
        if chat and body.get("tools") and "tools" not in m.capabilities:
            return _err(400, f"registry.ollama.ai/library/{m.name} does not support tools")
        if body.get("think") and "thinking" not in m.capabilities:
            return _err(400, f'"{head["model"]}" does not support thinking')
        answer = self._next_answer(m, body)
        if answer.delay:
            await asyncio.sleep(answer.delay)
        load_ns = self._touch(m, ka, options)
        pieces, reason = self._shape(answer.content, options)
        reason = answer.done_reason or reason
        calls = [_ollama_call(c, i) for i, c in enumerate(answer.tool_calls)]
        n_prompt = answer.prompt_eval_count
        n_prompt = n_prompt if n_prompt is not None else sum(len(tokens(t)) for t in prompt_texts) + 2 * len(messages)
        n_eval = answer.eval_count if answer.eval_count is not None else len(pieces) + 4 * len(calls)
        final = {**head, **blank, "done": True, "done_reason": reason, **_durations(load_ns, n_prompt, n_eval)}
        if not chat:
            final["context"] = list(range(1, n_prompt + n_eval + 1))

        def chunk(text: str = "", tool_calls: list[dict[str, Any]] | None = None, thinking: str = "") -> dict[str, Any]:
            if not chat:
                return {**head, "response": text, "done": False, **({"thinking": thinking} if thinking else {})}
            msg: dict[str, Any] = {"role": "assistant", "content": text}
            if thinking:
                msg["thinking"] = thinking
            if tool_calls:
                msg["tool_calls"] = tool_calls
            return {**head, "message": msg, "done": False}

        if body.get("stream", True) is False:
            if answer.error_after is not None:
                return _err(500, answer.error)
            out = chunk("".join(pieces), calls, answer.thinking if body.get("think") else "")
            out.update({k: v for k, v in final.items() if k not in ("message", "response")})
            return JSONResponse(out)

        async def items() -> AsyncIterator[dict[str, Any]]:
            if answer.thinking and body.get("think"):
                yield chunk(thinking=answer.thinking)
            for i, piece in enumerate(pieces):
                if answer.error_after is not None and i >= answer.error_after:
                    yield {"error": answer.error}
                    return
                yield chunk(piece)
            if calls:
                yield chunk(tool_calls=calls)
            yield final

        delay = answer.chunk_delay if answer.chunk_delay is not None else self.chunk_delay
        drop = answer.drop_after_chunks if answer.drop_after_chunks is not None else self.drop_after_chunks
        return _NDJSONStream(self, items(), chunk_delay=delay, drop_after=drop)

    @staticmethod
    def _shape(content: str, options: dict[str, Any]) -> tuple[list[str], str]:
        """Apply ``stop`` and ``num_predict`` to an answer; returns its tokens and the ``done_reason``."""
        stops = options.get("stop") or []
        cut = min([i for i in (content.find(s) for s in stops if s) if i >= 0], default=-1)
        if cut >= 0:
            content = content[:cut]
        pieces, reason = tokens(content), "stop"
        limit = options.get("num_predict")
        if isinstance(limit, int) and limit >= 0 and len(pieces) > limit:
            pieces, reason = pieces[:limit], "length"
        return pieces, reason

    # -- embeddings -------------------------------------------------------------------------------------------
    async def _embed(self, body: dict[str, Any]) -> Response:
        m, ka, error = self._check_model(body)
        if error or m is None:
            return error or _err(500, "unreachable")
        inputs = body.get("input", [])
        inputs = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(inputs, list) or not all(isinstance(x, str) for x in inputs):
            return _err(400, f"invalid input type: {type(body.get('input')).__name__}")
        dims = body.get("dimensions") or m.embedding_length
        load_ns = self._touch(m, ka, body.get("options") or {})
        n = sum(len(tokens(t)) for t in inputs)
        return JSONResponse(
            {
                "model": body.get("model") or m.name,
                "embeddings": [_vector(t, dims) for t in inputs],
                "total_duration": load_ns + n * 100_000,
                "load_duration": load_ns,
                "prompt_eval_count": n,
            }
        )

    async def _embeddings(self, body: dict[str, Any]) -> Response:
        m, ka, error = self._check_model(body)
        if error or m is None:
            return error or _err(500, "unreachable")
        self._touch(m, ka, body.get("options") or {})
        return JSONResponse({"embedding": _vector(str(body.get("prompt") or ""), m.embedding_length)})

    # -- model management -------------------------------------------------------------------------------------
    async def _version(self, body: dict[str, Any]) -> Response:
        return JSONResponse({"version": self.version})

    async def _tags(self, body: dict[str, Any]) -> Response:
        models = sorted(self.models.values(), key=lambda m: m.modified_at, reverse=True)
        return JSONResponse(
            {
                "models": [
                    {
                        "name": m.name,
                        "model": m.name,
                        "modified_at": m.modified_at,
                        "size": m.size,
                        "digest": m.digest,
                        "details": m.details(),
                    }
                    for m in models
                ]
            }
        )

    async def _ps(self, body: dict[str, Any]) -> Response:
        out = []
        for name, lo in self.loaded.items():
            m = self.models.get(name)
            if m is None:
                continue
            expires = min(lo.expires_at, self.clock() + 292 * 365.25 * 86400)
            out.append(
                {
                    "name": m.name,
                    "model": m.name,
                    "size": m.size,
                    "digest": m.digest,
                    "details": m.details(),
                    "expires_at": rfc3339(expires),
                    "size_vram": m.size if m.size_vram is None else m.size_vram,
                    "context_length": lo.context_length,
                }
            )
        return JSONResponse({"models": out})

    async def _show(self, body: dict[str, Any]) -> Response:
        name = body.get("model") or body.get("name")
        m = self._installed(name)
        if m is None:
            return _err(404, f"model '{name}' not found")
        scale = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
        ps = m.parameter_size
        count = int(float(ps[:-1]) * scale[ps[-1]]) if ps and ps[-1] in scale else 0
        arch = m.family
        return JSONResponse(
            {
                "license": "",
                "modelfile": f'# Modelfile generated by "ollama show"\nFROM {m.name}\n',
                "parameters": 'stop                           "<|eot_id|>"',
                "template": "{{ .Prompt }}",
                "details": m.details(),
                "model_info": {
                    "general.architecture": arch,
                    "general.parameter_count": count,
                    "general.file_type": 15,
                    "general.quantization_version": 2,
                    f"{arch}.context_length": m.context_length,
                    f"{arch}.embedding_length": m.embedding_length,
                },
                "capabilities": list(m.capabilities),
                "modified_at": m.modified_at,
            }
        )

    async def _delete(self, body: dict[str, Any]) -> Response:
        name = body.get("model") or body.get("name")
        m = self._installed(name)
        if m is None:
            return _err(404, f"model '{name}' not found")
        del self.models[m.name]
        self.loaded.pop(m.name, None)
        return Response(status_code=200)

    async def _copy(self, body: dict[str, Any]) -> Response:
        src = self._installed(body.get("source"))
        dest = body.get("destination")
        if src is None:
            return _err(404, f'model "{body.get("source")}" not found')
        if not isinstance(dest, str) or not dest:
            return _err(400, "destination is required")
        self.add_model(replace(src, name=norm(dest), digest=src.digest))
        return Response(status_code=200)

    async def _pull(self, body: dict[str, Any]) -> Response:
        name = body.get("model") or body.get("name")
        if not isinstance(name, str) or not name.strip():
            return _err(400, "invalid model name")
        items = self._pull_lines(norm(name))
        if body.get("stream", True) is False:
            last: dict[str, Any] = {}
            async for item in items:
                if "error" in item:
                    return _err(500, item["error"])
                last = item
            return JSONResponse(last)
        return _NDJSONStream(self, items, chunk_delay=self.chunk_delay, drop_after=self.drop_after_chunks)

    async def _pull_lines(self, name: str) -> AsyncIterator[dict[str, Any]]:
        yield {"status": "pulling manifest"}
        src = self.registry.get(name) or self.models.get(name)
        if src is None:
            yield {"error": "pull model manifest: file does not exist"}
            return
        installed = self.models.get(name)
        fail = name in self._pull_failures
        fail_at = self._pull_failures.pop(name, None)
        for i, (digest, total) in enumerate(src.blobs()):
            status = f"pulling {digest[7:19]}"
            done = total if installed is not None and installed.digest == src.digest else self._partial.get(digest, 0)
            if fail and i == 0 and fail_at is None:
                fail_at = max(done + 1, total // 2)
            step = max(1, math.ceil((total - done) / self.pull_steps))
            line = {"status": status, "digest": digest, "total": total}
            yield {**line, "completed": done} if done else line
            while done < total:
                done = min(total, done + step)
                if fail and i == 0 and fail_at is not None and done >= fail_at:
                    self._partial[digest] = fail_at
                    yield {**line, "completed": fail_at}
                    yield {"error": f"max retries exceeded: GET {digest}: unexpected EOF"}
                    return
                self._partial[digest] = done
                yield {**line, "completed": done}
        yield {"status": "verifying sha256 digest"}
        yield {"status": "writing manifest"}
        yield {"status": "success"}
        for digest, _ in src.blobs():
            self._partial.pop(digest, None)
        self.models[name] = replace(src, modified_at=rfc3339(self.clock()))


async def _aiter(items: Iterable[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item


def _err(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _durations(load_ns: int, n_prompt: int, n_eval: int) -> dict[str, int]:
    """Deterministic timings: 4 ms per prompt token, 20 ms per generated token (50 tokens/s)."""
    prompt_ns, eval_ns = n_prompt * 4_000_000, n_eval * 20_000_000
    return {
        "total_duration": load_ns + prompt_ns + eval_ns + 1_000_000,
        "load_duration": load_ns,
        "prompt_eval_count": n_prompt,
        "prompt_eval_duration": prompt_ns,
        "eval_count": n_eval,
        "eval_duration": eval_ns,
    }


def _ollama_call(call: dict[str, Any], index: int) -> dict[str, Any]:
    if "function" in call:
        return call
    return {"function": {"index": index, "name": call["name"], "arguments": call.get("arguments", {})}}


def _vector(text: str, dims: int) -> list[float]:
    """A deterministic unit vector for ``text``."""
    digest = hashlib.sha256(text.encode()).digest()
    raw = [(digest[i % len(digest)] - 127.5) / 127.5 + (i % 7) * 1e-3 for i in range(int(dims))]
    length = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / length for x in raw]


__all__ = ["FakeAnswer", "FakeModel", "FakeOllama", "RecordedRequest", "parse_keep_alive", "sample_for_schema"]
