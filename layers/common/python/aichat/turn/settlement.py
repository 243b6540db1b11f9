"""How a turn ends in the ledger: settled (its reply stored, charged what its calls cost, cut to fit), released (no
answer came), refused (no budget left room), or its message kept for the person who has the session; and the
API's answer for each."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from aichat.core.budgets import BudgetRefused, Charge, refusal
from aichat.core.clock import Clock, iso
from aichat.core.errors import LimitExceeded, TurnNotRecorded
from aichat.core.ids import new_id
from aichat.core.logs import logger
from aichat.core.metrics import ChatMetrics
from aichat.core.models import ChatMetadata, ChatRequest, ChatResponse, FunctionCall
from aichat.core.pricing import Usage, micros_to_cents
from aichat.core.records import MessageRecord, SessionRecord
from aichat.notify.domain_events import DomainEvents, customer_messaged
from aichat.table.ledger.reservations import MAX_REPLY_BYTES, KeyClaim, Reservation, fit_reply, recordable
from aichat.table.ledger.turn_ledger import TurnLedger
from aichat.turn.context_cache import ContextCache
from aichat.turn.model_context import PreparedTurn
from aichat.turn.progress import Answer, Steps

_WITH_A_PERSON = ("A person from our support team has this conversation: your message is with them, and they will "
                  "reply here.")


def response(session_id: str, reply: MessageRecord) -> ChatResponse:
    """The API's answer for a stored reply."""
    return ChatResponse(
        session_id=session_id, message=reply.content,
        function_calls=[FunctionCall(**c) for c in reply.function_calls or []],
        metadata=ChatMetadata(
            tokens=reply.input_tokens + reply.output_tokens, input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens, cost_cents=micros_to_cents(reply.cost_micros),
            model=reply.model or "", provider=reply.provider or "", message_id=reply.id, truncated=reply.truncated,
            stopped=reply.stopped, estimated=reply.estimated))


def kept_for_person(session_id: str, message_id: str) -> ChatResponse:
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


def log_ids(reservation: Reservation) -> dict[str, str]:
    """A turn's ids for a log line (the user's message: `user_message_id`)."""
    return {"tenant_id": reservation.tenant_id, "session_id": reservation.session_id,
            "user_message_id": reservation.message_id}


class TurnSettlement:
    """A turn's ledger calls that end it, with their log lines and metrics."""

    def __init__(self, ledger: TurnLedger, clock: Clock, metrics: ChatMetrics, events: DomainEvents,
                 contexts: ContextCache) -> None:
        self._ledger = ledger
        self.contexts = contexts
        self._clock = clock
        self._metrics = metrics
        self._events = events

    def refused(self, refused: BudgetRefused, **ids: Any) -> LimitExceeded:
        """The refusal a client sees for a model call no budget left room for; one log line and one count."""
        error = refusal(refused.charge, refused.used)
        logger().info("chat refused", extra={"code": error.code, **ids})
        self._metrics.refused(error.code)
        return error

    def release(self, reservation: Reservation, steps: Steps) -> None:
        steps.finished = True
        try:
            self._ledger.release(reservation, iso(self._clock()))
        except Exception:
            logger().exception("release failed; the sweeper will release the turn", extra=log_ids(reservation))

    def settle(self, reservation: Reservation, turn: PreparedTurn, user_message: MessageRecord, steps: Steps,
               answer: Answer | None, text: str, stopped: str | None) -> ChatResponse:
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
                id=reservation.reply_id or new_id(done), role="assistant", content=fitted.text, created_at=iso(done),
                tokens=usage.output_tokens,
                input_tokens=usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens,
                output_tokens=usage.output_tokens, cost_micros=cost, model=last.completion.model,
                provider=last.completion.provider, day=reservation.day, truncated=truncated, over_reservation=over,
                function_calls=steps.records or None, tool_steps=steps.stored or None, stopped=stopped,
                estimated=estimated, steps=reservation.step,
            )
            settled = self._ledger.settle(reservation, user_message, reply, uncounted, iso(done))
            if settled == reply and turn.context_version is not None:
                # The reserve moved the session's messages on by one and the settle by another: at this version they
                # are the ones the turn read, its message and this reply, unless someone else wrote meanwhile (then
                # the version is past this one, for good, and the next turn here reads).
                self.contexts.keep(replace(turn.session, id=reservation.session_id),
                                   [*turn.history, user_message, reply], turn.context_version + 2)
            # A person who took the session meanwhile gets the conversation: the reply is stored without text.
            reply = settled or reply
        except Exception as e:
            logger().exception("settle failed; the turn stays pending until the sweeper releases it",
                               extra=log_ids(reservation))
            raise TurnNotRecorded(
                "The answer could not be saved: the conversation store is unavailable. Your message is kept and "
                "nothing more will be charged for it; send it again in a moment."
            ) from e
        if settled:
            logger().info("turn settled", extra={
                **log_ids(reservation), "message_id": reply.id, "provider": last.route.provider,
                "model": last.route.model, "tokens": usage.total_tokens, "input_tokens": reply.input_tokens,
                "output_tokens": usage.output_tokens, "cost_micros": cost, "latency_ms": round(steps.latency_ms),
                "truncated": truncated, "stop_reason": last.completion.stop_reason, "model_calls": len(answers),
                "tool_calls": len(steps.records), "stopped": reply.stopped, "estimated": estimated,
                "stop_reads": steps.stop_reads})
        else:
            logger().error("turn was released before it settled; its reply is not stored", extra=log_ids(reservation))
        if over:
            logger().error("provider reported more usage than the turn reserved (max_tokens ignored?)", extra={
                **log_ids(reservation), "message_id": reply.id, "provider": last.route.provider,
                "model": last.route.model, "reserved_micros": reservation.amount_micros, "cost_micros": cost,
                "output_tokens": usage.output_tokens, "max_tokens": turn.request.max_tokens})
            self._metrics.over_reservation(last.route.provider, last.route.model,
                                           max(cost - reservation.charged_micros - reservation.amount_micros, 0))
        self._metrics.answered(last.route.provider, last.route.model, usage.total_tokens, cost, steps.latency_ms)
        return response(reservation.session_id, reply)

    def for_person(self, session: SessionRecord, body: ChatRequest, now: datetime, slot: Charge,
                   claim: KeyClaim | None) -> ChatResponse:
        """Keep the customer's message for the person who has the session; the answer says a person will reply."""
        message = MessageRecord(id=new_id(now), role="user", content=body.message, created_at=iso(now))
        try:
            self._ledger.note_for_person(session, message, slot, claim)
        except BudgetRefused as refused:
            raise self.refused(refused, tenant_id=session.tenant_id, session_id=session.id) from None
        logger().info("message kept for a person", extra={"tenant_id": session.tenant_id, "session_id": session.id,
                                                           "user_message_id": message.id})
        self._events.publish(customer_messaged(session, message))
        return kept_for_person(session.id, message.id)

