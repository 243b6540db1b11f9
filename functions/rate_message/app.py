"""POST /api/v1/ai/sessions/{session_id}/messages/{message_id}/feedback: thumbs up or down on one reply."""

from typing import Any

from aichat import wiring
from aichat.api.http_edge import Reply, Request, handle
from aichat.core import logs
from aichat.core.models import MessageRatingRequest

services = wiring.services()


def rate_message(request: Request) -> Reply:
    return Reply(services.sessions.rate_message(request.caller(), request.path("session_id"),
                                                request.path("message_id"), request.body(MessageRatingRequest)))


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, services.settings, rate_message)
