"""USD prices per million tokens, for budgets when a provider returns no cost. Extend it; verify before trusting.

The bundled table lists list prices (standard tier, no caching or batch discounts) as published on the providers'
pricing pages on the date below. Prices change: pass your own with `RLM(prices={"model": (input, output)})`.
Local and scripted models cost nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rlmx.errors import InputError
from rlmx.lm.base import Usage

PRICES_DATE = "2025-08-15"
PRICES_SOURCE = "openai.com/api/pricing, anthropic.com/pricing, ai.google.dev/gemini-api/docs/pricing"


@dataclass(frozen=True, slots=True)
class Price:
    input_per_million: float
    output_per_million: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_million + output_tokens * self.output_per_million) / 1_000_000


BUNDLED: dict[str, Price] = {
    "gpt-5": Price(1.25, 10.00),
    "gpt-5-mini": Price(0.25, 2.00),
    "gpt-5-nano": Price(0.05, 0.40),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "o3": Price(2.00, 8.00),
    "o4-mini": Price(1.10, 4.40),
    "claude-opus-4": Price(15.00, 75.00),
    "claude-sonnet-4": Price(3.00, 15.00),
    "claude-3-5-haiku": Price(0.80, 4.00),
    "gemini-2.5-pro": Price(1.25, 10.00),
    "gemini-2.5-flash": Price(0.30, 2.50),
}

FREE_PREFIXES = ("local:", "scripted", "guided-root")
"""Models that run on this machine, or are not models at all."""


class PriceTable:
    """Looks a model up by exact name, then by the longest known prefix (dated variants such as
    `gpt-4o-2024-08-06`), ignoring a provider prefix such as `openai/` (OpenRouter names)."""

    def __init__(self, extra: Mapping[str, Price | tuple[float, float]] | None = None) -> None:
        self.prices: dict[str, Price] = dict(BUNDLED)
        for model, price in (extra or {}).items():
            self.prices[model] = _price(model, price)

    def lookup(self, model: str) -> Price | None:
        if model in self.prices:
            return self.prices[model]
        if model.startswith(FREE_PREFIXES):
            return Price(0.0, 0.0)
        name = model.rsplit("/", 1)[-1]
        if name in self.prices:
            return self.prices[name]
        known = [k for k in self.prices if name.startswith(k + "-") or name.startswith(k + "@")]
        return self.prices[max(known, key=len)] if known else None

    def cost(self, model: str, usage: Usage) -> float | None:
        """The provider's cost when it gave one, else the table's; None when the model is not priced."""
        if usage.cost_usd is not None:
            return usage.cost_usd
        price = self.lookup(model)
        return None if price is None else price.cost(usage.input_tokens, usage.output_tokens)


def _price(model: str, price: Price | tuple[float, float]) -> Price:
    if isinstance(price, Price):
        return price
    try:
        input_price, output_price = price
        result = Price(float(input_price), float(output_price))
    except (TypeError, ValueError):
        raise InputError(
            f"price for {model!r} must be (input USD per million tokens, output USD per million tokens), got {price!r}"
        ) from None
    if result.input_per_million < 0 or result.output_per_million < 0:
        raise InputError(f"price for {model!r} is negative")
    return result
