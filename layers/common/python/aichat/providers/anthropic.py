"""Anthropic through the official `anthropic` SDK's Messages API.

The only module that imports `anthropic`; the registry imports it on first use, so other functions never load it.
"""

from __future__ import annotations

from typing import Any

import anthropic

from aichat.pricing import Usage
from aichat.providers import Completion, CompletionRequest
from aichat.providers.faults import malformed, sdk_faults


class AnthropicProvider:
    """Messages with the system prompt in `system`; cache reads and writes priced from the usage fields."""

    name = "anthropic"

    def __init__(self, api_key: str, *, base_url: str | None, timeout: float) -> None:
        # max_retries=0: failover retries (with Retry-After and a deadline); two retry loops would multiply.
        # open_telemetry=False: no spans from inside the SDK; the function's own logs say what happened.
        self._client = anthropic.Anthropic(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0,
                                           open_telemetry=False)

    def complete(self, request: CompletionRequest) -> Completion:
        """One message, or ProviderError / ProviderTimeout / ProviderNotConfigured."""
        messages: list[Any] = [{"role": turn.role, "content": turn.content} for turn in request.messages]
        # No temperature: this SDK no longer offers sampling settings, and current Claude models refuse them.
        options: dict[str, Any] = {}
        if request.timeout_seconds is not None:
            options["timeout"] = request.timeout_seconds
        with sdk_faults(self.name, anthropic):
            response = self._client.messages.create(model=request.model, system=request.system, messages=messages,
                                                    max_tokens=request.max_tokens, **options)
        return _completion(response, request)


def _completion(response: Any, request: CompletionRequest) -> Completion:
    # The SDK builds its models without validation, so check the shape here: a reply we cannot price is no reply.
    try:
        blocks = list(response.content)
        text = "".join(block.text for block in blocks if getattr(block, "type", None) == "text")
        usage = response.usage
        # input_tokens excludes the cached tokens: each prompt token is counted in exactly one of the three.
        counts = Usage(input_tokens=int(usage.input_tokens), output_tokens=int(usage.output_tokens),
                       cache_read_tokens=int(getattr(usage, "cache_read_input_tokens", None) or 0),
                       cache_write_tokens=int(getattr(usage, "cache_creation_input_tokens", None) or 0))
        stop = response.stop_reason
    except (AttributeError, TypeError, ValueError) as e:
        raise malformed() from e
    if not isinstance(text, str) or min(counts.input_tokens, counts.output_tokens, counts.cache_read_tokens,
                                         counts.cache_write_tokens) < 0:
        raise malformed()
    model = response.model if isinstance(getattr(response, "model", None), str) else request.model
    return Completion(text=text, usage=counts, model=model, provider="anthropic", stop_reason=str(stop or "unknown"))
