"""GET /api/v1/ai/agent/sessions?status=escalated: the tenant's sessions waiting for a person, oldest first (staff)."""

from typing import Any

from aichat import wiring
from aichat.api.http_edge import Reply, Request, handle
from aichat.core import logs

services = wiring.services()


def agent_list_sessions(request: Request) -> Reply:
    limit = request.query_int("limit", default=20, low=1, high=100)
    waiting, next_cursor = services.handoff.waiting(request.caller(), request.query_str("status") or "escalated",
                                                    limit, request.query_str("cursor"))
    return Reply(waiting, headers={"X-Next-Cursor": next_cursor} if next_cursor else {})


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, services.settings, agent_list_sessions)
