"""POST /api/v1/ai/sessions/{session_id}/stop: stop the reply streaming in the caller's session."""

from typing import Any

from aichat import wiring
from aichat.api.http_edge import Reply, Request, handle
from aichat.core import logs
from aichat.core.models import StopRequest

services = wiring.services()


def stop_reply(request: Request) -> Reply:
    caller, session_id = request.caller(), request.path("session_id")
    return Reply(services.sessions.stop(caller, session_id, request.body(StopRequest)))


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, services.settings, stop_reply)
