"""POST /api/v1/ai/sessions: start a session for the caller."""

from typing import Any

from aichat import wiring
from aichat.api.http_edge import Reply, Request, handle
from aichat.core import logs
from aichat.core.models import CreateSessionRequest

services = wiring.services()


def create_session(request: Request) -> Reply:
    return Reply(services.sessions.create(request.caller(), request.body(CreateSessionRequest)), status=201)


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, services.settings, create_session)
