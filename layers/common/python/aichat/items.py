"""Sessions and messages as table items, and back: the one mapping the store and the ledger share."""

from __future__ import annotations

import json

from aichat import keys
from aichat.errors import SessionNotActive, SessionNotFound
from aichat.identity import Identity
from aichat.records import MessageRecord, SessionRecord
from aichat.transactions import Item, int_attr, n, optional_values, s, str_attr


def session_key(session_id: str) -> Item:
    """The key of a session's own item."""
    return {"PK": s(keys.session_pk(session_id)), "SK": s(keys.SESSION_SK)}


def message_key(session_id: str, message_id: str) -> Item:
    """The key of one message of a session."""
    return {"PK": s(keys.session_pk(session_id)), "SK": s(keys.message_sk(message_id))}


def session_item(record: SessionRecord, expires_at: int) -> Item:
    """A new session's item, with its OwnerIndex and DayIndex keys."""
    item: Item = {
        **session_key(record.id), "GSI1PK": s(keys.owner_key(record.tenant_id, record.user_id)),
        "GSI1SK": s(record.id),
        "GSI2PK": s(keys.tenant_day_key(record.tenant_id, record.created_at[:10])), "GSI2SK": s(record.id),
        "tenant_id": s(record.tenant_id), "user_id": s(record.user_id), "session_type": s(record.session_type),
        "status": s(record.status), "provider": s(record.provider), "model": s(record.model),
        "created_at": s(record.created_at), "updated_at": s(record.updated_at),
        "message_count": n(record.message_count), "total_tokens": n(record.total_tokens),
        "total_cost_micros": n(record.total_cost_micros), "expires_at": n(expires_at),
    }
    item.update(optional_values(customer_id=record.customer_id,
                                context=None if record.context is None else json.dumps(record.context)))
    return item


def message_item(session: SessionRecord, m: MessageRecord, expires_at: int) -> Item:
    """A message's item; it carries the session's tenant and user, so every read can check ownership."""
    item: Item = {
        **message_key(session.id, m.id), "tenant_id": s(session.tenant_id), "user_id": s(session.user_id),
        "role": s(m.role), "content": s(m.content), "created_at": s(m.created_at), "tokens": n(m.tokens),
        "status": s(m.status), "expires_at": n(expires_at),
    }
    if m.role == "assistant":
        item.update(input_tokens=n(m.input_tokens), output_tokens=n(m.output_tokens),
                    cost_micros=n(m.cost_micros), **optional_values(model=m.model, provider=m.provider))
    item.update(optional_values(day=m.day, truncated=m.truncated or None,
                                over_reservation=m.over_reservation or None))
    if m.reserved_micros:
        item["reserved_micros"] = n(m.reserved_micros)
    return item


def session_record(item: Item) -> SessionRecord:
    """The session an item holds."""
    context = str_attr(item, "context")
    rating = int_attr(item, "user_rating")
    return SessionRecord(
        id=keys.session_id_from_pk(str_attr(item, "PK") or ""), tenant_id=str_attr(item, "tenant_id") or "",
        user_id=str_attr(item, "user_id") or "", session_type=str_attr(item, "session_type"),  # type: ignore[arg-type]
        status=str_attr(item, "status"),  # type: ignore[arg-type]
        provider=str_attr(item, "provider") or "", model=str_attr(item, "model") or "",
        created_at=str_attr(item, "created_at") or "", updated_at=str_attr(item, "updated_at") or "",
        message_count=int_attr(item, "message_count"), total_tokens=int_attr(item, "total_tokens"),
        total_cost_micros=int_attr(item, "total_cost_micros"), user_rating=rating or None,
        feedback=str_attr(item, "feedback"), escalation_reason=str_attr(item, "escalation_reason"),
        customer_id=str_attr(item, "customer_id"), context=None if context is None else json.loads(context),
    )


def message_record(item: Item) -> MessageRecord:
    """The message an item holds."""
    status = str_attr(item, "status")
    return MessageRecord(
        id=keys.message_id_from_sk(str_attr(item, "SK") or ""), role=str_attr(item, "role") or "user",
        content=str_attr(item, "content") or "", created_at=str_attr(item, "created_at") or "",
        tokens=int_attr(item, "tokens"), status=status if status in ("pending", "failed") else "ok",  # type: ignore[arg-type]
        input_tokens=int_attr(item, "input_tokens"), output_tokens=int_attr(item, "output_tokens"),
        cost_micros=int_attr(item, "cost_micros"), model=str_attr(item, "model"), provider=str_attr(item, "provider"),
        feedback=str_attr(item, "feedback"), feedback_text=str_attr(item, "feedback_text"), day=str_attr(item, "day"),
        reserved_micros=int_attr(item, "reserved_micros"), truncated=bool(item.get("truncated", {}).get("BOOL")),
        over_reservation=bool(item.get("over_reservation", {}).get("BOOL")),
    )


def owned_session(item: Item, caller: Identity) -> SessionRecord:
    """The session, if it is the caller's; SessionNotFound otherwise (the same answer as a missing one)."""
    if str_attr(item, "tenant_id") != caller.tenant_id or str_attr(item, "user_id") != caller.user_id:
        raise SessionNotFound()
    return session_record(item)


def check_owned_active(item: Item | None, session: SessionRecord) -> None:
    """SessionNotFound unless the item is this session's owner's; SessionNotActive unless it is active."""
    if (not item or str_attr(item, "tenant_id") != session.tenant_id
            or str_attr(item, "user_id") != session.user_id):
        raise SessionNotFound()
    status = str_attr(item, "status")
    if status != "active":
        raise SessionNotActive(status or "closed")
