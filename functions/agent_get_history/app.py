"""GET /api/v1/ai/agent/sessions/{session_id}/history: an escalated session of the tenant, as its customer sees it
(staff)."""

from typing import Any

from aichat import wiring
from aichat.api.http_edge import Reply, Request, handle
from aichat.core import logs

services = wiring.services()


def agent_get_history(request: Request) -> Reply:
    limit = request.query_int("limit", default=50, low=1, high=100)
    return Reply(services.handoff.history(request.caller(), request.path("session_id"), limit,
                                          request.query_str("cursor"), request.query_id("after")))


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, services.settings, agent_get_history)
