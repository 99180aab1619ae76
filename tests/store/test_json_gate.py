"""The journal's fast path: a JSON document the redactor calls clean holds nothing redaction would change.

``OpBuilder.dumps`` encodes a tree first and returns that text as it is when ``Redactor.json_is_clean`` vouches
for it; the gate must therefore never vouch for a tree that ``Redactor.obj`` would change — whatever the
escapes JSON puts between a keyword and its value, and whatever Unicode case twins spell the keyword.
"""

from __future__ import annotations

import json
import random
from typing import Any

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from offload.redact import MASK, Redactor
from offload.store.db import current_owner
from offload.store.ops import OpBuilder

REDACTOR = Redactor(["CONFIGURED1", "plain-secret"])
OPS = OpBuilder(REDACTOR, current_owner())

FRAGMENTS = [
    "sk-", "sk-abcdefgh12", "Bearer", "bearer", " ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85",
    "\xa0", "\u2003", '"', "'", "\\", ":", "=", ",", "}", "api", "_key", "-key", "key", "API_KEY", "ApiKey",
    "token", "TOKEN", "tokens", "secret", "SECRET", "password", "ghp_", "AKIA", "hf", "xoxb", "abcdefgh",
    "ABCDEFGHIJKLMNOPQRST", "12345678", "\u0130", "\u0131", "\u017f", "\u212a", "ap\u0131_key", "\u017fecret",
    "to\u212aen", "ap\u0130_key", "CONFIGURED1", "plain-secret", "é", "x",
]  # fmt: skip
KEYS = [
    "text", "content", "max_tokens", "input_tokens", "api_key", "API_KEY", "api_key_env", "x-api-key", "token",
    "token\n", "Authorization", "authorization", "cookie", "Set-Cookie", "password", "my_secret", "secretive",
    "ap\u0131_key", "to\u212aen", "model", "type", "data",
]  # fmt: skip

texts = st.lists(st.sampled_from(FRAGMENTS), max_size=8).map("".join)
scalars = st.one_of(texts, st.integers(-(2**63), 2**63 - 1), st.booleans(), st.none())
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
    max_leaves=16,
)


def _doc(tree: Any) -> bytes:
    return orjson.dumps(tree)


@settings(max_examples=3000, deadline=None)
@given(trees)
@example({"a": "token:\nabcdefgh"})
@example({"a": 'password"=abcdefgh'})
@example({"a": "bearer\n\tabcdefgh1234"})
@example({"a": "\nghp_abcdefghijklmnopqrst"})
@example({"a": "ap\u0130_key=abcdefgh"})
@example({"token\n": "x"})
def test_a_clean_document_is_left_unchanged_by_redaction(tree: Any) -> None:
    if REDACTOR.json_is_clean(_doc(tree)):
        assert REDACTOR.obj(tree) == tree


@settings(max_examples=1500, deadline=None)
@given(trees)
def test_fast_and_slow_paths_write_the_same_text(tree: Any) -> None:
    slow = orjson.dumps(OPS.tree(tree)).decode() if tree is not None else None
    assert OPS.dumps(tree) == slow
    if tree is not None:
        assert json.loads(OPS.dumps(tree) or "null") == REDACTOR.obj(tree)


@pytest.mark.parametrize(
    "tree",
    [
        {"model": "bench", "max_tokens": 16, "messages": [{"role": "user", "content": "Say hello."}]},
        {"usage": {"input_tokens": 3, "output_tokens": 8}, "timings": {"tokens_per_s": 80.5}},
        {"content": "def f(x):\n    return x + 1\n", "route_reason": "chat/simple → model bench"},
    ],
)
def test_ordinary_requests_and_answers_take_the_fast_path(tree: Any) -> None:
    assert REDACTOR.json_is_clean(_doc(tree))


@pytest.mark.parametrize(
    "tree",
    [
        {"api_key": "zzz"},
        {"headers": {"Authorization": "abc"}},
        {"text": "my key is sk-abcdefghijkl"},
        {"text": "password: hunter22"},
        {"text": "CONFIGURED1"},
        {"text": "Bearer abcdefghijklm"},
    ],
)
def test_anything_secret_looking_takes_the_slow_path(tree: Any) -> None:
    assert not REDACTOR.json_is_clean(_doc(tree))
    assert MASK in (OPS.dumps(tree) or "")


def test_a_secret_json_would_escape_never_lets_a_document_through() -> None:
    redactor = Redactor(['quo"ted-secret'])
    assert not redactor.json_is_clean(b'{"x":1}')
    ops = OpBuilder(redactor, current_owner())
    assert ops.dumps({"x": 'a quo"ted-secret here'}) == '{"x":"a [REDACTED] here"}'


def test_the_gate_vouches_often_and_never_wrongly() -> None:
    # not vacuous: many random trees of the same fragments are plain enough for the fast path
    rng = random.Random(4)
    clean = 0
    for _ in range(3000):
        leaves = ["".join(rng.choices(FRAGMENTS, k=rng.randint(0, 3))) for _ in range(rng.randint(1, 4))]
        tree = {rng.choice(KEYS): leaf for leaf in leaves} | {"list": leaves}
        if REDACTOR.json_is_clean(_doc(tree)):
            clean += 1
            assert REDACTOR.obj(tree) == tree
    assert clean > 150
