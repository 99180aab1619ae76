"""The journal's batched tree redaction gives exactly what Redactor.obj gives, string for string."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from offload.redact import MASK, Redactor
from offload.store.db import current_owner
from offload.store.ops import OpBuilder, TreeRedactor
from offload.types import ChatRequest

REDACTOR = Redactor(["CONFIGURED1", "plain-secret"])
TREE = TreeRedactor(REDACTOR)

FRAGMENTS = [
    "sk-", "sk-ant-abcdefgh12345", "Bearer abcdefghij", "bearer", "api_key=", "token: ", "password", "secret",
    "ghp_", "A" * 16, "hf", "AKIA", "CONFIGURED1", "plain-secret", "\x00", " ", "\n", "'", '"', ",", "}", ":",
    "hello", "x", "é", "12345678",
]  # fmt: skip
KEYS = ["text", "api_key", "Authorization", "api_key_env", "x-api-key", "token", "role", "max_tokens", "cookie"]

texts = st.lists(st.sampled_from(FRAGMENTS), max_size=8).map("".join)
scalars = st.one_of(texts, st.integers(), st.floats(allow_nan=False), st.booleans(), st.none())
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(trees)
def test_same_result_as_redactor_obj(tree: Any) -> None:
    assert TREE(tree) == REDACTOR.obj(tree)


def test_separator_swallowing_falls_back_to_per_string() -> None:
    tree = ["password: abcdef", "next-string", "a\x00b sk-abcdefghijk"]
    assert TREE(tree) == REDACTOR.obj(tree) == [f"password: {MASK}", "next-string", f"a\x00b {MASK}"]


def test_pydantic_models_are_converted_then_redacted() -> None:
    req = ChatRequest.from_prompt("key sk-abcdefghijkl here", metadata={"api_key": "zzz"})
    out = TREE({"request": req})
    assert out["request"]["messages"][0]["content"][0]["text"] == f"key {MASK} here"
    assert out["request"]["metadata"]["api_key"] == MASK
    assert out["request"]["max_tokens"] is None


OPS = OpBuilder(REDACTOR, current_owner())
USAGE_KEYS = ["max_tokens", "input_tokens", "tokens_per_s", "content", "model", "num_ctx"]
clean_texts = st.lists(
    st.sampled_from(["hello", "world", " ", "\n", '"', "é", "→", "12345678", "x", "ap", "ı_key=", "ſ", "ecret=", "K"]),
    max_size=6,
)
# finite floats only: the journal writes non-finite ones as null (valid JSON) where json.dumps wrote Infinity
finite = st.one_of(texts, st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.none())
mixed_trees = st.recursive(
    finite | clean_texts.map("".join),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS + USAGE_KEYS), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(mixed_trees)
def test_journal_json_equals_redacted_tree(tree: Any) -> None:
    # what the journal stores is the redacted tree, as JSON (orjson, standard library fallback)
    text = OPS.dumps(tree)
    if tree is None:
        assert text is None  # "no value" stays NULL in the journal
        return
    assert text is not None
    assert json.loads(text) == REDACTOR.obj(tree)


@settings(max_examples=300, deadline=None)
@given(st.lists(texts | st.text(max_size=30), max_size=12))
def test_texts_is_text_of_each(values: list[str]) -> None:
    fresh = Redactor(["CONFIGURED1", "plain-secret"])  # nothing remembered yet
    assert fresh.texts(values) == [REDACTOR.text(v) for v in values]
    assert fresh.texts(values) == [REDACTOR.text(v) for v in values]  # now from its memory


def test_remembered_long_strings_are_forgotten_when_a_secret_is_added() -> None:
    r = Redactor()
    prompt = "the deploy key is hunter2-extra-long-value " * 20  # longer than the short-string memory
    assert r.text(prompt) == prompt
    r.add("hunter2-extra-long-value")
    assert "hunter2" not in r.text(prompt) and "hunter2" not in r.texts([prompt])[0]
