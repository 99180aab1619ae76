"""Model operations: set up the inventory (check backends, pull, verify), list loaded models, load and unload.

``setup`` checks every configured backend and, for one that is down, says exactly how to start it; it then
pulls the inventory's required models (the optional ones too with ``optional=True``) on backends that can
pull (Ollama), reporting the backend's streamed progress, resuming an interrupted pull (Ollama keeps the
bytes already downloaded, so pulling again continues where it stopped), and finally checks that each model
is listed by its backend. ``load``/``unload`` use the backend's ``keep_alive``; the default keep-alive is
``[defaults] keep_alive`` from the config.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlparse

from offload.backends.base import Backend
from offload.config import BackendConfig, Config, ModelSpec
from offload.errors import BackendError, BackendUnavailable, InvalidRequest, OffloadError, UnknownModel
from offload.models.residency import Resident, residents_from_ps
from offload.types import ModelInfo, PullProgress

PullStatus = Literal["present", "pulled", "failed", "skipped"]
EventKind = Literal["check", "start", "progress", "resume", "done"]
_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")


def start_hint(cfg: BackendConfig) -> str:
    """Exactly how to start (or reach) a backend that does not answer."""
    url = cfg.base_url or ""
    port = urlparse(url).port if url else None
    if cfg.kind == "ollama":
        how = "start Ollama with `ollama serve` (it listens on port 11434)"
        if port and port != 11434:
            how = f"start Ollama on port {port} with `OLLAMA_HOST=127.0.0.1:{port} ollama serve`"
        return f"{how}; install it from https://ollama.com/download if `ollama` is not found"
    if cfg.kind == "openai_compat":
        p = port or 1234
        return (
            f"start the OpenAI-compatible server at {url}: LM Studio `lms server start --port {p}`, "
            f"llama.cpp `llama-server -m MODEL.gguf --port {p}`, or vLLM `vllm serve MODEL --port {p}`"
        )
    if cfg.kind == "anthropic":
        env = cfg.api_key_env or "ANTHROPIC_API_KEY"
        return f"check the network connection to {url} and that ${env} holds a valid key"
    if cfg.kind == "embedded":
        return "install the embedded runtime: `pip install llama-cpp-python`"
    return f"check backend {cfg.name!r} in offload.toml"


def normalize_keep_alive(value: str | int | float | None, default: str) -> str | int:
    """A keep-alive as Ollama takes it: a duration (``"5m"``, ``"1h30m"``), seconds, ``0`` or ``-1`` (forever)."""
    if value is None:
        value = default
    if isinstance(value, bool):
        raise InvalidRequest("keep_alive must be a duration like 5m, seconds, 0 or -1", hint="e.g. --keep-alive 30m")
    if isinstance(value, int | float):
        return -1 if value < 0 else int(value)
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return -1 if int(text) < 0 else int(text)
    if text.startswith("-") and _DURATION.match(text[1:]):
        return -1
    if not _DURATION.match(text):
        raise InvalidRequest(
            f"keep_alive {text!r} is not a duration",
            hint="use e.g. 30s, 5m, 1h30m, a number of seconds, 0 (unload now) or -1 (keep forever)",
        )
    return text


def _norm(name: str) -> str:
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


@dataclass(frozen=True)
class BackendCheck:
    """One backend's reachability, with how to start it when it is down."""

    name: str
    kind: str
    ok: bool
    detail: str = ""
    hint: str | None = None
    can_pull: bool = False


@dataclass
class PullOutcome:
    """What happened to one inventory model during setup."""

    model: str
    backend: str
    status: PullStatus
    detail: str = ""
    attempts: int = 0
    hint: str | None = None
    required: bool = True
    #: The :mod:`offload.errors` code of the failure (e.g. ``model_not_found``), when it failed.
    error_code: str | None = None


@dataclass(frozen=True)
class OpsEvent:
    """A setup event for progress displays (``progress`` carries the backend's own pull progress)."""

    kind: EventKind
    model: str | None = None
    progress: PullProgress | None = None
    detail: str = ""
    check: BackendCheck | None = None
    outcome: PullOutcome | None = None


@dataclass
class SetupReport:
    """Every backend check and every model outcome."""

    checks: list[BackendCheck] = field(default_factory=list)
    outcomes: list[PullOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every required model is present or pulled."""
        return all(o.status in ("present", "pulled", "skipped") for o in self.outcomes if o.required)


@dataclass(frozen=True)
class LoadedModel:
    """A model in memory now, as ``offload ps`` shows it."""

    name: str
    backend: str
    vram_gb: float
    size_gb: float | None
    expires_at: str | None
    expires_in: str
    in_inventory: bool
    context_window: int | None = None


#: Receives setup events; may be a coroutine function (its result is awaited).
OnEvent = Callable[[OpsEvent], Any]


async def _emit(on_event: OnEvent | None, event: OpsEvent) -> None:
    if on_event is not None:
        result = on_event(event)
        if inspect.isawaitable(result):
            await result


class ModelManager:
    """Model operations over the configured backends (built from a config and a backend lookup)."""

    def __init__(
        self,
        config: Config,
        backend: Callable[[str], Backend],
        *,
        max_resumes: int = 3,
        resume_delay_s: float = 1.0,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        board: Any = None,
    ) -> None:
        self.config = config
        self._backend = backend
        #: The engine's circuit breakers: ``ps`` skips a backend whose breaker is not closed and reports failures.
        self._board = board
        self.max_resumes = max_resumes
        self.resume_delay_s = resume_delay_s
        self._sleep = sleep
        self._clock = clock

    @classmethod
    def from_engine(cls, engine: Any, **kw: Any) -> ModelManager:
        """A manager over an :class:`offload.engine.Engine`'s config and backends."""
        kw.setdefault("board", getattr(engine, "board", None))
        return cls(engine.config, engine.backend, **kw)

    # -- lookups ------------------------------------------------------------------------------------------------
    def spec(self, name: str) -> ModelSpec:
        """The inventory model called ``name`` (or served upstream as ``name``)."""
        found = self.config.model(name) or next(
            (m for m in self.config.models if _norm(m.upstream_name) == _norm(name)), None
        )
        if found is None:
            raise UnknownModel(
                f"model {name!r} is not in the inventory",
                hint=f"use one of {[m.name for m in self.config.models]} or add it to offload.toml",
            )
        return found

    def _ops(self, spec: ModelSpec, what: str) -> Any:
        backend = self._backend(spec.backend)
        caps = backend.capabilities
        if not (caps.pull if what == "pull" else caps.keep_alive if what in ("load", "unload") else caps.ps):
            raise InvalidRequest(
                f"backend {spec.backend!r} ({backend.kind}) cannot {what} models",
                hint="model operations work on Ollama backends; manage this one in its own server",
            )
        return backend

    # -- checks -------------------------------------------------------------------------------------------------
    async def check_backends(self) -> list[BackendCheck]:
        """Every configured backend's health, concurrently; a down one gets :func:`start_hint`."""

        async def one(name: str, cfg: BackendConfig) -> BackendCheck:
            try:
                backend = self._backend(name)
                h = await backend.health()
                can_pull = backend.capabilities.pull
            except (OffloadError, ImportError) as exc:
                return BackendCheck(name, cfg.kind, False, str(exc), start_hint(cfg))
            return BackendCheck(name, cfg.kind, h.ok, h.detail, None if h.ok else start_hint(cfg), can_pull)

        items = list(self.config.backends.items())
        return list(await asyncio.gather(*(one(n, c) for n, c in items)))

    async def installed(self, backend_name: str) -> set[str]:
        """Normalized names the backend lists."""
        return {_norm(m.name) for m in await self._backend(backend_name).list_models()}

    # -- pulling ------------------------------------------------------------------------------------------------
    async def pull(self, name: str, on_event: OnEvent | None = None) -> PullOutcome:
        """Pull one inventory model, resuming up to ``max_resumes`` times after an interruption."""
        spec = self.spec(name)
        backend = self._ops(spec, "pull")
        attempts = 0
        while True:
            attempts += 1
            try:
                async for p in backend.pull(spec.upstream_name):
                    await _emit(on_event, OpsEvent("progress", spec.name, progress=p))
                detail = "pulled" if attempts == 1 else f"pulled (resumed {attempts - 1}× after interruptions)"
                return PullOutcome(spec.name, spec.backend, "pulled", detail, attempts, required=spec.required)
            except UnknownModel as exc:
                return PullOutcome(
                    spec.name,
                    spec.backend,
                    "failed",
                    exc.message,
                    attempts,
                    hint=exc.hint or "check the model name in offload.toml",
                    required=spec.required,
                    error_code=exc.code,
                )
            except BackendError as exc:
                if not exc.retryable or attempts > self.max_resumes:
                    why = "gave up after" if exc.retryable else "failed on"
                    return PullOutcome(
                        spec.name,
                        spec.backend,
                        "failed",
                        f"{why} attempt {attempts}: {exc.message}",
                        attempts,
                        hint="run `offload setup` again: the pull resumes where it stopped",
                        required=spec.required,
                        error_code=exc.code,
                    )
                why = re.sub(r"(sha256[:-][0-9a-f]{12})[0-9a-f]{52}", r"\1…", exc.message)
                await _emit(on_event, OpsEvent("resume", spec.name, detail=f"interrupted ({why}); resuming"))
                await self._sleep(self.resume_delay_s * attempts)

    async def setup(self, *, optional: bool = False, on_event: OnEvent | None = None) -> SetupReport:
        """Check backends, pull what is missing, verify each model is listed afterwards."""
        report = SetupReport()
        report.checks = await self.check_backends()
        status = {c.name: c for c in report.checks}
        for c in report.checks:
            await _emit(on_event, OpsEvent("check", check=c))
        for spec in self.config.models:
            if not spec.required and not optional:
                continue
            check = status.get(spec.backend)
            outcome = await self._setup_one(spec, check, on_event)
            report.outcomes.append(outcome)
            await _emit(on_event, OpsEvent("done", spec.name, outcome=outcome))
        return report

    async def _setup_one(self, spec: ModelSpec, check: BackendCheck | None, on_event: OnEvent | None) -> PullOutcome:
        cfg = self.config.backends[spec.backend]
        if cfg.is_cloud:
            return PullOutcome(
                spec.name, spec.backend, "skipped", "cloud model: nothing to download", required=spec.required
            )
        if check is None or not check.ok:
            return PullOutcome(
                spec.name,
                spec.backend,
                "failed",
                f"backend {spec.backend!r} is down",
                hint=check.hint if check else start_hint(cfg),
                required=spec.required,
            )
        if not check.can_pull:
            detail = "bundled with offload" if cfg.kind == "embedded" else f"{cfg.kind} backends manage their models"
            return PullOutcome(spec.name, spec.backend, "skipped", detail, required=spec.required)
        try:
            listed = await self.installed(spec.backend)
        except OffloadError as exc:
            return PullOutcome(spec.name, spec.backend, "failed", exc.message, hint=exc.hint, required=spec.required)
        if _norm(spec.upstream_name) in listed:
            return PullOutcome(spec.name, spec.backend, "present", "already installed", required=spec.required)
        await _emit(on_event, OpsEvent("start", spec.name, detail=spec.upstream_name))
        outcome = await self.pull(spec.name, on_event)
        if outcome.status != "pulled":
            return outcome
        try:
            listed = await self.installed(spec.backend)
        except OffloadError as exc:
            listed, outcome.hint = set(), exc.hint
        if _norm(spec.upstream_name) not in listed:
            outcome.status = "failed"
            outcome.detail = f"pulled, but {spec.backend!r} does not list {spec.upstream_name!r}"
            outcome.hint = outcome.hint or "check the Ollama server log and disk space, then run `offload setup` again"
        return outcome

    # -- residency ----------------------------------------------------------------------------------------------
    async def ps_raw(self) -> list[ModelInfo]:
        """``ps`` of every backend that can tell (backends that are down are skipped)."""
        out: list[ModelInfo] = []
        for name in self.config.backends:
            if self._board is not None and self._board.breaker(name).state != "closed":
                continue  # a backend known to be down costs nothing here
            try:
                backend = self._backend(name)
                if backend.capabilities.ps:
                    out.extend(await backend.ps())  # type: ignore[attr-defined]
            except BackendUnavailable as exc:
                if self._board is not None:
                    self._board.record_failure(name, exc.message, hard=True)
                continue
            except (OffloadError, ImportError):
                continue
        return out

    async def residents(self, **kw: Any) -> list[Resident]:
        """Loaded models as :class:`Resident` (the input of the anti-thrash rule)."""
        return residents_from_ps(await self.ps_raw(), self.config.models, now=self._clock(), **kw)

    async def ps(self) -> list[LoadedModel]:
        """Loaded models with VRAM each and when they expire."""
        infos = await self.ps_raw()
        now = self._clock()
        rows = []
        for info, res in zip(infos, residents_from_ps(infos, self.config.models, now=now), strict=True):
            rows.append(
                LoadedModel(
                    name=res.name,
                    backend=res.backend,
                    vram_gb=res.vram_gb,
                    size_gb=round(info.size_bytes / 1024**3, 2) if info.size_bytes else None,
                    expires_at=info.expires_at,
                    expires_in=_expires_in(info.expires_at, now, res.pinned),
                    in_inventory=self.config.model(res.name) is not None,
                    context_window=info.context_window,
                )
            )
        return rows

    async def load(self, name: str, keep_alive: str | int | None = None) -> str | int:
        """Load ``name`` and keep it for ``keep_alive`` (default ``[defaults] keep_alive``); returns the value used."""
        spec = self.spec(name)
        ka = normalize_keep_alive(keep_alive, self.config.defaults.keep_alive)
        await self._ops(spec, "load").load(spec.upstream_name, ka)
        return ka

    async def unload(self, name: str) -> None:
        """Unload ``name`` now."""
        spec = self.spec(name)
        await self._ops(spec, "unload").unload(spec.upstream_name)

    async def show(self, name: str) -> ModelInfo:
        """What the backend says about an inventory model."""
        spec = self.spec(name)
        return await self._ops(spec, "ps").show(spec.upstream_name)  # type: ignore[no-any-return]


def _expires_in(expires_at: str | None, now: float, pinned: bool) -> str:
    if pinned:
        return "never (pinned)"
    if not expires_at:
        return "?"
    try:
        left = datetime.fromisoformat(expires_at.replace("Z", "+00:00")).timestamp() - now
    except ValueError:
        return "?"
    if left <= 0:
        return "expiring"
    m, s = divmod(int(left), 60)
    h, m = divmod(m, 60)
    return f"in {h}h {m:02d}m" if h else f"in {m}m {s:02d}s" if m else f"in {s}s"


__all__ = [
    "BackendCheck",
    "LoadedModel",
    "ModelManager",
    "OpsEvent",
    "PullOutcome",
    "SetupReport",
    "normalize_keep_alive",
    "start_hint",
]
