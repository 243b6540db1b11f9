"""Who is calling: read only from the verified token's claims, as API Gateway's JWT authorizer hands them over."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aichat.core.errors import TenantMissing, Unauthorized
from aichat.core.settings import Settings

# The sub and tenant claims become parts of DynamoDB keys, which take at most 1,024 bytes (a sort key) and 2,048
# (a partition key) with our prefixes added; counted in UTF-8 bytes, since that is what DynamoDB counts. 256 bytes
# still takes any sub OpenID Connect allows (255 ASCII characters).
MAX_CLAIM_BYTES = 256


# A display name is shown to a customer beside a person's reply: at most this many characters of the claim.
MAX_DISPLAY_NAME = 100


@dataclass(frozen=True)
class Identity:
    user_id: str
    tenant_id: str
    roles: frozenset[str]
    is_staff: bool = False  # one of STAFF_ROLES: may answer the escalated sessions of its own tenant
    display_name: str | None = None  # from DISPLAY_NAME_CLAIM, for a person's replies

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


def parse_roles(raw: Any) -> frozenset[str]:
    """Roles from a real list, taken as they are, or from a claim as API Gateway hands it over.

    API Gateway flattens an array claim to "[admin support]" and passes a string claim as it is; so a bracketed
    string is split on whitespace and any other string is one role. Nothing is split on commas or unquoted: the
    role a token names must be the role it gets ("read-only,admin" is not admin).
    """
    if isinstance(raw, list | tuple):
        return frozenset(role for role in raw if isinstance(role, str) and role)
    if not isinstance(raw, str) or not raw:
        return frozenset()
    if raw.startswith("[") and raw.endswith("]"):
        return frozenset(raw[1:-1].split())
    return frozenset({raw})


def authorizer_claims(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """The verified claims an API Gateway authorizer put in the request context, as strings: an HTTP API's JWT
    authorizer under `jwt.claims`, a REST API's Cognito authorizer under `claims`, a REST API's Lambda authorizer
    (the stream front's) as the context itself, beside its `principalId`; {} when there are none."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    if not isinstance(authorizer, Mapping):
        return {}
    found = (authorizer.get("jwt") or {}).get("claims") or authorizer.get("claims")
    if isinstance(found, Mapping):
        return found
    return authorizer if "principalId" in authorizer else {}


def identity_from_event(event: Mapping[str, Any], settings: Settings) -> Identity:
    """The caller of an API Gateway request (HTTP API payload 2.0, or a REST API's request context); 401 without a
    usable subject, 400 without a tenant."""
    claims = authorizer_claims(event)
    user_id = str(claims.get("sub") or "")
    if not user_id:
        raise Unauthorized("The token has no subject (sub) claim; sign in again.")
    tenant_id = str(claims.get(settings.TENANT_CLAIM) or "")
    if not tenant_id:
        raise TenantMissing(
            f"The token has no {settings.TENANT_CLAIM} claim; ask your identity provider to add the tenant claim "
            "(its name is set by TENANT_CLAIM)."
        )
    _check_key_part("sub", user_id)
    _check_key_part(settings.TENANT_CLAIM, tenant_id)
    roles = parse_roles(claims.get(settings.ROLES_CLAIM))
    return Identity(user_id=user_id, tenant_id=tenant_id, roles=roles,
                    is_staff=not roles.isdisjoint(settings.STAFF_ROLES),
                    display_name=_display_name(claims.get(settings.DISPLAY_NAME_CLAIM)))


def _display_name(raw: Any) -> str | None:
    """The claim as a name to show: text, trimmed and bounded, with no control characters; None without one."""
    if not isinstance(raw, str):
        return None
    name = "".join(c for c in raw if c.isprintable()).strip()[:MAX_DISPLAY_NAME].strip()
    return name or None


def _check_key_part(claim: str, value: str) -> None:
    """401 unless `value` can be part of a DynamoDB key that no other caller's key can reach."""
    # Keys are built by joining ids with "#": an id containing one could reach another's keys.
    if "#" in value:
        raise Unauthorized(f"The token's {claim} claim must not contain '#'.")
    try:
        size = len(value.encode())
    except UnicodeEncodeError:  # a lone surrogate: no UTF-8 for it, so no key DynamoDB would take
        raise Unauthorized(f"The token's {claim} claim is not valid Unicode text (it holds a lone "
                           "surrogate).") from None
    if size > MAX_CLAIM_BYTES:
        raise Unauthorized(f"The token's {claim} claim is longer than {MAX_CLAIM_BYTES} bytes (UTF-8); this API "
                           f"takes a {claim} of at most {MAX_CLAIM_BYTES} bytes, so ask your identity provider for "
                           "a shorter one.")
