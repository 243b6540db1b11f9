"""PATCH /api/v1/ai/admin/config: change the caller's tenant's configuration with a JSON merge patch, If-Match the
ETag of the version it was made from (admins only)."""

from typing import Any

from aichat import wiring
from aichat.api.http_edge import Reply, Request, handle
from aichat.core import logs
from aichat.core.tenant_config import TenantConfigPatch

services = wiring.services()


def admin_patch_config(request: Request) -> Reply:
    caller, patch = request.caller(), request.body(TenantConfigPatch)
    shown = services.tenant_admin.change(caller, patch, request.header("If-Match"))
    return Reply(shown.config, headers={"ETag": shown.etag})


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, services.settings, admin_patch_config)
