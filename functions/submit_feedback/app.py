"""POST /api/v1/ai/sessions/{session_id}/feedback: rate a session; it stays open."""

from typing import Any

from aichat import wiring
from aichat.api.http_edge import Reply, Request, handle
from aichat.core import logs
from aichat.core.models import FeedbackRequest

services = wiring.services()


def submit_feedback(request: Request) -> Reply:
    return Reply(services.sessions.feedback(request.caller(), request.path("session_id"),
                                            request.body(FeedbackRequest)))


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, services.settings, submit_feedback)
