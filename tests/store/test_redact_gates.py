"""The cheap substring gates in front of the redaction patterns never skip a match the patterns would make."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from offload.redact import _PATTERNS, MASK, Redactor

FRAGMENTS = [
    "sk-", "SK-", "sk-ant-", "abcdefgh", "ABCDEFGHIJKLMNOP", "Bearer ", "BEARER\t", "bEaReR", "api_key=", "API-KEY:",
    "ApiKey", "token: ", "TOKEN=", "Password", "secret", "SECRET", "ghp_", "github_pat_", "xoxb-", "AKIA", "hf_",
    "\u0130", "\u0131", "\u017f", "\u212a", "ap\u0131_key=", "\u017fecret=", "to\u212aen=", "é", " ", "\n", "'", '"',
    ",", "}", ":", "=", "_", "-", "0123456789", "x",
]  # fmt: skip


def ungated(value: str) -> str:
    """The four patterns run unconditionally: the reference the gated version must equal."""
    for pat in _PATTERNS[:3]:
        value = pat.sub(MASK, value)
    return _PATTERNS[3].sub(lambda m: m.group(1) + MASK, value)


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join))
def test_gated_patterns_equal_ungated(text: str) -> None:
    assert Redactor._patterns(text) == ungated(text)


@given(st.text(max_size=80))
def test_gated_patterns_equal_ungated_on_any_text(text: str) -> None:
    assert Redactor._patterns(text) == ungated(text)


def test_unicode_case_twins_are_still_caught() -> None:
    # Python's case-insensitive matching equates these with ASCII letters: the gate must too
    for text in ("ap\u0131_key=abcdefgh", "\u017fecret=abcdefgh", "to\u212aen=abcdefgh"):
        assert Redactor().text(text).endswith(MASK), text
