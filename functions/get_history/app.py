"""GET /api/v1/ai/sessions/{session_id}/history: a page of the session's messages, oldest first."""

from typing import Any

from aichat import wiring
from aichat.api.http_edge import Reply, Request, handle
from aichat.core import logs

services = wiring.services()


def get_history(request: Request) -> Reply:
    limit = request.query_int("limit", default=50, low=1, high=100)
    return Reply(services.sessions.history(request.caller(), request.path("session_id"), limit,
                                           request.query_str("cursor"), request.query_id("after")))


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, services.settings, get_history)
