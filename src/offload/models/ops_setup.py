"""Setting up the inventory: check every backend, pull what is missing with progress and resume, verify.

:func:`start_hint` says exactly how to start a backend that does not answer. :class:`SetupOps` checks the
backends concurrently, pulls the inventory's models on backends that can pull (Ollama), reporting the backend's
streamed progress and resuming an interrupted pull (Ollama keeps the bytes already downloaded, so pulling again
continues where it stopped), and finally checks that each model is listed by its backend.
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlparse

from offload.config import BackendConfig, ModelSpec
from offload.errors import BackendError, OffloadError, UnknownModel
from offload.models.ops_base import ManagerBase, tagged_name
from offload.models.ops_records import BackendCheck, OnEvent, OpsEvent, PullOutcome, SetupReport, emit_event


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


class SetupOps(ManagerBase):
    """Backend checks, pulls with resume, and ``setup`` (part of :class:`offload.models.ops.ModelManager`)."""

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
        return {tagged_name(m.name) for m in await self._backend(backend_name).list_models()}

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
                    await emit_event(on_event, OpsEvent("progress", spec.name, progress=p))
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
                await emit_event(on_event, OpsEvent("resume", spec.name, detail=f"interrupted ({why}); resuming"))
                await self._sleep(self.resume_delay_s * attempts)

    async def setup(self, *, optional: bool = False, on_event: OnEvent | None = None) -> SetupReport:
        """Check backends, pull what is missing, verify each model is listed afterwards."""
        report = SetupReport()
        report.checks = await self.check_backends()
        status = {c.name: c for c in report.checks}
        for c in report.checks:
            await emit_event(on_event, OpsEvent("check", check=c))
        for spec in self.config.models:
            if not spec.required and not optional:
                continue
            check = status.get(spec.backend)
            outcome = await self._setup_one(spec, check, on_event)
            report.outcomes.append(outcome)
            await emit_event(on_event, OpsEvent("done", spec.name, outcome=outcome))
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
        if tagged_name(spec.upstream_name) in listed:
            return PullOutcome(spec.name, spec.backend, "present", "already installed", required=spec.required)
        await emit_event(on_event, OpsEvent("start", spec.name, detail=spec.upstream_name))
        outcome = await self.pull(spec.name, on_event)
        if outcome.status != "pulled":
            return outcome
        try:
            listed = await self.installed(spec.backend)
        except OffloadError as exc:
            listed, outcome.hint = set(), exc.hint
        if tagged_name(spec.upstream_name) not in listed:
            outcome.status = "failed"
            outcome.detail = f"pulled, but {spec.backend!r} does not list {spec.upstream_name!r}"
            outcome.hint = outcome.hint or "check the Ollama server log and disk space, then run `offload setup` again"
        return outcome


__all__ = ["SetupOps", "start_hint"]
