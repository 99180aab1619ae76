"""Throughput of offload's embedded backend against raw llama-cpp-python, side by side in one process.

Both sides load the same GGUF with the same ``Llama`` settings (offload's own ``llama_settings``), answer
the same prompt greedily with the same ``max_tokens``, after one warm-up each, over several rounds whose
order alternates (raw first, then offload first, ...) so drift in machine load hits both alike.

Two measures, both over the whole call (prompt evaluation included):

* wall tokens/s = completion tokens / wall time. The headline ratio compares the best round of each side
  (like ``timeit``: the fastest run is the one least disturbed by other load on the machine); the median of
  the per-round ratios (each pair of adjacent calls) is shown next to it.
* CPU tokens/s = completion tokens / CPU time of the whole process (all threads: llama.cpp's, offload's
  worker and the event loop). It counts every cycle the wrapper adds and is far less sensitive to other load
  than wall time, so it is the fairer overhead figure on a busy machine.

Run::

    .venv/bin/python bench/embedded_throughput.py                 # chat and stream, 8 rounds, 128 tokens
    .venv/bin/python bench/embedded_throughput.py --mode stream --rounds 12 --max-tokens 256 --json

Exit status 1 when a headline ratio (best offload / best raw, wall time) is below ``--min-ratio`` (0.97).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offload.backends.embedded import EmbeddedBackend, bundled_model_path
from offload.backends.embedded_llama import install_log_sink, llama_settings
from offload.backends.embedded_request import sampling_kwargs, to_llama_messages
from offload.config import BackendConfig
from offload.types import ChatRequest, StreamEnd

PROMPT = "Write a long story about a dragon who learns to program in Python. Describe every step."
Call = Callable[[], Awaitable[tuple[int, str]]]


@dataclass
class Side:
    """Measurements of one side (raw or offload) in one mode."""

    wall: list[float] = field(default_factory=list)  # tokens per wall second, per round
    cpu: list[float] = field(default_factory=list)  # tokens per process CPU second, per round
    tokens: list[int] = field(default_factory=list)
    outputs: set[str] = field(default_factory=set)

    async def measure(self, call: Call) -> None:
        w0, c0 = time.perf_counter(), time.process_time()
        tokens, text = await call()
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        self.wall.append(tokens / wall)
        self.cpu.append(tokens / cpu)
        self.tokens.append(tokens)
        self.outputs.add(text)


def raw_calls(llm: Any, request: ChatRequest) -> dict[str, Call]:
    """Plain llama-cpp-python, called the way a user would call it (blocking, on the main thread)."""
    messages, kw = to_llama_messages(request), sampling_kwargs(request)

    async def chat() -> tuple[int, str]:
        out = llm.create_chat_completion(messages, **kw)
        return out["usage"]["completion_tokens"], out["choices"][0]["message"]["content"]

    async def stream() -> tuple[int, str]:
        text = "".join(
            c["choices"][0]["delta"].get("content") or ""
            for c in llm.create_chat_completion(messages, stream=True, **kw)
        )
        # Raw streams report no usage: count the answer's tokens with the model's tokenizer.
        return len(llm.tokenize(text.encode(), add_bos=False, special=False)), text

    return {"chat": chat, "stream": stream}


def offload_calls(backend: EmbeddedBackend, request: ChatRequest) -> dict[str, Call]:
    """offload's embedded backend through its async API (worker thread, queue, cancel checks, usage)."""

    async def chat() -> tuple[int, str]:
        resp = await backend.chat(request)
        return resp.usage.output_tokens, resp.content

    async def stream() -> tuple[int, str]:
        end = None
        async for event in backend.stream(request):
            if isinstance(event, StreamEnd):
                end = event.response
        assert end is not None
        return end.usage.output_tokens, end.content

    return {"chat": chat, "stream": stream}


def summary(raw: Side, off: Side) -> dict[str, Any]:
    return {
        "raw_tokens_per_s": round(max(raw.wall), 2),
        "offload_tokens_per_s": round(max(off.wall), 2),
        "ratio": round(max(off.wall) / max(raw.wall), 4),
        "ratio_paired_median": round(statistics.median(o / r for r, o in zip(raw.wall, off.wall, strict=True)), 4),
        "raw_median_tokens_per_s": round(statistics.median(raw.wall), 2),
        "offload_median_tokens_per_s": round(statistics.median(off.wall), 2),
        "raw_cpu_tokens_per_s": round(statistics.median(raw.cpu), 2),
        "offload_cpu_tokens_per_s": round(statistics.median(off.cpu), 2),
        "ratio_cpu": round(statistics.median(off.cpu) / statistics.median(raw.cpu), 4),
        "tokens_per_call": statistics.median(raw.tokens),
        "identical_output": raw.outputs == off.outputs and len(raw.outputs) == 1,
        "rounds": len(raw.wall),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from llama_cpp import Llama

    path = Path(args.model) if args.model else bundled_model_path()
    settings = llama_settings(path, n_ctx=args.n_ctx, n_threads=args.threads)
    install_log_sink()
    raw_llm = Llama(**settings)
    backend = EmbeddedBackend(
        BackendConfig(name="embedded", kind="embedded", model_path=str(path), n_ctx=args.n_ctx, n_threads=args.threads)
    )
    request = ChatRequest.from_prompt(args.prompt, max_tokens=args.max_tokens, temperature=0.0)
    calls = {"raw": raw_calls(raw_llm, request), "offload": offload_calls(backend, request)}
    results: dict[str, Any] = {"model": path.name, "settings": settings}
    try:
        for mode in ["chat", "stream"] if args.mode == "both" else [args.mode]:
            await calls["raw"][mode]()  # warm-up (loads offload's model too)
            await calls["offload"][mode]()
            sides = {"raw": Side(), "offload": Side()}
            for i in range(args.rounds):
                for who in ("raw", "offload") if i % 2 == 0 else ("offload", "raw"):
                    await sides[who].measure(calls[who][mode])
            results[mode] = summary(sides["raw"], sides["offload"])
    finally:
        await backend.aclose()
        raw_llm.close()
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
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
    modes = [m for m in ("chat", "stream") if m in results]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        s = results["settings"]
        print(f"model {results['model']}  n_ctx={s['n_ctx']} threads={s['n_threads']}  greedy")
        for mode in modes:
            m = results[mode]
            print(
                f"{mode:6}  wall best: raw {m['raw_tokens_per_s']:6.1f}  offload {m['offload_tokens_per_s']:6.1f} tok/s"
                f"  ratio {m['ratio']:.3f} (paired median {m['ratio_paired_median']:.3f})"
                f"  | cpu: raw {m['raw_cpu_tokens_per_s']:6.1f}  offload {m['offload_cpu_tokens_per_s']:6.1f} tok/cpu-s"
                f"  ratio {m['ratio_cpu']:.3f}  | {m['tokens_per_call']} tokens x {m['rounds']}"
                f"  identical output: {m['identical_output']}"
            )
    return 0 if min(results[m]["ratio"] for m in modes) >= args.min_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
