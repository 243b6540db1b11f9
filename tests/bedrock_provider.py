"""The Bedrock adapter as the registry builds it (botocore's own bedrock-runtime client, retries off), pointed at the
loopback fake in fake_bedrock.py: the one way the Bedrock tests build it."""

from __future__ import annotations

from typing import Any

from fake_bedrock import FakeBedrock

from aichat.core.settings import Settings
from aichat.providers.bedrock import BedrockProvider, build
from aichat.providers.interface import CompletionRequest, Turn

CLAUDE = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA = "amazon.nova-micro-v1:0"


def bedrock_provider(fake: FakeBedrock, timeout: float = 2.0, **settings: Any) -> BedrockProvider:
    """The adapter built from settings, its client's endpoint the fake and `timeout` its read timeout."""
    return build(Settings(LLM_TIMEOUT_SECONDS=timeout, **settings), None, fake.url)


def bedrock_request(model: str = CLAUDE, **changes: Any) -> CompletionRequest:
    fields: dict[str, Any] = dict(model=model, system="You are a support assistant.", max_tokens=64,
                                  temperature=None, messages=(Turn("user", "My router blinks red."),))
    return CompletionRequest(**(fields | changes))
