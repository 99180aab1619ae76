"""The journal's dialect and client filters, ``distinct_values``, and the split of the async twins."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

import offload.store
import offload.store.journal as journal_module
from offload.errors import InvalidRequest
from offload.redact import Redactor
from offload.store import Journal
from offload.store.journal_async import AsyncJournal

REQUEST = {"messages": [{"role": "user", "content": "hello"}]}

#: (dialect, client, status) of the seeded rows, oldest first.
ROWS = [
    ("openai", "openai-python", "ok"),
    ("openai", "claude-code", "error"),
    ("anthropic", "claude-code", "ok"),
    ("anthropic", "claude-code", "ok"),
    ("ollama", None, "ok"),
    ("responses", "openai-python", "ok"),
    (None, None, "ok"),  # e.g. a CLI request: no wire dialect, no client
]


@pytest.fixture
def seeded(journal: Journal) -> dict[int, str]:
    ids: dict[int, str] = {}
    for i, (dialect, client, status) in enumerate(ROWS):
        rid = journal.begin(REQUEST, source="gateway", model_requested="auto", dialect=dialect, client=client)
        journal.finish(rid, status=status, model="m")
        ids[i] = rid
    return ids


def expected(match: dict[str, str]) -> set[int]:
    """The seeded rows (by index) that ``match`` selects, worked out in Python."""
    fields = [{"dialect": d, "client": c, "status": s} for d, c, s in ROWS]
    return {i for i, row in enumerate(fields) if all(row[k] == v for k, v in match.items())}


def found(journal: Journal, ids: dict[int, str], filters: dict[str, Any]) -> set[int]:
    """The seeded rows (by index) the journal returns for ``filters``."""
    index = {rid: i for i, rid in ids.items()}
    return {index[e.id] for e in journal.list(limit=100, **filters)}


@pytest.mark.parametrize(
    "filters",
    [
        {"dialect": "openai"},
        {"dialect": "anthropic"},
        {"dialect": "responses"},
        {"client": "claude-code"},
        {"client": "openai-python"},
        {"dialect": "openai", "client": "claude-code"},
        {"dialect": "anthropic", "status": "ok"},
        {"client": "claude-code", "status": "error"},
    ],
)
def test_dialect_and_client_filters_match_exactly(
    journal: Journal, seeded: dict[int, str], filters: dict[str, str]
) -> None:
    assert found(journal, seeded, filters) == expected(filters)


def test_no_filter_lists_everything_including_null_dialects(journal: Journal, seeded: dict[int, str]) -> None:
    assert found(journal, seeded, {}) == set(range(len(ROWS)))


@pytest.mark.parametrize(
    "value", ["claude", "CLAUDE-CODE", "claude-code ", "%", "claude%", "_laude-code", "' OR 1=1 --"]
)
def test_filter_values_are_literal_not_patterns_or_sql(journal: Journal, seeded: dict[int, str], value: str) -> None:
    assert journal.list(client=value) == []
    assert journal.list(dialect=value) == []
    assert len(journal.list(limit=100)) == len(ROWS)  # and nothing was changed


def test_filters_combine_with_paging(journal: Journal, seeded: dict[int, str]) -> None:
    newest_first = [e.id for e in journal.list(client="claude-code")]
    assert newest_first == [seeded[3], seeded[2], seeded[1]]
    assert [e.id for e in journal.list(client="claude-code", limit=1, offset=1)] == [seeded[2]]


def test_distinct_values_most_used_first_without_nulls(journal: Journal, seeded: dict[int, str]) -> None:
    assert journal.distinct_values("client") == ["claude-code", "openai-python"]
    assert journal.distinct_values("dialect") == ["anthropic", "openai", "ollama", "responses"]  # 2, 2 (by name), 1, 1
    assert journal.distinct_values("dialect", limit=1) == ["anthropic"]
    assert journal.distinct_values("status") == ["ok", "error"]


def test_distinct_values_of_an_empty_journal(journal: Journal) -> None:
    assert journal.distinct_values("client") == []


@pytest.mark.parametrize("column", ["request_json", "headers_json", "id", "client; DROP TABLE requests", "", "Client"])
def test_distinct_values_only_for_allowed_columns(journal: Journal, seeded: dict[int, str], column: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        journal.distinct_values(column)
    assert "dialect" in (info.value.hint or "")  # the hint names the columns that work
    assert len(journal.list(limit=100)) == len(ROWS)


async def test_async_twins_take_the_new_filters(journal: Journal, seeded: dict[int, str]) -> None:
    rows = await journal.alist(dialect="anthropic", client="claude-code")
    assert {e.id for e in rows} == {seeded[2], seeded[3]}
    assert await journal.adistinct_values("client") == ["claude-code", "openai-python"]


# -- the split of journal.py ---------------------------------------------------------------------------------
def test_public_names_stay_importable_from_the_journal_module() -> None:
    for name in ("Journal", "recover_interrupted", "Entries"):
        assert hasattr(journal_module, name), name
    assert offload.store.Journal is journal_module.Journal
    assert issubclass(Journal, AsyncJournal)


def test_every_sync_method_keeps_its_async_twin() -> None:
    for name in ("begin", "record_attempt", "finish", "mark_status", "link_replay", "prune", "get", "list",
                 "for_replay", "integrity_check", "close", "distinct_values"):  # fmt: skip
        assert callable(getattr(Journal, name)), name
        twin = getattr(Journal, f"a{name}")
        assert inspect.iscoroutinefunction(twin), name


async def test_inline_abegin_commits_at_once(db_path: Path) -> None:
    with Journal(db_path, Redactor()) as j:
        rid = await j.abegin(REQUEST, source="gateway", model_requested="auto", dialect="ollama", inline=True)
        e = j.get(rid)
        assert (e.status, e.dialect) == ("pending", "ollama")
    with Journal(db_path, Redactor()) as again:  # durable: a new journal on the file sees it
        assert [x.id for x in again.list(dialect="ollama")] == [rid]
