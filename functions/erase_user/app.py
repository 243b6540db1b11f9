"""DELETE /api/v1/ai/admin/users/{user_id}: an admin starts erasing one user's data in their tenant (202)."""

from typing import Any

from aichat import wiring
from aichat.api.http_edge import Reply, Request, handle
from aichat.core import logs

services = wiring.services()


def erase_user(request: Request) -> Reply:
    return Reply(services.erasure.erase_user(request.caller(), request.path("user_id")), status=202)


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, services.settings, erase_user)
