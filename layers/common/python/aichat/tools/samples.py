"""A sample custom tool run in-process, so `make dev` and the tests run one with no AWS: give CUSTOM_TOOLS a tool
whose target is "aichat.tools.samples:line_status" (README's "Tools: the model acts" has the whole entry)."""

from __future__ import annotations

import hashlib
from typing import Any

_STATUSES = ("up", "up", "up", "degraded", "down")


def line_status(arguments: dict[str, Any], context: dict[str, str]) -> dict[str, Any]:
    """A made-up status for {"subscriber_id": str}, the same every time for the same tenant and subscriber."""
    subscriber = str(arguments.get("subscriber_id", ""))
    # The tenant comes from the verified caller (context), never from the arguments: one tenant's subscriber ids
    # say nothing about another's.
    digest = hashlib.sha256(f"{context['tenant_id']}\n{subscriber}".encode()).digest()
    status = _STATUSES[digest[0] % len(_STATUSES)]
    return {"subscriber_id": subscriber, "tenant_id": context["tenant_id"], "status": status,
            "downstream_mbps": 0 if status == "down" else 50 + digest[1] % 950,
            "checked_for": context["user_id"]}
