"""The stream front's token checks: a bearer JWT verified as API Gateway's HTTP API JWT authorizer verifies it, and the
answer of a REST API's TOKEN authorizer (functions/stream_authorizer).

A REST API, the only front that can stream, has no JWT authorizer; this one checks what the HTTP API's does: a
signature by one of the issuer's keys (its JWKS, asymmetric algorithms only), iss equal to the issuer, aud (or, without
aud, client_id) naming the audience, exp and nbf. Then the claims the functions need: a sub and the tenant claim.
PyJWT is imported by the functions that verify a token only, so importing the layer elsewhere never loads it.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aichat.core import logs
from aichat.core.errors import ConfigurationError
from aichat.core.settings import Settings

if TYPE_CHECKING:
    from jwt import PyJWK

# Asymmetric signatures only, whatever a token's header asks for: "none" proves nothing, and an HS256 token "signed"
# with the issuer's public key (which anyone can fetch) is the classic algorithm confusion attack.
ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})
# Named in a refusal's log line as they are; any other alg a header carries is attacker's text, logged as "other".
_NAMED_ALGORITHMS = ALGORITHMS | {"none", "HS256", "HS384", "HS512"}
# Clock skew between the issuer and Lambda, on exp, nbf and iat.
LEEWAY_SECONDS = 30
# A key id the cached keys lack fetches them again (the issuer rotated its keys), at most once per this long: a flood of
# made-up key ids costs the issuer one request per container per 30 s, not one each.
REFETCH_SECONDS = 30.0
# After a failed fetch, the next try waits this long, so an issuer that is down is not asked on every request.
RETRY_SECONDS = 5.0
FETCH_TIMEOUT_SECONDS = 3.0
MAX_JWKS_BYTES = 256 * 1024
# API Gateway takes an Authorization header of about 10 KB; anything longer is not a token it would send.
MAX_TOKEN_BYTES = 16 * 1024
# API Gateway bounds an authorizer's context: each value handed over is at most this long (UTF-8 bytes), so ten of
# them stay well within it. sub, the tenant and roles longer than this are refused; a longer optional claim is left out.
MAX_CONTEXT_VALUE_BYTES = 512
# Handed over besides sub, the tenant claim and the roles claim, when the token has them.
CONTEXT_CLAIMS = ("iss", "aud", "client_id", "exp", "token_use", "email", "name")
_METHOD_ARN = re.compile(r"(arn:aws[a-z-]*:execute-api:[a-z0-9-]+:\d{12}:[A-Za-z0-9]+)/([^/]+)/.+")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class TokenRefused(Exception):
    """A token this API does not take (API Gateway answers 401); `reason` is for the log only, never the caller.

    `user_id` and `tenant_id` are set only once the token was verified (a refusal for what it lacks)."""

    def __init__(self, reason: str, *, user_id: str | None = None, tenant_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.user_id = user_id
        self.tenant_id = tenant_id


class JwksUnavailable(Exception):
    """The issuer's keys could not be fetched and none are cached: no fault of the token (API Gateway answers 500)."""


@dataclass(frozen=True)
class VerifiedToken:
    """A verified token's caller, and the claims handed over to the function, as strings."""

    user_id: str
    tenant_id: str
    context: dict[str, str]


def claim_text(value: Any) -> str:
    """A claim as API Gateway's JWT authorizer hands it over: always a string, an array as "[a b]"."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(claim_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{claim_text(v)}" for k, v in sorted(value.items())) + "]"
    if value is None:
        return ""
    return str(value)


class TokenVerifier:
    """Verifies bearer tokens of one issuer and audience, with the issuer's keys cached (see `JwksCache`)."""

    def __init__(self, *, issuer: str, audience: str, keys: JwksCache, tenant_claim: str, roles_claim: str) -> None:
        self.issuer = issuer
        self.audience = audience
        self.keys = keys
        self.tenant_claim = tenant_claim
        self.roles_claim = roles_claim

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Callable[[], float] = time.monotonic) -> TokenVerifier:
        """A verifier for JWT_ISSUER and JWT_AUDIENCE; ConfigurationError without them, or with a JWKS URL not https."""
        # Blank is unset: CloudFormation parameters cannot be null.
        issuer, audience = settings.JWT_ISSUER or "", settings.JWT_AUDIENCE or ""
        if not issuer or not audience:
            raise ConfigurationError("The token authorizer needs JWT_ISSUER and JWT_AUDIENCE.")
        url = settings.JWKS_URL or issuer.rstrip("/") + "/.well-known/jwks.json"
        parts = urlsplit(url)
        # Keys fetched over plain HTTP could be anyone's; only a loopback server (a test's, a local one) may use it.
        secure = parts.scheme == "https" and bool(parts.hostname)
        if not (secure or (parts.scheme == "http" and parts.hostname in _LOOPBACK)):
            raise ConfigurationError(f"JWKS_URL must be an https URL (got {url!r}); set it, or JWT_ISSUER, to one.")
        return cls(issuer=issuer, audience=audience, keys=JwksCache(url, settings.JWKS_CACHE_SECONDS, clock=clock),
                   tenant_claim=settings.TENANT_CLAIM, roles_claim=settings.ROLES_CLAIM)

    def verify(self, authorization: str) -> VerifiedToken:
        """The caller of an Authorization header's token (with or without "Bearer "); TokenRefused if it is not
        valid, JwksUnavailable if the issuer's keys cannot be had."""
        import jwt

        token = _bearer(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRefused("malformed token") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in ALGORITHMS:
            named = isinstance(alg, str) and alg in _NAMED_ALGORITHMS
            raise TokenRefused(f"algorithm {alg if named else 'other'} not allowed")
        if not isinstance(kid, str) or not kid:
            raise TokenRefused("no key id (kid) in the header")
        key = self.keys.key(kid, alg)
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=[alg], issuer=self.issuer, leeway=LEEWAY_SECONDS,
                # The audience is checked below, as the HTTP API checks it (aud, else client_id).
                options={"require": ["exp", "iss"], "verify_aud": False})
        except jwt.ExpiredSignatureError:
            raise TokenRefused("expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRefused("not yet valid (nbf or iat)") from None
        except jwt.InvalidIssuerError:
            raise TokenRefused("wrong issuer") from None
        except jwt.MissingRequiredClaimError as e:
            raise TokenRefused(f"no {e.claim} claim") from None
        except jwt.InvalidSignatureError:
            raise TokenRefused("bad signature") from None
        except jwt.PyJWTError as e:
            raise TokenRefused(f"invalid token ({type(e).__name__})") from None
        if not self._audience_matches(claims):
            raise TokenRefused("wrong audience")
        return self._caller(claims)

    def _audience_matches(self, claims: Mapping[str, Any]) -> bool:
        # As the HTTP API's JWT authorizer: aud when the token has one, client_id (Cognito's access tokens) only
        # without it.
        if "aud" in claims:
            aud = claims["aud"]
            return aud == self.audience or (isinstance(aud, list) and self.audience in aud)
        return claims.get("client_id") == self.audience

    def _caller(self, claims: Mapping[str, Any]) -> VerifiedToken:
        """The verified claims' caller; refused without a sub or a tenant, since no function could serve it."""
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise TokenRefused("no sub claim")
        # A refusal's log line names the caller only by ids of a size a log line takes.
        user_id = sub if _fits(sub) else None
        tenant = claims.get(self.tenant_claim)
        # A number is taken as its text (as the HTTP API hands it over); a list or an object names no one tenant.
        if not (isinstance(tenant, str | int) and not isinstance(tenant, bool)) or tenant == "":
            raise TokenRefused(f"no {self.tenant_claim} claim", user_id=user_id)
        tenant_id = claim_text(tenant)
        context: dict[str, str] = {}
        required = ("sub", self.tenant_claim, self.roles_claim)
        for name in dict.fromkeys((*required, *CONTEXT_CLAIMS)):
            if claims.get(name) is None:
                continue
            text = claim_text(claims[name])
            if not _fits(text):
                if name in required:
                    raise TokenRefused(f"{name} claim longer than {MAX_CONTEXT_VALUE_BYTES} bytes", user_id=user_id,
                                       tenant_id=tenant_id if _fits(tenant_id) else None)
                continue
            context[name] = text
        return VerifiedToken(user_id=sub, tenant_id=tenant_id, context=context)


def _fits(text: str) -> bool:
    """Whether a claim's text is short enough for the authorizer's context (UTF-8 bytes, a lone surrogate counted)."""
    return len(text.encode("utf-8", "surrogatepass")) <= MAX_CONTEXT_VALUE_BYTES


def _bearer(authorization: str) -> str:
    """The token of an Authorization header's value, "Bearer " or not."""
    value = authorization.strip()
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "bearer":
        value = rest.strip()
    if not value:
        raise TokenRefused("no token")
    if len(value) > MAX_TOKEN_BYTES:
        raise TokenRefused("token too long")
    return value


class JwksCache:
    """The issuer's signing keys by key id: fetched on first use and again after `max_age` seconds; a key id they
    lack fetches them again at most once per REFETCH_SECONDS. While a fetch fails, the keys already held are kept."""

    def __init__(self, url: str, max_age: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.max_age = max_age
        self.fetches = 0  # attempts, for the logs' and tests' sake
        self._clock = clock
        self._lock = threading.Lock()  # one fetch at a time (the local server runs requests side by side)
        self._jwks: dict[str, dict[str, Any]] = {}
        self._prepared: dict[tuple[str, str], PyJWK] = {}
        self._fetched_at: float | None = None
        self._next_try_at = float("-inf")

    def key(self, kid: str, alg: str) -> PyJWK:
        """The key `kid` names, for `alg`; TokenRefused if the issuer has no such key, or it is not an `alg` key."""
        with self._lock:
            now = self._clock()
            due = self._fetched_at is None or now - self._fetched_at >= self.max_age
            if (due or kid not in self._jwks) and now >= self._next_try_at:
                self._refresh(now)
            if self._fetched_at is None:
                raise JwksUnavailable(f"no keys from {self.url}")
            return self._prepare(kid, alg)

    def _refresh(self, now: float) -> None:
        self.fetches += 1
        try:
            jwks = _signing_keys(_fetch_json(self.url))
        except JwksUnavailable as e:
            self._next_try_at = now + RETRY_SECONDS
            if self._fetched_at is not None:  # the keys held still verify tokens until the issuer answers again
                logs.logger().warning("jwks refresh failed", extra={"reason": str(e)})
            return
        self._jwks, self._prepared = jwks, {}
        self._fetched_at, self._next_try_at = now, now + REFETCH_SECONDS

    def _prepare(self, kid: str, alg: str) -> PyJWK:
        import jwt

        if (kid, alg) in self._prepared:
            return self._prepared[(kid, alg)]
        jwk = self._jwks.get(kid)
        if jwk is None:
            raise TokenRefused("unknown key id (kid)")
        # A key that names its algorithm verifies that one only; one that does not, any its type can (RSA: RS* and
        # PS*), but never another type's.
        if jwk.get("alg") not in (None, alg):
            raise TokenRefused("the token's algorithm is not its key's")
        try:
            key = jwt.PyJWK(jwk, algorithm=alg)
        except (jwt.PyJWTError, KeyError, TypeError, ValueError):
            raise TokenRefused("the token's algorithm does not fit its key") from None
        self._prepared[(kid, alg)] = key
        return key


def _signing_keys(document: Any) -> dict[str, dict[str, Any]]:
    """The public signing keys of a JWKS document, by key id (a key without one cannot be chosen by a token)."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise JwksUnavailable("not a JWKS document")
    keys: dict[str, dict[str, Any]] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str) or jwk.get("use") not in (None, "sig"):
            continue
        # Never a symmetric key ("oct": anyone who fetched it could sign) or a private one ("d").
        if jwk.get("kty") == "oct" or "d" in jwk:
            continue
        keys.setdefault(jwk["kid"], jwk)
    return keys


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # The keys come from the URL configured, not from wherever it redirects (perhaps plain HTTP).
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _fetch_json(url: str) -> Any:
    """The JSON document at `url`; JwksUnavailable if it cannot be had."""
    handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
    if urlsplit(url).hostname in _LOOPBACK:
        handlers.append(urllib.request.ProxyHandler({}))  # a loopback server is this machine's, never a proxy's
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.build_opener(*handlers).open(request, timeout=FETCH_TIMEOUT_SECONDS) as response:
            body = response.read(MAX_JWKS_BYTES + 1)
    except OSError as e:  # URLError, HTTPError (a 3xx not followed included), a timeout
        raise JwksUnavailable(f"fetching {url} failed: {type(e).__name__}") from e
    if len(body) > MAX_JWKS_BYTES:
        raise JwksUnavailable(f"{url} answered more than {MAX_JWKS_BYTES} bytes")
    try:
        return json.loads(body)
    except ValueError as e:
        raise JwksUnavailable(f"{url} answered no JSON") from e


def authorizer_response(token: VerifiedToken, method_arn: str) -> dict[str, Any]:
    """A REST API TOKEN authorizer's Allow for the caller: on the whole stage (`<api>/<stage>/*/*`), so API Gateway may
    cache it per token for every route, with the claims as the context (strings only)."""
    found = _METHOD_ARN.fullmatch(method_arn)
    if found is None:
        raise ValueError("not an execute-api method ARN")
    return {
        "principalId": token.user_id,
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": f"{found[1]}/{found[2]}/*/*"}]},
        "context": dict(token.context),
    }
