"""Dev tokens: HS256 JWTs signed with LOCAL_JWT_SECRET, minted here and verified by the local server.

    python -m localdev.token --user alice --tenant acme [--admin] [--role support] [--name "Dana Reyes"] [--hours 12]

The claims are the ones API Gateway's authorizer would pass on: sub, the tenant claim and the roles claim (named by
TENANT_CLAIM and ROLES_CLAIM, as the layer reads them), iss, aud, iat and exp, and with --name the display name claim
(DISPLAY_NAME_CLAIM) that a person of the support team is shown by.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

import jwt

# Long enough for HS256 (PyJWT warns below 32 bytes); only ever a local development value.
DEFAULT_SECRET = "local-dev-secret-change-me-not-for-production"
ISSUER = "aichat-localdev"
AUDIENCE = "aichat-local"
ALGORITHM = "HS256"


class InvalidToken(Exception):
    """The token is missing, malformed, wrongly signed or expired; the message says which."""


def secret_from(environ: Mapping[str, str]) -> str:
    """LOCAL_JWT_SECRET, or the documented development default."""
    return environ.get("LOCAL_JWT_SECRET") or DEFAULT_SECRET


def claim_names(environ: Mapping[str, str]) -> tuple[str, str]:
    """The tenant and roles claim names, from TENANT_CLAIM and ROLES_CLAIM like the layer's settings."""
    return environ.get("TENANT_CLAIM") or "tenant_id", environ.get("ROLES_CLAIM") or "roles"


def display_name_claim(environ: Mapping[str, str]) -> str:
    """The display name claim's name, from DISPLAY_NAME_CLAIM like the layer's settings."""
    return environ.get("DISPLAY_NAME_CLAIM") or "name"


def mint(user: str, tenant: str, *, roles: Sequence[str] = (), secret: str = DEFAULT_SECRET, ttl_seconds: int = 43200,
         tenant_claim: str = "tenant_id", roles_claim: str = "roles", now: float | None = None,
         **extra: Any) -> str:
    """A signed token for `user` of `tenant` with `roles`, valid for ttl_seconds (negative: already expired)."""
    if not user:
        raise ValueError("user must not be empty")
    if not tenant:
        raise ValueError("tenant must not be empty")
    issued = int(time.time() if now is None else now)
    claims = {"sub": user, tenant_claim: tenant, roles_claim: list(roles), "iss": ISSUER, "aud": AUDIENCE,
              "iat": issued, "exp": issued + ttl_seconds, **extra}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(authorization: str | None, secret: str) -> dict[str, Any]:
    """The claims of an Authorization header's token, checked as the HTTP API's JWT authorizer checks them."""
    if not authorization or not authorization.strip():
        raise InvalidToken("no Authorization header")
    token = authorization.strip()
    # API Gateway takes the token with or without the Bearer prefix.
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    try:
        claims: dict[str, Any] = jwt.decode(token, secret, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
                                            options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError:
        raise InvalidToken("the token has expired") from None
    except jwt.InvalidTokenError as e:
        raise InvalidToken(str(e) or type(e).__name__) from None
    return claims


def main(argv: Sequence[str] | None = None) -> None:
    """Print a dev token for the local server."""
    parser = argparse.ArgumentParser(prog="python -m localdev.token", description="Mint a dev token for the local "
                                     "server (HS256, signed with LOCAL_JWT_SECRET).")
    parser.add_argument("--user", required=True, help="the sub claim: who is calling")
    parser.add_argument("--tenant", required=True, help="the tenant claim")
    parser.add_argument("--admin", action="store_true", help="add the admin role (GET /usage needs it)")
    parser.add_argument("--role", action="append", default=[],
                        help="another role (repeatable); support (or admin) reaches the staff routes")
    parser.add_argument("--name", help="a display name (the DISPLAY_NAME_CLAIM claim): how staff replies are signed")
    parser.add_argument("--hours", type=float, default=12, help="how long the token is valid (default 12)")
    args = parser.parse_args(argv)
    tenant_claim, roles_claim = claim_names(os.environ)
    roles = [*(["admin"] if args.admin else []), *args.role]
    try:
        token = mint(args.user, args.tenant, roles=roles, secret=secret_from(os.environ),
                     ttl_seconds=int(args.hours * 3600), tenant_claim=tenant_claim, roles_claim=roles_claim,
                     **({display_name_claim(os.environ): args.name} if args.name else {}))
    except ValueError as e:
        parser.error(str(e))
    sys.stdout.write(token + "\n")


if __name__ == "__main__":
    main()
