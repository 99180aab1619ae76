"""Price matching: exact name, then longest glob/prefix; config and inventory prices override defaults."""

from __future__ import annotations

import pytest

from offload import prices
from offload.config import Price, parse_config
from offload.prices import DEFAULT_PRICES, PriceTable, cost_of, cost_usd, price_for
from offload.types import Usage


def _p(model: str, table: PriceTable = prices.DEFAULT_TABLE) -> tuple[float, float] | None:
    found = table.price_for(model)
    return None if found is None else (found.input, found.output)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("claude-sonnet-4-5", (3.0, 15.0)),
        ("claude-sonnet-4-5-20250929", (3.0, 15.0)),
        ("claude-3-5-sonnet-latest", (3.0, 15.0)),
        ("claude-sonnet-7", (3.0, 15.0)),  # family prefix
        ("claude-opus-4-5-20251101", (5.0, 25.0)),
        ("claude-opus-4-1-20250805", (15.0, 75.0)),
        ("claude-opus-4-20250514", (15.0, 75.0)),
        ("claude-opus-4-0", (15.0, 75.0)),
        ("claude-3-opus-20240229", (15.0, 75.0)),
        ("claude-haiku-4-5", (1.0, 5.0)),
        ("claude-3-5-haiku-20241022", (0.8, 4.0)),
        ("claude-3-haiku-20240307", (0.25, 1.25)),
        ("gpt-5", (1.25, 10.0)),
        ("gpt-5.1", (1.25, 10.0)),
        ("gpt-5-mini-2025-08-07", (0.25, 2.0)),
        ("gpt-5-nano", (0.05, 0.40)),
        ("gpt-4.1", (2.0, 8.0)),
        ("gpt-4.1-mini-2025-04-14", (0.40, 1.60)),
        ("gpt-4o", (2.5, 10.0)),
        ("gpt-4o-2024-08-06", (2.5, 10.0)),
        ("gpt-4o-2024-05-13", (5.0, 15.0)),  # exact beats prefix
        ("gpt-4o-mini", (0.15, 0.60)),
        ("gpt-4o-mini-2024-07-18", (0.15, 0.60)),  # longest prefix wins over gpt-4o
        ("o3", (2.0, 8.0)),
        ("o3-2025-04-16", (2.0, 8.0)),
        ("o3-mini", (1.10, 4.40)),
        ("o4-mini-2025-04-16", (1.10, 4.40)),
        ("GPT-4o", (2.5, 10.0)),  # case-insensitive
        ("openai/gpt-4o-mini", (0.15, 0.60)),  # provider prefix ignored
        ("anthropic/claude-sonnet-4-5", (3.0, 15.0)),
        ("o30", None),  # a prefix must end at a boundary
        ("gpt-4omega", None),
        ("llama3.1:8b", None),
        ("qwen2.5-coder:7b", None),
    ],
)
def test_default_matching(model: str, expected: tuple[float, float] | None) -> None:
    assert _p(model) == expected


def test_config_prices_override_defaults_with_their_own_precedence() -> None:
    table = PriceTable(
        {
            "claude-*": Price(input=1, output=2),
            "claude-sonnet-*": Price(input=3, output=4),
            "claude-sonnet-4-5": Price(input=5, output=6),
            "my-cloud": Price(input=7, output=8),
        }
    )
    assert _p("claude-sonnet-4-5", table) == (5, 6)  # exact
    assert _p("claude-sonnet-4-5-20250929", table) == (5, 6)  # longest pattern: the prefix beats both globs
    assert _p("claude-sonnet-4-20250514", table) == (3, 4)  # longer glob beats shorter glob
    assert _p("claude-haiku-4-5", table) == (1, 2)  # config glob beats a default exact name
    assert _p("my-cloud-v2", table) == (7, 8)  # plain keys match as prefixes too
    assert _p("gpt-4o", table) == (2.5, 10.0)  # untouched defaults still apply


def test_prices_from_config_and_inventory() -> None:
    cfg = parse_config(
        {
            "backends": {
                "ollama": {"kind": "ollama", "base_url": "http://127.0.0.1:11434"},
                "claude": {"kind": "anthropic", "base_url": "https://api.anthropic.com", "api_key_env": "K"},
            },
            "models": [
                {"name": "coder", "backend": "ollama", "backend_model": "qwen2.5-coder:7b"},
                {"name": "sonnet", "backend": "claude", "backend_model": "claude-sonnet-4-5"},
                {"name": "opus-deal", "backend": "claude", "backend_model": "claude-opus-4-5", "price_in": 4,
                 "price_out": 20},
            ],
            "prices": {"gpt-4o*": {"input": 9, "output": 9}},
        }
    )  # fmt: skip
    table = PriceTable.from_config(cfg)
    assert _p("coder", table) == (0, 0) and _p("qwen2.5-coder:7b", table) == (0, 0)  # local: free
    assert _p("smollm2-135m", table) == (0, 0)  # the embedded model is local too
    assert _p("sonnet", table) is None  # a cloud spec without price: known by its upstream name only
    assert _p("claude-sonnet-4-5", table) == (3, 15)
    assert _p("opus-deal", table) == (4, 20) and _p("claude-opus-4-5", table) == (4, 20)  # spec price wins
    assert _p("gpt-4o-mini", table) == (9, 9)


def test_cost_math() -> None:
    usage = Usage(input_tokens=5_000, output_tokens=1_000)
    assert cost_usd("claude-sonnet-4-5", usage) == pytest.approx(5_000 * 3 / 1e6 + 1_000 * 15 / 1e6)  # 0.03
    assert cost_usd("claude-sonnet-4-5", usage) == pytest.approx(0.03)
    assert cost_usd("gpt-4o-mini", Usage(input_tokens=1_000_000, output_tokens=1_000_000)) == pytest.approx(0.75)
    assert cost_usd("llama3.1:8b", usage) == 0.0
    assert cost_of(None, usage) == 0.0
    assert price_for("gpt-4.1") == Price(input=2.0, output=8.0)


def test_default_table_is_sane() -> None:
    assert DEFAULT_PRICES  # read-only mapping
    with pytest.raises(TypeError):
        DEFAULT_PRICES["x"] = Price(input=1, output=1)  # type: ignore[index]
    for name, price in DEFAULT_PRICES.items():
        assert name == name.lower()
        assert 0 < price.input <= price.output, name
    assert prices.PRICES_AS_OF
