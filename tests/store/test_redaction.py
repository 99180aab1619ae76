"""No secret ever reaches the journal file: configured secrets, auth headers and key-shaped strings."""

from __future__ import annotations

import uuid
from pathlib import Path

from offload.redact import MASK, Redactor
from offload.store import Journal, Ledger
from offload.types import Usage
from tests.store.helpers import attempt

TAG = uuid.uuid4().hex[:12]
CONFIGURED = f"sk-CANARY-{TAG}-configured"  # a configured backend key
PLAIN = f"canary-plain-{TAG}"  # a configured secret that does not look like a key
BEARER = f"tokCANARY{TAG}bearer"  # only ever in an Authorization header
XKEY = f"xkeyCANARY{TAG}"  # only ever in an x-api-key header
IN_PROMPT = f"sk-ant-api03-CANARY{TAG}prompt"  # a key pasted into the prompt, not configured
BENIGN = f"benign-{TAG}-text"  # control: ordinary text must be found by the same byte search
CANARIES = [CONFIGURED, PLAIN, BEARER, XKEY, IN_PROMPT, f"CANARY{TAG}"]


def _file_bytes(db_path: Path) -> dict[str, bytes]:
    files = [db_path, *db_path.parent.glob(db_path.name + "-*")]
    return {p.name: p.read_bytes() for p in files if p.is_file()}


def _assert_clean(db_path: Path) -> None:
    for name, data in _file_bytes(db_path).items():
        for canary in CANARIES:
            for encoded in {canary.encode(), canary.encode("utf-16-le")}:
                assert encoded not in data, f"{canary!r} found in {name}"


def test_no_canary_reaches_the_database_files(db_path: Path) -> None:
    journal = Journal(db_path, Redactor([CONFIGURED, PLAIN]))
    request = {
        "model": "auto",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": f"use key {IN_PROMPT} and {PLAIN} please {BENIGN}"}]},
            {"role": "assistant", "content": [{"type": "text", "text": f"ok {CONFIGURED}"}]},
        ],
        "options": {"api_key": f"{TAG}-whatever-value", "note": f"password={PLAIN}"},
        "metadata": {"client": f"tool with {CONFIGURED}"},
    }
    headers = {"Authorization": f"Bearer {BEARER}", "x-api-key": XKEY, "User-Agent": "pytest"}
    rid = journal.begin(
        request, source="openai", model_requested="auto", client=f"ua {CONFIGURED}", headers=headers, kind="chat"
    )
    journal.record_attempt(
        rid, attempt(1, backend="anthropic", detail=f"401 from upstream: Authorization: Bearer {BEARER}")
    )
    Ledger(journal).record_attempt(rid, attempt(2, model="claude-haiku-4-5", tin=10, tout=2), local=False)
    journal.finish(
        rid,
        status="error",
        response={"content": f"echo {IN_PROMPT}"},
        error={"code": "upstream_error", "message": f"key {CONFIGURED} rejected", "x-api-key": XKEY},
        usage=Usage(input_tokens=10, output_tokens=2),
        route={"reason": f"cloud with {PLAIN}"},
        partial_output=f"partial {PLAIN} {IN_PROMPT}",
        reference_model="claude-sonnet-4-5",
    )
    failed = journal.begin({"messages": [{"role": "user", "content": IN_PROMPT}]}, source="mcp", model_requested="a")
    journal.finish(failed, status="error", error={"message": f"Bearer {BEARER}"})

    _assert_clean(db_path)  # while open: main file, -wal and -shm
    assert any(BENIGN.encode() in data for data in _file_bytes(db_path).values())

    entry = journal.get(rid)
    assert entry.headers == {"Authorization": MASK, "x-api-key": MASK, "User-Agent": "pytest"}
    text = entry.request["messages"][0]["content"][0]["text"]
    assert text == f"use key {MASK} and {MASK} please {BENIGN}"
    assert entry.request["options"]["api_key"] == MASK
    assert MASK in (entry.error or {})["message"] and MASK in (entry.partial_output or "")
    assert MASK in entry.attempts[0].detail
    assert entry.client == f"ua {MASK}"
    journal.close()
    _assert_clean(db_path)  # after the checkpoint folded the WAL into the main file
    assert BENIGN.encode() in db_path.read_bytes()
