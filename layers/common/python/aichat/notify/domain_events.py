"""The product's domain events on EventBridge, so tickets and escalations reach a platform's own systems.

One entry per fact, source `ai-chat`, detail-type the event's name. A publish that fails is retried, then logged and
counted: it never fails the request, because the fact itself (the ticket, the escalation) is already stored.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from aichat.core.logs import logger
from aichat.core.metrics import event_not_published

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

    from aichat.core.identity import Identity
    from aichat.core.models import ErasureOut
    from aichat.core.records import MessageRecord, SessionRecord, TicketRecord

SOURCE = "ai-chat"
# Tries of one publish: the first, and two more of only the entries EventBridge answered with an ErrorCode
# (throttling, an internal failure). An exception is not tried again here: the client has retried it already.
MAX_TRIES = 3
_PAUSES = (0.1, 0.3)  # seconds before the second and the third try

EscalatedBy = Literal["user", "model"]


class EventName(StrEnum):
    """Every event the product publishes, by its detail-type; the only place event names are written."""

    TICKET_CREATED = "TicketCreated"
    SESSION_ESCALATED = "SessionEscalated"
    CUSTOMER_MESSAGED = "CustomerMessaged"
    AGENT_JOINED = "AgentJoined"
    AGENT_REPLIED = "AgentReplied"
    SESSION_RELEASED = "SessionReleased"
    ESCALATION_WITHDRAWN = "EscalationWithdrawn"
    USER_DATA_ERASED = "UserDataErased"
    TENANT_CONFIG_CHANGED = "TenantConfigChanged"


@dataclass(frozen=True)
class DomainEvent:
    """One fact: its name, its detail (ids, codes, times, the fact's own fields), the ids a log line may carry, and
    message text kept apart, sent only where EVENTS_INCLUDE_MESSAGE_TEXT allows."""

    name: EventName
    detail: Mapping[str, Any]
    ids: Mapping[str, str]
    message_text: str | None = None


def ticket_created(ticket: TicketRecord) -> DomainEvent:
    """A ticket was stored: its owner, session and fields, never its description."""
    return DomainEvent(EventName.TICKET_CREATED, {
        "tenant_id": ticket.tenant_id, "user_id": ticket.user_id, "session_id": ticket.session_id,
        "ticket": {"id": ticket.id, "title": ticket.title, "priority": ticket.priority, "status": ticket.status,
                   "created_at": ticket.created_at},
    }, {"tenant_id": ticket.tenant_id, "user_id": ticket.user_id, "session_id": ticket.session_id,
        "ticket_id": ticket.id})


def session_escalated(session: SessionRecord, caller: Identity, by: EscalatedBy) -> DomainEvent:
    """A session was handed to a person, by its user (the API route) or by the model (escalate_to_human)."""
    ids = {"tenant_id": caller.tenant_id, "user_id": caller.user_id, "session_id": session.id}
    return DomainEvent(EventName.SESSION_ESCALATED, {
        **ids, "session_type": session.session_type, "reason": session.escalation_reason,
        "escalated_at": session.updated_at, "by": by,
    }, ids)


def escalation_withdrawn(session: SessionRecord, caller: Identity) -> DomainEvent:
    """The customer took back an escalation before any person took it."""
    ids = {"tenant_id": caller.tenant_id, "user_id": caller.user_id, "session_id": session.id}
    return DomainEvent(EventName.ESCALATION_WITHDRAWN, {**ids, "escalated_at": session.escalated_at,
                                                        "withdrawn_at": session.updated_at}, ids)


def customer_messaged(session: SessionRecord, message: MessageRecord) -> DomainEvent:
    """The customer wrote in a session a person has: the message's ids (its text only where allowed)."""
    ids = {"tenant_id": session.tenant_id, "user_id": session.user_id, "session_id": session.id}
    return DomainEvent(EventName.CUSTOMER_MESSAGED, {**ids, "message_id": message.id,
                                                     "created_at": message.created_at},
                       {**ids, "message_id": message.id}, message_text=message.content)


def agent_event(name: EventName, session: SessionRecord, staff: Identity, **fields: Any) -> DomainEvent:
    """A person acted in a session of their tenant (joined, replied, released it): the session's and their ids."""
    ids = {"tenant_id": session.tenant_id, "user_id": session.user_id, "session_id": session.id}
    return DomainEvent(name, {**ids, "agent_id": staff.user_id, "agent_name": staff.display_name, **fields},
                       {**ids, "agent_id": staff.user_id})


def user_data_erased(erasure: ErasureOut, tenant_id: str, requested_by: str) -> DomainEvent:
    """An operator's erasure of a user's data finished: whose, who asked, and how much went (no text)."""
    ids = {"tenant_id": tenant_id, "user_id": erasure.user_id, "erasure_id": erasure.erasure_id}
    return DomainEvent(EventName.USER_DATA_ERASED, {
        **ids, "requested_by": requested_by, "requested_at": erasure.requested_at,
        "finished_at": erasure.finished_at, "sessions": erasure.sessions, "messages": erasure.messages,
        "tickets": erasure.tickets, "day_counters": erasure.day_counters}, ids)


def tenant_config_changed(admin: Identity, fields: list[str], version: int, changed_at: str) -> DomainEvent:
    """An admin changed their tenant's configuration: who, which fields (names only, never values), its new version."""
    ids = {"tenant_id": admin.tenant_id, "admin_id": admin.user_id}
    return DomainEvent(EventName.TENANT_CONFIG_CHANGED, {**ids, "fields": fields, "version": version,
                                                         "changed_at": changed_at}, ids)


class DomainEvents:
    """Publishes domain events on one bus. The EventBridge client is built on first use, so a function that never
    publishes never pays for it; with no client factory (EVENTS_ENABLED false) each event is logged instead."""

    def __init__(self, bus_name: str, client_factory: Callable[[], EventBridgeClient] | None, *,
                 include_message_text: bool = False, pause: Callable[[float], None] = time.sleep) -> None:
        self._bus_name = bus_name
        self._client_factory = client_factory
        self._client: EventBridgeClient | None = None
        self._include_message_text = include_message_text
        self._pause = pause

    def publish(self, *events: DomainEvent) -> None:
        """Send the events in one PutEvents; what still fails after the tries is logged and counted, never raised."""
        if not events:
            return
        if self._client_factory is None:
            for event in events:
                logger().info("event not sent (EVENTS_ENABLED is false)", extra={"event": event.name, **event.ids})
            return
        # Each entry not yet taken, with the error that refused it last.
        pending = [(event, self._entry(event), "") for event in events]
        for attempt in range(MAX_TRIES):
            if attempt:
                self._pause(_PAUSES[attempt - 1])
            try:
                if self._client is None:
                    self._client = self._client_factory()
                answer = self._client.put_events(Entries=[entry for _, entry, _ in pending])
                # Entries are answered in the order they were sent: keep only the ones EventBridge did not take.
                pending = [(event, entry, str(result["ErrorCode"])) for (event, entry, _), result
                           in zip(pending, answer["Entries"], strict=True) if result.get("ErrorCode")]
            except Exception as e:  # the client's own retries are spent; the request goes on without the event
                pending = [(event, entry, _error_code(e)) for event, entry, _ in pending]
                break
            if not pending:
                return
        for event, _, error in pending:
            logger().error("event not published", extra={"event": event.name, "error": error, **event.ids})
            event_not_published(event.name.value)

    def _entry(self, event: DomainEvent) -> PutEventsRequestEntryTypeDef:
        detail = dict(event.detail)
        if self._include_message_text and event.message_text is not None:
            detail["message_text"] = event.message_text
        return {"Source": SOURCE, "DetailType": event.name.value, "Detail": json.dumps(detail),
                "EventBusName": self._bus_name}


def _error_code(error: Exception) -> str:
    """The AWS error code (AccessDeniedException, ResourceNotFoundException), else the exception's type; never its
    message, which may quote the request."""
    response: Any = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, Mapping) else None
    return str(code) if code else type(error).__name__

