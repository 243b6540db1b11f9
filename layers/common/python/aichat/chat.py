"""POST /chat: reserve the worst case, call the model, settle the real cost; release if no answer came."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, replace
from datetime import datetime

from aichat import keys
from aichat.budgets import BudgetRefused, chat_charges, new_session_charge, refusal
from aichat.clock import Clock, iso, utc_day
from aichat.errors import (
    ChatError,
    ConfigurationError,
    IdempotencyKeyReused,
    ModelNotPriced,
    RequestInProgress,
    SessionNotActive,
    TurnNotRecorded,
)
from aichat.identity import Identity
from aichat.ids import new_id
from aichat.ledger import KeyClaim, KeyTaken, Reservation, TurnLedger, fit_reply, sweep_after
from aichat.logs import logger, request_keys
from aichat.metrics import ChatMetrics
from aichat.models import ChatMetadata, ChatRequest, ChatResponse
from aichat.pricing import PriceTable, micros_to_cents
from aichat.prompts import Prompts
from aichat.providers import Completion, CompletionRequest, ModelRoute, Turn
from aichat.providers.failover import Failover
from aichat.providers.registry import Providers
from aichat.records import MessageRecord, SessionRecord
from aichat.settings import Settings
from aichat.store import Store
from aichat.tenants import TenantLimitsCache


@dataclass(frozen=True)
class _Turn:
    session: SessionRecord
    request: CompletionRequest
    is_new: bool
    routes: list[ModelRoute]


class ChatService:
    """One chat turn, from the caller's message to the stored reply, never past a budget."""

    def __init__(self, settings: Settings, store: Store, ledger: TurnLedger, providers: Providers,
                 prices: PriceTable, prompts: Prompts, limits: TenantLimitsCache, clock: Clock, failover: Failover,
                 metrics: ChatMetrics) -> None:
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

    def send(self, caller: Identity, body: ChatRequest, remaining_seconds: float | None = None,
             idempotency_key: str | None = None) -> ChatResponse:
        """Answer a message, starting a session when session_id is null.

        `remaining_seconds` is how long this invocation may still run: a turn it leaves pending is swept after.
        With an `idempotency_key` the turn claims the key as it reserves: a retry of an answered turn gets that
        answer back, a retry of one that got no answer runs again in the same session, never charged twice.
        """
        now = self._clock()
        at = int(now.timestamp())
        claim = None if idempotency_key is None else KeyClaim(
            pk=keys.turn_key_pk(caller.tenant_id, caller.user_id, idempotency_key), request_hash=_request_hash(body),
            claimed_at=at, expires_at=at + self._settings.IDEMPOTENCY_EXPIRY_SECONDS)
        try:
            return self._turn(caller, body, body.session_id, now, remaining_seconds, claim)
        except KeyTaken as taken:
            assert claim is not None
            if taken.request_hash != claim.request_hash:
                raise IdempotencyKeyReused() from None
            if taken.status == "ok" and taken.reply_id:
                return self.replay(caller, taken.session_id, taken.reply_id)
            if taken.status != "failed":
                raise RequestInProgress() from None
            # The earlier turn got no answer and was charged nothing: this retry takes its place, in its session.
            return self._turn(caller, body, taken.session_id, now, remaining_seconds,
                              replace(claim, replaces_failed=True))

    def replay(self, caller: Identity, session_id: str, reply_id: str) -> ChatResponse:
        """The answer a turn gave, rebuilt from its stored reply (for a repeated Idempotency-Key)."""
        reply = self._store.message(session_id, reply_id, caller)
        return ChatResponse(session_id=session_id, message=reply.content, metadata=ChatMetadata(
            tokens=reply.input_tokens + reply.output_tokens, input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens, cost_cents=micros_to_cents(reply.cost_micros),
            model=reply.model or "", provider=reply.provider or "", message_id=reply.id, truncated=reply.truncated))

    def _turn(self, caller: Identity, body: ChatRequest, session_id: str | None, now: datetime,
              remaining_seconds: float | None, claim: KeyClaim | None) -> ChatResponse:
        day = utc_day(now)
        limits = self._limits.for_tenant(caller.tenant_id)
        turn = self._prepare(caller, body, session_id, iso(now))
        self._providers.get(turn.routes[0].provider)  # no key: 503 before anything is reserved or written
        worst = self._worst_case(turn)
        user_message = MessageRecord(id=new_id(now), role="user", content=body.message, created_at=iso(now))
        try:
            reservation = self._ledger.reserve(
                turn.session, turn.is_new, day, chat_charges(limits, worst), user_message,
                sweep_after(now.timestamp(), remaining_seconds),
                session_charge=new_session_charge(limits) if turn.is_new else None, claim=claim)
        except BudgetRefused as refused:
            error = refusal(refused.charge, refused.used)
            logger().info("chat refused", extra={"code": error.code, "tenant_id": caller.tenant_id,
                                                 "session_id": None if turn.is_new else turn.session.id})
            self._metrics.refused(error.code)
            raise error from None
        request_keys(session_id=reservation.session_id)  # on every later line, the failover's retries included

        started = time.perf_counter()
        try:
            answered, completion = self._failover.complete(turn.routes, turn.request)
        except BaseException as e:
            # No answer, so nothing to charge: give the reservation back (or leave it to the sweeper).
            self._release(reservation)
            code = e.code if isinstance(e, ChatError) else "internal"
            logger().warning("provider failed", extra={
                "provider": turn.routes[0].provider, "model": turn.routes[0].model, "code": code,
                **_ids(reservation)})
            self._metrics.provider_failed(turn.routes[0].provider, code)
            if isinstance(e, ChatError):
                # The session exists now (a first message made it): the caller retries there, not in a new one.
                e.extra.setdefault("session_id", reservation.session_id)
            raise
        latency_ms = (time.perf_counter() - started) * 1000
        return self._settle(reservation, turn, user_message, answered, completion, latency_ms)

    def _worst_case(self, turn: _Turn) -> int:
        """The most the call can cost; the fallback may answer instead, so the dearer of the two."""
        try:
            return max(self._prices.worst_case_micros(route.model, turn.request.input_token_bound(),
                                                      turn.request.max_tokens) for route in turn.routes)
        except ConfigurationError as e:
            # Checked at start for the models configured now; an older session may name one that lost its price.
            raise ModelNotPriced(
                f"This session's model has no price, so no reply can be budgeted. An administrator must {e}; until "
                "then, start a new session.") from None

    def _release(self, reservation: Reservation) -> None:
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
            if session.status != "active":
                raise SessionNotActive(session.status)
            is_new = False
        context = {**(session.context or {}), **(body.context or {})} if not is_new else session.context
        turns = [Turn(role="assistant" if m.role == "assistant" else "user", content=m.content)
                 for m in history if m.status == "ok"]
        while turns and turns[0].role == "assistant":  # providers want the conversation to open with the user
            turns.pop(0)
        turns.append(Turn(role="user", content=body.message))
        request = CompletionRequest(
            model=session.model, system=self._prompts.system_prompt(session.session_type, context),
            messages=tuple(turns), max_tokens=self._settings.MAX_TOKENS, temperature=self._settings.TEMPERATURE,
        )
        return _Turn(session=session, request=request, is_new=is_new,
                     routes=self._providers.routes(session.provider, session.model))

    def _settle(self, reservation: Reservation, turn: _Turn, user_message: MessageRecord, answered: ModelRoute,
                completion: Completion, latency_ms: float) -> ChatResponse:
        # Once the provider has answered the turn is charged: the reply is cut to what may be stored, never refused.
        fitted = fit_reply(completion.text, completion.usage, turn.request.max_tokens)
        usage = fitted.usage
        # Cut short: by the model reaching MAX_TOKENS, or here, to what MAX_TOKENS allows or an item holds.
        truncated = fitted.truncated or completion.cut_at_max_tokens
        try:
            # Priced by the model asked for, which has a price (checked at start); the answer may name a snapshot.
            cost = self._prices.cost_micros(answered.model, usage)
            done = self._clock()
            user_message = replace(user_message, tokens=usage.input_tokens, day=reservation.day)
            reply = MessageRecord(
                id=new_id(done), role="assistant", content=fitted.text, created_at=iso(done),
                tokens=usage.output_tokens,
                input_tokens=usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens,
                output_tokens=usage.output_tokens, cost_micros=cost, model=completion.model,
                provider=completion.provider, day=reservation.day, truncated=truncated,
                over_reservation=cost > reservation.amount_micros,
            )
            settled = self._ledger.settle(reservation, user_message, reply, usage.total_tokens, iso(done))
        except Exception as e:
            logger().exception("settle failed; the turn stays pending until the sweeper releases it",
                               extra=_ids(reservation))
            raise TurnNotRecorded(
                "The answer could not be saved: the conversation store is unavailable. Your message is kept and "
                "nothing more will be charged for it; send it again in a moment."
            ) from e
        if settled:
            logger().info("turn settled", extra={
                **_ids(reservation), "message_id": reply.id, "provider": answered.provider, "model": answered.model,
                "tokens": usage.total_tokens, "input_tokens": reply.input_tokens, "output_tokens": usage.output_tokens,
                "cost_micros": cost, "latency_ms": round(latency_ms), "truncated": truncated,
                "stop_reason": completion.stop_reason})
        else:
            logger().error("turn was released before it settled; its reply is not stored", extra=_ids(reservation))
        if reply.over_reservation:
            logger().error("provider reported more usage than the turn reserved (max_tokens ignored?)", extra={
                **_ids(reservation), "message_id": reply.id, "provider": answered.provider, "model": answered.model,
                "reserved_micros": reservation.amount_micros, "cost_micros": cost, "output_tokens": usage.output_tokens,
                "max_tokens": turn.request.max_tokens})
            self._metrics.over_reservation(answered.provider, answered.model, cost - reservation.amount_micros)
        self._metrics.answered(answered.provider, answered.model, usage.total_tokens, cost, latency_ms)
        return ChatResponse(
            session_id=reservation.session_id, message=fitted.text,
            metadata=ChatMetadata(
                tokens=usage.total_tokens, input_tokens=reply.input_tokens, output_tokens=usage.output_tokens,
                cost_cents=micros_to_cents(cost), model=completion.model, provider=completion.provider,
                message_id=reply.id, truncated=truncated,
            ),
        )


def _ids(reservation: Reservation) -> dict[str, str]:
    """A turn's ids for a log line (the user's message: `user_message_id`)."""
    return {"tenant_id": reservation.tenant_id, "session_id": reservation.session_id,
            "user_message_id": reservation.message_id}


def _request_hash(body: ChatRequest) -> str:
    """What a retry must repeat exactly to be the same request."""
    return hashlib.sha256(json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
