"""Reads of the single table, and the writes that move no money (feedback, escalation, rollups).

Every budgeted write (a new session, a turn's reserve, settle, release and sweep) is the ledger's.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from aichat import items, keys
from aichat.clock import Clock, utc_now
from aichat.errors import InvalidInput, MessageNotFound, SessionNotActive, SessionNotFound, StorageUnavailable
from aichat.identity import Identity
from aichat.records import MessageRecord, SessionRecord
from aichat.transactions import Cancelled, Item, Update, n, s, str_attr, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_CURSOR_VALUE = re.compile(r"[0-9A-Za-z]{1,128}")  # what cursors carry: ids


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        value = ""
    # Decoding skips characters outside base64, so "\x7f" decodes to "": an empty or overlong key part is refused
    # by DynamoDB as a ValidationException, which would surface as a 500.
    if not _CURSOR_VALUE.fullmatch(value):
        raise InvalidInput("cursor is not one this API returned; omit it to start from the first page.",
                           field="cursor")
    return value


class Store:
    """The single table behind the product. Nothing else talks to DynamoDB."""

    def __init__(self, client: DynamoDBClient, table_name: str, retention_days: int,
                 clock: Clock = utc_now) -> None:
        self._db = client
        self._table = table_name
        self._retention_seconds = retention_days * 86_400
        self._clock = clock

    # --- reads ---------------------------------------------------------------------------------

    def tenant_config(self, tenant_id: str) -> dict[str, str]:
        """The tenant's config item (limit overrides), or {} when it has none."""
        item = self._db.get_item(
            TableName=self._table, Key={"PK": s(keys.tenant_pk(tenant_id)), "SK": s(keys.CONFIG_SK)}
        ).get("Item", {})
        return {k: (v.get("N") or v.get("S") or "") for k, v in item.items() if k not in ("PK", "SK")}

    def conversation(self, session_id: str, caller: Identity, max_messages: int) -> tuple[SessionRecord,
                                                                                         list[MessageRecord]]:
        """A session and its newest messages (oldest first), in one Query."""
        page = self._db.query(
            TableName=self._table, KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": s(keys.session_pk(session_id))},
            ScanIndexForward=False, Limit=max_messages + 1,
        )
        rows = page.get("Items", [])
        if not rows or str_attr(rows[0], "SK") != keys.SESSION_SK:
            raise SessionNotFound()
        session = items.owned_session(rows[0], caller)
        return session, [items.message_record(i) for i in reversed(rows[1:])]

    def history(self, session_id: str, caller: Identity, limit: int,
                cursor: str | None) -> tuple[SessionRecord | None, list[MessageRecord], str | None]:
        """One page of a session's messages, newest page first, each page oldest first; and the next cursor.

        The first page comes with the session in the same Query; later pages prove ownership by the
        tenant and user written on every message.
        """
        values: Item = {":pk": s(keys.session_pk(session_id))}
        condition = "PK = :pk"
        if cursor is not None:
            values[":before"] = s(keys.message_sk(decode_cursor(cursor)))
            condition += " AND SK < :before"
        page = self._db.query(
            TableName=self._table, KeyConditionExpression=condition, ExpressionAttributeValues=values,
            ScanIndexForward=False, Limit=limit + (1 if cursor is None else 0),
        )
        rows = page.get("Items", [])
        session: SessionRecord | None = None
        if cursor is None:
            if not rows or str_attr(rows[0], "SK") != keys.SESSION_SK:
                raise SessionNotFound()
            session = items.owned_session(rows[0], caller)
            rows = rows[1:]
        elif not rows:
            session = self.session(session_id, caller)
        for item in rows:
            if str_attr(item, "tenant_id") != caller.tenant_id or str_attr(item, "user_id") != caller.user_id:
                raise SessionNotFound()
        messages = [items.message_record(i) for i in reversed(rows)]
        next_cursor = encode_cursor(messages[0].id) if page.get("LastEvaluatedKey") and messages else None
        return session, messages, next_cursor

    def session(self, session_id: str, caller: Identity) -> SessionRecord:
        """The caller's session, or SessionNotFound (also for someone else's)."""
        item = self._db.get_item(TableName=self._table, Key=items.session_key(session_id)).get("Item")
        if not item:
            raise SessionNotFound()
        return items.owned_session(item, caller)

    def message(self, session_id: str, message_id: str, caller: Identity) -> MessageRecord:
        """One message of a session of the caller's, or MessageNotFound (also for someone else's)."""
        item = self._db.get_item(TableName=self._table, Key=items.message_key(session_id, message_id),
                                 ConsistentRead=True).get("Item")
        if (not item or str_attr(item, "tenant_id") != caller.tenant_id
                or str_attr(item, "user_id") != caller.user_id):
            raise MessageNotFound()
        return items.message_record(item)

    def sessions_of(self, caller: Identity, limit: int, cursor: str | None) -> tuple[list[SessionRecord], str | None]:
        """The caller's sessions, newest first, and the cursor of the next page."""
        request: Item = {
            "TableName": self._table, "IndexName": keys.OWNER_INDEX, "KeyConditionExpression": "GSI1PK = :owner",
            "ExpressionAttributeValues": {":owner": s(keys.owner_key(caller.tenant_id, caller.user_id))},
            "ScanIndexForward": False, "Limit": limit,
        }
        if cursor is not None:
            session_id = decode_cursor(cursor)
            request["ExclusiveStartKey"] = {
                **items.session_key(session_id), "GSI1PK": s(keys.owner_key(caller.tenant_id, caller.user_id)),
                "GSI1SK": s(session_id),
            }
        page = self._db.query(**request)
        sessions = [items.session_record(i) for i in page.get("Items", [])]
        next_cursor = encode_cursor(sessions[-1].id) if page.get("LastEvaluatedKey") and sessions else None
        return sessions, next_cursor

    # --- sessions ------------------------------------------------------------------------------

    def set_feedback(self, session_id: str, caller: Identity, rating: int, feedback: str | None,
                     now: str) -> SessionRecord:
        """Record the caller's rating (and text) on a session of theirs; the session stays open."""
        sets = {"user_rating": n(rating), "updated_at": s(now)}
        removes = []
        if feedback:
            sets["feedback"] = s(feedback)
        else:
            removes.append("feedback")
        return self._update_owned(session_id, caller, sets, removes=removes)

    def escalate(self, session_id: str, caller: Identity, reason: str, now: str) -> SessionRecord:
        """Mark an active session of the caller's as escalated, with the reason."""
        sets = {"status": s("escalated"), "escalation_reason": s(reason), "escalated_at": s(now),
                "updated_at": s(now)}
        return self._update_owned(session_id, caller, sets, require_active=True)

    def reopen(self, session_id: str, caller: Identity, now: str) -> None:
        """Undo an escalation whose notification could not be sent, so the caller can try again."""
        self._update_owned(session_id, caller, {"status": s("active"), "updated_at": s(now)},
                           removes=["escalation_reason", "escalated_at"])

    def rate_message(self, session_id: str, message_id: str, caller: Identity, rating: str,
                             text: str | None, now: str) -> MessageRecord:
        """Rate one assistant reply of the caller's (up or down); the reply's day counts it exactly once.

        Each try is conditioned on the rating it read, so the day's counters move from the rating the reply really
        had. Concurrent ratings of one reply all succeed and the last to commit wins: a try that lost the race tries
        again from what the winner left, after a jittered pause, until it commits, or the winner left this very
        rating, or a time budget runs out (StorageUnavailable, a 503 to retry).
        """
        key = {"PK": s(keys.session_pk(session_id)), "SK": s(keys.message_sk(message_id))}

        def read() -> Item:
            return self._db.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item", {})

        # Well under the function's 10 s timeout: the try under way when it runs out (transact's own conflict
        # retries included) still ends in time, and the caller gets a 503 to retry rather than a timeout.
        deadline = time.monotonic() + 6.0
        item = read()
        attempt = 0
        while True:
            if (not item or str_attr(item, "tenant_id") != caller.tenant_id
                    or str_attr(item, "user_id") != caller.user_id or str_attr(item, "role") != "assistant"):
                raise MessageNotFound()
            previous = str_attr(item, "feedback")
            message = Update(key=key, sets={"feedback": s(rating), "feedback_at": s(now)})
            if text:
                message.sets["feedback_text"] = s(text)
            else:
                message.removes.append("feedback_text")
            if previous is None:
                message.conditions.append("attribute_not_exists(feedback)")
            else:
                message.values[":previous"] = s(previous)
                message.conditions.append("feedback = :previous")
            transaction = [message.transact_item(self._table)]
            if previous != rating:
                # The day the turn was charged to (a turn crossing midnight keeps its reservation's day).
                day = str_attr(item, "day") or (str_attr(item, "created_at") or "")[:10]
                counter = Update(key={"PK": s(keys.usage_pk(caller.tenant_id, day)),
                                       "SK": s(keys.TENANT_COUNTER_SK)})
                counter.add(**{f"feedback_{rating}": 1, **({f"feedback_{previous}": -1} if previous else {})})
                transaction.append(counter.transact_item(self._table))
            try:
                transact(self._db, transaction)
                return replace(items.message_record(item), feedback=rating, feedback_text=text or None)
            except Cancelled as e:
                # Another rating committed since this one read; the reply comes back as it left it (ALL_OLD).
                left: Item | None = next((r["Item"] for r in e.reasons
                                          if r.get("Code") == "ConditionalCheckFailed" and r.get("Item")), None)
                item = left or read()
                if str_attr(item, "feedback") == rating:
                    # It left this very rating, so this one takes effect as if committed just before it: the rating
                    # and the counters are what that order gives, and the winner's text is the last word. Writing
                    # again would only invalidate the other tries in flight, in a storm of ratings.
                    return replace(items.message_record(item), feedback_text=text or None)
            except ClientError as e:
                # transact gave up on a TransactionConflict after its own retries: still a race, not a failure.
                reasons = e.response.get("CancellationReasons") or []
                if not any(r.get("Code") == "TransactionConflict" for r in reasons):
                    raise
                item = read()
            if time.monotonic() >= deadline:
                raise StorageUnavailable("This reply is being rated by many requests at once; try again in a moment.")
            # Full jitter, capped: the losers of one race spread out instead of colliding again.
            time.sleep(random.uniform(0, min(0.25, 0.01 * 2**attempt)))
            attempt += 1

    # --- usage and rollups ---------------------------------------------------------------------

    def tenants_active_on(self, day: str) -> list[str]:
        """Tenants active on that UTC day, through DayIndex: each tenant-day's marker (and, written before the
        markers, its counter item)."""
        return sorted({str_attr(i, "GSI2SK") or "" for i in self._query_all(
            IndexName=keys.DAY_INDEX, KeyConditionExpression="GSI2PK = :day",
            ExpressionAttributeValues={":day": s(keys.day_key(day))}, ProjectionExpression="GSI2SK")})

    def day_counters(self, tenant_id: str, day: str) -> dict[str, int]:
        """The tenant's counters for a UTC day (cost_micros, tokens, messages, sessions, feedback_up/down)."""
        item = self._db.get_item(TableName=self._table, ConsistentRead=True, Key={
            "PK": s(keys.usage_pk(tenant_id, day)), "SK": s(keys.TENANT_COUNTER_SK)}).get("Item", {})
        return {k: int(v["N"]) for k, v in item.items() if "N" in v and k != "expires_at"}

    def sessions_started_on(self, tenant_id: str, day: str) -> list[SessionRecord]:
        """Every session the tenant started on a UTC day, through DayIndex."""
        return [items.session_record(i) for i in self._query_all(
            IndexName=keys.DAY_INDEX, KeyConditionExpression="GSI2PK = :td",
            ExpressionAttributeValues={":td": s(keys.tenant_day_key(tenant_id, day))})]

    def put_rollup(self, tenant_id: str, day: str, figures: dict[str, Any]) -> None:
        """Write (or overwrite: reruns give the same item) a tenant's rollup for a day."""
        self._db.put_item(TableName=self._table, Item={
            "PK": s(keys.rollup_pk(tenant_id)), "SK": s(day), "figures": s(json.dumps(figures, sort_keys=True)),
            "expires_at": n(self._expiry() + 400 * 86_400)})

    def rollup(self, tenant_id: str, day: str) -> dict[str, Any] | None:
        """A tenant's stored rollup for a day, or None."""
        item = self._db.get_item(TableName=self._table, Key={"PK": s(keys.rollup_pk(tenant_id)), "SK": s(day)}
                                 ).get("Item")
        figures = str_attr(item, "figures") if item else None
        return None if figures is None else dict(json.loads(figures))

    def _query_all(self, **request: Any) -> list[Item]:
        found: list[Item] = []
        request = {"TableName": self._table, **request}
        while True:
            page = self._db.query(**request)
            found.extend(page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # --- internals -----------------------------------------------------------------------------

    def _expiry(self) -> int:
        return int(self._clock().timestamp()) + self._retention_seconds

    def _update_owned(self, session_id: str, caller: Identity, sets: Item, *, removes: Sequence[str] = (),
                      require_active: bool = False) -> SessionRecord:
        names = {f"#s{i}": attr for i, attr in enumerate(sets)}
        values: Item = {f":s{i}": value for i, value in enumerate(sets.values())}
        values.update({":tenant": s(caller.tenant_id), ":user": s(caller.user_id)})
        expression = "SET " + ", ".join(f"#s{i} = :s{i}" for i in range(len(sets)))
        if removes:
            names.update({f"#r{i}": attr for i, attr in enumerate(removes)})
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removes)))
        condition = "attribute_exists(PK) AND tenant_id = :tenant AND user_id = :user"
        if require_active:
            names["#status"] = "status"
            values[":active"] = s("active")
            condition += " AND #status = :active"
        try:
            reply = self._db.update_item(
                TableName=self._table, Key=items.session_key(session_id), UpdateExpression=expression,
                ConditionExpression=condition, ExpressionAttributeNames=names, ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW", ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            old: Item = dict(e.response.get("Item") or {})  # type: ignore[call-overload]
            if not old:
                raise SessionNotFound() from None
            items.owned_session(old, caller)  # someone else's session answers 404, like a missing one
            raise SessionNotActive(str_attr(old, "status") or "closed") from None
        return items.session_record(reply["Attributes"])

