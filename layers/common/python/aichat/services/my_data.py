"""What a person may do with their own data: delete a conversation, export everything of theirs."""

from __future__ import annotations

from aichat.core.clock import Clock
from aichat.core.identity import Identity
from aichat.core.logs import logger
from aichat.core.models import ExportPage
from aichat.table.deletions import SessionDeletions
from aichat.table.exports import Exports


class MyDataService:
    """A caller's own sessions, deleted or exported; nothing of anyone else's is ever read."""

    def __init__(self, deletions: SessionDeletions, exports: Exports, clock: Clock) -> None:
        self._deletions = deletions
        self._exports = exports
        self._clock = clock

    def delete_session(self, caller: Identity, session_id: str) -> None:
        """Delete one of the caller's sessions with its messages (aichat/table/deletions.py)."""
        deleted = self._deletions.delete(session_id, caller, self._clock().timestamp())
        # No text and no user id in the line: the request's keys name the caller already.
        logger().info("session deleted", extra={"deleted_session": session_id, "messages": deleted.messages,
                                                "key_claims": deleted.key_claims})

    def export(self, caller: Identity, cursor: str | None, sessions_per_page: int) -> ExportPage:
        """One page of everything stored of the caller's: sessions with their messages, then tickets."""
        return self._exports.page(caller, cursor, sessions_per_page)
