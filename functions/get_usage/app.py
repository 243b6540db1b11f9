"""GET /api/v1/ai/usage?date=YYYY-MM-DD: the tenant's cost, sessions, ratings and top sessions (admins only)."""

from typing import Any

from aichat import wiring
from aichat.api.http_edge import Reply, Request, handle
from aichat.core import logs

services = wiring.services()


def get_usage(request: Request) -> Reply:
    return Reply(services.usage.report(request.caller(), request.query_str("date")))


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, services.settings, get_usage)
