"""Throughput of offload's embedded backend against raw llama-cpp-python, side by side in one process.

Both sides load the same GGUF with the same ``Llama`` settings (offload's own ``llama_settings``), answer
the same prompt greedily with the same ``max_tokens``, after one warm-up each, over several rounds whose
order alternates (raw first, then offload first, ...) so drift in machine load hits both alike.

tokens/s = completion tokens / wall time of the whole call (prompt evaluation included). The headline ratio
compares the best round of each side (like ``timeit``: the fastest run is the one least disturbed by other
load on the machine); the median of the per-round ratios (each pair of adjacent calls) is shown next to it.
Run::

    .venv/bin/python bench/embedded_throughput.py                 # chat and stream, 8 rounds, 128 tokens
    .venv/bin/python bench/embedded_throughput.py --mode stream --rounds 12 --max-tokens 256 --json

Exit status 1 when a headline ratio (best offload / best raw) is below ``--min-ratio`` (default 0.97).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offload.backends.embedded import EmbeddedBackend, bundled_model_path
from offload.backends.embedded_llama import install_log_sink, llama_settings
from offload.backends.embedded_request import sampling_kwargs, to_llama_messages
from offload.config import BackendConfig
from offload.types import ChatRequest, StreamEnd

PROMPT = "Write a long story about a dragon who learns to program in Python. Describe every step."


@dataclass
class Side:
    """Measurements of one side (raw or offload) in one mode."""

    tokens_per_s: list[float] = field(default_factory=list)
    tokens: int = 0
    seconds: float = 0.0
    outputs: set[str] = field(default_factory=set)

    def add(self, tokens: int, seconds: float, text: str) -> None:
        self.tokens_per_s.append(tokens / seconds)
        self.tokens += tokens
        self.seconds += seconds
        self.outputs.add(text)

    @property
    def median(self) -> float:
        return statistics.median(self.tokens_per_s)

    @property
    def best(self) -> float:
        return max(self.tokens_per_s)


def raw_chat(llm: Any, messages: list[dict[str, str]], kw: dict[str, Any]) -> tuple[int, float, str]:
    t0 = time.perf_counter()
    out = llm.create_chat_completion(messages, **kw)
    dt = time.perf_counter() - t0
    return out["usage"]["completion_tokens"], dt, out["choices"][0]["message"]["content"]


def raw_stream(llm: Any, messages: list[dict[str, str]], kw: dict[str, Any]) -> tuple[int, float, str]:
    t0 = time.perf_counter()
    pieces = [
        c["choices"][0]["delta"].get("content") or "" for c in llm.create_chat_completion(messages, stream=True, **kw)
    ]
    dt = time.perf_counter() - t0
    text = "".join(pieces)
    # Raw streams report no usage: count the answer's tokens with the model's tokenizer.
    return len(llm.tokenize(text.encode(), add_bos=False, special=False)), dt, text


async def offload_chat(backend: EmbeddedBackend, request: ChatRequest) -> tuple[int, float, str]:
    t0 = time.perf_counter()
    resp = await backend.chat(request)
    return resp.usage.output_tokens, time.perf_counter() - t0, resp.content


async def offload_stream(backend: EmbeddedBackend, request: ChatRequest) -> tuple[int, float, str]:
    t0 = time.perf_counter()
    end = None
    async for event in backend.stream(request):
        if isinstance(event, StreamEnd):
            end = event.response
    dt = time.perf_counter() - t0
    assert end is not None
    return end.usage.output_tokens, dt, end.content


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from llama_cpp import Llama

    path = Path(args.model) if args.model else bundled_model_path()
    install_log_sink()
    raw = Llama(**llama_settings(path, n_ctx=args.n_ctx, n_threads=args.threads))
    backend = EmbeddedBackend(
        BackendConfig(name="embedded", kind="embedded", model_path=str(path), n_ctx=args.n_ctx, n_threads=args.threads)
    )
    request = ChatRequest.from_prompt(args.prompt, max_tokens=args.max_tokens, temperature=0.0)
    messages = to_llama_messages(request)
    kw = sampling_kwargs(request)
    modes = ["chat", "stream"] if args.mode == "both" else [args.mode]
    results: dict[str, Any] = {
        "model": path.name,
        "settings": llama_settings(path, n_ctx=args.n_ctx, n_threads=args.threads),
    }
    try:
        for mode in modes:
            raw_fn = raw_chat if mode == "chat" else raw_stream
            off_fn = offload_chat if mode == "chat" else offload_stream
            raw_fn(raw, messages, kw)  # warm-up
            await off_fn(backend, request)
            sides = {"raw": Side(), "offload": Side()}
            for i in range(args.rounds):
                order = ("raw", "offload") if i % 2 == 0 else ("offload", "raw")
                for who in order:
                    if who == "raw":
                        sides["raw"].add(*raw_fn(raw, messages, kw))
                    else:
                        sides["offload"].add(*await off_fn(backend, request))
            r, o = sides["raw"], sides["offload"]
            paired = [b / a for a, b in zip(r.tokens_per_s, o.tokens_per_s, strict=True)]
            results[mode] = {
                "raw_tokens_per_s": round(r.best, 2),
                "offload_tokens_per_s": round(o.best, 2),
                "ratio": round(o.best / r.best, 4),
                "raw_median_tokens_per_s": round(r.median, 2),
                "offload_median_tokens_per_s": round(o.median, 2),
                "ratio_paired_median": round(statistics.median(paired), 4),
                "tokens_per_call": r.tokens // args.rounds,
                "identical_output": r.outputs == o.outputs and len(r.outputs) == 1,
                "rounds": args.rounds,
            }
    finally:
        await backend.aclose()
        raw.close()
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="GGUF file (default: the bundled SmolLM2-135M)")
    ap.add_argument("--mode", choices=["chat", "stream", "both"], default="both")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--n-ctx", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=None, help="default: CPUs available to this process")
    ap.add_argument("--prompt", default=PROMPT)
    ap.add_argument("--min-ratio", type=float, default=0.97)
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)
    results = asyncio.run(run(args))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        s = results["settings"]
        print(f"model {results['model']}  n_ctx={s['n_ctx']} threads={s['n_threads']}  greedy")
        for mode in ("chat", "stream"):
            if mode in results:
                m = results[mode]
                print(
                    f"{mode:6}  best: raw {m['raw_tokens_per_s']:6.1f} tok/s, offload {m['offload_tokens_per_s']:6.1f} "
                    f"tok/s, ratio {m['ratio']:.3f}   median: raw {m['raw_median_tokens_per_s']:6.1f}, offload "
                    f"{m['offload_median_tokens_per_s']:6.1f}, paired ratio {m['ratio_paired_median']:.3f}   "
                    f"{m['tokens_per_call']} tokens x {m['rounds']} rounds   identical output: {m['identical_output']}"
                )
    worst = min(results[m]["ratio"] for m in ("chat", "stream") if m in results)
    return 0 if worst >= args.min_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
