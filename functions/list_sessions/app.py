"""GET /api/v1/ai/sessions/my: the caller's sessions, newest first; the next page's cursor in X-Next-Cursor."""

from typing import Any

from aichat import wiring
from aichat.api.http_edge import Reply, Request, handle
from aichat.core import logs

services = wiring.services()


def list_sessions(request: Request) -> Reply:
    limit = request.query_int("limit", default=20, low=1, high=100)
    sessions, next_cursor = services.sessions.mine(request.caller(), limit, request.query_str("cursor"))
    return Reply(sessions, headers={"X-Next-Cursor": next_cursor} if next_cursor else {})


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, services.settings, list_sessions)
