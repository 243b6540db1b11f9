"""Sessions and messages in the single table: their reads, and the updates of a caller's own session.

Every budgeted write (a new session, a turn's reserve, settle, release and sweep) is the ledger's; a reply's rating
is ratings.py's, and the usage counters and rollups are usage.py's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from aichat.core.clock import iso
from aichat.core.cursors import HISTORY, MY_SESSIONS, decode_cursor, encode_cursor
from aichat.core.errors import MessageNotFound, SessionNotFound
from aichat.core.identity import Identity
from aichat.core.ids import first_id_at, id_time
from aichat.core.records import MessageRecord, SessionRecord
from aichat.table import items, keys
from aichat.table.context_stamps import ContextStamp, stamp_of
from aichat.table.ledger.reservations import DEFAULT_TURN_SECONDS, SWEEP_GRACE_SECONDS
from aichat.table.transactions import Item, n, s, str_attr

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


# A reply is stored at most this long after its id was made: its turn runs within its invocation (at most 900 s in
# Lambda, DEFAULT_TURN_SECONDS locally) and is swept, never to store a reply, once that and the grace have passed.
REPLY_LAG_SECONDS = DEFAULT_TURN_SECONDS + SWEEP_GRACE_SECONDS
# What a look for newer messages reads before its cursor in its first page (the lag's messages), beside its limit.
_LOOKBACK_ROWS = 20


def _stored_since(item: Item, since: str) -> bool:
    """A reply stored in a later millisecond than `since` (an ISO time): its turn ended after the message its reader
    has was made (one stored in the same millisecond is taken as read with it, so pages do not repeat it)."""
    return str_attr(item, "role") == "assistant" and (str_attr(item, "created_at") or "") > since


@dataclass(frozen=True)
class Conversation:
    """A session, its newest messages (oldest first), and the version of its messages they were read at."""

    session: SessionRecord
    messages: list[MessageRecord]
    stamp: ContextStamp


class Store:
    """Sessions and messages in the single table, as their owner may read and update them."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._db = client
        self._table = table_name

    # --- reads ---------------------------------------------------------------------------------

    def conversation(self, session_id: str, caller: Identity, max_messages: int,
                     skip: str | None = None) -> Conversation:
        """A session and its newest messages (oldest first), with the version of them read, in one Query; without the
        message `skip` (a turn's own message, which a Query made while the turn reserves may or may not see)."""
        page = self._db.query(
            TableName=self._table, KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": s(keys.session_pk(session_id))},
            ScanIndexForward=False, Limit=max_messages + (2 if skip else 1),
        )
        rows = page.get("Items", [])
        if not rows or str_attr(rows[0], "SK") != keys.SESSION_SK:
            raise SessionNotFound()
        session = items.owned_session(rows[0], caller)
        skipped = keys.message_sk(skip) if skip else None
        newest = [row for row in rows[1:] if str_attr(row, "SK") != skipped][:max_messages]
        return Conversation(session, [items.message_record(i) for i in reversed(newest)], stamp_of(rows[0]))

    def history(self, session_id: str, caller: Identity, limit: int,
                cursor: str | None) -> tuple[SessionRecord | None, list[MessageRecord], str | None]:
        """One page of a session's messages, newest page first, each page oldest first; and the next cursor.

        The first page comes with the session in the same Query; later pages prove ownership by the
        tenant and user written on every message.
        """
        values: Item = {":pk": s(keys.session_pk(session_id))}
        condition = "PK = :pk"
        if cursor is not None:
            (before,) = decode_cursor(cursor, HISTORY)
            values[":before"] = s(keys.message_sk(before))
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
        next_cursor = encode_cursor(HISTORY, messages[0].id) if page.get("LastEvaluatedKey") and messages else None
        return session, messages, next_cursor

    def newer(self, session_id: str, caller: Identity, after: str,
              limit: int) -> tuple[SessionRecord | None, list[MessageRecord], bool]:
        """The messages written since message `after` was, oldest first, at most `limit`; whether more follow.

        A reply is stored when its turn ends under an id made as it began, right after the message it answers, so
        one stored since `after` may sort before it: the ascending Query starts REPLY_LAG_SECONDS before `after`
        was made and keeps, of what sorts before it, the replies stored since (a client merges by id). The session
        item sorts after every message, so it comes with the newest page and proves ownership there; a page
        without it proves it by each message's tenant and user.
        """
        made = id_time(after)
        cursor = keys.message_sk(after)
        since = iso(made) if made else None
        start = keys.message_sk(first_id_at(made - timedelta(seconds=REPLY_LAG_SECONDS))) if made else cursor
        request: Item = {
            "TableName": self._table, "KeyConditionExpression": "PK = :pk AND SK > :start",
            "ExpressionAttributeValues": {":pk": s(keys.session_pk(session_id)), ":start": s(start)},
            "ScanIndexForward": True, "Limit": limit + 1 + (_LOOKBACK_ROWS if made else 0),
        }
        late: list[Item] = []
        rows: list[Item] = []
        session: SessionRecord | None = None
        read_any = False
        while True:
            page = self._db.query(**request)
            for item in page.get("Items", []):
                read_any = True
                sk = str_attr(item, "SK") or ""
                if sk == keys.SESSION_SK:
                    session = items.owned_session(item, caller)
                elif sk > cursor:
                    rows.append(item)
                elif since is not None and sk < cursor and _stored_since(item, since):
                    late.append(item)
            if session is not None or len(rows) > limit or "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        if not read_any:
            raise SessionNotFound()
        for item in (*late, *rows):
            if str_attr(item, "tenant_id") != caller.tenant_id or str_attr(item, "user_id") != caller.user_id:
                raise SessionNotFound()
        late = late[:limit]
        room = limit - len(late)
        more = len(rows) > room
        return session, [items.message_record(i) for i in (*late, *rows[:room])], more

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
            (session_id,) = decode_cursor(cursor, MY_SESSIONS)
            request["ExclusiveStartKey"] = {
                **items.session_key(session_id), "GSI1PK": s(keys.owner_key(caller.tenant_id, caller.user_id)),
                "GSI1SK": s(session_id),
            }
        page = self._db.query(**request)
        sessions = [items.session_record(i) for i in page.get("Items", [])]
        next_cursor = (encode_cursor(MY_SESSIONS, sessions[-1].id) if page.get("LastEvaluatedKey") and sessions
                       else None)
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

    # --- internals -----------------------------------------------------------------------------

    def _update_owned(self, session_id: str, caller: Identity, sets: Item, *,
                      removes: Sequence[str] = ()) -> SessionRecord:
        names = {f"#s{i}": attr for i, attr in enumerate(sets)}
        values: Item = {f":s{i}": value for i, value in enumerate(sets.values())}
        values.update({":tenant": s(caller.tenant_id), ":user": s(caller.user_id)})
        expression = "SET " + ", ".join(f"#s{i} = :s{i}" for i in range(len(sets)))
        if removes:
            names.update({f"#r{i}": attr for i, attr in enumerate(removes)})
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removes)))
        condition = "attribute_exists(PK) AND tenant_id = :tenant AND user_id = :user"
        try:
            reply = self._db.update_item(
                TableName=self._table, Key=items.session_key(session_id), UpdateExpression=expression,
                ConditionExpression=condition, ExpressionAttributeNames=names, ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW", ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            # Missing, or someone else's: the same 404 (the condition holds no other test).
            raise SessionNotFound() from None
        return items.session_record(reply["Attributes"])

