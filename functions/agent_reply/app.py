"""POST /api/v1/ai/agent/sessions/{session_id}/messages: a person's reply in an escalated session (staff)."""

from typing import Any

from aichat import wiring
from aichat.api.http_edge import Reply, Request, handle
from aichat.core import logs
from aichat.core.models import AgentMessageRequest

services = wiring.services()


def agent_reply(request: Request) -> Reply:
    caller, session_id = request.caller(), request.path("session_id")
    return Reply(services.handoff.reply(caller, session_id, request.body(AgentMessageRequest)), status=201)


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, services.settings, agent_reply)
