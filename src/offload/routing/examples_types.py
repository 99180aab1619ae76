"""What example extraction finds: an :class:`Example` (a call and its expected value) and the
:class:`Signature` of a function stub in the task text."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Example", "Signature"]


@dataclass(frozen=True)
class Example:
    """One stated example: evaluate ``call`` and compare the value with ``expected``."""

    #: The function the example exercises (the entry point after wrong-name mapping).
    func: str
    #: A Python expression calling it, e.g. ``add(2, 3)`` or ``round(find_zero([1, 2]), 2)``.
    call: str
    #: ``repr`` of the expected value (a Python literal) in ``value`` mode; the raw wanted text in ``repr`` mode.
    expected: str
    #: "value": compare values; "repr": compare ``repr(value)`` (or what was printed) with ``expected``.
    mode: str = "value"
    #: Doctest statements that must run first (``>>> x = 5`` before ``>>> f(x)``).
    setup: tuple[str, ...] = ()
    #: How it was written: "doctest", "==", "->", "for", "input/output", ...
    form: str = ""
    #: 1-based line of the source text where it starts.
    line: int = 0

    def describe(self) -> str:
        """The example as one line, for repair feedback."""
        return f"{self.call} == {self.expected}" if self.mode == "value" else f"{self.call} -> {self.expected}"


@dataclass(frozen=True)
class Signature:
    """Parameter names of a function stub found in the task text."""

    name: str
    params: tuple[str, ...]
    required: int

    def accepts(self, n_args: int) -> bool:
        return self.required <= n_args <= len(self.params)
