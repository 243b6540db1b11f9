"""POST /chat: reserve the worst case, call the model, settle the real cost; release if no answer came.

A turn may take several model calls: when the model asks for tools, they run and the model is called again with
their results, at most MAX_TOOL_STEPS calls in all. Each call reserves its own worst case first; the ledger's
`advance` charges a finished call and reserves the next in one transaction, so no call ever runs unbudgeted.

POST /chat and POST /chat/stream run the same turn (`TurnLoop.run`, a generator of TurnEvents): /chat drains it and
answers with its result, the stream sends each event as it happens. A streamed call that is stopped, or cut after
part of its reply (text or tool-call arguments) arrived, keeps its text and is charged an upper bound of what it used
(never above its reservation): `estimated`.

Whatever fails once the first call is reserved, the turn ends settled (a provider answered: it is charged) or
released (nothing answered) before the generator ends, also when its reader stops reading it. What a model sends
(text, tool-call ids, names and arguments) is made whole (aichat.core.whole_text) as it arrives, so no half of a
character reaches a stream or the table. Each route's tools run within that route's own deadline.

The turn's parts, one job each: aichat.turn.key_claims (the Idempotency-Key's claim and replay), aichat.turn.loop (model
calls, tools, caps), aichat.turn.estimates (what a call may cost before its usage is known),
aichat.turn.settlement (settle, release, refusals, a message kept for a person), aichat.turn.progress (what a
running turn has done), aichat.turn.model_context (history to the turns a model is sent).
"""

from __future__ import annotations

from aichat.core.identity import Identity
from aichat.core.models import ChatRequest, ChatResponse
from aichat.turn.context_cache import ContextCache
from aichat.turn.dependencies import TurnDeps
from aichat.turn.key_claims import claim_for, keyed, replayed_events
from aichat.turn.loop import TurnLoop, TurnRun
from aichat.turn.model_context import replayed
from aichat.turn.progress import MAX_TURN_TOOL_BYTES
from aichat.turn.settlement import TurnSettlement, kept_for_person, response
from aichat.turn.stream_events import TurnEvent

__all__ = ["MAX_TURN_TOOL_BYTES", "STREAM_SETTLE_SECONDS", "ChatService", "TurnRun", "replayed"]

# A stream's reservation may be swept this long after its deadline: room for its tools' last call and the settle.
STREAM_SETTLE_SECONDS = 30


class ChatService:
    """One chat turn, from the caller's message to the stored reply, never past a budget."""

    def __init__(self, deps: TurnDeps) -> None:
        self._deps = deps
        contexts = ContextCache(deps.settings.CONTEXT_CACHE_SESSIONS, deps.settings.MAX_CONTEXT_MESSAGES)
        self._loop = TurnLoop(deps, TurnSettlement(deps.ledger, deps.clock, deps.metrics, deps.people.events,
                                                   contexts))

    def send(self, caller: Identity, body: ChatRequest, remaining_seconds: float | None = None,
             idempotency_key: str | None = None) -> ChatResponse:
        """Answer a message, starting a session when session_id is null.

        `remaining_seconds` is how long this invocation may still run: a turn it leaves pending is swept after.
        With an `idempotency_key` the turn claims the key as it reserves: a retry of an answered turn gets that
        answer back, a retry of one that got no answer runs again in the same session, never charged twice.
        """
        return _drain(self._keyed(caller, body, remaining_seconds, idempotency_key, streamed=False))

    def stream(self, caller: Identity, body: ChatRequest, remaining_seconds: float | None = None,
               idempotency_key: str | None = None) -> TurnRun:
        """The turn as it happens: TurnStarted once its first call is reserved (a refusal raises before it), then
        steps, text deltas and tool calls; the answer is the generator's return value.

        The turn settles before the generator ends, whoever reads it: a caller whose client left reads it to its
        end. A stop asked for through the table (StopFlags) ends the reply where it is, stored as `stopped`. With
        an `idempotency_key`, as for send: a repeat of an answered turn is its stored answer, streamed again.
        """
        deadline = self._deps.settings.STREAM_DEADLINE_SECONDS + STREAM_SETTLE_SECONDS
        remaining = deadline if remaining_seconds is None else min(remaining_seconds, deadline)
        return self._keyed(caller, body, remaining, idempotency_key, streamed=True)

    def replay(self, caller: Identity, session_id: str, reply_id: str) -> tuple[ChatResponse, list[TurnEvent]]:
        """The answer a turn gave and the events its stream showed, rebuilt from its stored reply (for a repeated
        Idempotency-Key)."""
        message = self._deps.store.message(session_id, reply_id, caller)
        if message.role == "user":
            # A message kept for a person has no reply of its own: its answer said a person will reply.
            return kept_for_person(session_id, message.id), []
        answer = response(session_id, message)
        return answer, replayed_events(message, answer)

    def _keyed(self, caller: Identity, body: ChatRequest, remaining_seconds: float | None, key: str | None,
               streamed: bool) -> TurnRun:
        """The turn, claiming `key` as it reserves (aichat.turn.key_claims)."""
        now = self._deps.clock()
        claim = claim_for(caller, body, key, now, self._deps.settings.IDEMPOTENCY_EXPIRY_SECONDS)
        answer: ChatResponse = yield from keyed(
            lambda session_id, claimed: self._loop.run(caller, body, session_id, now, remaining_seconds, claimed,
                                                       streamed),
            lambda session_id, reply_id: self.replay(caller, session_id, reply_id), body.session_id, claim)
        return answer


def _drain(turn: TurnRun) -> ChatResponse:
    """Run a turn to its end, its events unread; its answer."""
    while True:
        try:
            next(turn)
        except StopIteration as done:
            answer: ChatResponse = done.value
            return answer
