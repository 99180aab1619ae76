"""offload's durable store: the journal (every request, written before it is sent) and the savings ledger.

Typical use::

    from offload.store import Journal, Ledger

    journal = Journal(config.journal_path(), redactor)
    rid = journal.begin(request.model_dump(mode="json"), source="openai", model_requested=request.model)
    journal.record_attempt(rid, attempt, cost_equiv_usd=0.0, local=True)
    journal.finish(rid, status="ok", usage=usage, local=True, verdict="verified", avoided_usd=0.0123)
    Ledger(journal).summary().avoided_usd
"""

from offload.store.db import JournalError, new_id
from offload.store.entries import STATUSES, JournalAttempt, JournalEntry, Status
from offload.store.journal import Journal
from offload.store.ledger import Ledger, LedgerTotals, period_start
from offload.store.migrations import MIGRATIONS, Migration, migrate
from offload.store.reads import UnknownJournalEntry
from offload.store.writer import WriterStats

__all__ = [
    "MIGRATIONS",
    "STATUSES",
    "Journal",
    "JournalAttempt",
    "JournalEntry",
    "JournalError",
    "Ledger",
    "LedgerTotals",
    "Migration",
    "Status",
    "UnknownJournalEntry",
    "WriterStats",
    "migrate",
    "new_id",
    "period_start",
]
