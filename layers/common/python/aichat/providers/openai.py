"""OpenAI, or any OpenAI-compatible server, through the official `openai` SDK's chat completions.

The only module that imports `openai`; the registry imports it on first use, so other functions never load it.
"""

from __future__ import annotations

from typing import Any, Literal

import openai

from aichat.pricing import Usage
from aichat.providers import Completion, CompletionRequest
from aichat.providers.faults import malformed, sdk_faults


class OpenAIProvider:
    """Chat completions with the system prompt as the first message; cached prompt tokens priced as cache reads."""

    name = "openai"

    def __init__(self, api_key: str, *, base_url: str | None, timeout: float,
                 max_tokens_parameter: Literal["max_completion_tokens", "max_tokens"]) -> None:
        # max_retries=0: failover retries (with Retry-After and a deadline); two retry loops would multiply.
        self._client = openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)
        self._max_tokens_parameter = max_tokens_parameter

    def complete(self, request: CompletionRequest) -> Completion:
        """One chat completion, or ProviderError / ProviderTimeout / ProviderNotConfigured."""
        messages: list[Any] = [{"role": "system", "content": request.system}]
        messages += [{"role": turn.role, "content": turn.content} for turn in request.messages]
        options: dict[str, Any] = {self._max_tokens_parameter: request.max_tokens}
        if request.temperature is not None:
            options["temperature"] = request.temperature
        if request.timeout_seconds is not None:
            options["timeout"] = request.timeout_seconds
        with sdk_faults(self.name, openai):
            response = self._client.chat.completions.create(model=request.model, messages=messages, **options)
        return _completion(response, request)


def _completion(response: Any, request: CompletionRequest) -> Completion:
    # The SDK builds its models without validation, so check the shape here: a reply we cannot price is no reply.
    try:
        choice = response.choices[0]
        message = choice.message
        text = message.content if message.content is not None else message.refusal
        usage = response.usage
        prompt = int(usage.prompt_tokens)
        output = int(usage.completion_tokens)
        details = getattr(usage, "prompt_tokens_details", None)
        cached = int(getattr(details, "cached_tokens", None) or 0)
        written = int(getattr(details, "cache_write_tokens", None) or 0)
        stop = choice.finish_reason
    except (AttributeError, IndexError, TypeError, ValueError) as e:
        raise malformed() from e
    if not isinstance(text, str) or min(prompt, output, cached, written) < 0:
        raise malformed()
    model = response.model if isinstance(getattr(response, "model", None), str) else request.model
    return Completion(
        text=text,
        # prompt_tokens counts every prompt token, the cached (and cache-written) ones included.
        usage=Usage(input_tokens=max(prompt - cached - written, 0), output_tokens=output, cache_read_tokens=cached,
                    cache_write_tokens=written),
        model=model, provider="openai", stop_reason=str(stop or "unknown"),
    )
