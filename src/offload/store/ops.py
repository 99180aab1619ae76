"""Write operations of the journal, prepared in the caller's thread and run by the writer thread.

Preparing (validation, redaction, JSON encoding) happens where the caller is, so bad arguments raise at the
call site; the returned operation only executes one or two SQL statements inside the writer's transaction.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

import orjson
from pydantic import BaseModel

from offload.redact import MASK, Redactor
from offload.store.db import Owner, new_id
from offload.store.entries import FINAL_STATUSES, STATUSES
from offload.store.reads import UnknownJournalEntry
from offload.types import Attempt, Usage

Op = Callable[[sqlite3.Connection], Any]
#: Documents up to this size are vouched for by one look at their JSON (Redactor.json_is_clean); bigger ones
#: are walked, their strings redacted through the redactor's memory (see OpBuilder.dumps).
_GATE_MAX_BYTES = 8192
#: orjson refuses these instead of encoding them, so that only plain JSON trees take the fast path of dumps().
_PLAIN_ONLY = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS

_INSERT = (
    "INSERT INTO requests (id, created_at, updated_at, status, source, dialect, client, kind, model_requested, "
    "request_json, headers_json, owner_host, owner_boot, owner_pid, owner_start) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_ATTEMPT = (
    "INSERT INTO attempts (request_id, n, created_at, backend, model, status, verdict, detail, latency_s, "
    "input_tokens, output_tokens, cost_equiv_usd, local) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (request_id, n) DO UPDATE SET created_at = excluded.created_at, backend = excluded.backend, "
    "model = excluded.model, status = excluded.status, verdict = excluded.verdict, detail = excluded.detail, "
    "latency_s = excluded.latency_s, input_tokens = excluded.input_tokens, "
    "output_tokens = excluded.output_tokens, cost_equiv_usd = excluded.cost_equiv_usd, local = excluded.local"
)
_FINISH = (
    "UPDATE requests SET status = ?, updated_at = ?, finished_at = ?, response_json = ?, error_json = ?, "
    "input_tokens = ?, output_tokens = ?, model = COALESCE(?, model), backend = COALESCE(?, backend), "
    "verdict = ?, route_json = ?, local = ?, avoided_usd = ?, reference_model = ?, partial_output = ? "
    "WHERE id = ?"
)
_CLAIM = (
    "UPDATE requests SET status = ?, updated_at = ?, finished_at = NULL, owner_host = ?, owner_boot = ?, "
    "owner_pid = ?, owner_start = ? WHERE id = ?"
)
_SET_STATUS = "UPDATE requests SET status = ?, updated_at = ?, finished_at = COALESCE(finished_at, ?) WHERE id = ?"


def unknown(request_id: str) -> UnknownJournalEntry:
    return UnknownJournalEntry(
        f"no journal entry with id {request_id!r}",
        hint="ids come from Journal.begin(); list them with Journal.list() or `offload journal list`",
    )


_PROBE = "x"  # a value no redaction rule changes: tells whether a field NAME is secret


class TreeRedactor:
    """Redacts a JSON-like tree exactly like :meth:`Redactor.obj`, but fast.

    ``Redactor.obj`` runs every pattern over every string; a request has dozens of short strings. Here the
    tree is walked once and every string leaf redacted by ONE :meth:`Redactor.texts` call (remembered strings
    looked up, the rest in one pass). Whether a field name is secret is asked of the redactor itself once per
    name (and cached).
    """

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self._secret_names: dict[str, bool] = {}

    def _secret_name(self, key: str) -> bool:
        known = self._secret_names.get(key)
        if known is None:
            known = self.redactor.obj({key: _PROBE})[key] != _PROBE
            if len(self._secret_names) < 10_000:
                self._secret_names[key] = known
        return known

    def __call__(self, value: Any) -> Any:
        slots: list[tuple[Any, Any]] = []
        root: list[Any] = [None]
        self._put(root, 0, value, slots)
        if slots:
            parts = self.redactor.texts([parent[key] for parent, key in slots])
            for (parent, key), text in zip(slots, parts, strict=True):
                parent[key] = text
        return root[0]

    def _put(self, parent: Any, key: Any, v: Any, slots: list[tuple[Any, Any]]) -> None:
        """Store a copy of ``v`` at ``parent[key]``; string leaves are noted in ``slots`` for redaction.

        Exact type checks come first: a journal tree is plain JSON from ``model_dump(mode="json")`` almost
        always, and ``isinstance`` against ABCs costs more than the whole walk.
        """
        t = type(v)
        if t is str:
            parent[key] = v
            slots.append((parent, key))
        elif t is dict:
            parent[key] = self._mapping(v, slots)
        elif t is list or t is tuple:
            seq: list[Any] = list(v)
            parent[key] = seq
            for i, item in enumerate(seq):
                ti = type(item)
                if ti is str:
                    slots.append((seq, i))
                elif not (item is None or ti is int or ti is float or ti is bool):
                    self._put(seq, i, item, slots)
        elif v is None or t is int or t is float or t is bool:
            parent[key] = v
        elif isinstance(v, BaseModel):
            self._put(parent, key, v.model_dump(mode="json"), slots)
        elif isinstance(v, Enum):  # as orjson writes it: its value
            self._put(parent, key, v.value, slots)
        elif isinstance(v, str):
            self._put(parent, key, str(v), slots)
        elif isinstance(v, Mapping):
            parent[key] = self._mapping(v, slots)
        elif isinstance(v, list | tuple):
            self._put(parent, key, list(v), slots)
        else:
            parent[key] = v

    def _mapping(self, v: Mapping[Any, Any], slots: list[tuple[Any, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        image_data = v.get("data") if v.get("type") == "image" else None
        names = self._secret_names
        for k, item in v.items():
            if type(k) is not str:
                k = str(k)
            if type(item) is str or isinstance(item, str):
                if k == "data" and image_data is not None and type(image_data) is str:
                    out[k] = self.redactor.exact(image_data)  # base64: patterns would corrupt it
                    continue
                secret = names.get(k)
                if secret is None:
                    secret = self._secret_name(k)
                if secret:
                    out[k] = MASK
                else:
                    out[k] = str(item)
                    slots.append((out, k))
            else:
                self._put(out, k, item, slots)
        return out


def _run(sql: str, args: tuple[Any, ...], request_id: str) -> Op:
    def op(conn: sqlite3.Connection) -> None:
        try:
            cur = conn.execute(sql, args)
        except sqlite3.IntegrityError as exc:
            raise unknown(request_id) from exc
        if cur.rowcount == 0:
            raise unknown(request_id)

    return op


class OpBuilder:
    """Builds redacted write operations for one process (``owner``) with one ``redactor``."""

    def __init__(self, redactor: Redactor, owner: Owner) -> None:
        self.redactor = redactor
        self.owner = owner
        self.tree = TreeRedactor(redactor)

    def dumps(self, value: Any) -> str | None:
        """``value`` redacted, as compact JSON text.

        Most small trees hold nothing to redact: they are encoded as they are, and the redactor looks at the
        JSON text once (:meth:`Redactor.json_is_clean`). A tree it cannot vouch for, and any big one (mostly
        strings the redactor has seen before: a Claude Code request resends its prompt each turn), is copied
        with its strings redacted through :meth:`Redactor.texts`. Both ways give the same text (hypothesis).
        """
        if value is None:
            return None
        try:
            doc = orjson.dumps(value, option=_PLAIN_ONLY)
        except TypeError:  # not plain JSON types (models, big integers, ...): the tree walk handles those
            pass
        else:
            # a big document (a Claude Code request) is mostly strings seen before, which the walk looks up
            if len(doc) <= _GATE_MAX_BYTES and self.redactor.json_is_clean(doc):
                return doc.decode()
        tree = self.tree(value)
        try:
            return orjson.dumps(tree).decode()
        except TypeError:  # what orjson refuses (e.g. integers beyond 64 bits) the standard library writes
            return json.dumps(tree, ensure_ascii=False, separators=(",", ":"))

    def text(self, value: str | None) -> str | None:
        return None if value is None else self.redactor.text(value)

    def begin(
        self,
        request: Mapping[str, Any] | BaseModel,
        *,
        source: str,
        model_requested: str,
        dialect: str | None,
        client: str | None,
        kind: str | None,
        headers: Mapping[str, str] | None,
        status: str,
    ) -> Op:
        if status not in ("pending", "queued"):
            raise ValueError(f"begin() status must be 'pending' or 'queued', not {status!r}")
        rid, now, o, t = new_id(), time.time(), self.owner, self.text
        hdrs = self.redactor.headers(headers) if headers else None
        row = (
            rid, now, now, status, t(source), t(dialect), t(client), t(kind), t(model_requested),
            self.dumps(request) or "{}", orjson.dumps(hdrs).decode() if hdrs else None,
            o.host, o.boot, o.pid, o.start,
        )  # fmt: skip

        def op(conn: sqlite3.Connection) -> str:
            conn.execute(_INSERT, row)
            return rid

        return op

    def attempt(self, request_id: str, attempt: Attempt, cost_equiv_usd: float | None, local: bool | None) -> Op:
        if local is None:
            local = not cost_equiv_usd
        row = (
            request_id, attempt.n, time.time(), self.text(attempt.backend), self.text(attempt.model),
            attempt.status, attempt.verdict, self.text(attempt.detail) or "", attempt.latency_s,
            attempt.usage.input_tokens, attempt.usage.output_tokens, cost_equiv_usd, int(local),
        )  # fmt: skip

        def op(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(_ATTEMPT, row)
            except sqlite3.IntegrityError as exc:
                raise unknown(request_id) from exc

        return op

    def finish(
        self,
        request_id: str,
        *,
        status: str,
        response: Mapping[str, Any] | BaseModel | None,
        error: Mapping[str, Any] | None,
        usage: Usage | None,
        model: str | None,
        backend: str | None,
        verdict: str | None,
        route: Mapping[str, Any] | None,
        local: bool | None,
        avoided_usd: float | None,
        reference_model: str | None,
        partial_output: str | None,
    ) -> Op:
        if status not in FINAL_STATUSES:
            raise ValueError(f"finish() status must be one of {sorted(FINAL_STATUSES)}, not {status!r}")
        now, t = time.time(), self.text
        row = (
            status, now, None if status == "queued" else now, self.dumps(response), self.dumps(error),
            usage.input_tokens if usage else None, usage.output_tokens if usage else None,
            t(model), t(backend), verdict, self.dumps(route), None if local is None else int(local),
            avoided_usd, t(reference_model), t(partial_output), request_id,
        )  # fmt: skip
        return _run(_FINISH, row, request_id)

    def status(self, request_id: str, status: str) -> Op:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {sorted(STATUSES)}, not {status!r}")
        now, o = time.time(), self.owner
        if status in ("pending", "queued"):  # (re)claimed by this process: crash recovery follows it
            return _run(_CLAIM, (status, now, o.host, o.boot, o.pid, o.start, request_id), request_id)
        return _run(_SET_STATUS, (status, now, now, request_id), request_id)

    def link(self, original_id: str, new_id_: str) -> Op:
        if original_id == new_id_:
            raise ValueError("a request cannot be a replay of itself")

        def op(conn: sqlite3.Connection) -> None:
            try:
                cur = conn.execute("UPDATE requests SET replay_of = ? WHERE id = ?", (original_id, new_id_))
            except sqlite3.IntegrityError as exc:
                raise unknown(original_id) from exc
            if cur.rowcount == 0:
                raise unknown(new_id_)

        return op
