"""A session's history as its owner reads it, by page: the customer's route and the staff's answer with it."""

from __future__ import annotations

from aichat.core.errors import InvalidInput
from aichat.core.identity import Identity
from aichat.core.models import HistoryResponse
from aichat.table.sessions import Store


def history_page(store: Store, session_id: str, owner: Identity, limit: int, cursor: str | None,
                 after: str | None) -> HistoryResponse:
    """A page of a session's history as its owner reads it: earlier messages by cursor, or newer ones after a
    message id (one Query); the customer's route and the staff's both answer with it."""
    if after is not None:
        if cursor is not None:
            raise InvalidInput("Send either cursor (earlier messages) or after (newer ones), not both.",
                               field="after")
        session, messages, more = store.newer(session_id, owner, after, limit)
        next_cursor, next_after = None, messages[-1].id if more else None
    else:
        session, messages, next_cursor = store.history(session_id, owner, limit, cursor)
        next_after = None
    if session is None:
        session = store.session(session_id, owner)
    return HistoryResponse(session_id=session_id, messages=[m.to_api() for m in messages],
                           metadata=session.to_api(), next_cursor=next_cursor, next_after=next_after)
