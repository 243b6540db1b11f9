"""The providers this product knows, each fact about them declared once: names, key and base URL settings, default
models, prices, and where the adapter that builds one lives.

Imports no SDK: settings, pricing, error messages, the registry and the local server's banner all read it. Adding a
provider is one adapter module and one entry here (docs/providers.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Price:
    """USD per million tokens; cache reads and writes default to the input price when a provider has none."""

    input: Decimal
    output: Decimal
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None


@dataclass(frozen=True)
class Known:
    """One provider: display name, default model, key and base URL settings, prices, and its `module:function` build."""

    display: str
    default_model: str
    key_variable: str | None = None  # None: needs no key
    # A "module:function" path, imported on first use only so a function that never calls this provider never loads
    # its SDK; the function takes (settings, api_key, base_url) and returns a Provider.
    build: str = ""
    base_url_variable: str | None = None
    prices: Mapping[str, Price] = field(default_factory=dict)  # USD per million tokens, by model
    # Signs its calls with the function's own AWS credentials (Bedrock): needs no key, yet calls an SDK. AWS
    # credentials are always present in Lambda, so such a provider is never "the first configured": only chosen.
    aws: bool = False

    def key_settings(self) -> tuple[str, ...]:
        """The settings that can hold the key: the key itself, a Secrets Manager secret, an SSM parameter."""
        if self.key_variable is None:
            return ()
        return (self.key_variable, f"{self.key_variable}_SECRET", f"{self.key_variable}_PARAMETER")

    def settings(self) -> tuple[str, ...]:
        """Every environment variable this provider reads: its key settings and its base URL."""
        return (*self.key_settings(), *((self.base_url_variable,) if self.base_url_variable else ()))

    @property
    def adapter(self) -> str | None:
        """The module to import ahead of a call (SnapStart's snapshot): a provider with a key calls an SDK."""
        return self.build.partition(":")[0] if (self.key_variable or self.aws) and self.build else None


def _openai(input: str, output: str, cached: str) -> Price:
    # OpenAI bills cache writes as plain input; only cache hits are cheaper.
    return Price(Decimal(input), Decimal(output), cache_read=Decimal(cached))


def _anthropic(input: str, output: str, cache_hit: str, cache_write: str) -> Price:
    # cache_write is the 5-minute rate: the adapters never ask for 1-hour caching.
    return Price(Decimal(input), Decimal(output), cache_read=Decimal(cache_hit), cache_write=Decimal(cache_write))


_OPUS = _anthropic("5.00", "25.00", "0.50", "6.25")
_SONNET_4 = _anthropic("3.00", "15.00", "0.30", "3.75")
_HAIKU_4_5 = _anthropic("1.00", "5.00", "0.10", "1.25")



def _claude_on_bedrock(model: str, global_price: Price) -> dict[str, Price]:
    """A Claude model's inference profiles: global. at Anthropic's own list price, the geographic ones (us., eu.)
    10% dearer, every rate (Bedrock's pricing for Claude 4.5 and later)."""
    def dearer(rate: Decimal) -> Decimal:
        return rate * Decimal("1.1")

    geo = Price(dearer(global_price.input), dearer(global_price.output),
                cache_read=None if global_price.cache_read is None else dearer(global_price.cache_read),
                cache_write=None if global_price.cache_write is None else dearer(global_price.cache_write))
    return {f"global.{model}": global_price, f"us.{model}": geo, f"eu.{model}": geo}


def _nova(input: str, output: str, cache_read: str | None = None) -> Price:
    # Cache reads are priced where the rate was confirmed (Nova Pro); elsewhere at the input rate, never less.
    return Price(Decimal(input), Decimal(output), cache_read=Decimal(cache_read) if cache_read else None)


# Amazon Bedrock, on-demand, USD per million tokens, read on 2026-12-06 (docs/providers.md says from where and what is
# left out). Claude 4.5 and later are called through inference profiles only; Nova by its in-region id, at us-east-1's
# rates (other regions, and the Nova inference profiles, need a PRICES entry).
_BEDROCK: dict[str, Price] = {
    **_claude_on_bedrock("anthropic.claude-haiku-4-5-20251001-v1:0", _HAIKU_4_5),
    **_claude_on_bedrock("anthropic.claude-sonnet-4-5-20250929-v1:0", _SONNET_4),
    **_claude_on_bedrock("anthropic.claude-sonnet-4-6", _SONNET_4),
    **_claude_on_bedrock("anthropic.claude-opus-4-5-20251101-v1:0", _OPUS),
    **_claude_on_bedrock("anthropic.claude-opus-4-6-v1", _OPUS),
    "amazon.nova-micro-v1:0": _nova("0.035", "0.14"),
    "amazon.nova-lite-v1:0": _nova("0.06", "0.24"),
    "amazon.nova-pro-v1:0": _nova("0.80", "3.20", cache_read="0.20"),
}

# Prices are USD per million tokens, from the providers' price lists (developers.openai.com/api/docs/pricing,
# platform.claude.com/docs/en/about-claude/pricing) as of late 2026. PRICES in settings overrides or extends them;
# a model priced by prompt length (Claude Haiku 5.5) is left out, so using it needs a PRICES entry at its top rate.
PROVIDERS: dict[str, Known] = {
    "offline": Known("the offline model", "offline-1", build="aichat.providers.offline:build",
                     prices={"offline-1": Price(Decimal("1.00"), Decimal("2.00"))}),
    "openai": Known("OpenAI", "gpt-4o-mini", "OPENAI_API_KEY", "aichat.providers.openai:build", "OPENAI_BASE_URL", {
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
    }),
    "anthropic": Known("Anthropic", "claude-haiku-4-5", "ANTHROPIC_API_KEY", "aichat.providers.anthropic:build",
                       "ANTHROPIC_BASE_URL", {
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
    }),
    # Amazon Bedrock's Converse API: model ids and cross-region inference profile ids (us., eu., global.).
    "bedrock": Known("Amazon Bedrock", "us.anthropic.claude-haiku-4-5-20251001-v1:0", None,
                     "aichat.providers.bedrock:build", "BEDROCK_ENDPOINT_URL", _BEDROCK, aws=True),
}


def known(provider: str) -> Known:
    """The facts about a provider; an unknown name gets a stand-in built from it."""
    return PROVIDERS.get(provider) or Known(provider, "", f"{provider.upper()}_API_KEY")


def by_preference() -> tuple[str, ...]:
    """The order a deployment with no LLM_PROVIDER picks from (the first whose key is set): the catalog's order."""
    return tuple(name for name, p in PROVIDERS.items() if p.key_variable)


def key_variable_names() -> tuple[str, ...]:
    """Every provider's key variable, in the catalog's order: for messages saying how to get a real model."""
    return tuple(p.key_variable for p in PROVIDERS.values() if p.key_variable)


def variables() -> tuple[str, ...]:
    """Every environment variable any provider reads."""
    return tuple(dict.fromkeys(v for p in PROVIDERS.values() for v in p.settings()))
