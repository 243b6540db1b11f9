"""A provider added as a deployer adds one: this module plus one catalog entry (tests/unit/test_provider_extension).

It answers by echoing the last user message, so its key and base URL are only kept, to show what it was built with.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aichat.core.pricing import Usage
from aichat.core.settings import Settings
from aichat.providers.interface import Completion, CompletionRequest, StreamPart, TextDelta, Turn


class EchoProvider:
    """Answers with the last thing the customer said."""

    name = "echo"

    def __init__(self, api_key: str, base_url: str | None) -> None:
        self.api_key = api_key
        self.base_url = base_url

    def complete(self, request: CompletionRequest) -> Completion:
        """The last user message, back."""
        sent = [message for turn in request.messages for message in _messages(turn)]
        last = next((m["content"] for m in reversed(sent) if m["role"] == "user"), "")
        return Completion(f"echo: {last}", Usage(len(sent), 1), request.model, self.name, "end_turn")

    def stream(self, request: CompletionRequest) -> Iterator[StreamPart]:
        """The same reply in one piece, then the completion."""
        completion = self.complete(request)
        yield TextDelta(completion.text)
        yield completion


def _messages(turn: Turn) -> list[dict[str, Any]]:
    """One turn as this API's messages: a person's reply goes on the user's side, framed; tool turns are not sent."""
    if turn.role == "tool":
        return []
    if turn.role == "agent":
        return [{"role": "user", "content": turn.text()}]
    return [{"role": turn.role, "content": turn.text()}]


def build(settings: Settings, api_key: str | None, base_url: str | None) -> EchoProvider:
    """The provider as its catalog entry builds it."""
    assert api_key is not None  # the registry reads the key first: a provider with a key variable always gets one
    return EchoProvider(api_key, base_url)
