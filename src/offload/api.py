"""The Python API: ``from offload import Offload`` — the same powers as the CLI, sync and async.

    >>> from offload import Offload                      # doctest: +SKIP
    >>> o = Offload()
    >>> answer = o.run("Write is_prime(n) in Python")
    >>> answer.content, answer.usage, answer.timings, answer.journal_id

Sync methods run on a private event loop in a background thread, so they also work from code that
already runs an event loop. Async twins are prefixed with ``a`` (``arun``, ``achat``, ``astream``).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from offload.backends import Backend
from offload.config import Config, load_config
from offload.engine import Engine, RequestContext
from offload.errors import InvalidRequest
from offload.routing.task import Task, VerifySpec
from offload.types import ChatRequest, ChatResponse, Message, ResponseFormat, StreamEvent

T = TypeVar("T")


class Offload:
    """A handle on offload: configuration, backends, journal and ledger."""

    def __init__(
        self,
        config: str | Path | Config | None = None,
        *,
        backends: Mapping[str, Backend] | None = None,
        journal_path: str | Path | None = None,
        source: str = "api",
    ) -> None:
        cfg = config if isinstance(config, Config) else load_config(config)
        self.engine = Engine(cfg, backends=backends, journal_path=journal_path)
        self.config = cfg
        self._source = source
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- building requests ------------------------------------------------------------------------------
    @staticmethod
    def _request(
        prompt_or_messages: str | Sequence[Message | Mapping[str, Any]] | ChatRequest,
        *,
        model: str = "auto",
        system: str | None = None,
        json_schema: Mapping[str, Any] | None = None,
        json: bool = False,
        **kw: Any,
    ) -> ChatRequest:
        if isinstance(prompt_or_messages, ChatRequest):
            return prompt_or_messages
        if isinstance(prompt_or_messages, str):
            messages = [Message.text("user", prompt_or_messages)]
        else:
            messages = [m if isinstance(m, Message) else _message(m) for m in prompt_or_messages]
        fmt = ResponseFormat()
        if json_schema is not None:
            fmt = ResponseFormat(type="json_schema", json_schema=dict(json_schema))
        elif json:
            fmt = ResponseFormat(type="json")
        return ChatRequest(model=model, system=system, messages=messages, response_format=fmt, **kw)

    def _ctx(self) -> RequestContext:
        return RequestContext(source=self._source)

    # -- async API --------------------------------------------------------------------------------------
    async def arun(
        self,
        prompt: str,
        *,
        model: str = "auto",
        kind: str | None = None,
        system: str | None = None,
        files: Sequence[str | Path] = (),
        verify: VerifySpec | Mapping[str, Any] | None = None,
        json_schema: Mapping[str, Any] | None = None,
        **kw: Any,
    ) -> ChatResponse:
        """Run a task through the router and the verified cascade."""
        text = _with_files(prompt, files)
        req = self._request(text, model=model, system=system, json_schema=json_schema, **kw)
        spec = verify if isinstance(verify, VerifySpec) else VerifySpec(**dict(verify or {}))
        if json_schema is not None and spec.json_schema is None:
            spec = spec.model_copy(update={"json_schema": dict(json_schema)})
        task = Task(request=req, kind=kind, verify=spec, source_text=prompt)
        return await self.engine.run(task, self._ctx())

    async def achat(
        self, messages: str | Sequence[Message | Mapping[str, Any]] | ChatRequest, **kw: Any
    ) -> ChatResponse:
        """Answer a chat (OpenAI-style message dicts, Message objects, a prompt, or a ChatRequest)."""
        return await self.engine.chat(self._request(messages, **kw), self._ctx())

    async def astream(
        self, messages: str | Sequence[Message | Mapping[str, Any]] | ChatRequest, **kw: Any
    ) -> AsyncIterator[StreamEvent]:
        """Stream an answer: text deltas, tool calls, then one StreamEnd with the full response."""
        async for ev in self.engine.stream(self._request(messages, **kw), self._ctx()):
            yield ev

    # -- sync API ---------------------------------------------------------------------------------------
    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                t = threading.Thread(target=loop.run_forever, name="offload-loop", daemon=True)
                t.start()
                self._loop, self._thread = loop, t
            return self._loop

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._ensure_loop()).result()

    def run(self, prompt: str, **kw: Any) -> ChatResponse:
        """Sync :meth:`arun`."""
        return self.call(self.arun(prompt, **kw))

    def chat(self, messages: str | Sequence[Message | Mapping[str, Any]] | ChatRequest, **kw: Any) -> ChatResponse:
        """Sync :meth:`achat`."""
        return self.call(self.achat(messages, **kw))

    def stream(
        self, messages: str | Sequence[Message | Mapping[str, Any]] | ChatRequest, **kw: Any
    ) -> Iterator[StreamEvent]:
        """Sync :meth:`astream`: yields events as they arrive. Breaking out of the loop cancels the request."""
        loop = self._ensure_loop()
        q: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()  # never blocks the event loop
        agen = self.astream(messages, **kw)

        async def pump() -> None:
            try:
                async for ev in agen:
                    q.put(("ev", ev))
                q.put(("end", None))
            except BaseException as exc:  # handed to the consumer (CancelledError: the consumer left)
                q.put(("err", exc))
                if isinstance(exc, asyncio.CancelledError):
                    raise

        fut = asyncio.run_coroutine_threadsafe(pump(), loop)
        finished = False
        try:
            while True:
                kind, val = q.get()
                if kind == "ev":
                    yield val
                    continue
                finished = True
                if kind == "err" and not isinstance(val, asyncio.CancelledError):
                    raise val
                return
        finally:
            if not finished:
                fut.cancel()  # the consumer stopped early: cancel upstream, and wait until it is journaled
                try:
                    while q.get(timeout=30)[0] == "ev":
                        pass
                except queue.Empty:
                    pass

    def route(self, prompt: str, *, model: str = "auto", kind: str | None = None) -> Any:
        """The route a prompt would take (profile, candidates, reasons), without running anything."""
        req = self._request(prompt, model=model)
        return self.engine.resolve(req, RequestContext(source=self._source, hints={"kind": kind} if kind else {}))

    def close(self) -> None:
        """Close backends and the journal, and stop the private loop."""
        if self._loop is not None:
            self.call(self.engine.aclose())
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._loop.close()
            self._loop = None
        else:
            asyncio.run(self.engine.aclose())

    async def aclose(self) -> None:
        await self.engine.aclose()

    def __enter__(self) -> Offload:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _message(d: Mapping[str, Any]) -> Message:
    """An OpenAI-style ``{"role", "content"}`` dict (string content) as a canonical Message."""
    content = d.get("content", "")
    if isinstance(content, str):
        return Message.text(d.get("role", "user"), content)
    return Message.model_validate(d)


def _with_files(prompt: str, files: Sequence[str | Path]) -> str:
    if not files:
        return prompt
    chunks = [prompt]
    for f in files:
        p = Path(f)
        try:
            body = p.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise InvalidRequest(
                f"cannot read context file {str(p)!r}: {exc.strerror}", hint="check the path"
            ) from None
        chunks.append(f"\n\nFile {p.name}:\n```\n{body}\n```")
    return "".join(chunks)
