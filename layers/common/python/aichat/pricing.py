"""Model prices and cost arithmetic. Money is integer micro-USD so that DynamoDB's ADD stays exact."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation

from aichat.errors import ConfigurationError

MICROS_PER_CENT = 10_000


@dataclass(frozen=True)
class Price:
    """USD per million tokens; cache reads and writes default to the input price when a provider has none."""

    input: Decimal
    output: Decimal
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None


def _openai(input: str, output: str, cached: str) -> Price:
    # OpenAI bills cache writes as plain input; only cache hits are cheaper.
    return Price(Decimal(input), Decimal(output), cache_read=Decimal(cached))


def _anthropic(input: str, output: str, cache_hit: str, cache_write: str) -> Price:
    # cache_write is the 5-minute rate: the adapters never ask for 1-hour caching.
    return Price(Decimal(input), Decimal(output), cache_read=Decimal(cache_hit), cache_write=Decimal(cache_write))


_OPUS = _anthropic("5.00", "25.00", "0.50", "6.25")
_SONNET_4 = _anthropic("3.00", "15.00", "0.30", "3.75")
_HAIKU_4_5 = _anthropic("1.00", "5.00", "0.10", "1.25")

# USD per million tokens, from the providers' price lists (developers.openai.com/api/docs/pricing,
# platform.claude.com/docs/en/about-claude/pricing) as of late 2026. PRICES in settings overrides or extends this;
# a model priced by prompt length (Claude Haiku 5.5) is left out, so using it needs a PRICES entry at its top rate.
BUILT_IN_PRICES: dict[str, Price] = {
    "offline-1": Price(Decimal("1.00"), Decimal("2.00")),
    "gpt-5.5": _openai("5.00", "30.00", "0.50"),
    "gpt-5.4": _openai("2.50", "15.00", "0.25"),
    "gpt-5.4-mini": _openai("0.75", "4.50", "0.075"),
    "gpt-5.4-nano": _openai("0.20", "1.25", "0.02"),
    "gpt-5.2": _openai("1.75", "14.00", "0.175"),
    "gpt-5": _openai("1.25", "10.00", "0.125"),
    "gpt-5-mini": _openai("0.25", "2.00", "0.025"),
    "gpt-5-nano": _openai("0.05", "0.40", "0.005"),
    "gpt-4.1": _openai("2.00", "8.00", "0.50"),
    "gpt-4.1-mini": _openai("0.40", "1.60", "0.10"),
    "gpt-4.1-nano": _openai("0.10", "0.40", "0.025"),
    "gpt-4o": _openai("2.50", "10.00", "1.25"),
    "gpt-4o-mini": _openai("0.15", "0.60", "0.075"),
    "claude-fable-5-1": _anthropic("10.00", "50.00", "0.25", "12.50"),
    "claude-fable-5": _anthropic("10.00", "50.00", "1.00", "12.50"),
    "claude-opus-5": _OPUS,
    "claude-opus-4-8": _OPUS,
    "claude-opus-4-7": _OPUS,
    "claude-opus-4-6": _OPUS,
    "claude-opus-4-5": _OPUS,
    "claude-opus-4-5-20251101": _OPUS,
    "claude-sonnet-5-5": _anthropic("2.00", "10.00", "0.10", "2.50"),
    "claude-sonnet-5": _anthropic("2.00", "10.00", "0.20", "2.50"),
    "claude-sonnet-4-6": _SONNET_4,
    "claude-sonnet-4-5": _SONNET_4,
    "claude-sonnet-4-5-20250929": _SONNET_4,
    "claude-haiku-4-5": _HAIKU_4_5,
    "claude-haiku-4-5-20251001": _HAIKU_4_5,
    "claude-opus-4-1": _anthropic("15.00", "75.00", "1.50", "18.75"),
}


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
        self._prices = dict(BUILT_IN_PRICES)
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
