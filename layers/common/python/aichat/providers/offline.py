"""A deterministic local model for development and tests: no network, real token counts, a real price."""

from __future__ import annotations

import re

from aichat.pricing import Usage
from aichat.providers import Completion, CompletionRequest

_TOKEN = re.compile(r"\w+|[^\w\s]")
_PER_MESSAGE = 4


def count_tokens(text: str) -> int:
    """Words and punctuation marks: a stand-in tokenizer that always undercounts UTF-8 bytes."""
    return len(_TOKEN.findall(text))


class OfflineProvider:
    """Answers from the conversation itself, so the same request always gets the same reply."""

    name = "offline"

    def complete(self, request: CompletionRequest) -> Completion:
        last = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        earlier = sum(1 for m in request.messages if m.role == "user") - 1
        reply = (
            f"(offline model) You said: \u201c{_clip(last, 200)}\u201d. "
            f"I can see {earlier} earlier message{'s' if earlier != 1 else ''} in this conversation. "
            "Set OPENAI_API_KEY or ANTHROPIC_API_KEY for real answers."
        )
        tokens = _TOKEN.findall(reply)
        stop_reason = "end_turn"
        if len(tokens) > request.max_tokens:
            reply = " ".join(tokens[: request.max_tokens])
            stop_reason = "max_tokens"
        input_tokens = count_tokens(request.system) + sum(count_tokens(m.content) for m in request.messages)
        input_tokens += _PER_MESSAGE * (len(request.messages) + 1)
        return Completion(
            text=reply,
            usage=Usage(input_tokens=input_tokens, output_tokens=count_tokens(reply)),
            model=request.model,
            provider=self.name,
            stop_reason=stop_reason,
        )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
