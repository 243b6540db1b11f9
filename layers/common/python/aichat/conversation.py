"""POST /chat: reserve the worst case, call the model, settle the real cost; release if no answer came."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from aichat.budgets import BudgetRefused, chat_charges, new_session_charge, refusal
from aichat.clock import Clock, iso, utc_day
from aichat.errors import ChatError, SessionNotActive, TurnNotRecorded
from aichat.identity import Identity
from aichat.ids import new_id
from aichat.ledger import Reservation, TurnLedger, fit_reply, sweep_after
from aichat.logs import logger
from aichat.metrics import ChatMetrics
from aichat.models import ChatMetadata, ChatRequest, ChatResponse
from aichat.pricing import PriceTable, micros_to_cents
from aichat.prompts import Prompts
from aichat.providers import Completion, CompletionRequest, Route, Turn
from aichat.providers.failover import Failover
from aichat.providers.registry import Providers
from aichat.records import MessageRecord, SessionRecord
from aichat.settings import Settings
from aichat.store import Store
from aichat.tenants import TenantLimits


@dataclass(frozen=True)
class _Turn:
    session: SessionRecord
    request: CompletionRequest
    is_new: bool
    routes: list[Route]


class ChatService:
    """One chat turn, from the caller's message to the stored reply, never past a budget."""

    def __init__(self, settings: Settings, store: Store, ledger: TurnLedger, providers: Providers,
                 prices: PriceTable, prompts: Prompts, limits: TenantLimits, clock: Clock, failover: Failover,
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

    def send(self, caller: Identity, body: ChatRequest, remaining_seconds: float | None = None) -> ChatResponse:
        """Answer a message, starting a session when session_id is null.

        `remaining_seconds` is how long this invocation may still run: a turn it leaves pending is swept after.
        """
        now = self._clock()
        day = utc_day(now)
        limits = self._limits.for_tenant(caller.tenant_id)
        turn = self._prepare(caller, body, iso(now))
        self._providers.get(turn.routes[0].provider)  # no key: 503 before anything is reserved or written
        # The fallback may answer instead, so the reservation covers the dearer of the two.
        worst = max(self._prices.worst_case_micros(route.model, turn.request.input_token_bound(),
                                                   turn.request.max_tokens) for route in turn.routes)
        user_message = MessageRecord(id=new_id(now), role="user", content=body.message, created_at=iso(now))
        try:
            reservation = self._ledger.reserve(
                turn.session, turn.is_new, day, chat_charges(limits, worst), user_message,
                sweep_after(now.timestamp(), remaining_seconds),
                session_charge=new_session_charge(limits) if turn.is_new else None)
        except BudgetRefused as refused:
            error = refusal(refused.charge, refused.used)
            self._metrics.refused(error.code)
            raise error from None

        started = time.perf_counter()
        try:
            answered, completion = self._failover.complete(turn.routes, turn.request)
        except BaseException as e:
            # No answer, so nothing to charge: give the reservation back (or leave it to the sweeper).
            self._release(reservation)
            self._metrics.provider_failed(turn.routes[0].provider, e.code if isinstance(e, ChatError) else "internal")
            raise
        latency_ms = (time.perf_counter() - started) * 1000
        return self._settle(reservation, turn, user_message, answered, completion, latency_ms)

    def _release(self, reservation: Reservation) -> None:
        try:
            self._ledger.release(reservation, iso(self._clock()))
        except Exception:
            logger().exception("release failed; the sweeper will release the turn",
                               extra={"session_id": reservation.session_id, "message_id": reservation.message_id})

    def _prepare(self, caller: Identity, body: ChatRequest, now: str) -> _Turn:
        if body.session_id is None:
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
            session, history = self._store.conversation(body.session_id, caller, self._settings.MAX_CONTEXT_MESSAGES)
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

    def _settle(self, reservation: Reservation, turn: _Turn, user_message: MessageRecord, answered: Route,
                completion: Completion, latency_ms: float) -> ChatResponse:
        # Once the provider has answered the turn is charged: the reply is cut to what may be stored, never refused.
        fitted = fit_reply(completion.text, completion.usage, turn.request.max_tokens)
        usage = fitted.usage
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
                provider=completion.provider, day=reservation.day, truncated=fitted.truncated,
                over_reservation=cost > reservation.amount_micros,
            )
            settled = self._ledger.settle(reservation, user_message, reply, usage.total_tokens, iso(done))
        except Exception as e:
            logger().exception("settle failed; the turn stays pending until the sweeper releases it",
                               extra={"session_id": reservation.session_id, "message_id": reservation.message_id})
            raise TurnNotRecorded(
                "The answer could not be saved: the conversation store is unavailable. Your message is kept and "
                "nothing more will be charged for it; send it again in a moment."
            ) from e
        if not settled:
            logger().error("turn was released before it settled; its reply is not stored",
                           extra={"session_id": reservation.session_id, "message_id": reservation.message_id})
        if reply.over_reservation:
            logger().error("provider reported more usage than the turn reserved (max_tokens ignored?)", extra={
                "provider": answered.provider, "model": answered.model, "reserved_micros": reservation.amount_micros,
                "cost_micros": cost, "output_tokens": usage.output_tokens, "max_tokens": turn.request.max_tokens})
            self._metrics.over_reservation(answered.provider, answered.model, cost - reservation.amount_micros)
        self._metrics.answered(answered.provider, answered.model, usage.total_tokens, cost, latency_ms)
        return ChatResponse(
            session_id=reservation.session_id, message=fitted.text,
            metadata=ChatMetadata(
                tokens=usage.total_tokens, input_tokens=reply.input_tokens, output_tokens=usage.output_tokens,
                cost_cents=micros_to_cents(cost), model=completion.model, provider=completion.provider,
                message_id=reply.id, truncated=fitted.truncated,
            ),
        )
