"""An Idempotency-Key on a turn: its TURNKEY# claim, made as the turn reserves, and what a repeat gets: an answered
turn's answer again, a turn that got no answer run again in the same session, never charged twice."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from aichat.core.errors import IdempotencyKeyReused, RequestInProgress
from aichat.core.identity import Identity
from aichat.core.models import ChatRequest, ChatResponse
from aichat.core.records import MessageRecord
from aichat.table import keys
from aichat.table.ledger.reservations import KeyClaim, KeyTaken
from aichat.turn.loop import TurnRun
from aichat.turn.stream_events import ReplyText, StepFinished, StepStarted, ToolRan, TurnEvent, TurnStarted


def claim_for(caller: Identity, body: ChatRequest, key: str | None, now: datetime,
              expiry_seconds: int) -> KeyClaim | None:
    """The claim a turn makes on `key` as it reserves (None without a key)."""
    at = int(now.timestamp())
    return None if key is None else KeyClaim(
        pk=keys.turn_key_pk(caller.tenant_id, caller.user_id, key), request_hash=_request_hash(body),
        claimed_at=at, expires_at=at + expiry_seconds)


Replay = Callable[[str, str], tuple[ChatResponse, list[TurnEvent]]]


def keyed(run: Callable[[str | None, KeyClaim | None], TurnRun], replay: Replay, session_id: str | None,
          claim: KeyClaim | None) -> TurnRun:
    """The turn `run(session_id, claim)`, claiming its key as it reserves: a repeat of an answered turn gets that
    answer back, with the events its stream showed (`replay(session_id, reply_id)`), a repeat of one that got no
    answer runs again in the same session, never charged twice."""
    turn = run(session_id, claim)
    try:
        first = next(turn)  # the key is claimed (or found taken) before the turn's first event
    except KeyTaken as taken:
        assert claim is not None
        if taken.request_hash != claim.request_hash:
            raise IdempotencyKeyReused() from None
        if taken.status == "ok" and taken.reply_id:
            replayed, events = replay(taken.session_id, taken.reply_id)
            reply_id = replayed.metadata.message_id if replayed.status == "answered" else None
            yield TurnStarted(session_id=taken.session_id, user_message_id=taken.message_id, reply_id=reply_id)
            yield from events
            return replayed
        if taken.status != "failed":
            raise RequestInProgress() from None
        # The earlier turn got no answer and was charged nothing: this retry takes its place, in its session.
        turn = run(taken.session_id, replace(claim, replaces_failed=True))
        try:
            first = next(turn)
        except KeyTaken:
            raise RequestInProgress() from None  # another retry took the failed turn's place first
    yield first
    answer: ChatResponse = yield from turn
    return answer


def _request_hash(body: ChatRequest) -> str:
    """What a retry must repeat exactly to be the same request."""
    return hashlib.sha256(json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def replayed_events(reply: MessageRecord, answer: ChatResponse) -> list[TurnEvent]:
    """The events a stored reply's turn streamed, step by step, so a replay's parts are the first answer's: each
    step that called tools with its text and calls, then the last model call's text. Text the turn wrote itself (a
    hand-over, a limit reached) is not a step's: the stream adds it after the steps, as it did the first time."""
    calls = {call.id: call.model_dump(mode="json") for call in answer.function_calls}
    tool_steps = reply.tool_steps or []
    # A reply stored before `steps` was kept: a last model call when the turn answered or was stopped.
    started = reply.steps or len(tool_steps) + (1 if reply.stopped in (None, "stopped") else 0)
    events: list[TurnEvent] = []
    for step, entry in enumerate(tool_steps, start=1):
        events.append(StepStarted(step))
        if entry.get("text"):
            events.append(ReplyText(step, entry["text"]))
        events += [ToolRan(calls[call_id]) for call_id in entry.get("call_ids", []) if call_id in calls]
        events.append(StepFinished(step))
    if started > len(tool_steps):
        last = len(tool_steps) + 1
        events += [StepStarted(last), *([ReplyText(last, reply.content)] if reply.content else []), StepFinished(last)]
    return events
