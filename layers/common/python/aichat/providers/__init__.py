"""The one small interface every model provider implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from aichat.pricing import Usage

# Role markers and message framing cost a few tokens per message on every provider.
_FRAMING_TOKENS_PER_MESSAGE = 8


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class CompletionRequest:
    model: str
    system: str
    messages: tuple[Turn, ...]
    max_tokens: int
    temperature: float | None  # None: the model's own default (some models refuse any other value)
    timeout_seconds: float | None = None  # None: the provider's configured timeout

    def input_token_bound(self) -> int:
        """An upper bound on input tokens: a token is at least one UTF-8 byte, plus framing per message."""
        texts = [self.system, *(m.content for m in self.messages)]
        return sum(len(t.encode()) for t in texts) + _FRAMING_TOKENS_PER_MESSAGE * len(texts)


@dataclass(frozen=True)
class ModelRoute:
    """Which provider, and which of its models, a call goes to."""

    provider: str
    model: str


@dataclass(frozen=True)
class Completion:
    text: str
    usage: Usage
    model: str
    provider: str
    stop_reason: str


class Provider(Protocol):
    """A model behind one call; adapters turn SDK errors into ProviderError/ProviderTimeout."""

    name: str

    def complete(self, request: CompletionRequest) -> Completion: ...
