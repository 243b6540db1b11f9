"""Sessions and messages as table items, and back: the one mapping the store and the ledger share."""

from __future__ import annotations

import json
from dataclasses import MISSING, fields, replace
from typing import Any, TypeVar

from aichat.core.errors import SessionNotActive, SessionNotFound
from aichat.core.identity import Identity
from aichat.core.records import MessageRecord, SessionRecord
from aichat.table import keys
from aichat.table.call_records import readable_calls
from aichat.table.transactions import Item, n, s, str_attr


def session_key(session_id: str) -> Item:
    """The key of a session's own item."""
    return {"PK": s(keys.session_pk(session_id)), "SK": s(keys.SESSION_SK)}


def message_key(session_id: str, message_id: str) -> Item:
    """The key of one message of a session."""
    return {"PK": s(keys.session_pk(session_id)), "SK": s(keys.message_sk(message_id))}


def session_item(record: SessionRecord, expires_at: int) -> Item:
    """A new session's item, with its OwnerIndex and DayIndex keys."""
    return {
        **session_key(record.id), "GSI1PK": s(keys.owner_key(record.tenant_id, record.user_id)),
        "GSI1SK": s(record.id),
        "GSI2PK": s(keys.tenant_day_key(record.tenant_id, record.created_at[:10])), "GSI2SK": s(record.id),
        **_attributes(record), "expires_at": n(expires_at),
    }


def message_item(session: SessionRecord, m: MessageRecord, expires_at: int) -> Item:
    """A message's item; it carries the session's tenant and user, so every read can check ownership."""
    return {**message_key(session.id, m.id), "tenant_id": s(session.tenant_id), "user_id": s(session.user_id),
            **_attributes(m), "expires_at": n(expires_at)}


def session_record(item: Item) -> SessionRecord:
    """The session an item holds."""
    return _record(SessionRecord, item, id=keys.session_id_from_pk(str_attr(item, "PK") or ""))


def message_record(item: Item) -> MessageRecord:
    """The message an item holds; its tool calls as they can be shown (a record stored nested too deep, before
    aichat.table.call_records bounded it, as a preview)."""
    record = _record(MessageRecord, item, id=keys.message_id_from_sk(str_attr(item, "SK") or ""))
    if not record.function_calls:
        return record
    return replace(record, function_calls=readable_calls(record.function_calls))


# --- one mapping for both: a record's fields are its item's attributes, by name -----------------------------------

_JSON_FIELDS = {"context", "function_calls", "tool_steps", "tools"}  # objects and lists, stored as JSON text
_R = TypeVar("_R", SessionRecord, MessageRecord)


def _attributes(record: SessionRecord | MessageRecord) -> Item:
    """Every field but the id (it is in the key), as attribute values; None and False are left out."""
    out: Item = {}
    for f in fields(record):
        value = getattr(record, f.name)
        if f.name == "id" or value is None or value is False:
            continue
        if f.name in _JSON_FIELDS:
            out[f.name] = s(json.dumps(value))
        elif isinstance(value, bool):
            out[f.name] = {"BOOL": value}
        elif isinstance(value, int):
            out[f.name] = n(value)
        else:
            out[f.name] = s(str(value))
    return out


def _record(cls: type[_R], item: Item, **given: Any) -> _R:
    """A record from an item's attributes of the same names; absent ones take the field's default."""
    values: dict[str, Any] = dict(given)
    for f in fields(cls):
        if f.name in values or f.name not in item:
            continue
        attribute = item[f.name]
        if "N" in attribute:
            values[f.name] = int(attribute["N"])
        elif "BOOL" in attribute:
            values[f.name] = bool(attribute["BOOL"])
        elif f.name in _JSON_FIELDS:
            values[f.name] = _json(attribute["S"])
        elif "S" in attribute:
            values[f.name] = attribute["S"]
    for f in fields(cls):  # fields without a default that an old item lacks
        if f.name not in values and f.default is MISSING:
            values[f.name] = ""
    return cls(**values)


def _json(text: str) -> Any:
    """A JSON attribute's value; None for one nested deeper than the parser goes (no write makes one), so the rest
    of its item still reads."""
    try:
        return json.loads(text)
    except RecursionError:
        return None


# The status of a session being deleted (aichat/table/deletions.py): to every read and write it is not there.
DELETED = "deleted"


def owned_session(item: Item, caller: Identity) -> SessionRecord:
    """The session, if it is the caller's; SessionNotFound otherwise (the same answer as a missing one), and for a
    session being deleted."""
    if (str_attr(item, "tenant_id") != caller.tenant_id or str_attr(item, "user_id") != caller.user_id
            or str_attr(item, "status") == DELETED):
        raise SessionNotFound()
    return session_record(item)


def check_owned_active(item: Item | None, session: SessionRecord) -> None:
    """SessionNotFound unless the item is this session's owner's; SessionNotActive unless it is active."""
    if (not item or str_attr(item, "tenant_id") != session.tenant_id
            or str_attr(item, "user_id") != session.user_id or str_attr(item, "status") == DELETED):
        raise SessionNotFound()
    status = str_attr(item, "status")
    if status != "active":
        raise SessionNotActive(status or "closed")
