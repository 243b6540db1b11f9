"""Model prices and cost arithmetic. Money is integer micro-USD so that DynamoDB's ADD stays exact."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from aichat.errors import ConfigurationError

MICROS_PER_CENT = 10_000


@dataclass(frozen=True)
class Price:
    """USD per million tokens; cache reads and writes default to the input price when a provider has none."""

    input: Decimal
    output: Decimal
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None


# USD per million tokens, from the providers' published price lists. PRICES in settings overrides or extends.
BUILT_IN_PRICES: dict[str, Price] = {
    "offline-1": Price(Decimal("1.00"), Decimal("2.00")),
    "gpt-4o": Price(Decimal("2.50"), Decimal("10.00"), cache_read=Decimal("1.25")),
    "gpt-4o-mini": Price(Decimal("0.15"), Decimal("0.60"), cache_read=Decimal("0.075")),
    "gpt-4.1": Price(Decimal("2.00"), Decimal("8.00"), cache_read=Decimal("0.50")),
    "gpt-4.1-mini": Price(Decimal("0.40"), Decimal("1.60"), cache_read=Decimal("0.10")),
    "gpt-4.1-nano": Price(Decimal("0.10"), Decimal("0.40"), cache_read=Decimal("0.025")),
    "claude-sonnet-4-5": Price(Decimal("3.00"), Decimal("15.00"), Decimal("0.30"), Decimal("3.75")),
    "claude-haiku-4-5": Price(Decimal("1.00"), Decimal("5.00"), Decimal("0.10"), Decimal("1.25")),
    "claude-opus-4-1": Price(Decimal("15.00"), Decimal("75.00"), Decimal("1.50"), Decimal("18.75")),
}


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens


class PriceTable:
    """Prices by model name; a model without a price is a configuration error, never a free call."""

    def __init__(self, overrides: Mapping[str, Mapping[str, Decimal]] | None = None) -> None:
        self._prices = dict(BUILT_IN_PRICES)
        for model, fields in (overrides or {}).items():
            try:
                self._prices[model] = Price(**fields)
            except TypeError as e:
                raise ConfigurationError(
                    f"PRICES[{model!r}] takes input, output, cache_read and cache_write (USD per million tokens)"
                ) from e

    def price(self, model: str) -> Price:
        """The price of a model, or ConfigurationError naming the setting that adds one."""
        try:
            return self._prices[model]
        except KeyError:
            raise ConfigurationError(
                f"model {model!r} has no price; add it to PRICES, e.g. "
                f'{{"{model}": {{"input": 1.0, "output": 2.0}}}} (USD per million tokens)'
            ) from None

    def cost_micros(self, model: str, usage: Usage) -> int:
        """What a call cost, in micro-USD, rounded up so a tiny call is never free."""
        p = self.price(model)
        usd_micros = (
            usage.input_tokens * p.input
            + usage.output_tokens * p.output
            + usage.cache_read_tokens * (p.cache_read if p.cache_read is not None else p.input)
            + usage.cache_write_tokens * (p.cache_write if p.cache_write is not None else p.input)
        )  # tokens x USD per million tokens = micro-USD
        return math.ceil(usd_micros)

    def worst_case_micros(self, model: str, input_token_bound: int, max_output_tokens: int) -> int:
        """The most a call can cost: every input token at the dearest input rate, plus max output."""
        p = self.price(model)
        dearest_input = max(x for x in (p.input, p.cache_read, p.cache_write) if x is not None)
        return math.ceil(input_token_bound * dearest_input + max_output_tokens * p.output)


def micros_to_cents(micros: int) -> float:
    """Micro-USD as cents with decimals, the unit the API shows."""
    return float(Decimal(micros) / MICROS_PER_CENT)


def cents_to_micros(cents: Decimal) -> int:
    """A limit in cents as micro-USD (rounded down, so a limit is never exceeded by rounding)."""
    return int(cents * MICROS_PER_CENT)
