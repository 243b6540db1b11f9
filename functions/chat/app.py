"""POST /api/v1/ai/chat: one chat turn within the caller's budgets."""

from typing import Any

from aichat import wiring
from aichat.http_api import Reply, Request, handle
from aichat.models import ChatRequest

services = wiring.services()


def chat(request: Request) -> Reply:
    return Reply(services.chat.send(request.caller(), request.body(ChatRequest)))


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, services.settings, chat)
