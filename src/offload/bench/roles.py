"""The models of a profile, bound to backends, and the journaled calls the bench makes to them.

Bench calls go straight to the profile's backend and model (no routing: the point is to measure that
model), and every call is journaled like any other request, with ``source="bench"`` and ``kind`` set to
``bench.plan`` or ``bench.build``, so ``offload log`` and the ledger see them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from offload.backends import Backend, create_backend
from offload.bench.profiles import Profile, RoleSpec
from offload.config import BackendConfig
from offload.engine import Engine
from offload.errors import ConfigError, OffloadError, UnknownModel
from offload.types import Attempt, ChatRequest, ChatResponse, Message, Usage, estimate_tokens

__all__ = ["RoleClient", "StageTimeout", "close_roles", "load_models", "resolve_roles", "unload_models"]


class StageTimeout(Exception):
    """A model call ran out of time (``by_wall``: the task's wall-clock budget, not the stage's own timeout)."""

    def __init__(self, seconds: float, *, by_wall: bool) -> None:
        super().__init__(f"no answer within {seconds:.1f}s")
        self.seconds = seconds
        self.by_wall = by_wall


@dataclass
class RoleClient:
    """One role of a profile bound to its backend."""

    role: str
    spec: RoleSpec
    backend: Backend
    backend_name: str
    backend_kind: str
    #: The name the backend knows the model by.
    upstream_model: str
    context: int | None
    owned: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def cloud(self) -> bool:
        return bool(self.backend.capabilities.cloud)

    def describe(self) -> dict[str, Any]:
        """What a results row records about this role."""
        s = self.spec
        return {
            "model": s.model,
            "upstream_model": self.upstream_model,
            "backend": self.backend_name,
            "backend_kind": self.backend_kind,
            "cloud": self.cloud,
            "context": self.context,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "top_k": s.top_k,
            "seed": s.seed,
            "max_tokens": s.max_tokens,
        }

    def request(self, system: str, prompt: str) -> ChatRequest:
        s = self.spec
        return ChatRequest(
            model=self.upstream_model,
            system=system,
            messages=[Message.text("user", prompt)],
            temperature=s.temperature,
            top_p=s.top_p,
            top_k=s.top_k,
            seed=s.seed,
            max_tokens=s.max_tokens,
            options=dict(self.options),
            metadata={"kind": f"bench.{self.role}"},
        )


def resolve_roles(profile: Profile, engine: Engine) -> dict[str, RoleClient]:
    """Bind each role of ``profile`` to a backend: offload.toml's first, else the profile's ``[backends]``."""
    private: dict[tuple[str, int | None], Backend] = {}
    key: tuple[str, int | None]
    out: dict[str, RoleClient] = {}
    for role, spec in profile.roles().items():
        inventory = engine.config.model(spec.model)
        name = spec.backend or (inventory.backend if inventory else "")
        if not name:
            raise ConfigError(
                f"{role}: model {spec.model!r} is not in the inventory and names no backend",
                file=profile.source,
                key=f"{role}.backend",
                hint='add backend = "..." (a backend of offload.toml or of the profile\'s [backends])',
            )
        upstream = inventory.upstream_name if inventory and inventory.backend == name else spec.model
        cfg: BackendConfig | None = engine.config.backends.get(name)
        backend: Backend | None = None
        owned = False
        if cfg is None and name in profile.backends:
            cfg = profile.backends[name]
        if cfg is not None and cfg.kind == "embedded" and spec.context and spec.context != cfg.n_ctx:
            cfg = cfg.model_copy(update={"n_ctx": spec.context})
            key = (name, spec.context)
            backend = private.get(key) or create_backend(cfg)
            private[key], owned = backend, True
        elif name in engine.config.backends or name not in profile.backends:
            try:
                backend = engine.backend(name)
            except UnknownModel as exc:
                raise ConfigError(
                    f"{role}: no backend named {name!r}",
                    file=profile.source,
                    key=f"{role}.backend",
                    hint=f"define it in offload.toml or in the profile's [backends.{name}]",
                ) from exc
        else:
            key = (name, None)
            backend = private.get(key) or create_backend(profile.backends[name])
            private[key], owned = backend, True
        kind = cfg.kind if cfg is not None else backend.kind
        context = spec.context
        if context is None:
            context = cfg.n_ctx if cfg is not None and cfg.kind == "embedded" else None
            if context is None and inventory is not None:
                context = inventory.context_window
        options = dict(spec.options)
        if kind == "ollama" and spec.context:
            options.setdefault("num_ctx", spec.context)
        if backend.capabilities.keep_alive and spec.keep_alive:
            options.setdefault("keep_alive", spec.keep_alive)
        out[role] = RoleClient(role, spec, backend, name, kind, upstream, context, owned, options)
    return out


async def load_models(roles: dict[str, RoleClient]) -> list[str]:
    """Load each role's model where the backend manages residency (keep_alive); return warnings."""
    warnings = []
    for rc in roles.values():
        if rc.backend.capabilities.keep_alive and hasattr(rc.backend, "load"):
            try:
                await rc.backend.load(rc.upstream_model, rc.spec.keep_alive)  # type: ignore[attr-defined]
            except OffloadError as exc:
                warnings.append(f"could not load {rc.spec.model} on {rc.backend_name}: {exc}")
    return warnings


async def unload_models(roles: dict[str, RoleClient]) -> None:
    """Unload each role's model where the backend manages residency (no-op elsewhere, e.g. embedded)."""
    seen: set[tuple[int, str]] = set()
    for rc in roles.values():
        key = (id(rc.backend), rc.upstream_model)
        if key in seen or not (rc.backend.capabilities.keep_alive and hasattr(rc.backend, "unload")):
            continue
        seen.add(key)
        try:
            await rc.backend.unload(rc.upstream_model)  # type: ignore[attr-defined]
        except OffloadError:
            pass  # the model may already be gone; unloading is housekeeping


async def close_roles(roles: dict[str, RoleClient]) -> None:
    """Close the backends the bench created itself (shared ones belong to the engine)."""
    done: set[int] = set()
    for rc in roles.values():
        if rc.owned and id(rc.backend) not in done:
            done.add(id(rc.backend))
            await rc.backend.aclose()


async def journaled_call(
    engine: Engine, rc: RoleClient, request: ChatRequest, *, timeout_s: float, by_wall: bool, profile: str
) -> tuple[ChatResponse, str]:
    """Call ``rc``'s backend with a deadline, journaled with ``source="bench"``; returns the answer and row id.

    Raises :class:`StageTimeout` when the deadline passes (the call is cancelled) and offload errors as they
    come. Usage a backend does not report is estimated.
    """
    journal = engine.journal
    jid = await journal.abegin(
        request.model_dump(mode="json"),
        source="bench",
        model_requested=rc.spec.model,
        client=f"offload-bench/{profile}",
        kind=f"bench.{rc.role}",
    )
    started = time.perf_counter()
    attempt = Attempt(n=1, backend=rc.backend_name, model=rc.spec.model)
    try:
        resp = await asyncio.wait_for(rc.backend.chat(request), timeout=max(timeout_s, 0.001))
    except (TimeoutError, asyncio.CancelledError) as exc:
        timed_out = isinstance(exc, TimeoutError)
        attempt = attempt.model_copy(
            update={"status": "cancelled", "detail": "stage timeout", "latency_s": time.perf_counter() - started}
        )
        await journal.arecord_attempt(jid, attempt, cost_equiv_usd=0.0, local=not rc.cloud)
        err = {"code": "stage_timeout" if timed_out else "cancelled", "message": f"no answer within {timeout_s:.1f}s"}
        await journal.afinish(jid, status="cancelled", error=err)
        if timed_out:
            raise StageTimeout(timeout_s, by_wall=by_wall) from exc
        raise
    except OffloadError as exc:
        attempt = attempt.model_copy(
            update={"status": "error", "detail": exc.message, "latency_s": time.perf_counter() - started}
        )
        await journal.arecord_attempt(jid, attempt, cost_equiv_usd=0.0, local=not rc.cloud)
        await journal.afinish(jid, status="error", error=exc.to_dict() | {"type": type(exc).__name__})
        raise
    if resp.usage.input_tokens == 0 and resp.usage.output_tokens == 0:
        resp.usage = Usage(
            input_tokens=estimate_tokens(request.all_text()), output_tokens=estimate_tokens(resp.content)
        )
    cost = engine.prices.cost_usd(rc.spec.model, resp.usage) if rc.cloud else 0.0
    attempt = attempt.model_copy(update={"latency_s": time.perf_counter() - started, "usage": resp.usage})
    await journal.arecord_attempt(jid, attempt, cost_equiv_usd=cost, local=not rc.cloud)
    await journal.afinish(
        jid,
        status="ok",
        response=resp.model_dump(mode="json", exclude={"raw"}),
        usage=resp.usage,
        model=rc.spec.model,
        backend=rc.backend_name,
        verdict="not_run",
        local=not rc.cloud,
    )
    return resp, jid
