"""The stream front's Lambda authorizer (REST API, TOKEN): checks the bearer token as the HTTP API's JWT authorizer
does, and allows the stage with the claims as strings; a refused token is API Gateway's 401."""

import functools
from typing import Any

from aichat.api.token_authorizer import JwksUnavailable, TokenRefused, TokenVerifier, authorizer_response
from aichat.core import logs
from aichat.core.settings import load_settings


@functools.cache
def verifier() -> TokenVerifier:
    """The container's verifier, whose cached keys serve all its requests.

    Built on the first request rather than at import, so importing the handler needs no issuer (the layer's import
    tests load every function without one); a missing JWT_ISSUER or JWT_AUDIENCE fails that request instead (500)."""
    return TokenVerifier.from_settings(load_settings())


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        token = verifier().verify(str(event.get("authorizationToken") or ""))
    except TokenRefused as refused:
        # The reason and, once verified, the caller's ids; never the token or another claim.
        ids = {"user_id": refused.user_id, "tenant_id": refused.tenant_id}
        logs.logger().info("token refused", extra={"reason": refused.reason,
                                                   **{k: v for k, v in ids.items() if v is not None}})
        # This exact message is how a TOKEN authorizer has API Gateway answer 401; nothing of the reason goes out.
        raise Exception("Unauthorized") from None
    except JwksUnavailable as e:
        # Not the caller's fault: API Gateway answers 500 (and caches nothing), rather than a 401 that would send
        # every client to sign in again.
        logs.logger().warning("jwks unavailable", extra={"reason": str(e)})
        raise
    return authorizer_response(token, str(event.get("methodArn") or ""))
