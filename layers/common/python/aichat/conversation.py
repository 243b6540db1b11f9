"""POST /chat: reserve the worst case, call the model, settle the real cost; release if the call fails."""

from __future__ import annotations

import time
from dataclasses import dataclass

from aichat.budgets import MESSAGES_PER_CHAT, BudgetRefused, chat_charges, new_session_charge, refusal
from aichat.clock import Clock, iso, utc_day
from aichat.errors import ChatError, SessionNotActive
from aichat.identity import Identity
from aichat.ids import new_id
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

    def __init__(self, settings: Settings, store: Store, providers: Providers, prices: PriceTable, prompts: Prompts,
                 limits: TenantLimits, clock: Clock, failover: Failover, metrics: ChatMetrics) -> None:
        self._settings = settings
        self._metrics = metrics
        self._store = store
        self._providers = providers
        self._failover = failover
        self._prices = prices
        self._prompts = prompts
        self._limits = limits
        self._clock = clock

    def send(self, caller: Identity, body: ChatRequest) -> ChatResponse:
        """Answer a message, starting a session when session_id is null."""
        now = self._clock()
        day = utc_day(now)
        limits = self._limits.for_tenant(caller.tenant_id)
        turn = self._prepare(caller, body, iso(now))
        self._providers.get(turn.routes[0].provider)  # no key: 503 before anything is reserved or written
        # The fallback may answer instead, so the reservation covers the dearer of the two.
        worst = max(self._prices.worst_case_micros(route.model, turn.request.input_token_bound(),
                                                   turn.request.max_tokens) for route in turn.routes)
        charges = chat_charges(limits, worst)
        try:
            if turn.is_new:
                self._store.create_session(turn.session, day, new_session_charge(limits), charges)
            else:
                self._store.reserve_chat(turn.session, day, charges, iso(now))
        except BudgetRefused as refused:
            error = refusal(refused.charge, refused.used)
            self._metrics.refused(error.code)
            raise error from None

        user_message = MessageRecord(id=new_id(now), role="user", content=body.message, created_at=iso(now))
        started = time.perf_counter()
        try:
            answered, completion = self._failover.complete(turn.routes, turn.request)
        except BaseException as e:
            self._metrics.provider_failed(turn.routes[0].provider, e.code if isinstance(e, ChatError) else "internal")
            failed = MessageRecord(id=user_message.id, role="user", content=body.message, created_at=iso(now),
                                   status="failed")
            self._store.release_chat(turn.session, day, failed, worst, MESSAGES_PER_CHAT, iso(self._clock()),
                                     request_token=f"release-{user_message.id}")
            raise
        latency_ms = (time.perf_counter() - started) * 1000
        return self._settle(turn.session, day, user_message, answered, completion, worst, latency_ms)

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

    def _settle(self, session: SessionRecord, day: str, user_message: MessageRecord, answered: Route,
                completion: Completion, reserved: int, latency_ms: float) -> ChatResponse:
        # Priced by the model asked for, which has a price (checked at start); the answer may name a dated snapshot.
        cost = self._prices.cost_micros(answered.model, completion.usage)
        done = self._clock()
        usage = completion.usage
        user_message = MessageRecord(id=user_message.id, role="user", content=user_message.content,
                                     created_at=user_message.created_at, tokens=usage.input_tokens)
        reply = MessageRecord(
            id=new_id(done), role="assistant", content=completion.text, created_at=iso(done),
            tokens=usage.output_tokens, input_tokens=usage.input_tokens + usage.cache_read_tokens
            + usage.cache_write_tokens, output_tokens=usage.output_tokens, cost_micros=cost, model=completion.model,
            provider=completion.provider,
        )
        self._store.settle_chat(session, day, (user_message, reply), reserved, cost, usage.total_tokens, iso(done),
                                request_token=f"settle-{user_message.id}")
        self._metrics.answered(answered.provider, answered.model, usage.total_tokens, cost, latency_ms)
        return ChatResponse(
            session_id=session.id, message=completion.text,
            metadata=ChatMetadata(
                tokens=usage.total_tokens, input_tokens=reply.input_tokens, output_tokens=usage.output_tokens,
                cost_cents=micros_to_cents(cost), model=completion.model, provider=completion.provider,
                message_id=reply.id,
            ),
        )
