"""POST /api/v1/ai/agent/sessions/{session_id}/release: hand the session back to the model, or close it (staff)."""

from typing import Any

from aichat import wiring
from aichat.api.http_edge import Reply, Request, handle
from aichat.core import logs
from aichat.core.models import ReleaseRequest

services = wiring.services()


def agent_release(request: Request) -> Reply:
    caller, session_id = request.caller(), request.path("session_id")
    return Reply(services.handoff.release(caller, session_id, request.body(ReleaseRequest)))


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, services.settings, agent_release)
