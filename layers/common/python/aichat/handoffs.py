"""The handoff in the table: each tenant's waiting list, and what staff write into an escalated session.

An escalated session has a marker item (`ESCALATION#<session>`) listed in OwnerIndex under its tenant's waiting
partition, oldest escalation first: new key values on an existing index, so no GSI is added. A person's reply is a
message item of the session like any other (role `agent`), carrying the session's own tenant and user, so every
ownership check of the customer's reads still holds. Staff act only within their own tenant, and only on sessions
that are or were escalated.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from aichat import items, keys
from aichat.clock import Clock, utc_now
from aichat.cursors import decode_cursor, encode_cursor
from aichat.errors import SessionNotActive, SessionNotFound
from aichat.identity import Identity
from aichat.models import SessionStatus
from aichat.records import MessageRecord, SessionRecord
from aichat.transactions import Cancelled, Item, n, s, str_attr, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# What a waiting-list entry keeps of the customer's latest message.
MAX_WAITING_TEXT = 500
_TAKEN = ("taken_by", "taken_by_name", "taken_at")


def marker_key(session_id: str) -> Item:
    return {"PK": s(keys.escalation_pk(session_id)), "SK": s(keys.ESCALATION_SK)}


def waiting_marker(session: SessionRecord, expires_at: int) -> Item:
    """The session's entry in its tenant's waiting list."""
    escalated_at = session.escalated_at or session.updated_at
    item = {**marker_key(session.id), "GSI1PK": s(keys.waiting_key(session.tenant_id)),
            "GSI1SK": s(keys.waiting_sort_key(escalated_at, session.id)), "session_id": s(session.id),
            "tenant_id": s(session.tenant_id), "user_id": s(session.user_id),
            "session_type": s(session.session_type), "escalated_at": s(escalated_at), "expires_at": n(expires_at)}
    if session.escalation_reason:
        item["reason"] = s(session.escalation_reason)
    return item


def last_message_update(session_id: str, message: MessageRecord, table: str) -> Item:
    """The waiting list's note of the customer's latest message (a transaction item)."""
    return {"Update": {"TableName": table, "Key": marker_key(session_id),
                       "UpdateExpression": "SET last_customer_message = :text, last_customer_message_at = :at",
                       "ExpressionAttributeValues": {":text": s(message.content[:MAX_WAITING_TEXT]),
                                                     ":at": s(message.created_at)}}}


class Handoffs:
    """Escalated sessions as their tenant's staff read and answer them."""

    def __init__(self, client: DynamoDBClient, table_name: str, retention_days: int,
                 clock: Clock = utc_now) -> None:
        self._db = client
        self._table = table_name
        self._retention_seconds = retention_days * 86_400
        self._clock = clock

    def mark_waiting(self, session: SessionRecord) -> None:
        """Put an escalated session on its tenant's waiting list."""
        self._db.put_item(TableName=self._table, Item=waiting_marker(session, self._expiry()))

    def unmark(self, session_id: str) -> None:
        """Take a session off the waiting list (an escalation undone)."""
        self._db.delete_item(TableName=self._table, Key=marker_key(session_id))

    def waiting(self, tenant_id: str, limit: int, cursor: str | None) -> tuple[list[Item], str | None]:
        """A page of the tenant's escalated sessions, oldest escalation first, and the next page's cursor."""
        request: Item = {
            "TableName": self._table, "IndexName": keys.OWNER_INDEX, "KeyConditionExpression": "GSI1PK = :waiting",
            "ExpressionAttributeValues": {":waiting": s(keys.waiting_key(tenant_id))}, "ScanIndexForward": True,
            "Limit": limit,
        }
        if cursor is not None:
            escalated_at, _, session_id = decode_cursor(cursor).rpartition("#")
            request["ExclusiveStartKey"] = {**marker_key(session_id), "GSI1PK": s(keys.waiting_key(tenant_id)),
                                            "GSI1SK": s(keys.waiting_sort_key(escalated_at, session_id))}
        page = self._db.query(**request)
        rows = page.get("Items", [])
        next_cursor = None
        if page.get("LastEvaluatedKey") and rows:
            next_cursor = encode_cursor(str_attr(rows[-1], "GSI1SK") or "")
        return rows, next_cursor

    def session(self, session_id: str, staff: Identity) -> SessionRecord:
        """A session of the staff member's tenant that is or was escalated; SessionNotFound for any other."""
        item = self._db.get_item(TableName=self._table, Key=items.session_key(session_id),
                                 ConsistentRead=True).get("Item")
        if not item or str_attr(item, "tenant_id") != staff.tenant_id or not str_attr(item, "escalated_at"):
            raise SessionNotFound()
        return items.session_record(item)

    def take(self, session: SessionRecord, staff: Identity, now: str) -> bool:
        """Mark the session as taken by `staff` unless someone has it already; True if this call took it."""
        try:
            self._db.update_item(
                TableName=self._table, Key=items.session_key(session.id),
                UpdateExpression="SET taken_by = :me, taken_by_name = :name, taken_at = :now",
                ConditionExpression="attribute_not_exists(taken_by) AND tenant_id = :tenant AND #status = :escalated",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":me": s(staff.user_id), ":name": s(staff.display_name or staff.user_id),
                                           ":now": s(now), ":tenant": s(staff.tenant_id),
                                           ":escalated": s("escalated")},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            old: Item = dict(e.response.get("Item") or {})  # type: ignore[call-overload]
            if str_attr(old, "status") != "escalated":
                raise SessionNotActive(str_attr(old, "status") or "closed") from None
            return False
        try:  # the waiting list shows who has it (a session escalated before the list existed has no entry)
            self._db.update_item(TableName=self._table, Key=marker_key(session.id),
                                 UpdateExpression="SET taken_by = :me, taken_by_name = :name",
                                 ConditionExpression="attribute_exists(PK)",
                                 ExpressionAttributeValues={":me": s(staff.user_id),
                                                            ":name": s(staff.display_name or staff.user_id)})
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        return True

    def reply(self, session: SessionRecord, message: MessageRecord) -> None:
        """Store a person's reply in the session, which must still be escalated (SessionNotActive otherwise)."""
        meta = {"Update": {
            "TableName": self._table, "Key": items.session_key(session.id),
            "UpdateExpression": "SET updated_at = :now, expires_at = :expires ADD message_count :one",
            "ConditionExpression": "tenant_id = :tenant AND user_id = :user AND #status = :escalated",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":now": s(message.created_at), ":expires": n(self._expiry()),
                                          ":one": n(1), ":tenant": s(session.tenant_id),
                                          ":user": s(session.user_id), ":escalated": s("escalated")},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}
        put = {"Put": {"TableName": self._table, "Item": items.message_item(session, message, self._expiry()),
                       "ConditionExpression": "attribute_not_exists(SK)"}}
        try:
            transact(self._db, [meta, put])
        except Cancelled as cancelled:
            old = (cancelled.reasons[0] if cancelled.reasons else {}).get("Item") or {}
            raise SessionNotActive(str_attr(old, "status") or "closed") from None

    def release(self, session: SessionRecord, to: str, now: str) -> SessionRecord:
        """Hand the session back to the model (`ai`: active) or close it (`closed`: completed); it leaves the
        waiting list and is no longer taken. SessionNotActive unless it was escalated."""
        status: SessionStatus = "active" if to == "ai" else "completed"
        meta = {"Update": {
            "TableName": self._table, "Key": items.session_key(session.id),
            "UpdateExpression": "SET #status = :status, updated_at = :now REMOVE " + ", ".join(_TAKEN),
            "ConditionExpression": "tenant_id = :tenant AND #status = :escalated",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":status": s(status), ":now": s(now), ":tenant": s(session.tenant_id),
                                          ":escalated": s("escalated")},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}
        delete = {"Delete": {"TableName": self._table, "Key": marker_key(session.id)}}
        try:
            transact(self._db, [meta, delete])
        except Cancelled as cancelled:
            old = (cancelled.reasons[0] if cancelled.reasons else {}).get("Item") or {}
            raise SessionNotActive(str_attr(old, "status") or "closed") from None
        return replace(session, status=status, updated_at=now, taken_by=None, taken_by_name=None, taken_at=None)

    def _expiry(self) -> int:
        return int(self._clock().timestamp()) + self._retention_seconds
