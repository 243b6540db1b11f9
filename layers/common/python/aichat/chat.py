"""POST /chat: reserve the worst case, call the model, settle the real cost; release if no answer came.

A turn may take several model calls: when the model asks for tools, they run and the model is called again with
their results, at most MAX_TOOL_STEPS calls in all. Each call reserves its own worst case first; the ledger's
`advance` charges a finished call and reserves the next in one transaction, so no call ever runs unbudgeted.

POST /chat and POST /chat/stream run the same turn (`_run`, a generator of TurnEvents): /chat drains it and answers
with its result, the stream sends each event as it happens. A streamed call that is stopped, or cut after part of
its reply (text or tool-call arguments) arrived, keeps its text and is charged an upper bound of what it used (never
above its reservation): `estimated`.

Whatever fails once the first call is reserved, the turn ends settled (a provider answered: it is charged) or
released (nothing answered) before the generator ends, also when its reader stops reading it. What a model sends
(text, tool-call ids, names and arguments) is made whole (aichat.whole_text) as it arrives, so no half of a
character reaches a stream or the table. Each route's tools run within that route's own deadline.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from aichat import call_records, keys
from aichat.budgets import BudgetRefused, Charge, Counter, Limits, chat_charges, new_session_charge, refusal
from aichat.clock import Clock, iso, utc_day
from aichat.errors import (
    ChatError,
    ConfigurationError,
    IdempotencyKeyReused,
    LimitExceeded,
    ModelNotPriced,
    ProviderError,
    RequestInProgress,
    SessionNotActive,
    TurnNotRecorded,
)
from aichat.events import DomainEvents, customer_messaged
from aichat.identity import Identity
from aichat.ids import new_id
from aichat.ledger import (
    MAX_REPLY_BYTES,
    KeyClaim,
    KeyTaken,
    Reservation,
    TurnLedger,
    TurnOvertaken,
    fit_reply,
    recordable,
    sweep_after,
)
from aichat.logs import logger, request_keys
from aichat.metrics import ChatMetrics
from aichat.models import TAKEN_BY_PERSON, ChatMetadata, ChatRequest, ChatResponse, EscalateRequest, FunctionCall
from aichat.pricing import PriceTable, Usage, micros_to_cents
from aichat.prompts import Prompts
from aichat.providers import (
    Completion,
    CompletionRequest,
    ModelRoute,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolResult,
    Turn,
)
from aichat.providers.failover import Failover, StreamStopped
from aichat.providers.registry import Providers
from aichat.records import MessageRecord, SessionRecord
from aichat.sessions import SessionService
from aichat.settings import Settings
from aichat.stops import StopFlags, StopWatch
from aichat.store import Store
from aichat.tenants import TenantLimitsCache
from aichat.tickets import TicketStore
from aichat.tools import ToolContext, ToolRegistry
from aichat.turn_events import ReplyText, StepFinished, StepStarted, ToolRan, TurnEvent, TurnStarted
from aichat.whole_text import WholePieces, whole

# What the tool calls of one turn may take of its reply's item, results and arguments included: function_calls and
# tool_steps as the item stores them, never more (aichat.call_records bounds each record), so the settle always fits.
MAX_TURN_TOOL_BYTES = 200_000
# A step's entry in tool_steps without its text and ids ({"text": "", "call_ids": []}, and a separator).
_STEP_ENTRY_BYTES = 30
# The most a step's text takes as stored (each character may take up to 12 bytes escaped).
_MAX_STEP_TEXT_BYTES = 8 * 1024
# A model call's text kept beside the tools it called (the model's own thinking aloud; the answer comes after).
MAX_STEP_TEXT = 2_000

_ESCALATED = "I've passed this conversation to a person on our support team; they will follow up here."
_STEP_LIMIT = "I stopped after {steps} steps; the actions listed are what was done."
_PROVIDER_FAILED = ("I did the actions listed, but could not write an answer: the model provider failed. Send your "
                    "message again to continue.")
_BUDGET_STOPPED = "I did the actions listed, but had to stop there:"
_CUT_IN_A_TOOL_CALL = ("The model provider's reply was cut while the model was writing a tool call, so no tool was "
                       "run. Send your message again to continue.")
_INTERRUPTED = ("Something went wrong on our side before I could finish this answer; any actions listed were done. "
                "Send your message again to continue.")
_WITH_A_PERSON = ("A person from our support team has this conversation: your message is with them, and they will "
                  "reply here.")
# A stream's reservation may be swept this long after its deadline: room for its tools' last call and the settle.
STREAM_SETTLE_SECONDS = 30

# A turn as its events, ending with the answer (the generator's return value).
TurnRun = Generator[TurnEvent, None, ChatResponse]


@dataclass(frozen=True)
class _Turn:
    session: SessionRecord
    request: CompletionRequest
    is_new: bool
    routes: list[ModelRoute]


@dataclass(frozen=True)
class _Answer:
    """One model call that answered: the route that did, what it said, what it cost."""

    route: ModelRoute
    completion: Completion
    cost_micros: int
    estimated: bool = False  # a streamed call that ended without the provider's usage: cost is an upper bound


@dataclass
class _Heard:
    """What a streamed model call has sent so far: the route answering, its text (whole, as passed on), and how many
    bytes of text and of tool-call arguments arrived (the provider bills both as output)."""

    route: ModelRoute | None = None
    pieces: list[str] = field(default_factory=list)
    whole: WholePieces = field(default_factory=WholePieces)
    text_bytes: int = 0
    argument_bytes: int = 0

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def anything(self) -> bool:
        """Part of the reply arrived, so the provider billed it."""
        return bool(self.text_bytes or self.argument_bytes)

    @property
    def output_bytes(self) -> int:
        return self.text_bytes + self.argument_bytes


@dataclass
class _Steps:
    """What a turn's model calls and tools have done so far."""

    answers: list[_Answer] = field(default_factory=list)  # answered calls already charged (by the ledger's advance)
    records: list[dict[str, Any]] = field(default_factory=list)  # the calls, as the API shows them
    stored: list[dict[str, Any]] = field(default_factory=list)  # per model call that asked for tools: text, call ids
    turns: list[Turn] = field(default_factory=list)  # the assistant and tool turns to send the model next
    latency_ms: float = 0.0
    tool_bytes: int = 0  # what `records` and `stored` take as the item stores them (at most MAX_TURN_TOOL_BYTES)
    over_reservation: bool = False
    stop_reads: int = 0  # how often a stream read its stop flag
    calls_run: int = 0  # tool calls handed to their tools (refused ones not counted), for MAX_TOOL_CALLS_PER_TURN
    finished: bool = False  # a settle or a release was tried: nothing else may end the turn again

    def room(self) -> int:
        """The tool bytes the turn may still keep, its current step's own entry set aside."""
        return MAX_TURN_TOOL_BYTES - self.tool_bytes - _STEP_ENTRY_BYTES - (0 if self.stored else 2)

    def add_call(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """Keep a call's record in what is left of MAX_TURN_TOOL_BYTES: whole, its arguments cut, or (a model that
        asked for hundreds of calls) not at all; the record as kept."""
        kept = call_records.squeezed(record, self.room() - (0 if self.records else 2))
        if kept is not None:
            self.tool_bytes += call_records.cost(kept) + (0 if self.records else 2)
            self.records.append(kept)
        return kept

    def add_step(self, completion: Completion, records: list[dict[str, Any]], kept: list[dict[str, Any]],
                 results: tuple[ToolResult, ...]) -> None:
        """A model call whose tool calls ran (or were refused): `records` and `results` are all of theirs, in its
        order, `kept` those of them the reply keeps (add_call)."""
        text = completion.text[:MAX_STEP_TEXT]
        if kept:  # its entry's room was set aside as they were kept; a step with none kept is never replayed
            room = min(_MAX_STEP_TEXT_BYTES, self.room() + 2)  # the room set aside holds the text's quotes
            stored = call_records.preview(text, room)
            self.tool_bytes += _STEP_ENTRY_BYTES + (0 if self.stored else 2) + call_records.stored_size(stored) - 2
            self.stored.append({"text": stored, "call_ids": [r["id"] for r in kept]})
        # The calls as recorded (each field bounded, ids as their results name them), as a later turn replays them:
        # the model is never sent back a lone surrogate or an infinity that its own JSON escaped (a provider refuses
        # the request, or its SDK cannot encode it).
        self.turns += [Turn(role="assistant", content=text, tool_calls=tuple(sent_call(r) for r in records)),
                       Turn(role="tool", content="", tool_results=results)]


@dataclass
class _Live:
    """Where a running turn is, for whatever ends it: its reservation now, the request its next model call sends,
    what its calls and tools did, the answered call not charged yet, and what the current call has sent so far."""

    reservation: Reservation
    request: CompletionRequest
    steps: _Steps = field(default_factory=_Steps)
    answer: _Answer | None = None
    heard: _Heard = field(default_factory=_Heard)


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


def _response(session_id: str, reply: MessageRecord) -> ChatResponse:
    """The API's answer for a stored reply."""
    return ChatResponse(
        session_id=session_id, message=reply.content,
        function_calls=[FunctionCall(**c) for c in reply.function_calls or []],
        metadata=ChatMetadata(
            tokens=reply.input_tokens + reply.output_tokens, input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens, cost_cents=micros_to_cents(reply.cost_micros),
            model=reply.model or "", provider=reply.provider or "", message_id=reply.id, truncated=reply.truncated,
            stopped=reply.stopped, estimated=reply.estimated))


def _kept_for_person(session_id: str, message_id: str) -> ChatResponse:
    """The API's answer for a message kept for the person who has the session: nothing was called or charged."""
    return ChatResponse(session_id=session_id, message=_WITH_A_PERSON, status="waiting_for_person",
                        metadata=ChatMetadata(tokens=0, input_tokens=0, output_tokens=0, cost_cents=0.0, model="",
                                              provider="", message_id=message_id, stopped="escalated"))


def _total(usages: Iterable[Usage]) -> Usage:
    total = Usage(0, 0)
    for u in usages:
        total = Usage(total.input_tokens + u.input_tokens, total.output_tokens + u.output_tokens,
                      total.cache_read_tokens + u.cache_read_tokens, total.cache_write_tokens + u.cache_write_tokens)
    return total


class ChatService:
    """One chat turn, from the caller's message to the stored reply, never past a budget."""

    def __init__(self, settings: Settings, store: Store, ledger: TurnLedger, providers: Providers,
                 prices: PriceTable, prompts: Prompts, limits: TenantLimitsCache, clock: Clock, failover: Failover,
                 metrics: ChatMetrics, tools: ToolRegistry, tickets: TicketStore,
                 sessions: SessionService, stops: StopFlags, stream_failover: Failover, events: DomainEvents) -> None:
        self._settings = settings
        self._metrics = metrics
        self._store = store
        self._ledger = ledger
        self._providers = providers
        self._failover = failover
        self._prices = prices
        self._prompts = prompts
        self._limits = limits
        self._clock = clock
        self._tools = tools
        self._tickets = tickets
        self._sessions = sessions
        self._stops = stops
        self._stream_failover = stream_failover
        self._events = events

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
        deadline = self._settings.STREAM_DEADLINE_SECONDS + STREAM_SETTLE_SECONDS
        remaining = deadline if remaining_seconds is None else min(remaining_seconds, deadline)
        return self._keyed(caller, body, remaining, idempotency_key, streamed=True)

    def replay(self, caller: Identity, session_id: str, reply_id: str) -> ChatResponse:
        """The answer a turn gave, rebuilt from its stored reply (for a repeated Idempotency-Key)."""
        message = self._store.message(session_id, reply_id, caller)
        # A message kept for a person has no reply of its own: its answer said a person will reply.
        return _kept_for_person(session_id, message.id) if message.role == "user" else _response(session_id, message)

    def _keyed(self, caller: Identity, body: ChatRequest, remaining_seconds: float | None, key: str | None,
               streamed: bool) -> TurnRun:
        """The turn, claiming `key` as it reserves: a repeat of an answered turn gets that answer back, a repeat
        of one that got no answer runs again in the same session, never charged twice."""
        now = self._clock()
        at = int(now.timestamp())
        claim = None if key is None else KeyClaim(
            pk=keys.turn_key_pk(caller.tenant_id, caller.user_id, key), request_hash=_request_hash(body),
            claimed_at=at, expires_at=at + self._settings.IDEMPOTENCY_EXPIRY_SECONDS)
        turn = self._run(caller, body, body.session_id, now, remaining_seconds, claim, streamed)
        try:
            first = next(turn)  # the key is claimed (or found taken) before the turn's first event
        except KeyTaken as taken:
            assert claim is not None
            if taken.request_hash != claim.request_hash:
                raise IdempotencyKeyReused() from None
            if taken.status == "ok" and taken.reply_id:
                replayed = self.replay(caller, taken.session_id, taken.reply_id)
                yield TurnStarted(session_id=taken.session_id, user_message_id=taken.message_id)
                for call in replayed.function_calls:
                    yield ToolRan(call.model_dump(mode="json"))
                return replayed
            if taken.status != "failed":
                raise RequestInProgress() from None
            # The earlier turn got no answer and was charged nothing: this retry takes its place, in its session.
            turn = self._run(caller, body, taken.session_id, now, remaining_seconds,
                             replace(claim, replaces_failed=True), streamed)
            try:
                first = next(turn)
            except KeyTaken:
                raise RequestInProgress() from None  # another retry took the failed turn's place first
        yield first
        answer: ChatResponse = yield from turn
        return answer

    def _run(self, caller: Identity, body: ChatRequest, session_id: str | None, now: datetime,
             remaining_seconds: float | None, claim: KeyClaim | None, streamed: bool = False) -> TurnRun:
        day = utc_day(now)
        limits = self._limits.for_tenant(caller.tenant_id)
        turn = self._prepare(caller, body, session_id, iso(now))
        if turn.session.status == "escalated":
            # A person has the conversation: their message is kept for them, no model is called, nothing charged.
            slot = Charge(Counter.SESSION_MESSAGES, 1, limits.messages_per_session)
            noted = self._for_person(turn.session, body, now, slot, claim)
            yield TurnStarted(session_id=turn.session.id, user_message_id=noted.metadata.message_id)
            return noted
        self._providers.get(turn.routes[0].provider)  # no key: 503 before anything is reserved or written
        user_message = MessageRecord(id=new_id(now), role="user", content=body.message, created_at=iso(now))
        try:
            reservation = self._ledger.reserve(
                turn.session, turn.is_new, day, chat_charges(limits, self._worst_case(turn, turn.request)),
                user_message, sweep_after(now.timestamp(), remaining_seconds),
                session_charge=new_session_charge(limits) if turn.is_new else None, claim=claim)
        except BudgetRefused as refused:
            raise self._refused(refused, tenant_id=caller.tenant_id,
                                session_id=None if turn.is_new else turn.session.id) from None
        request_keys(session_id=reservation.session_id)  # on every later line, the failover's retries included
        live = _Live(reservation, turn.request)
        try:
            yield TurnStarted(session_id=reservation.session_id, user_message_id=user_message.id)
            answer: ChatResponse = yield from self._steps(caller, now, turn, user_message, limits, live, streamed)
            return answer
        except GeneratorExit:
            # Its reader stopped reading (a failure of its own): the turn still ends here, never left pending.
            try:
                if not live.steps.finished:
                    logger().warning("turn left by its reader; ended here", extra={"step": live.reservation.step,
                                                                                    **_ids(live.reservation)})
                    self._end_early(None, turn, user_message, live)
            except Exception:
                logger().exception("a turn its reader left could not be ended; the sweeper will release it",
                                   extra=_ids(live.reservation))
            raise
        except Exception as e:
            if live.steps.finished:  # settled or released already (or tried to): the error is the turn's answer
                raise
            logger().exception("turn failed after its reservation", extra={"step": live.reservation.step,
                                                                           **_ids(live.reservation)})
            ended = self._end_early(e, turn, user_message, live)
            if ended is None:
                if isinstance(e, ChatError):  # released: the caller retries in the session the turn made
                    e.extra.setdefault("session_id", live.reservation.session_id)
                raise
            return ended

    def _steps(self, caller: Identity, now: datetime, turn: _Turn, user_message: MessageRecord,
               limits: Limits, live: _Live, streamed: bool) -> TurnRun:
        """The turn's model calls, each reserved, and the tools they ask for, to its settled answer."""
        session = replace(turn.session, id=live.reservation.session_id)
        context = ToolContext(caller=caller, session=session, turn_id=user_message.id, now=iso(now),
                              tickets=self._tickets,
                              escalate=lambda reason: self._escalate(caller, session.id, reason))
        steps = live.steps
        watch = self._stops.watch(session.id, user_message.id, self._settings.STOP_CHECK_SECONDS) if streamed else None
        # Each route's own deadline bounds its model calls and its tools alike.
        failover = self._stream_failover if streamed else self._failover
        started = failover.start()
        while True:
            reservation, request = live.reservation, live.request
            called = time.perf_counter()
            live.heard, live.answer = _Heard(), None
            yield StepStarted(reservation.step)
            try:
                answered, completion = yield from self._call(turn.routes, request, started, watch, live.heard,
                                                             reservation.step)
            except StreamStopped:
                steps.stop_reads = watch.reads if watch else 0
                logger().info("stream stopped", extra={"step": reservation.step, **_ids(reservation)})
                yield StepFinished(reservation.step)
                return self._settle(reservation, turn, user_message, steps,
                                    self._estimated(live.heard, turn, request), live.heard.text, "stopped")
            except GeneratorExit:
                raise
            except BaseException as e:
                steps.stop_reads = watch.reads if watch else 0
                return self._failed(e, reservation, turn, user_message, steps, live.heard, request)
            steps.latency_ms += (time.perf_counter() - called) * 1000
            steps.stop_reads = watch.reads if watch else 0
            answer = live.answer = _Answer(answered, completion,
                                           self._prices.cost_micros(answered.model, recordable(completion.usage)))
            if not completion.tool_calls:
                yield StepFinished(reservation.step)
                return self._settle(reservation, turn, user_message, steps, answer, completion.text, None)
            if reservation.step >= self._tools.max_steps:
                # The model wants more steps than a turn may take: answer with what was done.
                text = completion.text or _STEP_LIMIT.format(steps=self._tools.max_steps)
                yield StepFinished(reservation.step)
                return self._settle(reservation, turn, user_message, steps, answer, text, "max_tool_steps")
            if self._stops.taken(session.id, user_message.id):
                # A person took the session while the model answered: their conversation now, so no tool runs.
                logger().info("turn overtaken by a person", extra={"step": reservation.step, **_ids(reservation)})
                yield StepFinished(reservation.step)
                return self._settle(reservation, turn, user_message, steps, answer, "", TAKEN_BY_PERSON)
            ran = len(steps.records)
            ends_turn = self._run_tools(completion, turn, context, steps, lambda: failover.time_left(started))
            for record in steps.records[ran:]:
                yield ToolRan(record)
            yield StepFinished(reservation.step)
            if ends_turn:
                return self._settle(reservation, turn, user_message, steps, answer, _ESCALATED, "escalated")
            request = live.request = replace(request, messages=(*request.messages, *steps.turns[-2:]))
            try:
                live.reservation = self._ledger.advance(
                    reservation, session, answer.cost_micros, recordable(completion.usage).total_tokens,
                    chat_charges(limits, self._worst_case(turn, request)))
            except BudgetRefused as refused:
                error = self._refused(refused, step=reservation.step + 1, **_ids(reservation))
                return self._settle(reservation, turn, user_message, steps, answer,
                                    f"{_BUDGET_STOPPED} {error.detail}", error.code)
            except TurnOvertaken:
                # Taken while its tools ran: no further model call; what they did is kept, the call in hand charged.
                logger().info("turn overtaken by a person", extra={"step": reservation.step, **_ids(reservation)})
                return self._settle(reservation, turn, user_message, steps, answer, "", TAKEN_BY_PERSON)
            # Charged by the advance: from here it is one of the turn's answered calls, not the one in hand.
            steps.over_reservation |= answer.cost_micros > live.reservation.amount_micros
            steps.answers.append(answer)
            live.answer = None

    def _end_early(self, error: Exception | None, turn: _Turn, user_message: MessageRecord,
                   live: _Live) -> ChatResponse | None:
        """End a turn that failed (`error`) or was left by its reader (None) where it is: settled when a provider
        answered (what its calls cost) and the answer, else released and None."""
        code = error.code if isinstance(error, ChatError) else "internal_error"
        reservation, steps, heard = live.reservation, live.steps, live.heard
        if live.answer is not None:
            completion = live.answer.completion
            text = ("" if completion.tool_calls else completion.text) or _INTERRUPTED
            return self._settle(reservation, turn, user_message, steps, live.answer, text, code)
        if heard.anything:
            # Part of a streamed reply arrived: billed, so charged an upper bound, as a stopped one is.
            return self._settle(reservation, turn, user_message, steps,
                                self._estimated(heard, turn, live.request), heard.text or _INTERRUPTED, code)
        if steps.answers:
            return self._settle(reservation, turn, user_message, steps, None, _INTERRUPTED, code)
        self._release(reservation, steps)
        return None

    def _failed(self, error: BaseException, reservation: Reservation, turn: _Turn, user_message: MessageRecord,
                steps: _Steps, heard: _Heard, request: CompletionRequest) -> ChatResponse:
        """A model call that failed: keep what the turn did (charged what it cost), or release it and raise."""
        code = error.code if isinstance(error, ChatError) else "internal"
        logger().warning("provider failed", extra={
            "provider": turn.routes[0].provider, "model": turn.routes[0].model, "code": code,
            "step": reservation.step, **_ids(reservation)})
        self._metrics.provider_failed(turn.routes[0].provider, code)
        if heard.anything:
            # A stream cut after part of its reply arrived: the provider billed it, so keep it, charged an upper
            # bound. Only a tool call's arguments arrived: that call never ran, and the reply says so.
            text = heard.text or (_PROVIDER_FAILED if steps.records else _CUT_IN_A_TOOL_CALL)
            return self._settle(reservation, turn, user_message, steps, self._estimated(heard, turn, request),
                                text, code)
        if steps.records:
            # Tools have acted: keep what was done, charged what its finished model calls cost.
            return self._settle(reservation, turn, user_message, steps, None, _PROVIDER_FAILED, code)
        # No answer, so nothing to charge: give the reservation back (or leave it to the sweeper).
        self._release(reservation, steps)
        if isinstance(error, ChatError):
            # The session exists now (a first message made it): the caller retries there, not in a new one.
            error.extra.setdefault("session_id", reservation.session_id)
        raise error

    def _call(self, routes: list[ModelRoute], request: CompletionRequest, started: float, watch: StopWatch | None,
              heard: _Heard, step: int) -> Generator[TurnEvent, None, tuple[ModelRoute, Completion]]:
        """One model call: whole (no `watch`), or streamed, each piece of text an event as it arrives (a tool call's
        argument pieces are counted in `heard`, not shown: the call is shown once it has run). What the model sent
        is made whole: the streamed pieces joined are the completion's text."""
        if watch is None:
            route, completion = self._failover.complete(routes, request, started)
            return route, _whole(completion)
        for route, part in self._stream_failover.stream(routes, request, started, watch,
                                                        self._settings.STOP_CHECK_SECONDS):
            heard.route = route
            if isinstance(part, Completion):
                rest = heard.whole.end()
                if rest:
                    heard.pieces.append(rest)
                    yield ReplyText(step, rest)
                return route, _whole(part)
            if isinstance(part, ToolCallDelta):
                heard.argument_bytes += _size(part.arguments)
            elif isinstance(part, TextDelta):
                heard.text_bytes += _size(part.text)
                piece = heard.whole.add(part.text)
                if piece:
                    heard.pieces.append(piece)
                    yield ReplyText(step, piece)
        raise ProviderError("The model provider's stream ended without its reply; send your message again.")

    def _estimated(self, heard: _Heard, turn: _Turn, request: CompletionRequest) -> _Answer:
        """A streamed call that ended without the provider's usage, charged at most what it can have used: every
        input token the request can hold, and an output token per byte received, text and tool-call arguments (up
        to max_tokens)."""
        route = heard.route or turn.routes[0]
        usage = Usage(input_tokens=request.input_token_bound(),
                      output_tokens=min(heard.output_bytes, request.max_tokens))
        cost = self._prices.worst_case_micros(route.model, usage.input_tokens, usage.output_tokens)
        completion = Completion(text=heard.text, usage=usage, model=route.model, provider=route.provider,
                                stop_reason="stopped")
        return _Answer(route, completion, cost, estimated=True)

    def _refused(self, refused: BudgetRefused, **ids: Any) -> LimitExceeded:
        """The refusal a client sees for a model call no budget left room for; one log line and one count."""
        error = refusal(refused.charge, refused.used)
        logger().info("chat refused", extra={"code": error.code, **ids})
        self._metrics.refused(error.code)
        return error

    def _run_tools(self, completion: Completion, turn: _Turn, context: ToolContext, steps: _Steps,
                   time_left: Callable[[], float]) -> bool:
        """Run the calls the model asked for, in its order, recording each, within `time_left()` seconds (the
        route's deadline) and the caps on calls; True if one of them ends the turn."""
        offered = self._tools.for_session_type(turn.session.session_type)
        results: list[ToolResult] = []
        records: list[dict[str, Any]] = []
        kept: list[dict[str, Any]] = []
        ends_turn = False
        run_in_step = refused = 0
        for call in completion.tool_calls:
            # A call runs only while its record, however large, fits whole: what acted is always kept.
            why = ("not run: the turn already ended" if ends_turn
                   else self._tools.caps.refusal(run_in_step, steps.calls_run)
                   or ("not run: this turn's tool output is full; answer with what you have"
                       if steps.room() - 2 < call_records.MAX_RECORD_BYTES else None))
            if why is not None:
                outcome = self._tools.refuse(call, why)
                refused += 1
            else:
                outcome = self._tools.run(call, offered, context, time_left())
                run_in_step += 1
                steps.calls_run += 1
            records.append(outcome.record)
            kept += [record] if (record := steps.add_call(outcome.record)) is not None else []
            results.append(outcome.result)
            ends_turn = ends_turn or outcome.ends_turn
            logger().info("tool called", extra={"tool": outcome.record["name"], "status": outcome.record["status"],
                                                "tool_call_id": outcome.record["id"]})
        if refused or len(kept) < len(records):
            logger().warning("tool calls not run", extra={"asked": len(completion.tool_calls), "refused": refused,
                                                          "calls_run": steps.calls_run,
                                                          "not_kept": len(records) - len(kept)})
        steps.add_step(completion, records, kept, tuple(results))
        return ends_turn

    def _worst_case(self, turn: _Turn, request: CompletionRequest) -> int:
        """The most the next call can cost; the fallback may answer instead, so the dearer of the two."""
        try:
            return max(self._prices.worst_case_micros(route.model, request.input_token_bound(), request.max_tokens)
                       for route in turn.routes)
        except ConfigurationError as e:
            # Checked at start for the models configured now; an older session may name one that lost its price.
            raise ModelNotPriced(
                f"This session's model has no price, so no reply can be budgeted. An administrator must {e}; until "
                "then, start a new session.") from None

    def _release(self, reservation: Reservation, steps: _Steps) -> None:
        steps.finished = True
        try:
            self._ledger.release(reservation, iso(self._clock()))
        except Exception:
            logger().exception("release failed; the sweeper will release the turn", extra=_ids(reservation))

    def _prepare(self, caller: Identity, body: ChatRequest, session_id: str | None, now: str) -> _Turn:
        if session_id is None:
            session_type = body.session_type or "customer_support"
            provider, model = self._providers.default(session_type)
            session = SessionRecord(
                id=new_id(self._clock()), tenant_id=caller.tenant_id, user_id=caller.user_id,
                session_type=session_type, status="active", provider=provider, model=model,
                created_at=now, updated_at=now, context=body.context,
            )
            history: list[MessageRecord] = []
            is_new = True
        else:
            session, history = self._store.conversation(session_id, caller, self._settings.MAX_CONTEXT_MESSAGES)
            if session.status not in ("active", "escalated"):
                raise SessionNotActive(session.status)
            is_new = False
        context = {**(session.context or {}), **(body.context or {})} if not is_new else session.context
        turns = [turn for m in history if m.status == "ok" for turn in replayed(m)]
        while turns and turns[0].role != "user":  # providers want the conversation to open with the user
            turns.pop(0)
        turns.append(Turn(role="user", content=body.message))
        request = CompletionRequest(
            model=session.model, system=self._prompts.system_prompt(session.session_type, context),
            messages=tuple(turns), max_tokens=self._settings.MAX_TOKENS, temperature=self._settings.TEMPERATURE,
            tools=self._tools.specs(self._tools.for_session_type(session.session_type)),
        )
        return _Turn(session=session, request=request, is_new=is_new,
                     routes=self._providers.routes(session.provider, session.model))

    def _settle(self, reservation: Reservation, turn: _Turn, user_message: MessageRecord, steps: _Steps,
                answer: _Answer | None, text: str, stopped: str | None) -> ChatResponse:
        """Store the turn's answer (and its tools' calls), charged what its model calls cost; never refused.

        `answer` is the model call whose cost is not charged yet (None when the last call got no answer).
        """
        answers = [*steps.answers, *([answer] if answer else [])]
        last = answers[-1]
        # Once the provider has answered the turn is charged: the reply is cut to what may be stored, never refused.
        fitted = fit_reply(text, answer.completion.usage if answer else Usage(0, 0), turn.request.max_tokens,
                           max_bytes=MAX_REPLY_BYTES - steps.tool_bytes)
        usage = _total(recordable(a.completion.usage) for a in answers)
        # Cut short: by the model reaching MAX_TOKENS, or here, to what MAX_TOKENS allows or an item holds.
        truncated = fitted.truncated or (answer is not None and answer.completion.cut_at_max_tokens)
        cost = sum(a.cost_micros for a in answers)
        over = steps.over_reservation or (answer is not None and answer.cost_micros > reservation.amount_micros)
        estimated = answer is not None and answer.estimated
        uncounted = recordable(answer.completion.usage).total_tokens if answer else 0
        steps.finished = True
        try:
            done = self._clock()
            user_message = replace(user_message, tokens=usage.input_tokens, day=reservation.day)
            reply = MessageRecord(
                id=new_id(done), role="assistant", content=fitted.text, created_at=iso(done),
                tokens=usage.output_tokens,
                input_tokens=usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens,
                output_tokens=usage.output_tokens, cost_micros=cost, model=last.completion.model,
                provider=last.completion.provider, day=reservation.day, truncated=truncated, over_reservation=over,
                function_calls=steps.records or None, tool_steps=steps.stored or None, stopped=stopped,
                estimated=estimated,
            )
            settled = self._ledger.settle(reservation, user_message, reply, uncounted, iso(done))
            # A person who took the session meanwhile gets the conversation: the reply is stored without text.
            reply = settled or reply
        except Exception as e:
            logger().exception("settle failed; the turn stays pending until the sweeper releases it",
                               extra=_ids(reservation))
            raise TurnNotRecorded(
                "The answer could not be saved: the conversation store is unavailable. Your message is kept and "
                "nothing more will be charged for it; send it again in a moment."
            ) from e
        if settled:
            logger().info("turn settled", extra={
                **_ids(reservation), "message_id": reply.id, "provider": last.route.provider,
                "model": last.route.model, "tokens": usage.total_tokens, "input_tokens": reply.input_tokens,
                "output_tokens": usage.output_tokens, "cost_micros": cost, "latency_ms": round(steps.latency_ms),
                "truncated": truncated, "stop_reason": last.completion.stop_reason, "model_calls": len(answers),
                "tool_calls": len(steps.records), "stopped": reply.stopped, "estimated": estimated,
                "stop_reads": steps.stop_reads})
        else:
            logger().error("turn was released before it settled; its reply is not stored", extra=_ids(reservation))
        if over:
            logger().error("provider reported more usage than the turn reserved (max_tokens ignored?)", extra={
                **_ids(reservation), "message_id": reply.id, "provider": last.route.provider,
                "model": last.route.model, "reserved_micros": reservation.amount_micros, "cost_micros": cost,
                "output_tokens": usage.output_tokens, "max_tokens": turn.request.max_tokens})
            self._metrics.over_reservation(last.route.provider, last.route.model,
                                           max(cost - reservation.charged_micros - reservation.amount_micros, 0))
        self._metrics.answered(last.route.provider, last.route.model, usage.total_tokens, cost, steps.latency_ms)
        return _response(reservation.session_id, reply)

    def _for_person(self, session: SessionRecord, body: ChatRequest, now: datetime, slot: Charge,
                    claim: KeyClaim | None) -> ChatResponse:
        """Keep the customer's message for the person who has the session; the answer says a person will reply."""
        message = MessageRecord(id=new_id(now), role="user", content=body.message, created_at=iso(now))
        try:
            self._ledger.note_for_person(session, message, slot, claim)
        except BudgetRefused as refused:
            raise self._refused(refused, tenant_id=session.tenant_id, session_id=session.id) from None
        logger().info("message kept for a person", extra={"tenant_id": session.tenant_id, "session_id": session.id,
                                                           "user_message_id": message.id})
        self._events.publish(customer_messaged(session, message))
        return _kept_for_person(session.id, message.id)

    def _escalate(self, caller: Identity, session_id: str, reason: str) -> None:
        self._sessions.escalate(caller, session_id, EscalateRequest(reason=reason), by="model")


def _whole(completion: Completion) -> Completion:
    """The completion with its text, and its tool calls' ids, names and arguments, made whole."""
    return replace(completion, text=whole(completion.text), tool_calls=tuple(
        ToolCall(id=whole(c.id), name=whole(c.name), arguments=whole(c.arguments)) for c in completion.tool_calls))


def _size(piece: str) -> int:
    """A piece's UTF-8 bytes as the provider sent them, a half of a character counted as the three it would take."""
    return len(piece.encode("utf-8", "surrogatepass"))


def _drain(turn: TurnRun) -> ChatResponse:
    """Run a turn to its end, its events unread; its answer."""
    while True:
        try:
            next(turn)
        except StopIteration as done:
            answer: ChatResponse = done.value
            return answer


def _ids(reservation: Reservation) -> dict[str, str]:
    """A turn's ids for a log line (the user's message: `user_message_id`)."""
    return {"tenant_id": reservation.tenant_id, "session_id": reservation.session_id,
            "user_message_id": reservation.message_id}


def _request_hash(body: ChatRequest) -> str:
    """What a retry must repeat exactly to be the same request."""
    return hashlib.sha256(json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
