"""The ledger: every token counted, priced at cloud rates, and reported as savings.

It reads what the journal stores — one row per attempt (backend, model, tokens, latency, cloud-equivalent
cost, local or cloud) and per request the accepted answer's verdict and ``avoided_usd`` (what it would have
cost on the reference cloud model). Rules:

* cloud spend = the cost of every cloud attempt, accepted or not;
* savings ("avoided") = ``avoided_usd`` of answered requests served locally with ``verdict == "verified"``;
  unverified local answers are reported separately, never counted as saved;
* local acceptance rate = answered locally / answered (requests with status ``ok``).

Periods are filtered on the request's creation time; days are local-time calendar days.

Requests removed by retention (:mod:`offload.store.retention`) leave their figures in the ``ledger_rollup``
table (per local day, kind and model, written in the same transaction as the delete), and every report adds
that table to the live rows, so pruning never changes the totals by day, model or kind. A rolled-up day
counts in a period when its local midnight lies in ``[since, until)`` (pruned rows keep no finer time).
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from typing import Any, Literal

from offload.prices import DEFAULT_TABLE, PriceTable
from offload.store.journal import Journal
from offload.store.reads import TimeLike, timestamp
from offload.types import Attempt, Usage

BreakdownBy = Literal["day", "model", "kind"]
Period = Literal["today", "7d", "all"]

_REQUEST_SQL = """
SELECT {key} AS key,
  COUNT(*) AS requests,
  TOTAL(r.status = 'ok') AS ok,
  TOTAL(r.status = 'error') AS errors,
  TOTAL(r.status = 'ok' AND r.local = 1) AS local_accepted,
  TOTAL(r.status = 'ok' AND r.local = 1 AND r.verdict = 'verified') AS verified_local,
  TOTAL(CASE WHEN r.status = 'ok' AND r.local = 1 AND r.verdict = 'verified' THEN r.avoided_usd END) AS avoided_usd,
  TOTAL(CASE WHEN r.status = 'ok' AND r.local = 1 AND r.verdict IS NOT 'verified' THEN r.avoided_usd END)
    AS unverified_avoided_usd
FROM requests AS r {where} GROUP BY 1
"""
_ATTEMPT_SQL = """
SELECT {key} AS key,
  COUNT(*) AS attempts,
  TOTAL(CASE WHEN a.local = 1 THEN a.input_tokens END) AS tokens_local_in,
  TOTAL(CASE WHEN a.local = 1 THEN a.output_tokens END) AS tokens_local_out,
  TOTAL(CASE WHEN a.local = 1 THEN NULL ELSE a.input_tokens END) AS tokens_cloud_in,
  TOTAL(CASE WHEN a.local = 1 THEN NULL ELSE a.output_tokens END) AS tokens_cloud_out,
  TOTAL(CASE WHEN a.local = 1 THEN NULL ELSE a.cost_equiv_usd END) AS cloud_spend_usd,
  TOTAL(a.latency_s) AS latency_s
FROM attempts AS a JOIN requests AS r ON r.id = a.request_id {where} GROUP BY 1
"""
#: The figures of pruned requests (written by offload.store.retention), already grouped.
_ROLLUP_SQL = """
SELECT {key} AS key,
  TOTAL(g.requests) AS requests, TOTAL(g.ok) AS ok, TOTAL(g.errors) AS errors,
  TOTAL(g.local_accepted) AS local_accepted, TOTAL(g.verified_local) AS verified_local,
  TOTAL(g.avoided_usd) AS avoided_usd, TOTAL(g.unverified_avoided_usd) AS unverified_avoided_usd,
  TOTAL(g.attempts) AS attempts, TOTAL(g.tokens_local_in) AS tokens_local_in,
  TOTAL(g.tokens_local_out) AS tokens_local_out, TOTAL(g.tokens_cloud_in) AS tokens_cloud_in,
  TOTAL(g.tokens_cloud_out) AS tokens_cloud_out, TOTAL(g.cloud_spend_usd) AS cloud_spend_usd,
  TOTAL(g.latency_s) AS latency_s
FROM ledger_rollup AS g {where} GROUP BY 1
"""
_KEYS: dict[str, tuple[str, str, str]] = {
    # key expression for the requests query, the attempts query and the rollup of pruned requests
    "all": ("'all'", "'all'", "'all'"),
    "day": ("date(r.created_at, 'unixepoch', 'localtime')",) * 2 + ("g.day",),
    "model": ("COALESCE(r.model, r.model_requested)", "a.model", "g.model"),
    "kind": ("COALESCE(r.kind, 'unknown')",) * 2 + ("g.kind",),
}


#: The ledger_rollup columns filled from the requests query and from the attempts query.
_ROLLUP_COLUMNS = (
    ("requests", "ok", "errors", "local_accepted", "verified_local", "avoided_usd", "unverified_avoided_usd"),
    ("attempts", "tokens_local_in", "tokens_local_out", "tokens_cloud_in", "tokens_cloud_out", "cloud_spend_usd",
     "latency_s"),
)  # fmt: skip


def rollup_statements() -> tuple[str, str]:
    """SQL adding the ledger figures of some requests to ``ledger_rollup`` (used when they are pruned).

    Parameters: ``?1`` the requests' ids as a JSON array, ``?2`` the time of the update. The figures come from the very
    queries the reports run, grouped by (local day, kind, model) — so the rollup can never disagree with them.
    """
    out = []
    for i, sql in enumerate((_REQUEST_SQL, _ATTEMPT_SQL)):
        key = "json_array(" + ", ".join(_KEYS[k][i] for k in ("day", "kind", "model")) + ")"
        cols = _ROLLUP_COLUMNS[i]
        inner = sql.format(key=key, where="WHERE r.id IN (SELECT value FROM json_each(?1))")
        out.append(
            f"INSERT INTO ledger_rollup (day, day_start, kind, model, {', '.join(cols)}, updated_at) "
            "SELECT json_extract(key, '$[0]'), CAST(strftime('%s', json_extract(key, '$[0]'), 'utc') AS REAL), "
            f"json_extract(key, '$[1]'), json_extract(key, '$[2]'), {', '.join(cols)}, ?2 FROM ({inner}) WHERE true "
            "ON CONFLICT (day, kind, model) DO UPDATE SET "
            + ", ".join(f"{c} = {c} + excluded.{c}" for c in cols)
            + ", updated_at = excluded.updated_at"
        )
    return out[0], out[1]


def _where(column: str, since: TimeLike | None, until: TimeLike | None) -> tuple[str, list[float | None]]:
    where, args = [], []
    if since is not None:
        where.append(f"{column} >= ?")
        args.append(timestamp(since))
    if until is not None:
        where.append(f"{column} < ?")
        args.append(timestamp(until))
    return ("WHERE " + " AND ".join(where)) if where else "", args


@dataclass(frozen=True)
class LedgerTotals:
    """Totals over a period (``key`` names the group in a breakdown: a day, a model or a kind)."""

    key: str = "all"
    requests: int = 0
    ok: int = 0
    errors: int = 0
    local_accepted: int = 0
    verified_local: int = 0
    unverified_local: int = 0
    attempts: int = 0
    tokens_local_in: int = 0
    tokens_local_out: int = 0
    tokens_cloud_in: int = 0
    tokens_cloud_out: int = 0
    cloud_spend_usd: float = 0.0
    avoided_usd: float = 0.0
    unverified_avoided_usd: float = 0.0
    latency_s: float = 0.0

    @property
    def local_acceptance_rate(self) -> float:
        """Share of answered requests that were answered locally (0.0 when none were answered)."""
        return self.local_accepted / self.ok if self.ok else 0.0

    @property
    def tokens_local(self) -> int:
        return self.tokens_local_in + self.tokens_local_out

    @property
    def tokens_cloud(self) -> int:
        return self.tokens_cloud_in + self.tokens_cloud_out

    def to_dict(self) -> dict[str, Any]:
        """Every field plus the derived rate and token sums (for JSON output)."""
        out = asdict(self)
        out.update(
            local_acceptance_rate=self.local_acceptance_rate,
            tokens_local=self.tokens_local,
            tokens_cloud=self.tokens_cloud,
        )
        return out


_INT_FIELDS = frozenset(f.name for f in fields(LedgerTotals) if f.type in ("int", int))


def _totals(key: str, values: dict[str, Any]) -> LedgerTotals:
    clean: dict[str, Any] = {k: (int(v) if k in _INT_FIELDS else float(v)) for k, v in values.items() if k != "key"}
    clean["unverified_local"] = clean.get("local_accepted", 0) - clean.get("verified_local", 0)
    return LedgerTotals(key=key, **clean)


class Ledger:
    """Savings and spend computed from a :class:`Journal` (reads only, except :meth:`record_attempt`)."""

    def __init__(self, journal: Journal, prices: PriceTable = DEFAULT_TABLE) -> None:
        self.journal = journal
        self.prices = prices

    # -- writing, priced -------------------------------------------------------------------------------
    def record_attempt(self, request_id: str, attempt: Attempt, *, local: bool) -> float:
        """Price ``attempt`` (0 when ``local``) and journal it; returns the cloud-equivalent cost."""
        cost = 0.0 if local else self.prices.cost_usd(attempt.model, attempt.usage)
        self.journal.record_attempt(request_id, attempt, cost_equiv_usd=cost, local=local)
        return cost

    async def arecord_attempt(self, request_id: str, attempt: Attempt, *, local: bool) -> float:
        """:meth:`record_attempt` for the event loop."""
        cost = 0.0 if local else self.prices.cost_usd(attempt.model, attempt.usage)
        await self.journal.arecord_attempt(request_id, attempt, cost_equiv_usd=cost, local=local)
        return cost

    def avoided_usd(self, reference_model: str, usage: Usage) -> float:
        """What ``usage`` would have cost on ``reference_model`` (pass it to ``Journal.finish``)."""
        return self.prices.cost_usd(reference_model, usage)

    # -- reports ---------------------------------------------------------------------------------------
    def _aggregate(self, by: str, since: TimeLike | None, until: TimeLike | None) -> list[LedgerTotals]:
        req_key, att_key, rollup_key = _KEYS[by]
        live, args = _where("r.created_at", since, until)
        pruned, _ = _where("g.day_start", since, until)
        queries = (
            _REQUEST_SQL.format(key=req_key, where=live),
            _ATTEMPT_SQL.format(key=att_key, where=live),
            _ROLLUP_SQL.format(key=rollup_key, where=pruned),
        )

        def run(conn: sqlite3.Connection) -> list[sqlite3.Row]:
            # one read transaction: a prune committing meanwhile is seen entirely or not at all
            conn.execute("BEGIN")
            try:
                return [row for sql in queries for row in conn.execute(sql, tuple(args)).fetchall()]
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

        merged: dict[str, dict[str, Any]] = {}
        for row in self.journal._read(run):
            acc = merged.setdefault(str(row["key"]), {})
            for name in row.keys():  # noqa: SIM118 - iterating a sqlite3.Row gives values, not names
                if name != "key":
                    acc[name] = acc.get(name, 0) + row[name]
        return [_totals(k, v) for k, v in sorted(merged.items())]

    def summary(self, since: TimeLike | None = None, until: TimeLike | None = None) -> LedgerTotals:
        """Totals over every request created in ``[since, until)`` (all time by default)."""
        rows = self._aggregate("all", since, until)
        return rows[0] if rows else LedgerTotals()

    def breakdown(
        self, by: BreakdownBy, since: TimeLike | None = None, until: TimeLike | None = None
    ) -> list[LedgerTotals]:
        """Totals per day (oldest first), per model or per kind (sorted by key).

        Per model, request counts and savings go to the model that answered, tokens and spend to the model
        of each attempt.
        """
        if by not in ("day", "model", "kind"):
            raise ValueError(f"breakdown by must be 'day', 'model' or 'kind', not {by!r}")
        return self._aggregate(by, since, until)

    def avoided(self, period: Period = "all", *, now: datetime | None = None) -> float:
        """Verified savings in USD for ``today`` (since local midnight), the last ``7d``, or ``all`` time."""
        return self.summary(since=period_start(period, now)).avoided_usd

    async def asummary(self, since: TimeLike | None = None, until: TimeLike | None = None) -> LedgerTotals:
        """:meth:`summary` in a worker thread."""
        return await asyncio.to_thread(self.summary, since, until)

    async def abreakdown(self, by: BreakdownBy, since: TimeLike | None = None) -> list[LedgerTotals]:
        """:meth:`breakdown` in a worker thread."""
        return await asyncio.to_thread(self.breakdown, by, since)

    async def aavoided(self, period: Period = "all") -> float:
        """:meth:`avoided` in a worker thread."""
        return await asyncio.to_thread(self.avoided, period)


def period_start(period: Period, now: datetime | None = None) -> datetime | None:
    """Start of a reporting period: local midnight today, 7×24 h ago, or None for all time."""
    now = now or datetime.now().astimezone()
    if period == "today":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "7d":
        return now - timedelta(days=7)
    if period == "all":
        return None
    raise ValueError(f"period must be 'today', '7d' or 'all', not {period!r}")
