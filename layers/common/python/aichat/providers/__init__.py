"""The one small interface every model provider implements."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from aichat.pricing import Usage

# Role markers and message framing cost a few tokens per message on every provider.
_FRAMING_TOKENS_PER_MESSAGE = 8


# What a provider adds to the input when tools are offered: the instructions it writes about them (Anthropic
# documents 346 tokens for Claude 4 with tool_choice auto; OpenAI publishes no figure), with room to spare.
TOOL_USE_OVERHEAD_TOKENS = 600


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the model is offered it: JSON Schema `parameters` in strict form (every property required, the
    optional ones nullable, no additional properties), which both providers accept. A custom tool's schema that
    strict mode cannot take is sent as given with `strict` false (OpenAI then does not hold the model to it)."""

    name: str
    description: str
    parameters: Mapping[str, Any]
    strict: bool = True


@dataclass(frozen=True)
class ToolCall:
    """The model asks for a tool: `arguments` is the JSON text it wrote (not yet parsed, maybe not valid)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ToolResult:
    """What a tool call gave back to the model: JSON text; `is_error` when the call failed."""

    call_id: str
    content: str
    is_error: bool = False


@dataclass(frozen=True)
class Turn:
    """One message of the conversation sent to a model.

    user: `content`. assistant: `content` (may be empty) and the `tool_calls` it made. tool: the `tool_results` of
    the assistant turn just before it, one per call, in the same order.
    """

    role: Literal["user", "assistant", "tool"]
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_results: tuple[ToolResult, ...] = ()

    def texts(self) -> list[str]:
        """Every piece of text this turn puts before the model."""
        return [self.content, *(f"{c.id}{c.name}{c.arguments}" for c in self.tool_calls),
                *(f"{r.call_id}{r.content}" for r in self.tool_results)]


@dataclass(frozen=True)
class CompletionRequest:
    model: str
    system: str
    messages: tuple[Turn, ...]
    max_tokens: int
    temperature: float | None  # None: the model's own default (some models refuse any other value)
    timeout_seconds: float | None = None  # None: the provider's configured timeout
    tools: tuple[ToolSpec, ...] = ()

    def input_token_bound(self) -> int:
        """An upper bound on input tokens: a token is at least one UTF-8 byte, plus framing per message, plus the
        tool definitions and the provider's own instructions about tools when any are offered."""
        texts = [self.system, *(t for m in self.messages for t in m.texts())]
        bound = sum(len(t.encode()) for t in texts) + _FRAMING_TOKENS_PER_MESSAGE * (len(self.messages) + 1)
        bound += _FRAMING_TOKENS_PER_MESSAGE * sum(len(m.tool_calls) + len(m.tool_results) for m in self.messages)
        if self.tools:
            bound += TOOL_USE_OVERHEAD_TOKENS + sum(
                len(json.dumps([t.name, t.description, t.parameters]).encode()) + _FRAMING_TOKENS_PER_MESSAGE
                for t in self.tools)
        return bound


@dataclass(frozen=True)
class ModelRoute:
    """Which provider, and which of its models, a call goes to."""

    provider: str
    model: str


# The stop reasons that mean the model was cut off by max_tokens: OpenAI's "length", Anthropic's (and offline's)
# "max_tokens".
CUT_AT_MAX_TOKENS = frozenset({"length", "max_tokens"})


@dataclass(frozen=True)
class Completion:
    text: str
    usage: Usage
    model: str
    provider: str
    stop_reason: str  # as the provider says it: "stop", "end_turn", "length", "max_tokens", "tool_calls", …
    tool_calls: tuple[ToolCall, ...] = ()  # the tools the model asks for, in its order; () when it answered

    @property
    def cut_at_max_tokens(self) -> bool:
        """The model stopped because it reached max_tokens, not because it was done: the reply is cut short."""
        return self.stop_reason in CUT_AT_MAX_TOKENS


@dataclass(frozen=True)
class TextDelta:
    """A piece of a streamed reply's text, as the provider sent it."""

    text: str


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of a streamed tool call's argument JSON text, as the provider sent it (maybe cut mid-token); `index`
    is the call's place among the reply's tool calls, from 0."""

    index: int
    arguments: str


# What a provider's stream yields: text and tool-call arguments as they come (never an empty piece), then one
# Completion (the whole reply and its usage).
StreamPart = TextDelta | ToolCallDelta | Completion


class Provider(Protocol):
    """A model behind one call; adapters turn SDK errors into ProviderError/ProviderTimeout."""

    name: str

    def complete(self, request: CompletionRequest) -> Completion: ...

    def stream(self, request: CompletionRequest) -> Iterator[StreamPart]:
        """The reply as it is written: TextDelta for each piece of text and ToolCallDelta for each piece of a tool
        call's arguments, then, last, the Completion whose text is every TextDelta joined, with its tool calls
        assembled and the usage the provider reported at the end.

        Every failure raises as `complete` maps it (SDK and transport errors alike); a stream that ends before the
        provider reported its usage raises `incomplete()` (faults). Whether a failure cuts the reply short is not
        the adapter's to say: once a part was yielded, failover makes a transient failure `stream_cut()`. Closing
        the generator closes the provider's HTTP stream, so it stops writing (and billing).
        """
        ...
