"""How the engine journals attempts and outcomes: awaited, or — the way ``offload serve`` runs — queued.

Queued mode (``await_outcome=False``): the request row itself is always committed before any backend is called
(that is :meth:`Engine.begin`'s job); an attempt or outcome row is prepared (redacted, encoded) as soon as the
current task yields — for the gateway, after the answer was handed to the server, so the ~0.1 ms this takes is
not part of the caller's latency — and handed to the journal writer without waiting for its commit. Writes keep
their order (one FIFO); :meth:`OutcomeWriter.drain` waits until every one of them is durable. A crash before
that leaves the row ``interrupted``: the prompt is never lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from offload.redact import Redactor
from offload.store.journal import Journal
from offload.types import Attempt, ChatResponse

if TYPE_CHECKING:
    from offload.routing.policy import Route

_log = logging.getLogger("offload.engine")


class OutcomeWriter:
    """Journals attempts and outcomes, awaited (``await_outcome=True``) or queued in order."""

    def __init__(self, journal: Journal, redactor: Redactor, *, await_outcome: bool) -> None:
        self.journal = journal
        self.redactor = redactor
        self.await_outcome = await_outcome
        self._pending: set[Future[Any]] = set()  # queued writes not yet durable
        self._deferred: deque[Callable[[], Future[Any]]] = deque()  # writes not yet prepared and queued

    async def attempt(self, jid: str, attempt: Attempt, cost_equiv_usd: float, *, local: bool) -> None:
        """Journal one attempt."""
        if self.await_outcome:
            await self.journal.arecord_attempt(jid, attempt, cost_equiv_usd=cost_equiv_usd, local=local)
        else:
            self._later(lambda: self.journal.queue_attempt(jid, attempt, cost_equiv_usd=cost_equiv_usd, local=local))

    async def finish(self, jid: str, **outcome: Any) -> None:
        """Journal a request's outcome (the keywords of :meth:`Journal.finish`)."""
        if self.await_outcome:
            await self.journal.afinish(jid, **outcome)
        else:
            self._later(lambda: self.journal.queue_finish(jid, **outcome))

    async def drain(self) -> None:
        """Wait until every queued write has committed."""
        self._queue_deferred()
        while self._pending:
            await asyncio.gather(*(asyncio.wrap_future(f) for f in list(self._pending)), return_exceptions=True)

    # -- queued mode --------------------------------------------------------------------------------------
    def _later(self, queue: Callable[[], Future[Any]]) -> None:
        self._deferred.append(queue)
        if len(self._deferred) == 1:
            asyncio.get_running_loop().call_soon(self._queue_deferred)

    def _queue_deferred(self) -> None:
        """Prepare and queue every deferred write now (also called by :meth:`drain`: none is left behind)."""
        while self._deferred:
            queue = self._deferred.popleft()
            try:
                fut = queue()
            except Exception as exc:
                _log.error("journal write failed: %s", self.redactor.text(str(exc)))
                continue
            self._pending.add(fut)
            fut.add_done_callback(self._done)

    def _done(self, fut: Future[Any]) -> None:  # runs in the journal's writer thread
        self._pending.discard(fut)
        if not fut.cancelled() and fut.exception() is not None:
            _log.error("journal write failed: %s", self.redactor.text(str(fut.exception())))


def route_record(route: Route | None, resp: ChatResponse | None, attempts: list[Any] | None = None) -> dict[str, Any]:
    """What the journal keeps of a route: the candidates, why, the task profile, and how the run ended (the
    attempts themselves only when there is no response to hold them)."""
    out: dict[str, Any] = {}
    if route is not None:
        out["candidates"] = [c.model.name for c in route.candidates]
        out["reason"] = getattr(route, "reason", "")
        prof = getattr(route, "profile", None)
        if prof is not None:
            out["profile"] = {"kind": getattr(prof, "kind", None), "complexity": getattr(prof, "complexity", None)}
    if resp is not None:  # its attempts are in the response (and the attempts table): not repeated here
        out["stopped_because"] = resp.route_reason
    elif attempts:
        out["attempts"] = [a.model_dump(mode="json") if hasattr(a, "model_dump") else str(a) for a in attempts]
    return out


__all__ = ["OutcomeWriter", "route_record"]
