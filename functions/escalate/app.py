"""POST /api/v1/ai/sessions/{session_id}/escalate: hand the session to a person and notify support."""

from typing import Any

from aichat import wiring
from aichat.api.http_edge import Reply, Request, handle
from aichat.core import logs
from aichat.core.models import EscalateRequest

services = wiring.services()


def escalate(request: Request) -> Reply:
    return Reply(services.sessions.escalate(request.caller(), request.path("session_id"),
                                            request.body(EscalateRequest)))


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, services.settings, escalate)
