"""The session routes: create, list the caller's, read history, feedback, escalate and withdraw it, stop."""

from __future__ import annotations

from typing import Any

from aichat.core.budgets import BudgetRefused, new_session_charge, refusal
from aichat.core.clock import Clock, iso, utc_day
from aichat.core.errors import EscalationNotDelivered, InvalidInput
from aichat.core.identity import Identity
from aichat.core.ids import new_id
from aichat.core.models import (
    CreateSessionRequest,
    EscalateRequest,
    FeedbackRequest,
    HistoryResponse,
    MessageOut,
    MessageRatingRequest,
    SessionOut,
    SessionType,
    StopRequest,
    StopResponse,
    WithdrawRequest,
)
from aichat.core.records import SessionRecord
from aichat.core.tenant_config import TenantConfig
from aichat.notify.domain_events import DomainEvents, EscalatedBy, escalation_withdrawn, session_escalated
from aichat.notify.staff_alerts import EscalationNotifier
from aichat.providers.registry import Providers
from aichat.services.history import history_page
from aichat.table.escalations import Handoffs
from aichat.table.ledger.turn_ledger import TurnLedger
from aichat.table.ratings import MessageRatings
from aichat.table.sessions import Store
from aichat.table.stop_flags import StopFlags
from aichat.table.tenants import TenantConfigCache


class SessionService:
    """Everything about a session except the chat turn itself."""

    def __init__(self, store: Store, ratings: MessageRatings, ledger: TurnLedger, providers: Providers,
                 limits: TenantConfigCache, notifier: EscalationNotifier, events: DomainEvents, clock: Clock,
                 stops: StopFlags, handoffs: Handoffs) -> None:
        self._store = store
        self._ratings = ratings
        self._ledger = ledger
        self._providers = providers
        self._limits = limits
        self._notifier = notifier
        self._events = events
        self._clock = clock
        self.stops = stops  # the chat turn reads the same flags
        self.handoffs = handoffs  # the staff routes read and answer the same waiting list

    def create(self, caller: Identity, body: CreateSessionRequest) -> SessionOut:
        """Start a session, counted against the caller's sessions today."""
        now = self._clock()
        tenant = self._limits.config(caller.tenant_id)
        session = new_session(caller, body.session_type, self._providers, tenant, new_id(now), iso(now), body.context,
                              customer_id=body.customer_id)
        try:
            self._ledger.open_session(session, utc_day(now), new_session_charge(tenant.limits))
        except BudgetRefused as refused:
            raise refusal(refused.charge, refused.used) from None
        return session.to_api()

    def mine(self, caller: Identity, limit: int, cursor: str | None) -> tuple[list[SessionOut], str | None]:
        """The caller's sessions, newest first, and the next page's cursor."""
        sessions, next_cursor = self._store.sessions_of(caller, limit, cursor)
        return [s.to_api() for s in sessions], next_cursor

    def history(self, caller: Identity, session_id: str, limit: int, cursor: str | None,
                after: str | None = None) -> HistoryResponse:
        """A page of the session's messages, oldest first within the page; the cursor reaches earlier ones, and
        `after` (a message id) asks only for the messages written since it, so a client can wait for replies."""
        return history_page(self._store, session_id, caller, limit, cursor, after)

    def feedback(self, caller: Identity, session_id: str, body: FeedbackRequest) -> SessionOut:
        """Rate a session 1-5 with optional text; the session stays open for more messages."""
        _same_session(session_id, body.session_id)
        return self._store.set_feedback(session_id, caller, body.rating, body.feedback, iso(self._clock())).to_api()

    def rate_message(self, caller: Identity, session_id: str, message_id: str,
                     body: MessageRatingRequest) -> MessageOut:
        """Thumbs up or down on one assistant reply; rating again replaces the earlier rating."""
        return self._ratings.rate(session_id, message_id, caller, body.rating, body.feedback,
                                  iso(self._clock())).to_api()

    def escalate(self, caller: Identity, session_id: str, body: EscalateRequest,
                 by: EscalatedBy = "user") -> SessionOut:
        """Hand the session to a person: status escalated, reason kept, support staff notified once, and one
        SessionEscalated event saying whether the user (the API route) or the model (its tool) asked."""
        _same_session(session_id, body.session_id)
        session = self.handoffs.escalate(session_id, caller, body.reason, iso(self._clock()))
        try:
            self._notifier.escalated(session, caller)
        except Exception as e:
            # Unannounced, nobody would follow up: undo, so the caller's retry escalates again.
            self.handoffs.undo_escalation(session_id, caller, iso(self._clock()))
            raise EscalationNotDelivered(
                "Support staff could not be notified, so the session was not escalated. Try again shortly."
            ) from e
        # After the notification, so an escalation that was undone is never announced; a failed publish is logged.
        self._events.publish(session_escalated(session, caller, by))
        return session.to_api()


    def withdraw(self, caller: Identity, session_id: str, body: WithdrawRequest) -> SessionOut:
        """Take back an escalation no person has taken yet: the model answers again (EscalationWithdrawn)."""
        _same_session(session_id, body.session_id)
        session = self.handoffs.withdraw(session_id, caller, iso(self._clock()))
        self._events.publish(escalation_withdrawn(session, caller))
        return session.to_api()

    def stop(self, caller: Identity, session_id: str, body: StopRequest) -> StopResponse:
        """Ask the reply streaming in the caller's session to stop where it is (aichat/table/stop_flags.py)."""
        _same_session(session_id, body.session_id)
        asked = self.stops.request(session_id, caller, body.deltas_shown)
        return StopResponse(session_id=session_id, message_id=asked.turn_id, ended=asked.ended)


def new_session(caller: Identity, session_type: SessionType, providers: Providers, tenant: TenantConfig,
                session_id: str, now: str, context: dict[str, Any] | None, customer_id: str | None = None,
                ) -> SessionRecord:
    """A new session of the caller's, with its tenant's model, prompt and tools for its type where the tenant set
    them (kept on the session: a later change of the tenant's configuration applies to new sessions only)."""
    own = tenant.session_type(session_type)
    provider, model = (own.model.provider, own.model.model) if own.model else providers.default(session_type)
    return SessionRecord(
        id=session_id, tenant_id=caller.tenant_id, user_id=caller.user_id, session_type=session_type,
        status="active", provider=provider, model=model, created_at=now, updated_at=now, customer_id=customer_id,
        context=context, system_prompt=own.system_prompt, tools=own.tools)


def _same_session(path_id: str, body_id: str | None) -> None:
    if body_id is not None and body_id != path_id:
        raise InvalidInput(
            f"session_id in the body ({body_id}) differs from the one in the path ({path_id}); send the same id or "
            "leave it out.", field="session_id",
        )
