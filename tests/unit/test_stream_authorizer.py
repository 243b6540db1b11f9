"""The stream front's Lambda authorizer: real tokens, signed by keys a loopback issuer publishes, checked as the HTTP
API's JWT authorizer checks them; an Allow on the stage with the claims as strings, or API Gateway's 401."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from conftest import load_function
from fresh_import import LAYER, loaded_after_import
from jwks_fake import FakeJwks

from aichat.api.token_authorizer import (
    MAX_CONTEXT_VALUE_BYTES,
    REFETCH_SECONDS,
    RETRY_SECONDS,
    JwksUnavailable,
    TokenRefused,
    TokenVerifier,
    authorizer_response,
    claim_text,
)
from aichat.core import settings as settings_module
from aichat.core.errors import ConfigurationError
from aichat.core.identity import parse_roles
from aichat.core.settings import Settings
from localdev import gateway

ISSUER = "https://issuer.example.com/tenant-pool"
AUDIENCE = "chat-widget"
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/api/v1/ai/chat/stream"
STAGE = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/*"
DROP = object()  # a claim the token leaves out


class Ticks:
    """A monotonic clock tests move by hand (the key cache's)."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def claims(**changes: Any) -> dict[str, Any]:
    """An ID token's claims from the issuer, for the audience, valid for ten minutes; DROP leaves one out."""
    now = int(time.time())
    base: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "tenant_id": "acme",
                            "roles": ["admin", "support"], "iat": now, "exp": now + 600, "token_use": "id",
                            "email": "jane@acme.example", "phone_number": "+15550100", "plan": {"tier": "gold"}}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not DROP}


@pytest.fixture
def jwks() -> Iterator[FakeJwks]:
    fake = FakeJwks()
    yield fake
    fake.close()


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


def verifier_for(jwks: FakeJwks, ticks: Ticks, **settings: Any) -> TokenVerifier:
    values = {"JWT_ISSUER": ISSUER, "JWT_AUDIENCE": AUDIENCE, "JWKS_URL": jwks.url, **settings}
    return TokenVerifier.from_settings(Settings(**values), clock=ticks)


@pytest.fixture
def verifier(jwks: FakeJwks, ticks: Ticks) -> TokenVerifier:
    return verifier_for(jwks, ticks)


@pytest.fixture
def authorizer(jwks: FakeJwks, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """functions/stream_authorizer/app.py as Lambda loads it, with the issuer's settings in its environment."""
    for name, value in {"JWT_ISSUER": ISSUER, "JWT_AUDIENCE": AUDIENCE, "JWKS_URL": jwks.url}.items():
        monkeypatch.setenv(name, value)
    settings_module.load_settings.cache_clear()
    yield load_function("stream_authorizer")
    settings_module.load_settings.cache_clear()


def authorize(module: ModuleType, token: str | None, method_arn: str = METHOD_ARN) -> dict[str, Any]:
    """The handler's answer to API Gateway's TOKEN event (a header of "Bearer <token>")."""
    event: dict[str, Any] = {"type": "TOKEN", "methodArn": method_arn}
    if token is not None:
        event["authorizationToken"] = f"Bearer {token}"
    result: dict[str, Any] = module.lambda_handler(event, None)
    return result


def log_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


# --- allowed --------------------------------------------------------------------------------------------------------


def test_a_valid_token_is_allowed_on_the_stage_with_its_claims_as_the_http_apis_jwt_authorizer_hands_them_over(
        jwks: FakeJwks, authorizer: ModuleType) -> None:
    signed = claims()
    answer = authorize(authorizer, jwks.token(signed))

    assert answer == {
        "principalId": "user-1",
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": STAGE}]},
        # Only what the functions read, and who issued it for whom until when; not the phone number or the plan.
        "context": {"sub": "user-1", "tenant_id": "acme", "roles": "[admin support]", "iss": ISSUER,
                    "aud": AUDIENCE, "exp": str(signed["exp"]), "token_use": "id", "email": "jane@acme.example"},
    }
    # Strings, by the local gateway's rule for the HTTP API's claims, and roles read back as the functions read them.
    assert {k: gateway.claim_text(signed[k]) for k in answer["context"]} == answer["context"]
    assert parse_roles(answer["context"]["roles"]) == {"admin", "support"}


def test_the_policy_allows_the_whole_stage_of_the_method_so_api_gateway_may_cache_it_per_token(
        jwks: FakeJwks, authorizer: ModuleType) -> None:
    arn = "arn:aws:execute-api:eu-west-1:210987654321:x9y8z7/dev/GET/api/v1/ai/sessions/01JD/history"
    statement = authorize(authorizer, jwks.token(claims()), arn)["policyDocument"]["Statement"]
    assert statement == [{"Action": "execute-api:Invoke", "Effect": "Allow",
                          "Resource": "arn:aws:execute-api:eu-west-1:210987654321:x9y8z7/dev/*/*"}]


def test_numbers_and_single_strings_are_handed_over_as_text(jwks: FakeJwks, verifier: TokenVerifier) -> None:
    token = verifier.verify(jwks.token(claims(tenant_id=42, roles="support", aud=[AUDIENCE, "other"])))
    assert token.tenant_id == "42"
    assert {k: token.context[k] for k in ("tenant_id", "roles", "aud")} == {
        "tenant_id": "42", "roles": "support", "aud": f"[{AUDIENCE} other]"}


def test_claim_text_is_the_local_gateways_rule() -> None:
    for value in ("a b", "", 42, 1.5, True, False, None, ["admin", "support"], [], [1, True], {"b": 1, "a": ["x"]}):
        assert claim_text(value) == gateway.claim_text(value), value
    assert (claim_text(True), claim_text(7), claim_text(["a", "b"])) == ("true", "7", "[a b]")


def test_an_ec_key_verifies_es256_tokens_and_the_header_may_omit_bearer(jwks: FakeJwks,
                                                                       verifier: TokenVerifier) -> None:
    assert verifier.verify(jwks.token(claims(), kid=jwks.ec_kid)).user_id == "user-1"
    assert verifier.verify(jwks.token(claims())).user_id == "user-1"
    assert verifier.verify("bearer  " + jwks.token(claims())).user_id == "user-1"


def test_a_little_clock_skew_is_forgiven(jwks: FakeJwks, verifier: TokenVerifier) -> None:
    now = int(time.time())
    assert verifier.verify(jwks.token(claims(exp=now - 10))).user_id == "user-1"
    assert verifier.verify(jwks.token(claims(nbf=now + 10, iat=now + 10))).user_id == "user-1"


def test_a_cognito_access_token_names_the_audience_in_client_id(jwks: FakeJwks, verifier: TokenVerifier) -> None:
    access = claims(aud=DROP, client_id=AUDIENCE, token_use="access", email=DROP)
    token = verifier.verify(jwks.token(access))
    assert token.context == {"sub": "user-1", "tenant_id": "acme", "roles": "[admin support]", "iss": ISSUER,
                             "client_id": AUDIENCE, "exp": str(access["exp"]), "token_use": "access"}
    with pytest.raises(TokenRefused, match="wrong audience"):
        verifier.verify(jwks.token(claims(aud=DROP, client_id="another-app", token_use="access")))
    # As the HTTP API: with an aud, the aud decides, whatever client_id says.
    with pytest.raises(TokenRefused, match="wrong audience"):
        verifier.verify(jwks.token(claims(aud="another-app", client_id=AUDIENCE)))


# --- refused --------------------------------------------------------------------------------------------------------

REFUSED: dict[str, tuple[Any, str]] = {
    # case: (how the token is made, the reason logged)
    "expired": (lambda f: f.token(claims(exp=int(time.time()) - 3600)), "expired"),
    "not yet valid": (lambda f: f.token(claims(nbf=int(time.time()) + 3600)), "not yet valid (nbf or iat)"),
    "issued in the future": (lambda f: f.token(claims(iat=int(time.time()) + 3600)), "not yet valid (nbf or iat)"),
    "no expiry": (lambda f: f.token(claims(exp=DROP)), "no exp claim"),
    "wrong audience": (lambda f: f.token(claims(aud="another-app")), "wrong audience"),
    "no audience": (lambda f: f.token(claims(aud=DROP)), "wrong audience"),
    "wrong issuer": (lambda f: f.token(claims(iss="https://evil.example.com")), "wrong issuer"),
    "no issuer": (lambda f: f.token(claims(iss=DROP)), "no iss claim"),
    "a key not in the jwks": (lambda f: f.token(claims(), kid="stranger"), "unknown key id (kid)"),
    "another key's signature": (lambda f: f.token(claims(), signed_by="stranger"), "bad signature"),
    "alg none": (lambda f: f.token(claims(), alg="none"), "algorithm none not allowed"),
    "hs256 with the public key": (lambda f: f.token(claims(), alg="HS256"), "algorithm HS256 not allowed"),
    "an alg the key does not name": (lambda f: f.token(claims(), alg="PS256"),
                                     "the token's algorithm is not its key's"),
    "an rsa alg on the ec key": (lambda f: f.token(claims(), kid=f.ec_kid, alg="RS256", signed_by=f.rsa_kid),
                                 "the token's algorithm is not its key's"),
    "an alg that is no name": (lambda f: f.token(claims(), headers={"alg": ["RS256"]}), "algorithm other not allowed"),
    "an unknown alg": (lambda f: f.token(claims(), headers={"alg": "RS256\u202e"}), "algorithm other not allowed"),
    "no kid": (lambda f: f.token(claims(), headers={"kid": None}), "no key id (kid) in the header"),
    "missing sub": (lambda f: f.token(claims(sub=DROP)), "no sub claim"),
    "empty sub": (lambda f: f.token(claims(sub="")), "no sub claim"),
    "missing tenant claim": (lambda f: f.token(claims(tenant_id=DROP)), "no tenant_id claim"),
    "a list for the tenant": (lambda f: f.token(claims(tenant_id=["acme", "globex"])), "no tenant_id claim"),
    "roles too long": (lambda f: f.token(claims(roles=["r" * 40] * 20)),
                       f"roles claim longer than {MAX_CONTEXT_VALUE_BYTES} bytes"),
    "malformed": (lambda f: "abc.def.ghi", "malformed token"),
    "not a jwt": (lambda f: "not-a-token", "malformed token"),
    "a tampered payload": (lambda f: _tampered(f.token(claims())), "bad signature"),
    "no token": (lambda f: "", "no token"),
}


def _tampered(token: str) -> str:
    """The token with its payload swapped for another tenant's, its signature kept."""
    import base64

    head, _, signature = token.split(".")
    body = base64.urlsafe_b64encode(json.dumps(claims(tenant_id="globex")).encode()).rstrip(b"=").decode()
    return f"{head}.{body}.{signature}"


@pytest.mark.parametrize("case", REFUSED)
def test_each_bad_token_is_refused_with_unauthorized_and_nothing_else_leaks(
        case: str, jwks: FakeJwks, authorizer: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    make, reason = REFUSED[case]
    token = make(jwks)
    capsys.readouterr()
    with pytest.raises(Exception) as refused:
        authorize(authorizer, token)

    # API Gateway answers 401 for this exception, and this one only: a plain Exception("Unauthorized"), no cause.
    assert type(refused.value) is Exception and refused.value.args == ("Unauthorized",)
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
    (line,) = [r for r in log_lines(capsys.readouterr().out) if r["message"] == "token refused"]
    assert line["reason"] == reason
    out = json.dumps(line)
    assert "jane@acme.example" not in out and "admin" not in out
    assert not token or token not in out
    for part in token.split("."):
        assert len(part) < 8 or part not in out


def test_a_refusal_for_what_a_verified_token_lacks_names_its_caller(
        jwks: FakeJwks, authorizer: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(authorizer, jwks.token(claims(tenant_id=DROP)))
    (line,) = [r for r in log_lines(capsys.readouterr().out) if r["message"] == "token refused"]
    assert (line["reason"], line["user_id"], "tenant_id" in line) == ("no tenant_id claim", "user-1", False)


def test_no_authorization_header_is_refused(authorizer: ModuleType) -> None:
    for event in ({"type": "TOKEN", "methodArn": METHOD_ARN},
                  {"type": "TOKEN", "methodArn": METHOD_ARN, "authorizationToken": "Bearer "},
                  {"type": "TOKEN", "methodArn": METHOD_ARN, "authorizationToken": "  "}):
        with pytest.raises(Exception, match=r"^Unauthorized$") as refused:
            authorizer.lambda_handler(event, None)
        assert type(refused.value) is Exception


def test_the_tenant_claim_and_roles_claim_are_the_settings(jwks: FakeJwks, ticks: Ticks) -> None:
    verifier = verifier_for(jwks, ticks, TENANT_CLAIM="custom:tenant_id", ROLES_CLAIM="cognito:groups")
    token = verifier.verify(jwks.token(claims(**{"tenant_id": DROP, "custom:tenant_id": "acme",
                                                 "cognito:groups": ["support"]})))
    assert (token.tenant_id, token.context["custom:tenant_id"], token.context["cognito:groups"]) == (
        "acme", "acme", "[support]")
    assert "roles" not in token.context
    with pytest.raises(TokenRefused, match="no custom:tenant_id claim"):
        verifier.verify(jwks.token(claims()))


# --- the issuer's keys ----------------------------------------------------------------------------------------------


def test_the_keys_are_fetched_once_and_kept_for_jwks_cache_seconds(jwks: FakeJwks, ticks: Ticks) -> None:
    verifier = verifier_for(jwks, ticks, JWKS_CACHE_SECONDS=600)
    for _ in range(20):
        verifier.verify(jwks.token(claims()))
        ticks.advance(29)
    assert jwks.fetches == 1  # 20 requests over 551 s
    ticks.advance(600)
    verifier.verify(jwks.token(claims(), kid=jwks.ec_kid))
    assert jwks.fetches == 2


def test_a_rotated_key_is_picked_up_with_one_refetch(jwks: FakeJwks, verifier: TokenVerifier, ticks: Ticks) -> None:
    old = jwks.rsa_kid
    verifier.verify(jwks.token(claims()))
    ticks.advance(REFETCH_SECONDS)
    new_rsa, new_ec = jwks.rotate()

    assert verifier.verify(jwks.token(claims(), kid=new_rsa)).user_id == "user-1"
    assert verifier.verify(jwks.token(claims(), kid=new_ec)).user_id == "user-1"
    assert jwks.fetches == 2
    # The retired key is no longer published: its tokens are refused, with no fetch of their own so soon after one.
    with pytest.raises(TokenRefused, match="unknown key id"):
        verifier.verify(jwks.token(claims(), kid=old))
    assert jwks.fetches == 2


def test_a_flood_of_unknown_key_ids_refetches_at_most_once_per_refetch_seconds(
        jwks: FakeJwks, verifier: TokenVerifier, ticks: Ticks) -> None:
    verifier.verify(jwks.token(claims()))
    for second in range(int(REFETCH_SECONDS * 3)):
        for _ in range(10):
            with pytest.raises(TokenRefused, match="unknown key id"):
                verifier.verify(jwks.token(claims(), signed_by="stranger", headers={"kid": uuid.uuid4().hex}))
        assert jwks.fetches == 1 + second // REFETCH_SECONDS
        ticks.advance(1)
    # 900 forged requests over 90 s: the first fetch, then one per 30 s.
    assert jwks.fetches == 3
    assert verifier.verify(jwks.token(claims())).user_id == "user-1"


def test_while_the_issuer_is_down_the_keys_held_still_verify(jwks: FakeJwks, verifier: TokenVerifier,
                                                              ticks: Ticks) -> None:
    verifier.verify(jwks.token(claims()))
    jwks.status = 503
    ticks.advance(601)
    assert verifier.verify(jwks.token(claims())).user_id == "user-1"
    assert verifier.verify(jwks.token(claims())).user_id == "user-1"
    assert jwks.fetches == 2  # one failed try, and none more for RETRY_SECONDS
    jwks.status = 200
    ticks.advance(RETRY_SECONDS)
    verifier.verify(jwks.token(claims()))
    assert jwks.fetches == 3


def test_without_any_keys_the_answer_is_an_error_not_a_refusal(
        jwks: FakeJwks, authorizer: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    # A 401 would send every client to sign in again for the issuer's outage; an error is API Gateway's 500.
    jwks.status = 503
    with pytest.raises(JwksUnavailable):
        authorize(authorizer, jwks.token(claims()))
    (line,) = [r for r in log_lines(capsys.readouterr().out) if r["message"] == "jwks unavailable"]
    assert "no keys from" in line["reason"]


# --- settings -------------------------------------------------------------------------------------------------------


def test_the_settings_default_the_jwks_url_and_refuse_what_would_take_anyones_keys() -> None:
    verifier = TokenVerifier.from_settings(Settings(JWT_ISSUER=ISSUER + "/", JWT_AUDIENCE=AUDIENCE))
    assert verifier.keys.url == ISSUER + "/.well-known/jwks.json"
    assert verifier.keys.max_age == 600
    blank = Settings.from_environ({"JWT_ISSUER": ISSUER, "JWT_AUDIENCE": AUDIENCE, "JWKS_URL": ""})
    assert TokenVerifier.from_settings(blank).keys.url == ISSUER + "/.well-known/jwks.json"
    for values in ({"JWT_AUDIENCE": AUDIENCE}, {"JWT_ISSUER": ISSUER}, {"JWT_ISSUER": "", "JWT_AUDIENCE": AUDIENCE},
                   {"JWT_ISSUER": ISSUER, "JWT_AUDIENCE": AUDIENCE, "JWKS_URL": "http://keys.example.com/jwks"},
                   {"JWT_ISSUER": "http://issuer.example.com", "JWT_AUDIENCE": AUDIENCE}):
        with pytest.raises(ConfigurationError):
            TokenVerifier.from_settings(Settings(**values))
    with pytest.raises(ConfigurationError, match="JWKS_CACHE_SECONDS"):
        Settings.from_environ({"JWKS_CACHE_SECONDS": "5"})


def test_authorizer_response_refuses_what_is_not_a_method_arn(jwks: FakeJwks, verifier: TokenVerifier) -> None:
    token = verifier.verify(jwks.token(claims()))
    assert authorizer_response(token, METHOD_ARN)["policyDocument"]["Statement"][0]["Resource"] == STAGE
    with pytest.raises(ValueError):
        authorizer_response(token, "arn:aws:execute-api:us-east-1:123456789012:abc123")


# --- what loads -----------------------------------------------------------------------------------------------------


def test_no_other_function_loads_pyjwt_and_the_authorizer_loads_it_on_its_first_request() -> None:
    assert loaded_after_import("submit_feedback", ("jwt",)) == []
    assert loaded_after_import("stream_authorizer", ("jwt", "cryptography"), JWT_ISSUER=ISSUER,
                               JWT_AUDIENCE=AUDIENCE) == []
    code = ("import json, sys; import aichat.core.identity, aichat.api.http_edge, aichat.api.token_authorizer; "
            "print(json.dumps([m for m in ('jwt', 'cryptography') if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(LAYER)},
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
