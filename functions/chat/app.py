"""POST /api/v1/ai/chat: one chat turn within the caller's budgets, run once per Idempotency-Key."""

from functools import partial
from typing import Any

from aichat import wiring
from aichat.api.http_edge import Reply, Request, handle
from aichat.api.idempotency_key import HEADER, checked_key
from aichat.core import logs
from aichat.core.models import ChatRequest

services = wiring.services()
# Init work (the chat service, its SDK imports) is what SnapStart snapshots; connections are made after restore.
wiring.warm_chat(services)
logs.logger()  # built now, not on the container's first line, so the SnapStart snapshot holds it


def chat(request: Request, context: Any = None) -> Reply:
    caller, body = request.caller(), request.body(ChatRequest)
    key = checked_key(request.header(HEADER))
    # The key is claimed in the turn's own reserve transaction, as the stream's is: a repeat gets the stored answer.
    return Reply(services.chat.send(caller, body, remaining_seconds(context), idempotency_key=key))


def remaining_seconds(context: Any) -> float | None:
    """How long this invocation may still run, from the Lambda context; None without one (local runs)."""
    if context is None or not hasattr(context, "get_remaining_time_in_millis"):
        return None
    return float(context.get_remaining_time_in_millis()) / 1000


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, services.settings, partial(chat, context=context))
