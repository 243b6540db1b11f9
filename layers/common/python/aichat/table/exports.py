"""A user's data, page by page, for the export route: their sessions with every message, then their tickets.

Read by key and index only: the sessions from OwnerIndex (newest first), each session's messages from its own
partition, the tickets from OwnerIndex under the owner's tickets partition. A Lambda response behind the HTTP API is
capped at 6 MB, so a page stops adding once it holds PAGE_BYTES of text; a session too long for one page goes on in
the next, under the same id (`continued`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aichat.core.cursors import EXPORT, decode_cursor, encode_cursor
from aichat.core.identity import Identity
from aichat.core.models import ExportedSession, ExportPage, MessageOut, TicketOut
from aichat.core.records import MessageRecord, SessionRecord
from aichat.table import items, keys
from aichat.table.tickets import owned_tickets
from aichat.table.transactions import Item, s, str_attr

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Well under the 6 MB response cap, with room for JSON's escapes of the text counted here.
PAGE_BYTES = 2_000_000
_NONE = "-"
_TICKETS_PER_PAGE = 100


@dataclass
class _Page:
    sessions: list[ExportedSession]
    tickets: list[TicketOut]
    size: int = 0

    def full(self) -> bool:
        return self.size >= PAGE_BYTES


class Exports:
    """The caller's own data, read page by page."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._db = client
        self._table = table_name

    def page(self, caller: Identity, cursor: str | None, sessions_per_page: int) -> ExportPage:
        """One page of the caller's data from `cursor` (None: the first page); its next_cursor, None at the end."""
        phase, key, after = decode_cursor(cursor, EXPORT) if cursor else ("sessions", _NONE, _NONE)
        page = _Page([], [])
        if phase == "messages":  # a session that did not fit the previous page goes on
            session = self._session(key, caller)
            if session is not None:
                next_after = self._add_session(page, session, caller, after)
                if next_after is not None:
                    return self._done(page, ("messages", key, next_after))
            phase, after = "sessions", _NONE
        if phase == "sessions":
            start = key
            while True:
                room = sessions_per_page - len(page.sessions)
                if room <= 0 or page.full():
                    return self._done(page, ("sessions", start, _NONE))
                found, more = self._sessions_after(caller, start, room)
                for session in found:
                    if page.full():
                        return self._done(page, ("sessions", start, _NONE))
                    next_after = self._add_session(page, session, caller, _NONE)
                    start = session.id
                    if next_after is not None:
                        return self._done(page, ("messages", session.id, next_after))
                if not more:
                    break
            key = _NONE  # every session given: the tickets from the first
        tickets, last = owned_tickets(self._db, self._table, caller, None if key == _NONE else key, _TICKETS_PER_PAGE)
        page.tickets = [TicketOut(id=t.id, session_id=t.session_id, title=t.title, priority=t.priority,
                                  status=t.status, created_at=t.created_at, description=t.description)
                        for t in tickets]
        return self._done(page, ("tickets", last, _NONE) if last else None)

    # --- internals -----------------------------------------------------------------------------

    @staticmethod
    def _done(page: _Page, position: tuple[str, str, str] | None) -> ExportPage:
        return ExportPage(sessions=page.sessions, tickets=page.tickets,
                          next_cursor=encode_cursor(EXPORT, *position) if position else None)

    def _sessions_after(self, caller: Identity, after: str, limit: int) -> tuple[list[SessionRecord], bool]:
        owner = keys.owner_key(caller.tenant_id, caller.user_id)
        request: dict[str, Any] = {
            "TableName": self._table, "IndexName": keys.OWNER_INDEX, "KeyConditionExpression": "GSI1PK = :owner",
            "ExpressionAttributeValues": {":owner": s(owner)}, "ScanIndexForward": False, "Limit": limit}
        if after != _NONE:
            request["ExclusiveStartKey"] = {**items.session_key(after), "GSI1PK": s(owner), "GSI1SK": s(after)}
        answer = self._db.query(**request)
        # The index is eventually consistent: a session deleted a moment ago may still be listed there.
        found = [items.session_record(i) for i in answer.get("Items", []) if str_attr(i, "status") != items.DELETED]
        return found, bool(answer.get("LastEvaluatedKey"))

    def _session(self, session_id: str, caller: Identity) -> SessionRecord | None:
        item = self._db.get_item(TableName=self._table, Key=items.session_key(session_id)).get("Item")
        if not item:
            return None  # deleted since the previous page
        return items.owned_session(item, caller)  # a cursor names a position, never whose data: the owner is checked

    def _add_session(self, page: _Page, session: SessionRecord, caller: Identity, after: str) -> str | None:
        """Add the session with its messages after `after`; the last message given if the page filled first."""
        request: dict[str, Any] = {
            "TableName": self._table, "KeyConditionExpression": "PK = :pk AND begins_with(SK, :msg)",
            "ExpressionAttributeValues": {":pk": s(keys.session_pk(session.id)), ":msg": s(keys.MESSAGE_PREFIX)}}
        if after != _NONE:
            request["ExclusiveStartKey"] = items.message_key(session.id, after)
        entry = ExportedSession(**session.to_api().model_dump(), messages=[])
        page.sessions.append(entry)
        messages: list[MessageOut] = entry.messages
        page.size += 1_000
        while True:
            answer = self._db.query(**request)
            rows: list[Item] = answer.get("Items", [])
            for row in rows:
                if str_attr(row, "tenant_id") != caller.tenant_id or str_attr(row, "user_id") != caller.user_id:
                    continue  # every message carries its session's owner: never another's
                message: MessageRecord = items.message_record(row)
                messages.append(message.to_api())
                page.size += len(message.content.encode()) + 500
                if page.full():
                    more = row is not rows[-1] or bool(answer.get("LastEvaluatedKey"))
                    if more:
                        entry.continued = True
                        return message.id
                    return None
            if not answer.get("LastEvaluatedKey"):
                return None
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
