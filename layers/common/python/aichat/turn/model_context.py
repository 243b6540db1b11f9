"""A session's history as the turns a model is sent, and a turn's first request built from it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aichat.core.errors import SessionNotActive
from aichat.core.identity import Identity
from aichat.core.ids import new_id
from aichat.core.models import ChatRequest
from aichat.core.records import MessageRecord, SessionRecord
from aichat.providers.interface import CompletionRequest, ModelRoute, ToolCall, ToolResult, Turn
from aichat.services.session_routes import new_session
from aichat.turn.context_cache import KeptContext
from aichat.turn.dependencies import TurnDeps


@dataclass(frozen=True)
class PreparedTurn:
    """A turn before anything is reserved: its session (new or stored), its first request, the routes to call."""

    session: SessionRecord
    request: CompletionRequest
    is_new: bool
    routes: list[ModelRoute]
    history: tuple[MessageRecord, ...] = ()  # the session's newest messages the request was built from
    # The version of the session's messages `history` is true at (aichat/table/context_stamps.py): 0 for a new
    # session; None when the read cannot vouch for it (a write had just changed them).
    context_version: int | None = None


def sent_call(record: dict[str, Any]) -> ToolCall:
    """A recorded tool call as a model is sent it: its arguments as recorded (parsed, or the text the model wrote)."""
    arguments = record["arguments"]
    return ToolCall(id=record["id"], name=record["name"],
                    arguments=arguments if isinstance(arguments, str) else json.dumps(arguments))


def replayed(message: MessageRecord) -> list[Turn]:
    """A stored message as the turns a model is sent: a reply's tool calls and results come before its text, and a
    person's reply is a turn of its own, which each provider frames so the model's replies cannot pass for it."""
    if message.role == "agent" and message.handoff:
        return []  # a marker of a person joining or leaving is for people, not the model
    if message.role == "agent":
        # Not an assistant turn marked in its text: the model was once made to repeat such a marker (issue 27 R8).
        return [Turn(role="agent", content=message.content, name=message.agent_name or "A person", ref=message.id)]
    if message.role != "assistant":
        return [Turn(role="user", content=message.content)]
    calls = {c["id"]: c for c in message.function_calls or []}
    turns: list[Turn] = []
    for step in message.tool_steps or []:
        made = [calls[i] for i in step.get("call_ids", []) if i in calls]
        if not made:
            continue
        turns.append(Turn(role="assistant", content=str(step.get("text") or ""),
                          tool_calls=tuple(sent_call(c) for c in made)))
        turns.append(Turn(role="tool", content="", tool_results=tuple(
            ToolResult(call_id=c["id"], content=json.dumps(c["result"]), is_error=c["status"] == "error")
            for c in made)))
    return [*turns, Turn(role="assistant", content=message.content)]


def context_turns(history: Sequence[MessageRecord], message: str) -> tuple[Turn, ...]:
    """The turns a model is sent for `message` after a session's stored messages (oldest first)."""
    turns = [turn for m in history if m.status == "ok" for turn in replayed(m)]
    while turns and turns[0].role != "user":  # providers want the conversation to open with the user
        turns.pop(0)
    return (*turns, Turn(role="user", content=message))


def prepare(deps: TurnDeps, caller: Identity, body: ChatRequest, session_id: str | None, now: str,
            skip: str | None = None, kept: KeptContext | None = None) -> PreparedTurn:
    """The turn's session (new, as this container `kept` it, or read with its newest messages, without the message
    `skip`) and first request."""
    version: int | None
    if session_id is None:
        session = new_session(caller, body.session_type or "customer_support", deps.models.providers,
                              deps.limits.config(caller.tenant_id), new_id(deps.clock()), now, body.context)
        history: list[MessageRecord] = []
        is_new, version = True, 0
    elif kept is not None:
        session, history, is_new, version = kept.session, list(kept.messages), False, kept.version
    else:
        read = deps.store.conversation(session_id, caller, deps.settings.MAX_CONTEXT_MESSAGES, skip)
        session, history, is_new = read.session, read.messages, False
        version = read.stamp.version if read.stamp.quiet_at(deps.clock()) else None
        if session.status not in ("active", "escalated"):
            raise SessionNotActive(session.status)
    context = {**(session.context or {}), **(body.context or {})} if not is_new else session.context
    request = CompletionRequest(
        model=session.model,
        system=deps.models.prompts.system_prompt(session.session_type, context, session.system_prompt),
        messages=context_turns(history, body.message), max_tokens=deps.settings.MAX_TOKENS,
        temperature=deps.settings.TEMPERATURE,
        tools=deps.tools.specs(deps.tools.for_session(session)),
    )
    return PreparedTurn(session=session, request=request, is_new=is_new,
                        routes=deps.models.providers.routes(session.provider, session.model),
                        history=tuple(history), context_version=version)
