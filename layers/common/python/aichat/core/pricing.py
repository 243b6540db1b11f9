"""Model prices and cost arithmetic. Money is integer micro-USD so that DynamoDB's ADD stays exact."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation

from aichat.core.errors import ConfigurationError
from aichat.core.provider_catalog import PROVIDERS, Price

MICROS_PER_CENT = 10_000


def built_in_prices() -> dict[str, Price]:
    """Every price the provider catalog declares, by model (read at call time, so a catalog entry added counts)."""
    return {model: price for provider in PROVIDERS.values() for model, price in provider.prices.items()}


PRICE_FIELDS = tuple(f.name for f in fields(Price))


def price_problem(model: str, price: Mapping[str, object]) -> str | None:
    """What is wrong with one PRICES entry, in a sentence naming the setting and the model; None if nothing is."""
    where = f"PRICES[{json.dumps(model)}]"
    if set(price) - set(PRICE_FIELDS) or not {"input", "output"} <= set(price):
        return f"{where} takes input and output, and optionally cache_read and cache_write (USD per million tokens)"
    for name, value in price.items():
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            amount = Decimal("NaN")
        # A negative price would hand money back on every call, lowering the day's spend below what was spent; NaN
        # or infinity would make every budget comparison meaningless.
        if not amount.is_finite() or amount < 0:
            return f"{where}.{name} must be a finite number >= 0 (USD per million tokens), not {value}"
    return None


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
        self._prices = built_in_prices()
        for model, price in (overrides or {}).items():
            problem = price_problem(model, price)
            if problem:
                raise ConfigurationError(problem)
            self._prices[model] = Price(**price)

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
