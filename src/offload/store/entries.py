"""Values read back from the journal: one :class:`JournalEntry` per request, with its attempts."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from offload.types import Attempt, Usage

Status = Literal["pending", "ok", "error", "cancelled", "interrupted", "queued"]
STATUSES: frozenset[str] = frozenset({"pending", "ok", "error", "cancelled", "interrupted", "queued"})
FINAL_STATUSES: frozenset[str] = frozenset({"ok", "error", "cancelled", "queued"})


class JournalAttempt(Attempt):
    """An :class:`~offload.types.Attempt` as stored: plus its cloud-equivalent cost and where it ran."""

    cost_equiv_usd: float | None = None
    #: True when the attempt ran on a local backend, False for cloud, None when the caller did not say.
    local: bool | None = None
    created_at: float = 0.0


class JournalEntry(BaseModel):
    """One journaled request: the redacted canonical request, its outcome and its attempts."""

    model_config = ConfigDict(frozen=True)

    id: str
    status: Status
    created_at: float
    updated_at: float
    finished_at: float | None = None
    source: str
    dialect: str | None = None
    client: str | None = None
    kind: str | None = None
    model_requested: str
    model: str | None = None
    backend: str | None = None
    verdict: str | None = None
    local: bool | None = None
    #: The canonical request dict as journaled (redacted), ready to be re-run by replay.
    request: dict[str, Any]
    headers: dict[str, str] = Field(default_factory=dict)
    response: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    route: dict[str, Any] | None = None
    partial_output: str | None = None
    usage: Usage | None = None
    avoided_usd: float | None = None
    reference_model: str | None = None
    replay_of: str | None = None
    replayed_by: list[str] = Field(default_factory=list)
    owner_pid: int | None = None
    attempts: list[JournalAttempt] = Field(default_factory=list)

    @property
    def created(self) -> datetime:
        """``created_at`` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.created_at, tz=UTC)

    @property
    def cost_equiv_usd(self) -> float:
        """Sum of the attempts' cloud-equivalent costs."""
        return sum(a.cost_equiv_usd or 0.0 for a in self.attempts)


REQUEST_COLUMNS = (
    "id, status, created_at, updated_at, finished_at, source, dialect, client, kind, model_requested, model, "
    "backend, verdict, local, request_json, headers_json, response_json, error_json, route_json, "
    "partial_output, input_tokens, output_tokens, avoided_usd, reference_model, replay_of, owner_pid"
)
ATTEMPT_COLUMNS = (
    "request_id, n, created_at, backend, model, status, verdict, detail, latency_s, input_tokens, "
    "output_tokens, cost_equiv_usd, local"
)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def attempt_from_row(row: sqlite3.Row) -> JournalAttempt:
    return JournalAttempt(
        n=row["n"],
        backend=row["backend"],
        model=row["model"],
        status=row["status"],
        verdict=row["verdict"],
        detail=row["detail"],
        latency_s=row["latency_s"],
        usage=Usage(input_tokens=row["input_tokens"], output_tokens=row["output_tokens"]),
        cost_equiv_usd=row["cost_equiv_usd"],
        local=_bool(row["local"]),
        created_at=row["created_at"],
    )


def entry_from_row(
    row: sqlite3.Row, attempts: list[JournalAttempt], replayed_by: list[str] | None = None
) -> JournalEntry:
    usage = None
    if row["input_tokens"] is not None or row["output_tokens"] is not None:
        usage = Usage(input_tokens=row["input_tokens"] or 0, output_tokens=row["output_tokens"] or 0)
    return JournalEntry(
        id=row["id"],
        status=row["status"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        finished_at=row["finished_at"],
        source=row["source"],
        dialect=row["dialect"],
        client=row["client"],
        kind=row["kind"],
        model_requested=row["model_requested"],
        model=row["model"],
        backend=row["backend"],
        verdict=row["verdict"],
        local=_bool(row["local"]),
        request=_loads(row["request_json"]),
        headers=_loads(row["headers_json"]) or {},
        response=_loads(row["response_json"]),
        error=_loads(row["error_json"]),
        route=_loads(row["route_json"]),
        partial_output=row["partial_output"],
        usage=usage,
        avoided_usd=row["avoided_usd"],
        reference_model=row["reference_model"],
        replay_of=row["replay_of"],
        replayed_by=replayed_by or [],
        owner_pid=row["owner_pid"],
        attempts=attempts,
    )
