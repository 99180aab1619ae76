"""Cloud prices, as data: what a model's tokens cost (or would have cost) in USD.

A :class:`PriceTable` layers three sources, first match wins:

1. a :class:`~offload.config.ModelSpec`'s own ``price_in`` / ``price_out`` (models on local backends with no
   price of their own cost 0),
2. the config's ``[prices]`` table (``name-or-glob -> {input, output}``),
3. :data:`DEFAULT_PRICES` below.

Inside one source a name matches exactly first, then the longest matching glob (``claude-*``) or prefix
(``claude-sonnet-4-5`` matches ``claude-sonnet-4-5-20250929``; a prefix must end at a ``-``, ``.``, ``:``,
``@``, ``/`` or ``_`` boundary). Provider prefixes such as ``anthropic/`` or ``openai/`` are ignored.
Everything here is pure: no I/O, no clock.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from offload.config import BackendConfig, Config, ModelSpec, Price
from offload.types import Usage

PRICES_AS_OF = "2025-11-30"

# USD per million tokens (input, output), list prices for standard (non-batch, non-cached, <=200k-context)
# requests as published on anthropic.com/pricing and openai.com/api/pricing, assumed current on PRICES_AS_OF.
# Override any of them in offload.toml:  [prices."claude-sonnet-4-5"]  input = 3.0  output = 15.0
_DEFAULTS: dict[str, tuple[float, float]] = {
    # Anthropic — family prefixes carry the newest generation's price
    "claude-opus": (5.00, 25.00),  # Opus 4.5 and later
    "claude-opus-4-5": (5.00, 25.00),
    "claude-opus-4-1": (15.00, 75.00),
    "claude-opus-4-0": (15.00, 75.00),
    "claude-opus-4-20250514": (15.00, 75.00),
    "claude-3-opus": (15.00, 75.00),
    "claude-sonnet": (3.00, 15.00),  # Sonnet 4.5, 4, 3.7, 3.5 all list at $3 / $15
    "claude-sonnet-4-5": (3.00, 15.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-haiku": (1.00, 5.00),  # Haiku 4.5
    "claude-haiku-4-5": (1.00, 5.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-3-haiku": (0.25, 1.25),
    # OpenAI
    "gpt-5": (1.25, 10.00),  # also gpt-5.1, gpt-5-chat-latest, gpt-5-codex
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-5-pro": (15.00, 120.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-2024-05-13": (5.00, 15.00),
    "gpt-4o-mini": (0.15, 0.60),
    "o3": (2.00, 8.00),
    "o3-pro": (20.00, 80.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "o1": (15.00, 60.00),
    "o1-mini": (1.10, 4.40),
}

#: The built-in price list (read-only).
DEFAULT_PRICES: Mapping[str, Price] = MappingProxyType(
    {name: Price(input=i, output=o) for name, (i, o) in _DEFAULTS.items()}
)

_BOUNDARY = frozenset("-.:@/_")
_GLOB = frozenset("*?[")


def _candidates(model: str) -> list[str]:
    name = model.strip().lower()
    out = [name]
    if "/" in name:
        out.append(name.rsplit("/", 1)[1])
    return out


def _match(name: str, table: Mapping[str, Price]) -> Price | None:
    """Exact key first, then the longest glob or boundary-respecting prefix."""
    exact = table.get(name)
    if exact is not None:
        return exact
    best: tuple[int, Price] | None = None
    for key, price in table.items():
        if _GLOB & set(key):
            hit = fnmatch.fnmatchcase(name, key)
        else:
            hit = len(name) > len(key) and name.startswith(key) and name[len(key)] in _BOUNDARY
        if hit and (best is None or len(key) > best[0]):
            best = (len(key), price)
    return best[1] if best else None


class PriceTable:
    """Prices by model name (immutable); see the module docstring for the matching rules."""

    def __init__(
        self,
        prices: Mapping[str, Price] | None = None,
        *,
        models: Mapping[str, Price] | None = None,
        defaults: Mapping[str, Price] = DEFAULT_PRICES,
    ) -> None:
        self._layers: tuple[Mapping[str, Price], ...] = tuple(
            MappingProxyType({k.strip().lower(): v for k, v in layer.items()})
            for layer in (models or {}, prices or {}, defaults)
        )
        self._known: dict[str, Price | None] = {}  # model name -> price, as looked up (the table never changes)

    @classmethod
    def from_config(cls, config: Config) -> PriceTable:
        """Defaults, overridden by ``[prices]``, overridden by each model's own price."""
        return cls(config.prices, models=model_prices(config.models, config.backends))

    def price_for(self, model: str) -> Price | None:
        """The price of ``model``, or None when no source knows it."""
        if model in self._known:
            return self._known[model]
        found = self._look_up(model)
        if len(self._known) < 4096:
            self._known[model] = found
        return found

    def _look_up(self, model: str) -> Price | None:
        for layer in self._layers:
            for name in _candidates(model):
                found = _match(name, layer)
                if found is not None:
                    return found
        return None

    def cost_usd(self, model: str, usage: Usage) -> float:
        """What ``usage`` costs on ``model`` in USD (0.0 for unknown and local models)."""
        return cost_of(self.price_for(model), usage)


def cost_of(price: Price | None, usage: Usage) -> float:
    """USD for ``usage`` at ``price`` (USD per million tokens)."""
    if price is None:
        return 0.0
    return (usage.input_tokens * price.input + usage.output_tokens * price.output) / 1_000_000


def model_prices(models: Iterable[ModelSpec], backends: Mapping[str, BackendConfig]) -> dict[str, Price]:
    """Exact-name prices from the inventory: a model's own price, or 0 when it runs on a local backend.

    A ModelSpec on a cloud backend without a price of its own is left out, so the tables still price it.
    Both the inventory name and the name the backend knows it by are entered.
    """
    out: dict[str, Price] = {}
    for m in models:
        backend = backends.get(m.backend)
        if m.price_in or m.price_out:
            price = Price(input=m.price_in, output=m.price_out)
        elif backend is not None and not backend.is_cloud:
            price = Price(input=0.0, output=0.0)
        else:
            continue
        out[m.name] = price
        out.setdefault(m.upstream_name, price)
    return out


DEFAULT_TABLE = PriceTable()


def price_for(model: str, table: PriceTable = DEFAULT_TABLE) -> Price | None:
    """``table.price_for(model)`` (the built-in defaults unless a table is given)."""
    return table.price_for(model)


def cost_usd(model: str, usage: Usage, table: PriceTable = DEFAULT_TABLE) -> float:
    """``table.cost_usd(model, usage)`` (the built-in defaults unless a table is given)."""
    return table.cost_usd(model, usage)
