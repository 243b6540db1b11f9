"""POST /api/v1/ai/agent/sessions/{session_id}/take: take an escalated session without replying (staff)."""

from typing import Any

from aichat import wiring
from aichat.api.http_edge import Reply, Request, handle
from aichat.core import logs
from aichat.core.models import TakeRequest

services = wiring.services()


def agent_take(request: Request) -> Reply:
    caller, session_id = request.caller(), request.path("session_id")
    request.body(TakeRequest)  # {}: anything else is refused, naming the field
    return Reply(services.handoff.take(caller, session_id))


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, services.settings, agent_take)
