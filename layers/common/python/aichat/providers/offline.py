"""A deterministic local model for development and tests: no network, real token counts, a real price.

Offered tools, it calls `create_ticket` when the last message asks to "create a ticket" and `escalate_to_human` when
it asks to "talk to a person"; "use <tool>" calls that offered tool (a custom one too), its required string
arguments taken from the words after. After a tool turn it answers from the results.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from aichat.core.pricing import Usage
from aichat.core.provider_catalog import key_variable_names
from aichat.providers.interface import (
    Completion,
    CompletionRequest,
    StreamPart,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Turn,
)

if TYPE_CHECKING:
    from aichat.core.settings import Settings

_TOKEN = re.compile(r"\w+|[^\w\s]")
# A streamed word: the word and the spaces after it (or leading spaces), so the deltas join to the reply exactly.
_WORD = re.compile(r"\s*\S+\s*|\s+")
_PER_MESSAGE = 4
_CREATE_TICKET = re.compile(r"create a ticket", re.IGNORECASE)
_TALK_TO_A_PERSON = re.compile(r"talk to a person", re.IGNORECASE)
# What is trimmed from the start of a ticket's title: "create a ticket: …", "create a ticket - …".
_LEADING = " \t\r\n:;,.-\u2013\u2014"
_TITLE_LIMIT = 200
_REASON_LIMIT = 500


def count_tokens(text: str) -> int:
    """Words and punctuation marks: a stand-in tokenizer that always undercounts UTF-8 bytes."""
    return len(_TOKEN.findall(text))


class OfflineProvider:
    """Answers from the conversation itself, so the same request always gets the same reply."""

    name = "offline"

    def __init__(self, pause_seconds: float = 0.0) -> None:
        self._pause = pause_seconds

    def stream(self, request: CompletionRequest) -> Iterator[StreamPart]:
        """The same reply as `complete`, word by word, pausing `pause_seconds` before each word."""
        return self.stream_completion(self.complete(request))

    def stream_completion(self, completion: Completion) -> Iterator[StreamPart]:
        """A finished completion as the stream that would have sent it: its text word by word, then each tool
        call's arguments word by word, then itself."""
        pieces: list[TextDelta | ToolCallDelta] = [TextDelta(word) for word in _WORD.findall(completion.text)]
        pieces += [ToolCallDelta(index, word) for index, call in enumerate(completion.tool_calls)
                   for word in _WORD.findall(call.arguments)]
        for piece in pieces:
            if self._pause:
                time.sleep(self._pause)
            yield piece
        yield completion

    def complete(self, request: CompletionRequest) -> Completion:
        last = request.messages[-1] if request.messages else None
        call = _tool_call(request, last) if last is not None and last.role == "user" else None
        if call is not None:
            return self._calling(request, call)
        if last is not None and last.role == "tool":
            reply = _from_results(request.messages)
        else:
            reply = _plain_reply(request.messages)
        tokens = _TOKEN.findall(reply)
        stop_reason = "end_turn"
        if len(tokens) > request.max_tokens:
            reply = " ".join(tokens[: request.max_tokens])
            stop_reason = "max_tokens"
        return self._completion(request, reply, count_tokens(reply), stop_reason)

    def _calling(self, request: CompletionRequest, call: ToolCall) -> Completion:
        output = count_tokens(call.arguments)
        if output > request.max_tokens:
            # Cut off while writing the call, as a real model would be: an unfinished call is no call.
            return self._completion(request, "", request.max_tokens, "max_tokens")
        return self._completion(request, "", output, "tool_calls", (call,))

    def _completion(self, request: CompletionRequest, text: str, output: int, stop_reason: str,
                    calls: tuple[ToolCall, ...] = ()) -> Completion:
        return Completion(text=text, usage=Usage(input_tokens=_input_tokens(request), output_tokens=output),
                          model=request.model, provider=self.name, stop_reason=stop_reason, tool_calls=calls)


def _input_tokens(request: CompletionRequest) -> int:
    """Every text the request carries, a little per message, and each tool's definition."""
    tokens = count_tokens(request.system) + sum(count_tokens(t) for m in request.messages for t in m.texts())
    tokens += _PER_MESSAGE * (len(request.messages) + 1)
    tokens += sum(count_tokens(json.dumps([t.name, t.description, t.parameters])) + _PER_MESSAGE
                  for t in request.tools)
    return tokens


def _plain_reply(messages: tuple[Turn, ...]) -> str:
    last = next((m.content for m in reversed(messages) if m.role == "user"), "")
    earlier = sum(1 for m in messages if m.role == "user") - 1
    return (
        f"(offline model) You said: \u201c{_clip(last, 200)}\u201d. "
        f"I can see {earlier} earlier message{'s' if earlier != 1 else ''} in this conversation. "
        f"Set {' or '.join(key_variable_names())} for real answers."
    )


def _tool_call(request: CompletionRequest, last: Turn) -> ToolCall | None:
    """The call the last user message asks for, if the tool it needs is offered."""
    offered = {tool.name for tool in request.tools}
    text = last.content
    asked = _CREATE_TICKET.search(text)
    if asked is not None and "create_ticket" in offered:
        title = text[asked.end():].strip().lstrip(_LEADING)[:_TITLE_LIMIT].strip()
        arguments: dict[str, Any] = {"title": title or "Support request",
                                     "priority": "urgent" if "urgent" in text.lower() else "normal",
                                     "description": None}
        return _call(request, text, "create_ticket", arguments)
    if _TALK_TO_A_PERSON.search(text) is not None and "escalate_to_human" in offered:
        return _call(request, text, "escalate_to_human", {"reason": text[:_REASON_LIMIT]})
    for tool in request.tools:
        used = re.search(rf"\buse\s+{re.escape(tool.name)}(?![\w-])", text, re.IGNORECASE)
        if used is not None:
            return _call(request, text, tool.name, _arguments_from(tool, text[used.end():]))
    return None


def _arguments_from(tool: ToolSpec, text: str) -> dict[str, Any]:
    """The tool's required string arguments, in its schema's order, from the words of the text: one word each, the
    last taking the rest ("use line_status 4411" gives {"subscriber_id": "4411"})."""
    properties = tool.parameters.get("properties", {})
    names = [name for name in tool.parameters.get("required", [])
             if "string" in _types(properties.get(name, {}))]
    words = text.strip().lstrip(_LEADING).split(maxsplit=max(len(names) - 1, 0))
    return {name: words[i] if i < len(words) else "" for i, name in enumerate(names)}


def _types(schema: Any) -> list[Any]:
    kind = schema.get("type") if isinstance(schema, dict) else None
    return kind if isinstance(kind, list) else [kind]


def _call(request: CompletionRequest, text: str, name: str, arguments: dict[str, Any]) -> ToolCall:
    digest = hashlib.sha256(f"{request.model}\n{text}\n{name}".encode()).hexdigest()
    return ToolCall(id="call_" + digest[:24], name=name, arguments=json.dumps(arguments))


def _from_results(messages: tuple[Turn, ...]) -> str:
    """A sentence per result of the last tool turn, read with the call it answers."""
    results = messages[-1].tool_results
    asked = messages[-2].tool_calls if len(messages) > 1 else ()
    calls = {call.id: call for call in asked}
    sentences = []
    for result in results:
        call = calls.get(result.call_id)
        name = call.name if call is not None else "tool"
        content = _json(result.content)
        if result.is_error:
            error = _error_message(content)
            sentences.append(f"The {name} call failed: {error}." if error else f"The {name} call failed.")
        elif name == "create_ticket" and isinstance(content, dict) and "id" in content:
            arguments = _json(call.arguments) if call is not None else None
            arguments = arguments if isinstance(arguments, dict) else {}
            sentences.append(f"Ticket created: {arguments.get('title')} ({arguments.get('priority')}), "
                             f"id {content['id']}.")
        else:
            sentences.append(f"The {name} call returned: {_clip(result.content, 200)}.")
    return " ".join(sentences) or "(offline model) The tools returned nothing."


def _error_message(content: Any) -> str | None:
    """The message of an error result: {"error": "…"} or {"error": {"message": "…"}}."""
    error = content.get("error") if isinstance(content, dict) else None
    if isinstance(error, dict):
        error = error.get("message")
    return _clip(error.rstrip("."), 200) if isinstance(error, str) and error else None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def build(settings: Settings, api_key: str | None, base_url: str | None) -> OfflineProvider:
    """The provider as its catalog entry builds it: no key, no server."""
    return OfflineProvider(pause_seconds=settings.OFFLINE_STREAM_PAUSE_SECONDS)
