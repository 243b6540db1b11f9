"""The staff side of a handoff: a tenant's waiting list, taking a session, a person's replies, handing it back.

Only staff (STAFF_ROLES) reach these, and only within their own tenant; a session of another tenant, or one that
was never escalated, is answered as one that does not exist. Take, or the first reply, takes the session (who,
when: one taker) and announces AgentJoined; every reply announces AgentReplied; a release SessionReleased.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from aichat.core.clock import Clock
from aichat.core.errors import Forbidden, InvalidInput
from aichat.core.identity import Identity
from aichat.core.metrics import first_human_reply
from aichat.core.models import (
    AgentMessageRequest,
    HistoryResponse,
    MessageOut,
    ReleaseRequest,
    SessionOut,
    WaitingSessionOut,
)
from aichat.core.records import MessageRecord, SessionRecord
from aichat.notify.domain_events import DomainEvents, EventName, agent_event
from aichat.services.history import history_page
from aichat.table.escalations import Handoffs
from aichat.table.sessions import Store
from aichat.table.transactions import Item, str_attr


class HandoffService:
    """What a tenant's support staff do with its escalated sessions."""

    def __init__(self, handoffs: Handoffs, store: Store, events: DomainEvents, clock: Clock) -> None:
        self._handoffs = handoffs
        self._store = store
        self._events = events
        self._clock = clock

    def waiting(self, staff: Identity, status: str, limit: int,
                cursor: str | None) -> tuple[list[WaitingSessionOut], str | None]:
        """The tenant's escalated sessions, oldest waiting first, and the next page's cursor."""
        _check_staff(staff)
        if status != "escalated":
            raise InvalidInput("status must be escalated: the list holds the sessions waiting for a person.",
                               field="status")
        rows, next_cursor = self._handoffs.waiting(staff.tenant_id, limit, cursor)
        now = self._clock()
        return [_waiting(row, now) for row in rows], next_cursor

    def history(self, staff: Identity, session_id: str, limit: int, cursor: str | None,
                after: str | None) -> HistoryResponse:
        """A session of the tenant that is or was escalated, read as its customer reads it."""
        _check_staff(staff)
        session = self._handoffs.session(session_id, staff)
        owner = Identity(user_id=session.user_id, tenant_id=session.tenant_id, roles=frozenset())
        return history_page(self._store, session_id, owner, limit, cursor, after)

    def reply(self, staff: Identity, session_id: str, body: AgentMessageRequest) -> MessageOut:
        """A person's reply, stored in the session as role agent; the first one takes the session."""
        _check_staff(staff)
        session = self._handoffs.session(session_id, staff)
        written, took = self._handoffs.reply(session, staff, body.content)
        message = written[-1]
        if took:
            self._joined(session, staff, message)
        self._events.publish(agent_event(EventName.AGENT_REPLIED, session, staff, message_id=message.id))
        return message.to_api()

    def take(self, staff: Identity, session_id: str) -> SessionOut:
        """Take the session without replying (a "joined" marker tells the customer); the session as it is now."""
        _check_staff(staff)
        session = self._handoffs.session(session_id, staff)
        joined = self._handoffs.take(session, staff)
        if joined is None:  # theirs already: as read
            return session.to_api()
        self._joined(session, staff, joined)
        # The take set these in the transaction that wrote its marker, at the marker's time: no second read.
        return replace(session, taken_by=staff.user_id, taken_by_name=joined.agent_name, taken_at=joined.created_at,
                       updated_at=joined.created_at).to_api()

    def release(self, staff: Identity, session_id: str, body: ReleaseRequest) -> SessionOut:
        """Hand the session back to the model, or close it; a "left" marker tells the customer."""
        _check_staff(staff)
        session = self._handoffs.session(session_id, staff)
        released, _ = self._handoffs.release(session, staff, body.to)
        self._events.publish(agent_event(EventName.SESSION_RELEASED, released, staff, to=body.to, note=body.note))
        return released.to_api()


    def _joined(self, session: SessionRecord, staff: Identity, first: MessageRecord) -> None:
        """A person took the session (by replying or by Take): AgentJoined, and how long the customer waited."""
        self._events.publish(agent_event(EventName.AGENT_JOINED, session, staff))
        if session.escalated_at:
            waited = (_parse(first.created_at) - _parse(session.escalated_at)).total_seconds()
            first_human_reply(session.tenant_id, max(waited, 0))


def _check_staff(caller: Identity) -> None:
    if not caller.is_staff:
        raise Forbidden("These routes are for support staff; ask for a staff role (STAFF_ROLES).")


def _parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def _waiting(row: Item, now: datetime) -> WaitingSessionOut:
    escalated_at = str_attr(row, "escalated_at") or ""
    return WaitingSessionOut(
        session_id=str_attr(row, "session_id") or "", user_id=str_attr(row, "user_id") or "",
        session_type=str_attr(row, "session_type") or "customer_support",
        reason=str_attr(row, "reason"), escalated_at=escalated_at,
        waiting_seconds=max(int((now - _parse(escalated_at)).total_seconds()), 0) if escalated_at else 0,
        last_customer_message=str_attr(row, "last_customer_message"),
        last_customer_message_at=str_attr(row, "last_customer_message_at"),
        taken_by=str_attr(row, "taken_by"), taken_by_name=str_attr(row, "taken_by_name"), context=_context(row))


def _context(row: Item) -> dict[str, Any] | None:
    """The context the waiting list's entry kept (JSON text), or None."""
    text = str_attr(row, "context")
    value = json.loads(text) if text else None
    return value if isinstance(value, dict) else None
