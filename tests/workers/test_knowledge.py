"""Knowledge-base priming: the relevant chunks are kept within the budget, in document order."""

from __future__ import annotations

from pathlib import Path

import pytest

from offload.errors import InvalidRequest
from offload.workers.knowledge import build_context, chunk_text, collect_files


def test_relevant_chunks_win_within_the_budget(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "style.md").write_text(
        "# Errors\n\nRaise InvalidRequest with a hint for bad input.\n\n"
        + "# History\n\n"
        + "The project started in a garage long ago.\n" * 30
        + "\n# Retries\n\nBackends retry with exponential backoff and jitter.\n"
    )
    (docs / "ops.md").write_text("# Deploy\n\n" + "helm chart values and ingress rules\n" * 60)
    pack = build_context([docs], "add retries with backoff to the backend and raise InvalidRequest", 60)
    assert "exponential backoff" in pack.text and "InvalidRequest with a hint" in pack.text
    assert "helm" not in pack.text and "garage" not in pack.text
    assert pack.tokens <= 60 and pack.dropped > 0
    assert pack.text.index("InvalidRequest with a hint") < pack.text.index("exponential backoff")  # document order


def test_collect_skips_vcs_and_binary_and_rejects_missing(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("secret")
    (tmp_path / "a.md").write_text("hello")
    (tmp_path / "img.png").write_bytes(b"\x89PNG\x00\x00")
    assert [p.name for p in collect_files([tmp_path])] == ["a.md"]
    with pytest.raises(InvalidRequest, match="does not exist"):
        collect_files([tmp_path / "nope"])


def test_chunks_split_at_definitions() -> None:
    code = "import os\n\n\ndef a():\n    return 1\n\n\nclass B:\n    pass\n"
    chunks = chunk_text("m.py", code)
    assert [c.start_line for c in chunks] == [1, 4, 8]
