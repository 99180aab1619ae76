"""The verifier contract shared by the cascade and the verifiers.

A verifier looks at one answer to one request and says: passed, failed (with feedback a repair round can
send back to the model), or could not run (``ok is None`` — the answer is then *unverified*).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from offload.types import ChatRequest, ChatResponse


@dataclass(frozen=True)
class Verdict:
    """The result of one verifier on one answer."""

    #: True = passed, False = failed, None = could not be checked (unverified).
    ok: bool | None
    verifier: str
    detail: str = ""
    #: What to tell the model in a repair round (e.g. the failing example and the actual result).
    feedback: str = ""

    @property
    def label(self) -> str:
        return {True: "verified", False: "failed", None: "unverified"}[self.ok]


@runtime_checkable
class Verifier(Protocol):
    """Checks an answer. Must never raise for a bad answer: return ``Verdict(ok=False, ...)``."""

    name: str

    async def verify(self, request: ChatRequest, response: ChatResponse) -> Verdict: ...


def combine(verdicts: list[Verdict]) -> Verdict:
    """All verdicts as one: any failure fails; all passed passes; otherwise unverified."""
    if not verdicts:
        return Verdict(ok=None, verifier="none", detail="nothing to verify")
    failed = [v for v in verdicts if v.ok is False]
    if failed:
        return Verdict(
            ok=False,
            verifier=",".join(v.verifier for v in failed),
            detail="; ".join(v.detail for v in failed if v.detail),
            feedback="\n".join(v.feedback for v in failed if v.feedback),
        )
    if all(v.ok for v in verdicts):
        return Verdict(ok=True, verifier=",".join(v.verifier for v in verdicts), detail="all checks passed")
    unsure = [v for v in verdicts if v.ok is None]
    return Verdict(ok=None, verifier=",".join(v.verifier for v in unsure), detail="; ".join(v.detail for v in unsure))
