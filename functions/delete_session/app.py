"""DELETE /api/v1/ai/sessions/{session_id}: delete one of the caller's sessions and every message of it."""

from typing import Any

from aichat import wiring
from aichat.api.http_edge import Reply, Request, handle
from aichat.core import logs

services = wiring.services()


def delete_session(request: Request) -> Reply:
    services.my_data.delete_session(request.caller(), request.path("session_id"))
    return Reply(None, status=204)


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, services.settings, delete_session)
