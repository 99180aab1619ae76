"""The cheap substring gates in front of the redaction patterns never skip a match the patterns would make."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from offload.redact import _PATTERNS, MASK, Redactor, _lowered

FRAGMENTS = [
    "sk-", "SK-", "sk-ant-", "abcdefgh", "ABCDEFGHIJKLMNOP", "Bearer ", "BEARER\t", "bEaReR", "api_key=", "API-KEY:",
    "ApiKey", "token: ", "TOKEN=", "Password", "secret", "SECRET", "ghp_", "github_pat_", "xoxb-", "AKIA", "hf_",
    "\u0130", "\u0131", "\u017f", "\u212a", "ap\u0131_key=", "\u017fecret=", "to\u212aen=", "é", " ", "\n", "'", '"',
    ",", "}", ":", "=", "_", "-", "0123456789", "x", "ghp_abcdefghijklmnopqrstu", "Bearer abcdefghijkl",
    "password: hunter22", "token=",
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


@given(st.text())
def test_lowered_text_keeps_every_position(text: str) -> None:
    # the patterns' starts are found in the lowered text and matched at the same index of the original
    assert len(_lowered(text)) == len(text)


def test_a_long_prompt_that_only_talks_about_tokens_is_left_alone_fast() -> None:
    prompt = "Count the tokens of each file; the token budget is 20k. Password rules: none. " * 1000
    assert Redactor().text(prompt) == prompt  # (no pattern matches: each start is checked where it stands)
    assert Redactor().text(prompt + " api_key = abcdefgh12").endswith(f"api_key = {MASK}")
