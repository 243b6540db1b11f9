"""The handoff in the table: each tenant's waiting list, and what staff write into an escalated session.

An escalated session has a marker item (`ESCALATION#<session>`) listed in OwnerIndex under its tenant's waiting
partition, oldest escalation first: new key values on an existing index, so no GSI is added. A person's reply is a
message item of the session like any other (role `agent`), carrying the session's own tenant and user, so every
ownership check of the customer's reads still holds. Staff act only within their own tenant, and only on sessions
that are or were escalated.

The take (the first reply) also names the session's last turn (`live_turn`) as `taken_turn` and as `stop_turn`, in
the same transaction: a turn still running then stops streaming (table/stop_flags.py), runs no tool and stores no more
model text (aichat/table/ledger/: it settles overtaken), so the customer sees only the person from there on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from aichat.core.clock import Clock, iso, utc_now
from aichat.core.cursors import WAITING, decode_cursor, encode_cursor
from aichat.core.errors import AgentMessageLimitExceeded, EscalationTaken, SessionNotActive, SessionNotFound
from aichat.core.identity import Identity
from aichat.core.ids import new_id
from aichat.core.models import SessionStatus
from aichat.core.records import MessageRecord, SessionRecord
from aichat.table import context_stamps, items, keys
from aichat.table.transactions import Cancelled, Item, int_attr, n, s, str_attr, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# What a waiting-list entry keeps of the customer's latest message.
MAX_WAITING_TEXT = 500
# A person's messages in one session: replies, and the joined and left lines. They take none of the customer's
# MAX_MESSAGES_PER_SESSION (it bounds the model turns a customer may spend, and a person's reply spends none), so the
# session's agent_message_count bounds them on their own: past it a reply is refused, a release never is.
MAX_AGENT_MESSAGES_PER_SESSION = 500
_TAKEN = ("taken_by", "taken_by_name", "taken_at")


def _old(cancelled: Cancelled) -> Item:
    """The session item as it was when the transaction's first entry (the session's update) was refused."""
    return dict((cancelled.reasons[0] if cancelled.reasons else {}).get("Item") or {})


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
    if session.context:
        item["context"] = s(json.dumps(session.context))  # what the customer's app sent, for the person to see
    return item


def last_message_update(session_id: str, message: MessageRecord, table: str) -> Item:
    """The waiting list's note of the customer's latest message (a transaction item)."""
    return {"Update": {"TableName": table, "Key": marker_key(session_id),
                       "UpdateExpression": "SET last_customer_message = :text, last_customer_message_at = :at",
                       "ExpressionAttributeValues": {":text": s(message.content[:MAX_WAITING_TEXT]),
                                                     ":at": s(message.created_at)}}}


class Handoffs:
    """Escalated sessions as their customers hand them over and their tenant's staff read and answer them."""

    def __init__(self, client: DynamoDBClient, table_name: str, retention_days: int, clock: Clock = utc_now,
                 max_agent_messages: int = MAX_AGENT_MESSAGES_PER_SESSION, *,
                 tenant_retention: Callable[[str], int] | None = None) -> None:
        self._db = client
        self._table = table_name
        self._retention_seconds = retention_days * 86_400
        self._tenant_retention = tenant_retention  # a tenant's own RETENTION_DAYS, for what is written from now on
        self._clock = clock
        self._max_agent_messages = max_agent_messages

    def escalate(self, session_id: str, caller: Identity, reason: str, now: str) -> SessionRecord:
        """Escalate an active session of the caller's and put it on its tenant's waiting list, in one transaction,
        so no escalated session is missing from the list."""
        session = self._owned(session_id, caller)
        if session.status != "active":
            raise SessionNotActive(session.status)
        escalated = replace(session, status="escalated", escalation_reason=reason, escalated_at=now, updated_at=now,
                            taken_by=None, taken_by_name=None, taken_at=None)
        meta = self._session_update(
            session_id, caller, "SET #status = :escalated, escalation_reason = :reason, escalated_at = :now, "
            "updated_at = :now REMOVE " + ", ".join(_TAKEN), "#status = :active",
            {":reason": s(reason), ":now": s(now), ":active": s("active"), ":escalated": s("escalated")})
        try:
            marker = waiting_marker(escalated, self._expiry(escalated.tenant_id))
            transact(self._db, [meta, {"Put": {"TableName": self._table, "Item": marker}}])
        except Cancelled as cancelled:
            raise SessionNotActive(str_attr(_old(cancelled), "status") or "closed") from None
        return escalated

    def undo_escalation(self, session_id: str, caller: Identity, now: str) -> None:
        """Undo an escalation nobody could be told of: active again, off the waiting list, as if never escalated."""
        meta = self._session_update(
            session_id, caller, "SET #status = :active, updated_at = :now REMOVE escalation_reason, escalated_at, "
            + ", ".join(_TAKEN), "#status = :escalated",
            {":now": s(now), ":active": s("active"), ":escalated": s("escalated")})
        try:
            transact(self._db, [meta, {"Delete": {"TableName": self._table, "Key": marker_key(session_id)}}])
        except Cancelled:
            return  # no longer escalated: nothing to undo

    def withdraw(self, session_id: str, caller: Identity, now: str) -> SessionRecord:
        """The customer takes back an escalation no person has taken yet: active again, off the waiting list.
        EscalationTaken once someone has it; SessionNotActive unless it is escalated."""
        session = self._owned(session_id, caller)
        if session.status != "escalated":
            raise SessionNotActive(session.status)
        if session.taken_by:
            raise EscalationTaken(session.taken_by_name)
        meta = self._session_update(session_id, caller, "SET #status = :active, updated_at = :now",
                                    "#status = :escalated AND attribute_not_exists(taken_by)",
                                    {":now": s(now), ":active": s("active"), ":escalated": s("escalated")})
        try:
            transact(self._db, [meta, {"Delete": {"TableName": self._table, "Key": marker_key(session_id)}}])
        except Cancelled as cancelled:
            old = _old(cancelled)
            if str_attr(old, "taken_by"):
                raise EscalationTaken(str_attr(old, "taken_by_name")) from None
            raise SessionNotActive(str_attr(old, "status") or "closed") from None
        return replace(session, status="active", updated_at=now)

    def waiting(self, tenant_id: str, limit: int, cursor: str | None) -> tuple[list[Item], str | None]:
        """A page of the tenant's escalated sessions, oldest escalation first, and the next page's cursor."""
        request: Item = {
            "TableName": self._table, "IndexName": keys.OWNER_INDEX, "KeyConditionExpression": "GSI1PK = :waiting",
            "ExpressionAttributeValues": {":waiting": s(keys.waiting_key(tenant_id))}, "ScanIndexForward": True,
            "Limit": limit,
        }
        if cursor is not None:
            escalated_at, session_id = decode_cursor(cursor, WAITING)
            request["ExclusiveStartKey"] = {**marker_key(session_id), "GSI1PK": s(keys.waiting_key(tenant_id)),
                                            "GSI1SK": s(keys.waiting_sort_key(escalated_at, session_id))}
        page = self._db.query(**request)
        rows = page.get("Items", [])
        next_cursor = None
        if page.get("LastEvaluatedKey") and rows:
            # The parts the marker's sort key was made of (waiting_marker), so the next page starts right after it.
            escalated_at, _, session_id = (str_attr(rows[-1], "GSI1SK") or "").rpartition("#")
            next_cursor = encode_cursor(WAITING, escalated_at, session_id)
        return rows, next_cursor

    def session(self, session_id: str, staff: Identity) -> SessionRecord:
        """A session of the staff member's tenant that is or was escalated; SessionNotFound for any other."""
        item = self._db.get_item(TableName=self._table, Key=items.session_key(session_id),
                                 ConsistentRead=True).get("Item")
        if (not item or str_attr(item, "tenant_id") != staff.tenant_id or not str_attr(item, "escalated_at")
                or str_attr(item, "status") == items.DELETED):
            raise SessionNotFound()
        return items.session_record(item)

    def take(self, session: SessionRecord, staff: Identity) -> MessageRecord | None:
        """Take the escalated session without replying: as a first reply takes it (who, when, any running turn
        overtaken, a "joined" marker), in one transaction, so two people taking at once take it once. The marker
        written; None when `staff` had it already. EscalationTaken when another person has it, SessionNotActive
        unless it is escalated."""
        if session.taken_by is not None:
            if session.taken_by == staff.user_id:
                return None
            raise EscalationTaken(session.taken_by_name, by_staff=True)
        try:
            written = self._write(session, staff, None, take=True)
        except Cancelled as cancelled:
            old = _old(cancelled)
            if str_attr(old, "status") == "escalated" and str_attr(old, "taken_by"):
                if str_attr(old, "taken_by") == staff.user_id:
                    return None
                raise EscalationTaken(str_attr(old, "taken_by_name"), by_staff=True) from None
            if str_attr(old, "status") == "escalated" and int_attr(old, "agent_message_count") > self._room(None, True):
                raise self._agent_limit(int_attr(old, "agent_message_count")) from None
            raise SessionNotActive(str_attr(old, "status") or "closed") from None
        return written[0]

    def reply(self, session: SessionRecord, staff: Identity, content: str) -> tuple[list[MessageRecord], bool]:
        """Store a person's reply in the escalated session (SessionNotActive otherwise). The first reply also takes
        the session (who, when), overtakes any turn still running in it and writes a "joined" marker before it, all
        in one transaction, so two people replying at once take it once. Returns the messages written, in order,
        and whether this call took it.

        The reply and its marker count on the session's agent_message_count, never on the customer's message_count;
        AgentMessageLimitExceeded when they would pass MAX_AGENT_MESSAGES_PER_SESSION."""
        for take in (session.taken_by is None, False):
            try:
                return self._write(session, staff, content, take=take), take
            except Cancelled as cancelled:
                old = _old(cancelled)
                if str_attr(old, "status") == "escalated" and str_attr(old, "taken_by") and take:
                    continue  # someone took it first: reply without taking, after their marker
                if str_attr(old, "status") == "escalated" and int_attr(old, "agent_message_count") > self._room(
                        content, take):
                    raise self._agent_limit(int_attr(old, "agent_message_count")) from None
                raise SessionNotActive(str_attr(old, "status") or "closed") from None
        raise AssertionError("unreachable: the second pass never takes")  # pragma: no cover

    def _room(self, content: str | None, take: bool) -> int:
        """The most agent_message_count may hold before a write of a reply (`content`) and/or a take's marker."""
        return self._max_agent_messages - (content is not None) - take

    def _write(self, session: SessionRecord, staff: Identity, content: str | None, *,
               take: bool) -> list[MessageRecord]:
        """One transaction: the take (if `take`: who, when, any running turn overtaken, the "joined" marker, the
        waiting list's entry) and the reply (if `content`); the messages written, in order. Cancelled as DynamoDB
        refused it."""
        name = staff.display_name or staff.user_id
        now = self._clock()
        written: list[MessageRecord] = []
        if take:
            written.append(MessageRecord(id=new_id(now), role="agent", content=f"{name} joined the conversation.",
                                         created_at=iso(now), agent_id=staff.user_id, agent_name=name,
                                         handoff="joined"))
        if content is not None:
            written.append(MessageRecord(id=new_id(now), role="agent", content=content, created_at=iso(now),
                                         agent_id=staff.user_id, agent_name=name))
        room = self._room(content, take)
        if room < 0:
            raise self._agent_limit(session.agent_message_count)
        sets = "SET updated_at = :now, expires_at = :expires"
        condition = ("user_id = :user AND #status = :escalated AND "
                     "(attribute_not_exists(agent_message_count) OR agent_message_count <= :room)")
        values: Item = {":now": s(iso(now)), ":expires": n(self._expiry(session.tenant_id)),
                        ":escalated": s("escalated"),
                        ":user": s(session.user_id), ":room": n(room), ":written": n(len(written))}
        if take:
            # The session's last turn, if it is still running, ends without a word more (a stream within
            # STOP_CHECK_SECONDS); one that ended already is not changed. No turn yet: "", naming none.
            sets += (", taken_by = :me, taken_by_name = :name, taken_at = :now, "
                     "taken_turn = if_not_exists(live_turn, :no_turn), stop_turn = if_not_exists(live_turn, "
                     ":no_turn)")
            values[":no_turn"] = s("")
            condition += " AND attribute_not_exists(taken_by)"
            values.update({":me": s(staff.user_id), ":name": s(name)})
        # Its messages are new to the session's context: a turn that kept the context before reads it again.
        sets += f", {context_stamps.CHANGED_AT} = :now"
        values.update(context_stamps.ONE)
        meta = self._session_update(session.id, staff, f"{sets} ADD agent_message_count :written, "
                                    f"{context_stamps.ADD_ONE}", condition, values, owner_check="tenant_id = :tenant")
        entries = [meta, *({"Put": {"TableName": self._table,
                                    "Item": items.message_item(session, m, self._expiry(session.tenant_id)),
                                    "ConditionExpression": "attribute_not_exists(SK)"}} for m in written)]
        if take:  # the waiting list shows who has it
            entries.append({"Update": {
                "TableName": self._table, "Key": marker_key(session.id),
                "UpdateExpression": "SET taken_by = :me, taken_by_name = :name, "
                                    "expires_at = if_not_exists(expires_at, :expires)",
                "ExpressionAttributeValues": {":me": s(staff.user_id), ":name": s(name),
                                              ":expires": n(self._expiry(session.tenant_id))}}})
        transact(self._db, entries)
        return written

    def release(self, session: SessionRecord, staff: Identity, to: str) -> tuple[SessionRecord, MessageRecord]:
        """Hand the session back to the model (`ai`: active) or close it (`closed`: completed): it leaves the
        waiting list, is no longer taken, and gets a "left" marker. SessionNotActive unless it was escalated."""
        status: SessionStatus = "active" if to == "ai" else "completed"
        now = self._clock()
        name = staff.display_name or staff.user_id
        sentence = (f"{name} handed the conversation back to the assistant." if to == "ai"
                    else f"{name} closed the conversation.")
        left = MessageRecord(id=new_id(now), role="agent", content=sentence, created_at=iso(now),
                             agent_id=staff.user_id, agent_name=name, handoff="left")
        # Never refused for the bound on a person's messages: a session nobody can answer must still go back to
        # the model (or close), so its "left" line counts but may pass MAX_AGENT_MESSAGES_PER_SESSION, one per
        # release, and a release needs a new escalation first.
        meta = self._session_update(session.id, staff, f"SET #status = :status, updated_at = :now, "
                                    f"{context_stamps.CHANGED_AT} = :now REMOVE " + ", ".join(_TAKEN)
                                    + f" ADD agent_message_count :one, {context_stamps.ADD_ONE}",
                                    "#status = :escalated",
                                    {":status": s(status), ":now": s(iso(now)), ":escalated": s("escalated"),
                                     ":one": n(1), **context_stamps.ONE}, owner_check="tenant_id = :tenant")
        try:
            transact(self._db, [meta, {"Delete": {"TableName": self._table, "Key": marker_key(session.id)}},
                                {"Put": {"TableName": self._table,
                                         "Item": items.message_item(session, left,
                                                                    self._expiry(session.tenant_id)),
                                         "ConditionExpression": "attribute_not_exists(SK)"}}])
        except Cancelled as cancelled:
            raise SessionNotActive(str_attr(_old(cancelled), "status") or "closed") from None
        released = replace(session, status=status, updated_at=iso(now), taken_by=None, taken_by_name=None,
                           taken_at=None)
        return released, left

    # --- internals -----------------------------------------------------------------------------

    def _owned(self, session_id: str, caller: Identity) -> SessionRecord:
        item = self._db.get_item(TableName=self._table, Key=items.session_key(session_id),
                                 ConsistentRead=True).get("Item")
        if not item:
            raise SessionNotFound()
        return items.owned_session(item, caller)

    def _session_update(self, session_id: str, who: Identity, expression: str, condition: str, values: Item, *,
                        owner_check: str = "tenant_id = :tenant AND user_id = :owner") -> Item:
        """A transaction entry updating the session if it is `who`'s (the customer's, or their tenant's for staff)
        and `condition` holds; a refusal hands back the item as it was."""
        values = {**values, ":tenant": s(who.tenant_id)}
        if ":owner" in owner_check:
            values[":owner"] = s(who.user_id)
        return {"Update": {"TableName": self._table, "Key": items.session_key(session_id),
                           "UpdateExpression": expression,
                           "ConditionExpression": f"attribute_exists(PK) AND {owner_check} AND {condition}",
                           "ExpressionAttributeNames": {"#status": "status"}, "ExpressionAttributeValues": values,
                           "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}

    def _expiry(self, tenant_id: str) -> int:
        days = self._tenant_retention(tenant_id) if self._tenant_retention else None
        return int(self._clock().timestamp()) + (days * 86_400 if days else self._retention_seconds)

    def _agent_limit(self, used: int) -> AgentMessageLimitExceeded:
        return AgentMessageLimitExceeded(
            f"This session holds the most messages a person may write in one session ({self._max_agent_messages}, "
            "the joined and left lines included). Hand it back to the assistant or close it; the customer can ask "
            "for a person again in a new session.", limit=self._max_agent_messages, used=used)
