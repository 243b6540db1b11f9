"""POST /api/v1/ai/sessions/{session_id}/withdraw: take back a request for a person that no one has taken yet."""

from typing import Any

from aichat import wiring
from aichat.api.http_edge import Reply, Request, handle
from aichat.core import logs
from aichat.core.models import WithdrawRequest

services = wiring.services()


def withdraw_escalation(request: Request) -> Reply:
    caller, session_id = request.caller(), request.path("session_id")
    return Reply(services.sessions.withdraw(caller, session_id, request.body(WithdrawRequest)))


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, services.settings, withdraw_escalation)
