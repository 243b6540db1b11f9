"""A chat turn's loop: its model calls, each reserved first (via the failover, whole or streamed), the tools they ask
for, the caps on both, and the check whether a person took the session; every way out ends the turn settled or
released (aichat.turn.settlement).

What a model sends (text, tool-call ids, names and arguments) is made whole (aichat.core.whole_text) as it arrives, so
no half of a character reaches a stream or the table. Each route's tools run within that route's own deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import replace
from datetime import datetime
from typing import Any

from aichat.core.budgets import BudgetRefused, Charge, Counter, Limits, chat_charges
from aichat.core.clock import iso, utc_day
from aichat.core.errors import ChatError, ProviderError
from aichat.core.identity import Identity
from aichat.core.logs import logger, request_keys
from aichat.core.models import GUARDRAIL_INTERVENED, TAKEN_BY_PERSON, ChatRequest, ChatResponse, EscalateRequest
from aichat.core.records import MessageRecord
from aichat.core.whole_text import whole
from aichat.providers.failover import StreamStopped
from aichat.providers.interface import (
    Completion,
    CompletionRequest,
    ModelRoute,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolResult,
)
from aichat.table import call_records
from aichat.table.ledger.reservations import (
    KeyClaim,
    Reservation,
    TurnOvertaken,
    recordable,
    sweep_after,
)
from aichat.table.stop_flags import StopWatch
from aichat.tools.tool import ToolContext
from aichat.turn.dependencies import TurnDeps
from aichat.turn.estimates import estimated, size, worst_case
from aichat.turn.first_call import FirstCall
from aichat.turn.model_context import PreparedTurn
from aichat.turn.progress import Answer, Heard, Live, Steps
from aichat.turn.settlement import TurnSettlement, log_ids
from aichat.turn.stream_events import ReplyText, StepFinished, StepStarted, ToolRan, TurnEvent, TurnStarted

_ESCALATED = "I've passed this conversation to a person on our support team; they will follow up here."
_PROVIDER_FAILED = ("I did the actions listed, but could not write an answer: the model provider failed. Send your "
                    "message again to continue.")
_BUDGET_STOPPED = "I did the actions listed, but had to stop there:"
_CUT_IN_A_TOOL_CALL = ("The model provider's reply was cut while the model was writing a tool call, so no tool was "
                       "run. Send your message again to continue.")
_INTERRUPTED = ("Something went wrong on our side before I could finish this answer; any actions listed were done. "
                "Send your message again to continue.")

# A turn as its events, ending with the answer (the generator's return value).
TurnRun = Generator[TurnEvent, None, ChatResponse]


class TurnLoop:
    """A turn from its message to its settled answer (or its release), as its events."""

    def __init__(self, deps: TurnDeps, settlement: TurnSettlement) -> None:
        self._deps = deps
        self._settlement = settlement
        self._prices = deps.models.prices
        self._first = FirstCall(deps, settlement)

    def run(self, caller: Identity, body: ChatRequest, session_id: str | None, now: datetime,
            remaining_seconds: float | None, claim: KeyClaim | None, streamed: bool = False) -> TurnRun:
        day = utc_day(now)
        limits = self._deps.limits.for_tenant(caller.tenant_id)
        sweep = sweep_after(now.timestamp(), remaining_seconds)
        first = self._first.reserve(caller, body, session_id, now, day, limits, sweep, claim)
        if isinstance(first, PreparedTurn):
            # A person has the conversation: their message is kept for them, no model is called, nothing charged.
            slot = Charge(Counter.SESSION_MESSAGES, 1, limits.messages_per_session)
            noted = self._settlement.for_person(first.session, body, now, slot, claim)
            yield TurnStarted(session_id=first.session.id, user_message_id=noted.metadata.message_id)
            return noted
        turn, reservation, user_message, reply_id = first.turn, first.reservation, first.user_message, first.reply_id
        request_keys(session_id=reservation.session_id)  # on every later line, the failover's retries included
        live = Live(reservation, turn.request)
        try:
            yield TurnStarted(session_id=reservation.session_id, user_message_id=user_message.id, reply_id=reply_id)
            answer: ChatResponse = yield from self._steps(caller, now, turn, user_message, limits, live, streamed)
            return answer
        except GeneratorExit:
            # Its reader stopped reading (a failure of its own): the turn still ends here, never left pending.
            try:
                if not live.steps.finished:
                    logger().warning("turn left by its reader; ended here", extra={"step": live.reservation.step,
                                                                                    **log_ids(live.reservation)})
                    self._end_early(None, turn, user_message, live)
            except Exception:
                logger().exception("a turn its reader left could not be ended; the sweeper will release it",
                                   extra=log_ids(live.reservation))
            raise
        except Exception as e:
            if live.steps.finished:  # settled or released already (or tried to): the error is the turn's answer
                raise
            logger().exception("turn failed after its reservation", extra={"step": live.reservation.step,
                                                                           **log_ids(live.reservation)})
            ended = self._end_early(e, turn, user_message, live)
            if ended is None:
                if isinstance(e, ChatError):  # released: the caller retries in the session the turn made
                    e.extra.setdefault("session_id", live.reservation.session_id)
                raise
            return ended

    def _steps(self, caller: Identity, now: datetime, turn: PreparedTurn, user_message: MessageRecord,
               limits: Limits, live: Live, streamed: bool) -> TurnRun:
        """The turn's model calls, each reserved, and the tools they ask for, to its settled answer."""
        session = replace(turn.session, id=live.reservation.session_id)
        context = ToolContext(caller=caller, session=session, turn_id=user_message.id, now=iso(now),
                              tickets=self._deps.people.tickets,
                              escalate=lambda reason: self._escalate(caller, session.id, reason))
        steps = live.steps
        stops = self._deps.people.stops
        watch = stops.watch(session.id, user_message.id, self._deps.settings.STOP_CHECK_SECONDS) if streamed else None
        # Each route's own deadline bounds its model calls and its tools alike.
        failover = self._deps.models.stream_failover if streamed else self._deps.models.failover
        started = failover.start()
        while True:
            reservation, request = live.reservation, live.request
            called = time.perf_counter()
            live.heard, live.answer = Heard(), None
            yield StepStarted(reservation.step)
            try:
                answered, completion = yield from self._call(turn.routes, request, started, watch, live.heard,
                                                             reservation.step)
            except StreamStopped:
                steps.stop_reads = watch.reads if watch else 0
                shown = watch.deltas_shown if watch else None
                logger().info("stream stopped", extra={"step": reservation.step, "deltas_shown": shown,
                                                       **log_ids(reservation)})
                yield StepFinished(reservation.step)
                # Charged what the provider produced; stored, what the client showed (docs/streaming.md).
                return self._settlement.settle(reservation, turn, user_message, steps,
                                               estimated(self._prices, live.heard, turn, request),
                                               live.heard.shown_text(shown, before=steps.deltas), "stopped")
            except GeneratorExit:
                raise
            except BaseException as e:
                steps.stop_reads = watch.reads if watch else 0
                return self._failed(e, reservation, turn, user_message, steps, live.heard, request)
            steps.latency_ms += (time.perf_counter() - called) * 1000
            steps.deltas += len(live.heard.pieces)
            steps.stop_reads = watch.reads if watch else 0
            answer = live.answer = Answer(answered, completion,
                                          self._prices.cost_micros(answered.model, recordable(completion.usage)))
            if not completion.tool_calls:
                yield StepFinished(reservation.step)
                return self._settlement.settle(reservation, turn, user_message, steps, answer, completion.text,
                                               self._ending_of(answered, completion))
            if reservation.step >= self._deps.tools.max_steps:
                # The model wants more steps than a turn may take: answer with what was done.
                text = completion.text or _step_limit_text(self._deps.tools.max_steps, acted=bool(steps.records))
                yield StepFinished(reservation.step)
                return self._settlement.settle(reservation, turn, user_message, steps, answer, text, "max_tool_steps")
            if stops.taken(session.id, user_message.id):
                # A person took the session while the model answered: their conversation now, so no tool runs.
                logger().info("turn overtaken by a person", extra={"step": reservation.step, **log_ids(reservation)})
                yield StepFinished(reservation.step)
                return self._settlement.settle(reservation, turn, user_message, steps, answer, "", TAKEN_BY_PERSON)
            ran = len(steps.records)
            ends_turn = self._run_tools(completion, turn, context, steps, lambda: failover.time_left(started))
            for record in steps.records[ran:]:
                yield ToolRan(record)
            yield StepFinished(reservation.step)
            if ends_turn:
                return self._settlement.settle(reservation, turn, user_message, steps, answer, _ESCALATED, "escalated")
            request = live.request = replace(request, messages=(*request.messages, *steps.turns[-2:]))
            try:
                live.reservation = self._deps.ledger.advance(
                    reservation, session, answer.cost_micros, recordable(completion.usage).total_tokens,
                    chat_charges(limits, worst_case(self._prices, turn, request)))
            except BudgetRefused as refused:
                error = self._settlement.refused(refused, step=reservation.step + 1, **log_ids(reservation))
                return self._settlement.settle(reservation, turn, user_message, steps, answer,
                                               f"{_BUDGET_STOPPED} {error.detail}", error.code)
            except TurnOvertaken:
                # Taken while its tools ran: no further model call; what they did is kept, the call in hand charged.
                logger().info("turn overtaken by a person", extra={"step": reservation.step, **log_ids(reservation)})
                return self._settlement.settle(reservation, turn, user_message, steps, answer, "", TAKEN_BY_PERSON)
            # Charged by the advance: from here it is one of the turn's answered calls, not the one in hand.
            steps.over_reservation |= answer.cost_micros > live.reservation.amount_micros
            steps.answers.append(answer)
            live.answer = None

    def _ending_of(self, route: ModelRoute, completion: Completion) -> str | None:
        """How a model's last answer ends the turn: by itself (None), or as its provider's guardrail had it."""
        if completion.stop_reason != GUARDRAIL_INTERVENED:
            return None
        self._deps.metrics.guardrail_intervened(route.provider, route.model)
        return GUARDRAIL_INTERVENED

    def _end_early(self, error: Exception | None, turn: PreparedTurn, user_message: MessageRecord,
                   live: Live) -> ChatResponse | None:
        """End a turn that failed (`error`) or was left by its reader (None) where it is: settled when a provider
        answered (what its calls cost) and the answer, else released and None."""
        code = error.code if isinstance(error, ChatError) else "internal_error"
        reservation, steps, heard = live.reservation, live.steps, live.heard
        if live.answer is not None:
            completion = live.answer.completion
            text = ("" if completion.tool_calls else completion.text) or _INTERRUPTED
            return self._settlement.settle(reservation, turn, user_message, steps, live.answer, text, code)
        if heard.anything:
            # Part of a streamed reply arrived: billed, so charged an upper bound, as a stopped one is.
            return self._settlement.settle(reservation, turn, user_message, steps,
                                           estimated(self._prices, heard, turn, live.request),
                                           heard.text or _INTERRUPTED, code)
        if steps.answers:
            return self._settlement.settle(reservation, turn, user_message, steps, None, _INTERRUPTED, code)
        self._settlement.release(reservation, steps)
        return None

    def _failed(self, error: BaseException, reservation: Reservation, turn: PreparedTurn, user_message: MessageRecord,
                steps: Steps, heard: Heard, request: CompletionRequest) -> ChatResponse:
        """A model call that failed: keep what the turn did (charged what it cost), or release it and raise."""
        code = error.code if isinstance(error, ChatError) else "internal"
        logger().warning("provider failed", extra={
            "provider": turn.routes[0].provider, "model": turn.routes[0].model, "code": code,
            "step": reservation.step, **log_ids(reservation)})
        self._deps.metrics.provider_failed(turn.routes[0].provider, code)
        if heard.anything:
            # A stream cut after part of its reply arrived: the provider billed it, so keep it, charged an upper
            # bound. Only a tool call's arguments arrived: that call never ran, and the reply says so.
            text = heard.text or (_PROVIDER_FAILED if steps.records else _CUT_IN_A_TOOL_CALL)
            return self._settlement.settle(reservation, turn, user_message, steps,
                                           estimated(self._prices, heard, turn, request), text, code)
        if steps.records:
            # Tools have acted: keep what was done, charged what its finished model calls cost.
            return self._settlement.settle(reservation, turn, user_message, steps, None, _PROVIDER_FAILED, code)
        # No answer, so nothing to charge: give the reservation back (or leave it to the sweeper).
        self._settlement.release(reservation, steps)
        if isinstance(error, ChatError):
            # The session exists now (a first message made it): the caller retries there, not in a new one.
            error.extra.setdefault("session_id", reservation.session_id)
        raise error

    def _call(self, routes: list[ModelRoute], request: CompletionRequest, started: float, watch: StopWatch | None,
              heard: Heard, step: int) -> Generator[TurnEvent, None, tuple[ModelRoute, Completion]]:
        """One model call: whole (no `watch`), or streamed, each piece of text an event as it arrives (a tool call's
        argument pieces are counted in `heard`, not shown: the call is shown once it has run). What the model sent
        is made whole: the streamed pieces joined are the completion's text."""
        if watch is None:
            route, completion = self._deps.models.failover.complete(routes, request, started)
            return route, _whole(completion)
        for route, part in self._deps.models.stream_failover.stream(routes, request, started, watch,
                                                        self._deps.settings.STOP_CHECK_SECONDS):
            heard.route = route
            if isinstance(part, Completion):
                rest = heard.whole.end()
                if rest:
                    heard.pieces.append(rest)
                    yield ReplyText(step, rest)
                return route, _whole(part)
            if isinstance(part, ToolCallDelta):
                heard.argument_bytes += size(part.arguments)
            elif isinstance(part, TextDelta):
                heard.text_bytes += size(part.text)
                piece = heard.whole.add(part.text)
                if piece:
                    heard.pieces.append(piece)
                    yield ReplyText(step, piece)
        raise ProviderError("The model provider's stream ended without its reply; send your message again.")

    def _run_tools(self, completion: Completion, turn: PreparedTurn, context: ToolContext, steps: Steps,
                   time_left: Callable[[], float]) -> bool:
        """Run the calls the model asked for, in its order, recording each, within `time_left()` seconds (the
        route's deadline) and the caps on calls; True if one of them ends the turn."""
        offered = self._deps.tools.for_session(turn.session)
        results: list[ToolResult] = []
        records: list[dict[str, Any]] = []
        kept: list[dict[str, Any]] = []
        ends_turn = False
        run_in_step = refused = 0
        for call in completion.tool_calls:
            # A call runs only while its record, however large, fits whole: what acted is always kept.
            why = ("not run: the turn already ended" if ends_turn
                   else self._deps.tools.caps.refusal(run_in_step, steps.calls_run)
                   or ("not run: this turn's tool output is full; answer with what you have"
                       if steps.room() - 2 < call_records.MAX_RECORD_BYTES else None))
            if why is not None:
                outcome = self._deps.tools.refuse(call, why)
                refused += 1
            else:
                outcome = self._deps.tools.run(call, offered, context, time_left())
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

    def _escalate(self, caller: Identity, session_id: str, reason: str) -> None:
        self._deps.people.sessions.escalate(caller, session_id, EscalateRequest(reason=reason), by="model")


def _whole(completion: Completion) -> Completion:
    """The completion with its text, and its tool calls' ids, names and arguments, made whole."""
    return replace(completion, text=whole(completion.text), tool_calls=tuple(
        ToolCall(id=whole(c.id), name=whole(c.name), arguments=whole(c.arguments)) for c in completion.tool_calls))


def _step_limit_text(max_steps: int, *, acted: bool) -> str:
    """What a turn that reached its step limit says when the model wrote nothing: the actions listed only if any."""
    counted = f"{max_steps} step{'' if max_steps == 1 else 's'}"
    if acted:
        return f"I stopped after {counted}; the actions listed are what was done."
    return f"I stopped after {counted}, before doing anything; ask again to continue."
