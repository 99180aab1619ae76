"""Model pulls started from the dashboard: background jobs whose progress is published as ``pull`` events.

A pull keeps running when the page that started it is closed (reopen the Models page to see it); pulling a
model that is already being pulled returns the running job. Progress is the backend's own (Ollama's
per-layer ``completed``/``total``), summed over the layers seen so far, published at most every
``min_interval_s`` seconds plus once for every status change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from offload.config import ModelSpec
from offload.errors import InvalidRequest, OffloadError
from offload.models.ops import ModelManager, OpsEvent

log = logging.getLogger("offload.dashboard")

JobStatus = Literal["running", "done", "failed"]


@dataclass
class PullJob:
    """One pull: what it is doing now and how far it got."""

    id: str
    model: str
    status: JobStatus = "running"
    phase: str = "starting"
    completed: int = 0
    total: int = 0
    detail: str = ""
    hint: str | None = None
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    layers: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def fraction(self) -> float | None:
        """Share of the bytes done (None before the first sized layer)."""
        if self.status == "done":
            return 1.0
        return self.completed / self.total if self.total else None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("layers")
        out["fraction"] = self.fraction
        return out


class PullJobs:
    """The running and recent pulls of one dashboard."""

    def __init__(
        self,
        manager: Callable[[], ModelManager],
        publish: Callable[[str, dict[str, Any]], None],
        *,
        min_interval_s: float = 0.1,
        keep: int = 20,
        on_done: Callable[[str], None] | None = None,
        can_pull: Callable[[ModelSpec], bool] | None = None,
    ) -> None:
        self._manager = manager
        self._publish = publish
        self._min_interval_s = min_interval_s
        self._keep = keep
        self._on_done = on_done
        self._can_pull = can_pull
        self._jobs: dict[str, PullJob] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def list(self) -> list[dict[str, Any]]:
        """Every job still remembered, newest first."""
        return [j.to_dict() for j in sorted(self._jobs.values(), key=lambda j: -j.started_at)]

    def start(self, model: str) -> PullJob:
        """Start pulling inventory model ``model`` (or return the pull already running for it).

        Raises the manager's errors (unknown model, a backend that cannot pull) before any job starts.
        """
        for job in self._jobs.values():
            if job.model == model and job.status == "running":
                return job
        mgr = self._manager()
        spec = mgr.spec(model)
        if self._can_pull is not None and not self._can_pull(spec):
            raise InvalidRequest(
                f"backend {spec.backend!r} cannot pull models",
                hint="pulling works on Ollama backends; manage this model in its own server",
            )
        job = PullJob(id=uuid.uuid4().hex[:12], model=spec.name)
        self._jobs[job.id] = job
        self._trim()
        self._tasks[job.id] = asyncio.get_running_loop().create_task(self._run(mgr, job), name=f"pull-{job.model}")
        self._send(job)
        return job

    def _trim(self) -> None:
        done = sorted((j for j in self._jobs.values() if j.status != "running"), key=lambda j: j.started_at)
        while len(self._jobs) > self._keep and done:
            self._jobs.pop(done.pop(0).id, None)

    def _send(self, job: PullJob) -> None:
        self._publish("pull", job.to_dict())

    async def _run(self, mgr: ModelManager, job: PullJob) -> None:
        last_sent = 0.0

        async def on_event(ev: OpsEvent) -> None:
            nonlocal last_sent
            phase_changed = False
            if ev.kind == "progress" and ev.progress is not None:
                p = ev.progress
                phase_changed = p.status != job.phase
                job.phase = p.status
                if p.digest and p.total:
                    job.layers[p.digest] = (p.completed or 0, p.total)
                    job.completed = sum(c for c, _ in job.layers.values())
                    job.total = sum(t for _, t in job.layers.values())
            elif ev.kind == "resume":
                job.phase, job.detail, phase_changed = "resuming", ev.detail, True
            now = time.monotonic()
            if phase_changed or now - last_sent >= self._min_interval_s:
                last_sent = now
                self._send(job)

        try:
            outcome = await mgr.pull(job.model, on_event)
        except asyncio.CancelledError:
            job.status, job.detail = "failed", "cancelled: the server is shutting down"
            raise
        except OffloadError as exc:
            job.status, job.detail, job.hint = "failed", exc.message, exc.hint
        except Exception as exc:  # a bug: report it on the job rather than lose it
            log.exception("pull of %s failed", job.model)
            job.status, job.detail = "failed", f"internal error ({type(exc).__name__})"
        else:
            job.status = "done" if outcome.status == "pulled" else "failed"
            job.detail, job.hint = outcome.detail, outcome.hint
            job.phase = "success" if job.status == "done" else job.phase
        finally:
            job.finished_at = time.time()
            self._tasks.pop(job.id, None)
            self._send(job)
        if job.status == "done" and self._on_done is not None:
            self._on_done(job.model)

    async def aclose(self) -> None:
        """Cancel running pulls (Ollama keeps the bytes; pulling again resumes)."""
        tasks = list(self._tasks.values())
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
