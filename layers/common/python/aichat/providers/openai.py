"""OpenAI, or any OpenAI-compatible server, through the official `openai` SDK's chat completions.

The only module that imports `openai`; the registry imports it on first use, so other functions never load it.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import openai

from aichat.pricing import Usage
from aichat.providers import Completion, CompletionRequest, ToolCall, ToolSpec, Turn
from aichat.providers.faults import malformed, sdk_faults

# OpenAI refuses a tool call id longer than this (400 string_above_max_length); ids of other providers are shorter,
# but one from elsewhere that is not is mapped, the same way for the call and its result.
_MAX_ID_LENGTH = 40


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
        for turn in request.messages:
            messages += _messages(turn)
        options: dict[str, Any] = {self._max_tokens_parameter: request.max_tokens}
        if request.temperature is not None:
            options["temperature"] = request.temperature
        if request.timeout_seconds is not None:
            options["timeout"] = request.timeout_seconds
        if request.tools:  # no tool options at all otherwise: a server without tool support still answers
            options["tools"] = [_tool(spec) for spec in request.tools]
        with sdk_faults(self.name, openai):
            response = self._client.chat.completions.create(model=request.model, messages=messages, **options)
        return _completion(response, request)


def _tool(spec: ToolSpec) -> dict[str, Any]:
    """A function tool, in strict mode unless the spec says otherwise: the model's arguments follow `parameters`
    exactly."""
    return {"type": "function", "function": {"name": spec.name, "description": spec.description,
                                             "parameters": dict(spec.parameters), "strict": spec.strict}}


def _messages(turn: Turn) -> list[dict[str, Any]]:
    """One turn as chat messages: a tool turn is one `tool` message per result, each naming its call."""
    if turn.role == "tool":
        return [{"role": "tool", "tool_call_id": _call_id(result.call_id), "content": result.content}
                for result in turn.tool_results]
    if turn.role == "assistant" and turn.tool_calls:
        return [{"role": "assistant", "content": turn.content or None, "tool_calls": [
            {"id": _call_id(call.id), "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in turn.tool_calls]}]
    return [{"role": turn.role, "content": turn.content}]


def _call_id(call_id: str) -> str:
    """The id as OpenAI accepts it: as it is, unless it is empty or too long (one from another provider)."""
    if 0 < len(call_id) <= _MAX_ID_LENGTH:
        return call_id
    return "call_" + hashlib.sha256(call_id.encode()).hexdigest()[:32]


def _tool_calls(message: Any) -> tuple[ToolCall, ...]:
    """The function calls the message asks for, in order; any other kind of call (never offered) is left out."""
    calls = getattr(message, "tool_calls", None) or []
    if not isinstance(calls, list):
        raise malformed()
    parsed = []
    for call in calls:
        if getattr(call, "type", None) != "function":
            continue
        function = call.function
        call_id, name, arguments = call.id, function.name, function.arguments
        if not (isinstance(call_id, str) and call_id and isinstance(name, str) and name
                and isinstance(arguments, str)):
            raise malformed()
        parsed.append(ToolCall(id=call_id, name=name, arguments=arguments))
    return tuple(parsed)


def _completion(response: Any, request: CompletionRequest) -> Completion:
    # The SDK builds its models without validation, so check the shape here: a reply we cannot price is no reply.
    try:
        choice = response.choices[0]
        message = choice.message
        calls = _tool_calls(message)
        text = message.content if message.content is not None else message.refusal
        if text is None and calls:
            text = ""  # content is null beside tool calls
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
        model=model, provider="openai", stop_reason=str(stop or "unknown"), tool_calls=calls,
    )
