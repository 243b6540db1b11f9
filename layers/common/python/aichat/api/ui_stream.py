"""A chat turn as the AI SDK's UI message stream (protocol v1): Server-Sent Events that `useChat` reads.

Each part is one `data: {json}` event; the stream ends with `data: [DONE]`. A step per model call (`start-step`,
`finish-step`), the text as `text-start` / `text-delta` / `text-end`, each tool call as `tool-input-available`
and its outcome as `tool-output-available` or `tool-output-error` (dynamic tools: the client declares none), the
ids, tokens and cost in `message-metadata`, then `finish`. A turn that ended short of the model's own last word
says why in a `data-ending` part (its code) before the metadata. A failure after the stream began ends with a transient
`data-error` part carrying the API's code, `message-metadata` when a reply was stored, then `error` and `finish` with
reason `error`: `useChat` stops reading at `error`, so what a client needs comes before it (docs/streaming.md).
Every part is strict JSON: a number JSON cannot write (NaN, ±Infinity) goes out as null, as JSON.stringify writes it.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from typing import Any, TypeGuard

from aichat.core.errors import ChatError
from aichat.core.logs import logger
from aichat.core.models import GUARDRAIL_INTERVENED, TAKEN_BY_PERSON, ChatResponse
from aichat.turn.stream_events import ReplyText, StepStarted, ToolRan, TurnEvent, TurnStarted

# The response headers of a UI message stream; no-transform and X-Accel-Buffering keep proxies from holding it.
HEADERS = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform",
           "x-vercel-ai-ui-message-stream": "v1", "x-accel-buffering": "no"}
DONE = b"data: [DONE]\n\n"
_INTERNAL = "Something went wrong on our side while answering; the reply so far is kept. Try again shortly."
_PROVIDER_CUT = ("The model provider's reply was cut short; what arrived is kept. Send your message again to "
                 "continue.")
# How an answered turn may end short of its model's last word without having failed: a stop, a hand-over, a person
# taking the session, the step limit, and (by suffix) a budget that refused the next model call. Any other
# `stopped` is an error code.
_ANSWER_ENDINGS = frozenset({"stopped", "escalated", TAKEN_BY_PERSON, "max_tool_steps", GUARDRAIL_INTERVENED})
# Endings whose model call asked for tools that no later call answered.
_AFTER_TOOL_CALLS = frozenset({"escalated", "max_tool_steps"})


def sse(part: dict[str, Any]) -> bytes:
    """One part as a Server-Sent Event whose data is strict JSON (JSON.parse takes it); never raises for a number."""
    try:
        text = _strict_json(part)
    except ValueError:
        # A non-finite float (a model's 1e999 in a tool call's arguments, a tool's NaN): JSON has no such number and
        # the reader would refuse the whole part. Refusing is the tools' job; the stream must still reach its end.
        logger().warning("a stream part held a non-finite number; sent as null", extra={"part_type": part.get("type")})
        text = _strict_json(_finite(part))
    return b"data: " + text.encode() + b"\n\n"


def _strict_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _finite(value: Any) -> Any:
    """`value` with every NaN and ±Infinity replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class UiMessageParts:
    """Turns a turn's events into protocol parts, keeping track of the text part open in the current step."""

    def __init__(self) -> None:
        self._open: str | None = None  # the id of the text part being written, if any
        self._step_text: list[str] = []  # the current (at the end: the last) step's streamed text
        self._in_step = False

    def of(self, event: TurnEvent) -> list[dict[str, Any]]:
        """The parts one event becomes."""
        if isinstance(event, TurnStarted):
            # The reply's stored id, so the client's message is the history's (a message kept for a person has none).
            named = {} if event.reply_id is None else {"messageId": event.reply_id}
            return [{"type": "start", **named, "messageMetadata": {"session_id": event.session_id,
                                                                   "user_message_id": event.user_message_id}}]
        if isinstance(event, StepStarted):
            self._step_text, self._in_step = [], True
            return [{"type": "start-step"}]
        if isinstance(event, ReplyText):
            parts = [] if self._open else self._start_text(f"text-{event.step}")
            self._step_text.append(event.text)
            return [*parts, {"type": "text-delta", "id": self._open, "delta": event.text}]
        if isinstance(event, ToolRan):
            return [*self._end_text(), *_tool_parts(event.record)]
        return self._end_step()

    def finished(self, answer: ChatResponse) -> list[dict[str, Any]]:
        """The closing parts: the answer's text where the stream did not already show it, metadata, finish (for a
        provider failure: the code, metadata, error, finish)."""
        parts = self._end_step()  # a step a failure or a stop cut short is closed too
        streamed = "".join(self._step_text)
        if answer.message and not streamed.startswith(answer.message):
            # Text the turn wrote itself (a hand-over, a limit reached after tools), not the model's stream.
            parts += [*self._start_text("text-answer"),
                      {"type": "text-delta", "id": "text-answer", "delta": answer.message}, *self._end_text()]
        metadata = {"type": "message-metadata",
                    "messageMetadata": {"session_id": answer.session_id, **answer.metadata.model_dump(mode="json")}}
        stopped = answer.metadata.stopped
        if _failed(stopped):
            detail = _PROVIDER_CUT if stopped.startswith("provider_") else _INTERNAL
            return [*parts, *_failure_parts(stopped, detail, answer.session_id, stored=metadata)]
        ending = _ending_code(answer)
        parts += [] if ending is None else [{"type": "data-ending", "data": {"code": ending}}]
        return [*parts, metadata, {"type": "finish", "finishReason": _finish_reason(answer)}]

    def failed(self, error: BaseException, session_id: str | None) -> list[dict[str, Any]]:
        """The closing parts of a turn that raised (nothing was stored): its code, an error to show, finish."""
        if isinstance(error, ChatError):
            code, detail = error.code, error.detail
        else:
            code, detail = "internal_error", _INTERNAL
        return [*self._end_step(), *_failure_parts(code, detail, session_id, stored=None)]

    def _start_text(self, part_id: str) -> list[dict[str, Any]]:
        self._open = part_id
        return [{"type": "text-start", "id": part_id}]

    def _end_step(self) -> list[dict[str, Any]]:
        if not self._in_step:
            return self._end_text()
        self._in_step = False
        return [*self._end_text(), {"type": "finish-step"}]

    def _end_text(self) -> list[dict[str, Any]]:
        if self._open is None:
            return []
        part_id, self._open = self._open, None
        return [{"type": "text-end", "id": part_id}]


def chunks(first: TurnStarted, turn: Iterator[TurnEvent]) -> Iterator[bytes]:
    """Every event of a started turn as SSE bytes, to `[DONE]`; the turn is read to its end whatever happens."""
    parts = UiMessageParts()
    yield from map(sse, parts.of(first))
    try:
        while True:
            try:
                event = next(turn)
            except StopIteration as done:
                closing = parts.finished(done.value)
                break
            yield from map(sse, parts.of(event))
    except Exception as e:
        if not isinstance(e, ChatError):
            logger().exception("stream failed")
        # A part that could not be made leaves the turn suspended: closing it settles or releases it now, before
        # the response ends (a turn that raised is closed already, and closing it again does nothing).
        close = getattr(turn, "close", None)
        if close is not None:
            close()
        closing = parts.failed(e, first.session_id)
    yield from map(sse, closing)
    yield DONE


def _tool_parts(record: dict[str, Any]) -> list[dict[str, Any]]:
    arguments = record.get("arguments")
    if isinstance(arguments, str):
        with contextlib.suppress(ValueError):  # the model's own text, not JSON: shown as it wrote it
            arguments = json.loads(arguments)
    call = {"toolCallId": record["id"], "dynamic": True}
    parts: list[dict[str, Any]] = [{"type": "tool-input-available", **call, "toolName": record["name"],
                                    "input": arguments}]
    if record.get("status") == "error":
        result = record.get("result")
        message = result.get("error") if isinstance(result, dict) else None
        parts.append({"type": "tool-output-error", **call,
                      "errorText": message if isinstance(message, str) else json.dumps(result)})
    else:
        parts.append({"type": "tool-output-available", **call, "output": record.get("result")})
    return parts


def _failure_parts(code: str, detail: str, session_id: str | None,
                   stored: dict[str, Any] | None) -> list[dict[str, Any]]:
    """How a failed turn ends: `data-error`, the stored reply's `message-metadata` (if any), `error`, `finish`."""
    # useChat (AbstractChat) throws at the first `error` part and reads nothing after it, so the API's code and the
    # stored reply's ids and cost go first; `error` is then what useChat shows, and its `finish` is lost to it.
    return [{"type": "data-error", "data": {"code": code, "detail": detail, "session_id": session_id},
             "transient": True},
            *([stored] if stored is not None else []),
            {"type": "error", "errorText": detail},
            {"type": "finish", "finishReason": "error"}]


def _failed(stopped: str | None) -> TypeGuard[str]:
    """Whether a stored answer is what was kept of a failed turn (a cut stream, an error after tools acted)."""
    return not (stopped is None or stopped in _ANSWER_ENDINGS or stopped.endswith("_limit_exceeded"))


def _ending_code(answer: ChatResponse) -> str | None:
    """Why an answered turn ended short of the model's own last word (docs/streaming.md's table), for `data-ending`;
    None when the model's answer is the reply."""
    if answer.status == "waiting_for_person":
        return "waiting_for_person"  # no model was called: the message is with the person who has the session
    return answer.metadata.stopped


def _finish_reason(answer: ChatResponse) -> str:
    """An answered turn's finish reason in the SDK's terms (a failed turn's, `error`, is written by _failure_parts):
    `tool-calls` when the model's last call asked for tools and no call answered them (the step limit, a hand-over,
    a budget that refused the next call), `other` when the turn was ended for it (a stop, a person)."""
    stopped = answer.metadata.stopped
    if stopped is None:
        return "length" if answer.metadata.truncated else "stop"
    if stopped == GUARDRAIL_INTERVENED:
        return "content-filter"
    if answer.status == "answered" and (stopped in _AFTER_TOOL_CALLS or stopped.endswith("_limit_exceeded")):
        return "tool-calls"
    return "other"  # stopped, taken_by_person, a message kept for a person
