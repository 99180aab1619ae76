"""The data of probing: a :class:`Probe` (one expression to evaluate against an answer), its
:class:`ProbeResult`, and the :class:`ProbeRun` of one answer (all results, for comparing candidates)."""

from __future__ import annotations

from dataclasses import dataclass, field

from offload.routing.examples_types import Example
from offload.routing.sandbox_types import SandboxResult

__all__ = ["Probe", "ProbeResult", "ProbeRun"]


@dataclass(frozen=True)
class Probe:
    """One expression to evaluate against an answer's code."""

    call: str
    #: ``repr`` of the expected value ("value" mode) or the wanted text ("repr" mode); None = just run it.
    expected: str | None = None
    mode: str = "value"
    setup: tuple[str, ...] = ()
    #: "example" (stated by the task) or "extra" (an input next to one; checked for behaviour, not value).
    kind: str = "example"
    #: Properties the value must have: "sorted", "unique", "subset" (of the first argument), "same_length".
    checks: tuple[str, ...] = ()

    @classmethod
    def from_example(cls, example: Example, checks: tuple[str, ...] = ()) -> Probe:
        return cls(example.call, example.expected, example.mode, example.setup, "example", checks)


@dataclass(frozen=True)
class ProbeResult:
    """How one probe went."""

    #: "ok", "error" (raised), "timeout", "skipped" (extra inputs are not run once an example raised or timed
    #: out, or two examples failed), or "not_run" (the process died before reaching it).
    status: str
    #: Whether the value equals the expected one (None when nothing was expected or it did not run).
    match: bool | None = None
    #: Short ``repr`` of the value, or the exception.
    value: str = ""
    #: Type family of the value: "number", "bool", "str", "list", "tuple", "dict", "set", "None", ...
    family: str = ""
    #: Canonical form of the value (floats rounded, sets sorted) for comparing candidates.
    fingerprint: str = ""
    #: Names of the probe's property checks that failed.
    failed_checks: tuple[str, ...] = ()


@dataclass
class ProbeRun:
    """All probe results of one answer."""

    loaded: bool
    load_error: str
    results: list[ProbeResult]
    sandbox: SandboxResult | None = None
    probes: list[Probe] = field(default_factory=list)
    #: The answer's code the probes ran against.
    code: str = ""

    def signature(self) -> tuple[str, ...]:
        """The answer's behaviour on every probe, for grouping candidates that agree."""
        if not self.loaded:
            return ("load-error",)
        return tuple(r.fingerprint if r.status == "ok" else f"!{r.status}" for r in self.results)
