"""Anthropic through the official `anthropic` SDK's Messages API.

The only module that imports `anthropic`; the registry imports it on first use, so other functions never load it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import anthropic

# As in aichat.providers.openai: the transport the SDK's first request would import, loaded with the SDK.
import httpcore2  # noqa: F401
import httpx2  # the SDK's transport: sdk_faults maps its errors too

from aichat.core.pricing import Usage
from aichat.providers.faults import incomplete, malformed, not_configured, sdk_faults
from aichat.providers.interface import (
    Completion,
    CompletionRequest,
    ProviderStream,
    StreamPart,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Turn,
    people_note,
)
from aichat.providers.tool_use import StreamedCall, fitting_id, tool_call

# How this API's own tool-call ids begin: an id from another provider that does not fit is mapped to one.
_ID_PREFIX = "toolu_"

if TYPE_CHECKING:
    from aichat.core.settings import Settings


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
        with sdk_faults(self.name, anthropic, httpx2):
            response = self._client.messages.create(**_arguments(request))
        return _completion(response, request)

    def stream(self, request: CompletionRequest) -> ProviderStream:
        """The message as it is written: text and argument pieces, then the Completion (see Provider.stream)."""
        return ProviderStream(partial(self._stream, request))

    def _stream(self, request: CompletionRequest, line: ProviderStream) -> Generator[StreamPart, None, None]:
        reply = _StreamedReply(request.model)
        with sdk_faults(self.name, anthropic, httpx2):
            events = self._client.messages.create(**_arguments(request), stream=True)
            # `events` closes the HTTP stream when the caller stops early (GeneratorExit) or anything fails; `line`
            # lets another thread hang it up while a read waits on Anthropic.
            with events, line.reading(events.response):
                for event in events:
                    yield from reply.add(event)
        yield reply.completion()


def _arguments(request: CompletionRequest) -> dict[str, Any]:
    """The messages.create() arguments a request becomes, streamed or not."""
    # No temperature: this SDK no longer offers sampling settings, and current Claude models refuse them.
    # The Messages API has no system message among the turns: a person's replies are framed on the user's side, and
    # the system prompt, which only the caller writes, lists them by id (see _message).
    note = people_note(request.messages)
    arguments: dict[str, Any] = {"model": request.model,
                                 "system": f"{request.system}\n\n{note}" if note else request.system,
                                 "messages": _messages(request.messages), "max_tokens": request.max_tokens}
    if request.timeout_seconds is not None:
        arguments["timeout"] = request.timeout_seconds
    if request.tools:
        arguments["tools"] = [_tool(spec) for spec in request.tools]
    return arguments


def _tool(spec: ToolSpec) -> dict[str, Any]:
    return {"name": spec.name, "description": spec.description, "input_schema": dict(spec.parameters)}


def _messages(turns: tuple[Turn, ...]) -> list[Any]:
    """The turns as Messages API messages, roles alternating: a tool turn is a `user` message of tool_result
    blocks, an assistant turn that says nothing is left out, and consecutive messages of one role (tool results, then
    the user's next words; the user's words around a reply left out) become one."""
    messages: list[dict[str, Any]] = []
    for turn in turns:
        if _says_nothing(turn):
            # A reply stopped before its first token, or an empty answer: the API refuses an empty assistant message
            # (but the last), so sending it would fail every later turn of the session.
            continue
        role, content = _message(turn)
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"] = _blocks(messages[-1]["content"]) + _blocks(content)
        else:
            messages.append({"role": role, "content": content})
    return messages


def _says_nothing(turn: Turn) -> bool:
    """An assistant turn with no text (whitespace is none) and no tool calls: nothing the API would accept."""
    return turn.role == "assistant" and not turn.tool_calls and not _has_text(turn.content)


def _has_text(text: str) -> bool:
    # The API refuses a text block of whitespace only ("must contain non-whitespace text"), as it does an empty one.
    return bool(text.strip())


def _message(turn: Turn) -> tuple[str, str | list[dict[str, Any]]]:
    if turn.role == "tool":
        return "user", [{"type": "tool_result", "tool_use_id": fitting_id(result.call_id, _ID_PREFIX),
                         "content": result.content, "is_error": result.is_error} for result in turn.sent_results()]
    if turn.role == "assistant" and turn.tool_calls:
        text = [{"type": "text", "text": turn.text()}] if _has_text(turn.content) else []
        return "assistant", text + [{"type": "tool_use", "id": fitting_id(call.id, _ID_PREFIX), "name": call.name,
                                     "input": _input(call.arguments)} for call in turn.sent_calls()]
    if turn.role == "agent":
        # A block of its own on the user's side (the model writes only the assistant's): the customer's text beside
        # it is escaped, so this frame is the only one, and the system prompt names it.
        return "user", [{"type": "text", "text": turn.text()}]
    return turn.role, turn.text()


def _blocks(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Content as a list of blocks; empty text is left out (the API refuses an empty text block)."""
    if isinstance(content, list):
        return content
    return [{"type": "text", "text": content}] if _has_text(content) else []


def _input(arguments: str) -> dict[str, Any]:
    """The arguments a call was made with, as the object tool_use carries; {} when they are not a JSON object."""
    try:
        value = json.loads(arguments)
    except (ValueError, RecursionError):  # nested past the parser's own limit: not an object we can send back
        return {}
    return value if isinstance(value, dict) else {}


def _tool_calls(blocks: list[Any]) -> tuple[ToolCall, ...]:
    """The tool_use blocks of the answer, in order, with their input as JSON text."""
    return tuple(tool_call(block.id, block.name, block.input) for block in blocks
                 if getattr(block, "type", None) == "tool_use")


# Every count Anthropic reports; a message_delta may repeat any of them, cumulative, so the last value is the count.
_USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def _reported(usage: Any) -> dict[str, int]:
    """The counts a usage object carries; a field left out or null is not reported."""
    try:
        return {name: int(value) for name in _USAGE_FIELDS if (value := getattr(usage, name, None)) is not None}
    except (TypeError, ValueError) as e:
        raise malformed() from e


def _usage(counts: Mapping[str, int]) -> Usage:
    """The counts as priced: input and output must have been reported, the cache counts default to 0."""
    if "input_tokens" not in counts or "output_tokens" not in counts:
        raise malformed()
    # input_tokens excludes the cached tokens: each prompt token is counted in exactly one of the three.
    usage = Usage(input_tokens=counts["input_tokens"], output_tokens=counts["output_tokens"],
                  cache_read_tokens=counts.get("cache_read_input_tokens", 0),
                  cache_write_tokens=counts.get("cache_creation_input_tokens", 0))
    if min(usage.input_tokens, usage.output_tokens, usage.cache_read_tokens, usage.cache_write_tokens) < 0:
        raise malformed()
    return usage


def _completion(response: Any, request: CompletionRequest) -> Completion:
    # The SDK builds its models without validation, so check the shape here: a reply we cannot price is no reply.
    try:
        blocks = list(response.content)
        text = "".join(block.text for block in blocks if getattr(block, "type", None) == "text")
        calls = _tool_calls(blocks)
        counts = _usage(_reported(response.usage))
        stop = response.stop_reason
    except (AttributeError, TypeError, ValueError) as e:
        raise malformed() from e
    if not isinstance(text, str):
        raise malformed()
    model = response.model if isinstance(getattr(response, "model", None), str) else request.model
    return Completion(text=text, usage=counts, model=model, provider="anthropic", stop_reason=str(stop or "unknown"),
                      tool_calls=calls)


@dataclass
class _StreamedReply:
    """A streamed message as its events arrive; `completion()` once they have all come."""

    model: str
    texts: list[str] = field(default_factory=list)
    calls: dict[int, StreamedCall] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    finished: bool = False  # a message_delta came: the usage is final
    stop: str | None = None

    def add(self, event: Any) -> list[TextDelta | ToolCallDelta]:
        """Take in one event; the parts of the reply it carries."""
        # Unvalidated models, as in _completion: check every field this reads.
        try:
            take = _TAKES.get(event.type)  # the others (content_block_stop, message_stop) carry nothing
            return take(self, event) if take else []
        except (AttributeError, TypeError) as e:
            raise malformed() from e

    def _text(self, text: Any) -> list[TextDelta | ToolCallDelta]:
        if not isinstance(text, str):
            raise malformed()
        if not text:
            return []
        self.texts.append(text)
        return [TextDelta(text)]

    def _message_start(self, event: Any) -> list[TextDelta | ToolCallDelta]:
        message = event.message
        if isinstance(getattr(message, "model", None), str) and message.model:
            self.model = message.model
        self.counts.update(_reported(message.usage))
        return []

    def _content_block_start(self, event: Any) -> list[TextDelta | ToolCallDelta]:
        block = event.content_block
        if block.type == "tool_use":
            self.calls[event.index] = StreamedCall(block.id, block.name, index=len(self.calls))
        return self._text(block.text) if block.type == "text" else []

    def _content_block_delta(self, event: Any) -> list[TextDelta | ToolCallDelta]:
        delta = event.delta
        if delta.type == "input_json_delta":
            call = self.calls.get(event.index)
            if call is None or not isinstance(delta.partial_json, str):
                raise malformed()
            call.pieces.append(delta.partial_json)
            return [ToolCallDelta(call.index, delta.partial_json)] if delta.partial_json else []
        # Thinking, signatures, citations: not reply text.
        return self._text(delta.text) if delta.type == "text_delta" else []

    def _message_delta(self, event: Any) -> list[TextDelta | ToolCallDelta]:
        self.counts.update(_reported(event.usage))
        self.finished = True
        self.stop = event.delta.stop_reason or self.stop
        return []

    def completion(self) -> Completion:
        """The whole reply; incomplete() when the stream ended before Anthropic reported its final usage."""
        if not self.finished:
            raise incomplete()
        calls = tuple(call.call() for _, call in sorted(self.calls.items()))
        return Completion(text="".join(self.texts), usage=_usage(self.counts), model=self.model,
                          provider="anthropic", stop_reason=str(self.stop or "unknown"), tool_calls=calls)


# What each event that carries part of the reply adds to it.
_TAKES: dict[str, Callable[[_StreamedReply, Any], list[TextDelta | ToolCallDelta]]] = {
    "message_start": _StreamedReply._message_start, "content_block_start": _StreamedReply._content_block_start,
    "content_block_delta": _StreamedReply._content_block_delta, "message_delta": _StreamedReply._message_delta,
}


def build(settings: Settings, api_key: str | None, base_url: str | None) -> AnthropicProvider:
    """The provider as its catalog entry builds it."""
    if not api_key:
        raise not_configured("anthropic")
    return AnthropicProvider(api_key, base_url=base_url, timeout=settings.LLM_TIMEOUT_SECONDS)
