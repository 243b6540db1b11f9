"""POST /api/v1/ai/chat: one chat turn within the caller's budgets, run once per Idempotency-Key."""

from functools import partial
from typing import Any

from aichat import logs, wiring
from aichat.http_api import Reply, Request, handle
from aichat.idempotency_key import HEADER
from aichat.models import ChatRequest

services = wiring.services()
# Init work (the chat service, its SDK imports) is what SnapStart snapshots; connections are made after restore.
wiring.warm_chat(services)


def chat(request: Request, context: Any = None) -> Reply:
    caller, body = request.caller(), request.body(ChatRequest)
    return Reply(services.idempotent_chat.send(caller, body, request.header(HEADER), context))


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, services.settings, partial(chat, context=context))
