"""Who is calling: read only from the verified token's claims, as API Gateway's JWT authorizer hands them over."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aichat.errors import TenantMissing, Unauthorized
from aichat.settings import Settings


@dataclass(frozen=True)
class Identity:
    user_id: str
    tenant_id: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


def parse_roles(raw: Any) -> frozenset[str]:
    """Roles from a real list, or from API Gateway's string form of one: "[admin support]"."""
    if raw is None or raw == "":
        return frozenset()
    if isinstance(raw, list | tuple):
        return frozenset(str(r) for r in raw if str(r))
    text = str(raw).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return frozenset(part.strip('"') for part in text.replace(",", " ").split() if part.strip('"'))


def identity_from_event(event: Mapping[str, Any], settings: Settings) -> Identity:
    """The caller of an HTTP API (payload 2.0) request; 401 without a subject, 400 without a tenant."""
    claims = (((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt") or {}).get("claims") or {}
    user_id = str(claims.get("sub") or "")
    if not user_id:
        raise Unauthorized("The token has no subject (sub) claim; sign in again.")
    tenant_id = str(claims.get(settings.TENANT_CLAIM) or "")
    if not tenant_id:
        raise TenantMissing(
            f"The token has no {settings.TENANT_CLAIM} claim; ask your identity provider to add the tenant claim "
            "(its name is set by TENANT_CLAIM)."
        )
    # Keys are built by joining ids with "#": an id containing one could reach another's keys.
    if "#" in user_id or "#" in tenant_id:
        raise Unauthorized("The token's sub and tenant claims must not contain '#'.")
    return Identity(user_id=user_id, tenant_id=tenant_id, roles=parse_roles(claims.get(settings.ROLES_CLAIM)))
