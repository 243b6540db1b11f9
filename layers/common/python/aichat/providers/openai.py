"""OpenAI, or any OpenAI-compatible server, through the official `openai` SDK's chat completions.

The only module that imports `openai`; the registry imports it on first use, so other functions never load it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

# What the SDK's first request would import (its transport: 51 modules with h11, anyio and truststore), loaded with
# the SDK instead, so a SnapStart snapshot holds them and a restored container's first turn does not pay for them.
import httpcore2  # noqa: F401
import httpx2  # the SDK's transport: sdk_faults maps its errors too
import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk

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

if TYPE_CHECKING:
    from openai._types import RequestOptions  # the options TypedDict create() builds; typing only

    from aichat.core.settings import Settings

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
        with sdk_faults(self.name, openai, httpx2):
            response = self._post(self._arguments(request), stream=False)
        return _completion(response, request)

    def stream(self, request: CompletionRequest) -> ProviderStream:
        """The completion as it is written: text and argument pieces, then the Completion (see Provider.stream)."""
        return ProviderStream(partial(self._stream, request))

    def _stream(self, request: CompletionRequest, line: ProviderStream) -> Generator[StreamPart, None, None]:
        reply = _StreamedReply(request.model)
        with sdk_faults(self.name, openai, httpx2):
            # include_usage: without it OpenAI never says what a streamed reply used.
            chunks = self._post({**self._arguments(request), "stream": True,
                                 "stream_options": {"include_usage": True}}, stream=True)
            # `chunks` closes the HTTP stream when the caller stops early (GeneratorExit) or anything fails; `line`
            # lets another thread hang it up while a read waits on OpenAI.
            with chunks, line.reading(chunks.response):
                for chunk in chunks:
                    yield from reply.add(chunk)
        yield reply.completion()

    def _post(self, body: dict[str, Any], *, stream: bool) -> Any:
        """POST /chat/completions through the SDK's own client (its auth, timeouts, errors and stream reader), with
        the body as built here. Not create(): it first walks every message against the SDK's TypedDicts
        (maybe_transform) to rename and format fields a body of plain JSON values does not have, which was most of
        the SDK's own time before a request left (docs/performance.md) and grows with the history."""
        timeout = body.pop("timeout", None)
        options: RequestOptions = {"security": {"bearer_auth": True}}
        if timeout is not None:
            options["timeout"] = timeout
        return self._client.post("/chat/completions", body=body, cast_to=ChatCompletion, options=options,
                                 stream=stream, stream_cls=openai.Stream[ChatCompletionChunk])

    def _arguments(self, request: CompletionRequest) -> dict[str, Any]:
        """The request body a request becomes, streamed or not (and its timeout, which _post takes out)."""
        note = people_note(request.messages)  # the rule and the ids of a person's replies, if any are sent
        messages: list[Any] = [{"role": "system", "content": f"{request.system}\n\n{note}" if note else
                                request.system}]
        for turn in request.messages:
            messages += _messages(turn)
        arguments: dict[str, Any] = {"model": request.model, "messages": messages,
                                     self._max_tokens_parameter: request.max_tokens}
        if request.temperature is not None:
            arguments["temperature"] = request.temperature
        if request.timeout_seconds is not None:
            arguments["timeout"] = request.timeout_seconds
        if request.tools:  # no tool options at all otherwise: a server without tool support still answers
            arguments["tools"] = [_tool(spec) for spec in request.tools]
        return arguments

def _tool(spec: ToolSpec) -> dict[str, Any]:
    """A function tool, in strict mode unless the spec says otherwise: the model's arguments follow `parameters`
    exactly."""
    return {"type": "function", "function": {"name": spec.name, "description": spec.description,
                                             "parameters": dict(spec.parameters), "strict": spec.strict}}


def _messages(turn: Turn) -> list[dict[str, Any]]:
    """One turn as chat messages: a tool turn is one `tool` message per result, each naming its call; an assistant
    turn with neither text nor tool calls is none; a person's reply is a `system` message holding its frame."""
    if turn.role == "assistant" and not turn.content and not turn.tool_calls:
        # A reply stopped before its first token, or an empty answer: no provider is sent an empty reply (Anthropic
        # refuses one); OpenAI takes the user's messages around it one after the other.
        return []
    if turn.role == "agent":
        # Only the caller writes system messages (the model writes assistant ones, the customer user ones), and the
        # API takes them anywhere in the conversation: so the person's reply keeps its place and nobody can forge it.
        # `system`, not `developer`: every chat model and compatible server takes it (o-series read it as developer).
        return [{"role": "system", "content": turn.text()}]
    if turn.role == "tool":
        return [{"role": "tool", "tool_call_id": _call_id(result.call_id), "content": result.content}
                for result in turn.sent_results()]
    if turn.role == "assistant" and turn.tool_calls:
        return [{"role": "assistant", "content": turn.text() or None, "tool_calls": [
            {"id": _call_id(call.id), "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in turn.sent_calls()]}]
    return [{"role": turn.role, "content": turn.text()}]


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
    return tuple(_call(call.id, call.function.name, call.function.arguments) for call in calls
                 if getattr(call, "type", None) == "function")


def _call(call_id: Any, name: Any, arguments: Any) -> ToolCall:
    """A tool call, if OpenAI sent one: an id, a name and the arguments as text."""
    if not (isinstance(call_id, str) and call_id and isinstance(name, str) and name and isinstance(arguments, str)):
        raise malformed()
    return ToolCall(id=call_id, name=name, arguments=arguments)


def _usage(usage: Any) -> Usage:
    """OpenAI's usage as priced; raises malformed() for anything but counts."""
    try:
        prompt = int(usage.prompt_tokens)
        output = int(usage.completion_tokens)
        details = getattr(usage, "prompt_tokens_details", None)
        cached = int(getattr(details, "cached_tokens", None) or 0)
        written = int(getattr(details, "cache_write_tokens", None) or 0)
    except (AttributeError, TypeError, ValueError) as e:
        raise malformed() from e
    if min(prompt, output, cached, written) < 0:
        raise malformed()
    # prompt_tokens counts every prompt token, the cached (and cache-written) ones included.
    return Usage(input_tokens=max(prompt - cached - written, 0), output_tokens=output, cache_read_tokens=cached,
                 cache_write_tokens=written)

def _completion(response: Any, request: CompletionRequest) -> Completion:
    # The SDK builds its models without validation, so check the shape here: a reply we cannot price is no reply.
    try:
        choice = response.choices[0]
        message = choice.message
        calls = _tool_calls(message)
        text = message.content if message.content is not None else message.refusal
        if text is None and calls:
            text = ""  # content is null beside tool calls
        usage = _usage(response.usage)
        stop = choice.finish_reason
    except (AttributeError, IndexError, TypeError, ValueError) as e:
        raise malformed() from e
    if not isinstance(text, str):
        raise malformed()
    model = response.model if isinstance(getattr(response, "model", None), str) else request.model
    return Completion(text=text, usage=usage, model=model, provider="openai", stop_reason=str(stop or "unknown"),
                      tool_calls=calls)


@dataclass
class _PartialCall:
    """A streamed tool call so far: id, type and name come with its first piece, the arguments in pieces."""

    id: Any = None
    type: Any = None
    name: Any = None
    arguments: list[str] = field(default_factory=list)


@dataclass
class _StreamedReply:
    """A streamed completion as its chunks arrive; `completion()` once they have all come."""

    model: str
    texts: list[str] = field(default_factory=list)
    calls: dict[int, _PartialCall] = field(default_factory=dict)
    usage: Usage | None = None
    stop: str | None = None

    def add(self, chunk: Any) -> list[TextDelta | ToolCallDelta]:
        """Take in one chunk; the parts of the reply it carries: its text, then its pieces of tool arguments."""
        # Unvalidated models, as in _completion: check every field this reads.
        arguments: list[ToolCallDelta] = []
        try:
            if isinstance(getattr(chunk, "model", None), str) and chunk.model:
                self.model = chunk.model
            if getattr(chunk, "usage", None) is not None:
                self.usage = _usage(chunk.usage)
            if not chunk.choices:
                return []  # the usage chunk (include_usage) has no choices
            choice = chunk.choices[0]
            delta = choice.delta
            # A refusal is the model's answer too, as in _completion.
            text = (delta.content or "") + (getattr(delta, "refusal", None) or "")
            for piece in getattr(delta, "tool_calls", None) or []:
                if added := self._add_call(piece):
                    arguments.append(added)
            if choice.finish_reason is not None:
                self.stop = str(choice.finish_reason)
        except (AttributeError, IndexError, TypeError, ValueError) as e:
            raise malformed() from e
        if not isinstance(text, str):
            raise malformed()
        if text:
            self.texts.append(text)
        return [*([TextDelta(text)] if text else []), *arguments]

    def _add_call(self, piece: Any) -> ToolCallDelta | None:
        """Take in one piece of a tool call; the piece of its arguments it carries, if any."""
        index = piece.index
        if not isinstance(index, int):
            raise malformed()
        call = self.calls.setdefault(index, _PartialCall())
        function = getattr(piece, "function", None)
        call.id = piece.id or call.id
        call.type = getattr(piece, "type", None) or call.type
        call.name = getattr(function, "name", None) or call.name
        arguments = getattr(function, "arguments", None)
        if arguments is not None:
            if not isinstance(arguments, str):
                raise malformed()
            call.arguments.append(arguments)
        return ToolCallDelta(index, arguments) if arguments else None

    def completion(self) -> Completion:
        """The whole reply; incomplete() when the stream ended before OpenAI reported its usage."""
        if self.usage is None:
            raise incomplete()
        calls = tuple(_call(call.id, call.name, "".join(call.arguments))
                      for _, call in sorted(self.calls.items()) if call.type in (None, "function"))
        return Completion(text="".join(self.texts), usage=self.usage, model=self.model, provider="openai",
                          stop_reason=self.stop or "unknown", tool_calls=calls)


def build(settings: Settings, api_key: str | None, base_url: str | None) -> OpenAIProvider:
    """The provider as its catalog entry builds it."""
    if not api_key:
        raise not_configured("openai")
    return OpenAIProvider(api_key, base_url=base_url, timeout=settings.LLM_TIMEOUT_SECONDS,
                          max_tokens_parameter=settings.OPENAI_MAX_TOKENS_PARAMETER)
