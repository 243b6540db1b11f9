"""Anthropic through the official `anthropic` SDK's Messages API.

The only module that imports `anthropic`; the registry imports it on first use, so other functions never load it.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import anthropic

from aichat.pricing import Usage
from aichat.providers import Completion, CompletionRequest, ToolCall, ToolSpec, Turn
from aichat.providers.faults import malformed, sdk_faults

# The tool_use ids the API accepts; an id from another provider that does not fit is mapped (_tool_use_id).
_TOOL_USE_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")


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
        messages = _messages(request.messages)
        # No temperature: this SDK no longer offers sampling settings, and current Claude models refuse them.
        options: dict[str, Any] = {}
        if request.timeout_seconds is not None:
            options["timeout"] = request.timeout_seconds
        if request.tools:
            options["tools"] = [_tool(spec) for spec in request.tools]
        with sdk_faults(self.name, anthropic):
            response = self._client.messages.create(model=request.model, system=request.system, messages=messages,
                                                    max_tokens=request.max_tokens, **options)
        return _completion(response, request)


def _tool(spec: ToolSpec) -> dict[str, Any]:
    return {"name": spec.name, "description": spec.description, "input_schema": dict(spec.parameters)}


def _messages(turns: tuple[Turn, ...]) -> list[Any]:
    """The turns as Messages API messages, roles alternating: a tool turn is a `user` message of tool_result
    blocks, and consecutive messages of one role (tool results, then the user's next words) become one."""
    messages: list[dict[str, Any]] = []
    for turn in turns:
        role, content = _message(turn)
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"] = _blocks(messages[-1]["content"]) + _blocks(content)
        else:
            messages.append({"role": role, "content": content})
    return messages


def _message(turn: Turn) -> tuple[str, str | list[dict[str, Any]]]:
    if turn.role == "tool":
        return "user", [{"type": "tool_result", "tool_use_id": _tool_use_id(result.call_id),
                         "content": result.content, "is_error": result.is_error} for result in turn.tool_results]
    if turn.role == "assistant" and turn.tool_calls:
        text = [{"type": "text", "text": turn.content}] if turn.content else []
        return "assistant", text + [{"type": "tool_use", "id": _tool_use_id(call.id), "name": call.name,
                                     "input": _input(call.arguments)} for call in turn.tool_calls]
    return turn.role, turn.content


def _blocks(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Content as a list of blocks; empty text is left out (the API refuses an empty text block)."""
    if isinstance(content, list):
        return content
    return [{"type": "text", "text": content}] if content else []


def _input(arguments: str) -> dict[str, Any]:
    """The arguments a call was made with, as the object tool_use carries; {} when they are not a JSON object."""
    try:
        value = json.loads(arguments)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _tool_use_id(call_id: str) -> str:
    """The id as the API accepts it: as it is when it fits, else one derived from it (the same for the call and its
    result, so they stay paired)."""
    if _TOOL_USE_ID.fullmatch(call_id):
        return call_id
    return "toolu_" + hashlib.sha256(call_id.encode()).hexdigest()[:32]


def _tool_calls(blocks: list[Any]) -> tuple[ToolCall, ...]:
    """The tool_use blocks of the answer, in order, with their input as JSON text."""
    calls = []
    for block in blocks:
        if getattr(block, "type", None) != "tool_use":
            continue
        call_id, name, arguments = block.id, block.name, block.input
        if not (isinstance(call_id, str) and call_id and isinstance(name, str) and name
                and isinstance(arguments, dict)):
            raise malformed()
        calls.append(ToolCall(id=call_id, name=name, arguments=json.dumps(arguments)))
    return tuple(calls)


def _completion(response: Any, request: CompletionRequest) -> Completion:
    # The SDK builds its models without validation, so check the shape here: a reply we cannot price is no reply.
    try:
        blocks = list(response.content)
        text = "".join(block.text for block in blocks if getattr(block, "type", None) == "text")
        calls = _tool_calls(blocks)
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
    return Completion(text=text, usage=counts, model=model, provider="anthropic", stop_reason=str(stop or "unknown"),
                      tool_calls=calls)

