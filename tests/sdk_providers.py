"""The real OpenAI and Anthropic adapters (their official SDKs) pointed at the loopback fake in fake_providers.py:
the one way the provider tests build them."""

from __future__ import annotations

from typing import Literal

from fake_providers import FakeProviders

from aichat.providers.anthropic import AnthropicProvider
from aichat.providers.interface import Provider
from aichat.providers.openai import OpenAIProvider

APIS = ["openai", "anthropic"]
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}


def real_provider(api: str, fake: FakeProviders, timeout: float = 2.0, *,
                  max_tokens_parameter: Literal["max_completion_tokens", "max_tokens"] = "max_completion_tokens",
                  ) -> Provider:
    """`api`'s adapter ("openai" or "anthropic") talking to the fake, with `timeout` as its read timeout."""
    if api == "openai":
        return OpenAIProvider("sk-test-openai", base_url=fake.openai_url, timeout=timeout,
                              max_tokens_parameter=max_tokens_parameter)
    return AnthropicProvider("sk-ant-test", base_url=fake.anthropic_url, timeout=timeout)
