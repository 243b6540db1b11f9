"""GET /api/v1/ai/admin/erasures/{erasure_id}: how far an erasure of the admin's tenant got."""

from typing import Any

from aichat import wiring
from aichat.api.http_edge import Reply, Request, handle
from aichat.core import logs

services = wiring.services()


def get_erasure(request: Request) -> Reply:
    return Reply(services.erasure.status(request.caller(), request.path("erasure_id")))


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, services.settings, get_erasure)
