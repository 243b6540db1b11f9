"""GET /api/v1/ai/admin/config: the caller's tenant's limits, retention and session types in force (admins only)."""

from typing import Any

from aichat import wiring
from aichat.api.http_edge import Reply, Request, handle
from aichat.core import logs

services = wiring.services()


def admin_get_config(request: Request) -> Reply:
    shown = services.tenant_admin.read(request.caller())
    return Reply(shown.config, headers={"ETag": shown.etag})


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, services.settings, admin_get_config)
