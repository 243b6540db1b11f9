"""GET /api/v1/ai/me/export: everything stored of the caller's, page by page (sessions with messages, tickets)."""

from typing import Any

from aichat import wiring
from aichat.api.http_edge import Reply, Request, handle
from aichat.core import logs

services = wiring.services()


def export_my_data(request: Request) -> Reply:
    limit = request.query_int("limit", default=5, low=1, high=20)
    return Reply(services.my_data.export(request.caller(), request.query_str("cursor"), limit))


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, services.settings, export_my_data)
