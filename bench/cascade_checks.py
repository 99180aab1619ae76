"""How ``cascade_humaneval.py`` checks HumanEval candidates: with the prompt's examples, then the hidden tests.

:func:`run_setting` generates one setting's candidates for one problem and accepts (or not) with
:func:`decide`, using only what the cascade can know — the prompt's examples, extra inputs next to them and
agreement between candidates — with an optional repair round. :func:`judge` then runs each problem's hidden
``check(candidate)`` in the sandbox to say whether what was accepted was right.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from cascade_candidates import GREEDY_CHAT, REPAIR_TEMPLATE, Generator, Setting, program_for

from offload.routing.examples import extract_examples
from offload.routing.probes import ProbeRun, example_probes, examples_verdict, probe_all, suspect_examples
from offload.routing.sandbox import run_python_async


class ProbeCache:
    """Runs the example probes of one problem against programs, remembering each program's run."""

    def __init__(self) -> None:
        self.memo: dict[tuple[str, str], ProbeRun] = {}

    async def runs(self, problem: dict[str, Any], probes: list[Any], programs: list[str]) -> list[ProbeRun]:
        missing = [p for p in programs if (problem["task_id"], p) not in self.memo]
        for program, run in zip(missing, await probe_all(missing, probes, timeout_s=30, per_call_s=2), strict=True):
            self.memo[(problem["task_id"], program)] = run
        return [self.memo[(problem["task_id"], p)] for p in programs]


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
